"""What kgen's flip, weight normalization and DropConnect compute, standardization,
and the course's BatchNorm and Dropout arithmetic (every layer's Keras contract:
tests/test_layer_contract.py)."""

import keras
import numpy as np
import pytest

import kgen.layers
from kgen.layers import (
    AlternatingFlip,
    DropConnectDense,
    WeightNormalization,
    initialize_weight_normalization,
)
from tests.helpers import random_images, run_model_saving_test


def test_keras_random_flip_is_per_image():
    # kgen relies on keras.layers.RandomFlip for the ladder's flips: it must draw
    # one coin per image, not one per batch, on every backend.
    images = np.random.default_rng(0).normal(size=(2000, 4, 5, 1)).astype("float32")
    out = keras.ops.convert_to_numpy(
        keras.layers.RandomFlip("horizontal", seed=1)(images, training=True)
    )
    flipped = np.all(out == images[:, :, ::-1], axis=(1, 2, 3))
    kept = np.all(out == images, axis=(1, 2, 3))
    assert np.all(flipped | kept)
    assert abs(flipped.mean() - 0.5) < 0.05  # std 0.011 for 2000 coins


def test_alternating_flip_alternates_a_fixed_half():
    layer = AlternatingFlip(seed=0)
    images = random_images(1000, 8, 8, seed=1).astype("float32")

    def flipped_at(epoch):
        layer.epoch.assign(epoch)
        out = keras.ops.convert_to_numpy(layer(images, training=True))
        return np.all(out == images[:, :, ::-1], axis=(1, 2, 3))

    layer.build(images.shape)
    even, odd, even_again = flipped_at(0), flipped_at(1), flipped_at(2)
    np.testing.assert_array_equal(even, even_again)  # the half is stable
    np.testing.assert_array_equal(odd, ~even)  # and alternates
    assert abs(even.mean() - 0.5) < 0.06


@pytest.mark.parametrize("inner", [lambda: keras.layers.Conv2D(5, 3, padding="same", activation="relu"),
                                   lambda: keras.layers.Dense(5, activation="relu")])
def test_weight_normalization_starts_as_the_wrapped_layer(inner):
    shape = (3, 6, 6, 4)
    x = np.random.default_rng(0).normal(size=shape).astype("float32")
    plain = inner()
    expected = keras.ops.convert_to_numpy(plain(x))
    wrapped = WeightNormalization(plain)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(wrapped(x)), expected, atol=1e-4)
    # w = g * v / ||v||: the effective kernel's per-unit norm is g.
    wrapped.g.assign(np.arange(1, 6, dtype="float32"))
    norms = np.sqrt(np.sum(keras.ops.convert_to_numpy(wrapped.normalized_kernel()) ** 2,
                           axis=tuple(range(len(plain.kernel.shape) - 1))))
    np.testing.assert_allclose(norms, np.arange(1, 6), rtol=1e-4)


def test_weight_normalization_data_dependent_init(tmp_path):
    inputs = keras.Input((8, 8, 3))
    x = WeightNormalization(keras.layers.Conv2D(6, 3, padding="same"), name="wn1")(inputs)
    x = WeightNormalization(keras.layers.Conv2D(4, 3, padding="same"), name="wn2")(x)
    model = keras.Model(inputs, x)
    images = np.random.default_rng(0).normal(3.0, 5.0, size=(64, 8, 8, 3)).astype("float32")
    initialize_weight_normalization(model, images)
    out = keras.ops.convert_to_numpy(model(images))
    np.testing.assert_allclose(out.mean(axis=(0, 1, 2)), 0.0, atol=1e-3)
    np.testing.assert_allclose(out.std(axis=(0, 1, 2)), 1.0, atol=1e-3)
    run_model_saving_test(model, images[:4], tmp_path)


def test_weight_normalization_rejects_other_layers():
    with pytest.raises(TypeError, match="layer"):
        WeightNormalization(keras.layers.LSTM(3))


def test_drop_connect_drops_weights_not_units():
    layer = DropConnectDense(200, rate=0.4, use_bias=False, seed=3)
    identity = np.eye(50, dtype="float32")
    plain = keras.ops.convert_to_numpy(layer(identity, training=False))  # rows = the kernel
    np.testing.assert_allclose(plain, keras.ops.convert_to_numpy(layer.kernel), rtol=1e-6)
    dropped = keras.ops.convert_to_numpy(layer(identity, training=True))
    zero = dropped == 0
    assert abs(zero.mean() - 0.4) < 0.02  # 10,000 weights: std 0.005
    np.testing.assert_allclose(dropped[~zero], plain[~zero] / 0.6, rtol=1e-5)
    # Unit-level dropout would zero whole columns; DropConnect zeros entries.
    assert not np.any(zero.all(axis=0))


@pytest.mark.parametrize("rate", [-0.1, 1.0, 2.0])
def test_drop_connect_bad_rate(rate):
    with pytest.raises(ValueError, match="rate"):
        DropConnectDense(4, rate=rate)


def test_batch_normalization_course_example():
    # The course's worked example: batch of 2, sample 2x2x2 (channels last), batch
    # means [2.0, 3.0] and (biased) variances [4.0, 3.7], eps 1e-5, gamma 1, beta 0.
    means, variances = np.array([2.0, 3.0]), np.array([4.0, 3.7])
    signs = np.array([1, -1, -1, 1, -1, 1, 1, -1], dtype="float64").reshape(2, 2, 2, 1)
    x = (means + signs * np.sqrt(variances)).astype("float32")  # shape (2, 2, 2, 2)
    np.testing.assert_allclose(x.mean(axis=(0, 1, 2)), means, rtol=1e-6)
    np.testing.assert_allclose(x.var(axis=(0, 1, 2)), variances, rtol=1e-5)
    from kgen.models.builder import BATCH_NORM_MOMENTUM, NORM_EPSILON
    assert NORM_EPSILON == 1e-5
    layer = keras.layers.BatchNormalization(epsilon=NORM_EPSILON, momentum=BATCH_NORM_MOMENTUM)
    out = keras.ops.convert_to_numpy(layer(x, training=True))
    np.testing.assert_allclose(out, (x - means) / np.sqrt(variances + 1e-5), rtol=1e-5, atol=1e-6)
    # Running statistics move by (1 - momentum) towards the batch, as PyTorch's 0.1.
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer.moving_mean), 0.1 * means, rtol=1e-5)


def test_dropout_scales_kept_units():
    rate = 0.4
    out = keras.ops.convert_to_numpy(
        keras.layers.Dropout(rate, seed=0)(np.ones((100, 100), "float32"), training=True)
    )
    kept = out[out != 0]
    np.testing.assert_allclose(kept, 1 / (1 - rate), rtol=1e-6)
    assert abs((out == 0).mean() - rate) < 0.02


def test_standardization_inside_model_is_the_formula():
    import kgen.models

    mean, std = (0.49, 0.48, 0.45), (0.25, 0.24, 0.26)
    model = kgen.models.create("small-cnn", mean=mean, std=std)
    standardize = keras.Model(model.input, model.get_layer("standardize").output)
    images = random_images(3)
    expected = (images / 255.0 - np.array(mean)) / np.array(std)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(standardize(images)), expected,
                               rtol=1e-5, atol=1e-5)


def test_keras_cv_layer_in_augmentation_list():
    if keras.backend.backend() != "tensorflow":
        pytest.skip("keras-cv computes in TensorFlow; it is tested on the TensorFlow env")
    keras_cv = pytest.importorskip("keras_cv")
    import kgen.models

    config = kgen.models.get("small-cnn").model
    cutout = keras_cv.layers.RandomCutout(0.5, 0.5, seed=0)
    model = kgen.models.build_cnn(config, extra_augmentation=[cutout])
    assert any(layer is cutout for layer in model.layers)
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    assert np.isfinite(model.fit(random_images(8), np.arange(8) % 10, verbose=0).history["loss"][0])


def test_mean_only_batch_normalization_subtracts_the_batch_mean_only():
    from kgen.layers import MeanOnlyBatchNormalization

    rng = np.random.default_rng(0)
    x = (rng.normal(size=(6, 4, 4, 3)) * np.array([1.0, 5.0, 0.1]) + 3.0).astype("float32")
    layer = MeanOnlyBatchNormalization(momentum=0.9)
    layer.build(x.shape)
    layer.beta.assign(np.array([0.5, -1.0, 2.0], "float32"))
    mean = x.mean(axis=(0, 1, 2))
    out = keras.ops.convert_to_numpy(layer(x, training=True))
    # Centered and shifted, not rescaled: the spread of each channel is kept.
    beta = keras.ops.convert_to_numpy(layer.beta)
    np.testing.assert_allclose(out, x - mean + beta, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out.std(axis=(0, 1, 2)), x.std(axis=(0, 1, 2)), rtol=1e-5)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer.moving_mean), 0.1 * mean,
                               rtol=1e-5)
    # Inference subtracts the moving average, not this batch's mean.
    inference = keras.ops.convert_to_numpy(layer(x, training=False))
    np.testing.assert_allclose(inference, x - 0.1 * mean + beta, rtol=1e-5, atol=1e-5)


def test_mean_only_batch_normalization_keeps_float32_statistics_under_mixed_precision():
    from kgen.layers import MeanOnlyBatchNormalization
    from tests.helpers import precision_policy

    # Values bfloat16 holds exactly; their mean's tenth (the first moving-mean
    # update) it does not: rounded to bfloat16 it would be off by 3e-3 relative.
    x = np.full((2, 2, 2, 1), 1.5, "float32")
    with precision_policy("mixed_bfloat16"):
        layer = MeanOnlyBatchNormalization(momentum=0.9)
        layer(x, training=True)
    assert keras.backend.standardize_dtype(layer.moving_mean.dtype) == "float32"
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer.moving_mean), [0.15], rtol=1e-6)


def test_weight_norm_init_centers_through_mean_only_batch_norm():
    from kgen.layers import MeanOnlyBatchNormalization, initialize_weight_normalization
    from kgen.models import ModelConfig, Stage, build_cnn

    model = build_cnn(ModelConfig(stages=(Stage(4, convs=2),), normalization="weight_mean_only",
                                  head_units=(), head="avg"))
    images = random_images(16)
    initialize_weight_normalization(model, images)
    means = [layer for layer in kgen.layers.every_layer(model)
             if isinstance(layer, MeanOnlyBatchNormalization)]
    assert len(means) == 2
    for layer in means:
        features = keras.Model(model.inputs, layer.input)(images, training=False)
        features = keras.ops.convert_to_numpy(features)
        np.testing.assert_allclose(keras.ops.convert_to_numpy(layer.moving_mean),
                                   features.mean(axis=(0, 1, 2)), rtol=1e-4, atol=1e-5)
        # So in inference mode, as in training, the layer's output is centered.
        outputs = keras.ops.convert_to_numpy(layer(features, training=False))
        np.testing.assert_allclose(outputs.mean(axis=(0, 1, 2)), 0.0, atol=1e-4)
