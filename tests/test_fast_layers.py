"""kgen's Conv2D, BatchNormalization and MaxPooling2D against Keras' own layers.

Each kgen layer may take a backend-specific fast path (`kgen.layers.fast_paths`);
whichever path the current backend takes must train exactly like Keras' layer:
the same outputs, the same gradients (seen through one SGD step of a layer in
front of it and of the layer's own weights) and the same moving statistics.
"""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

import kgen.backend
from kgen.layers import BatchNormalization, Conv2D, MaxPooling2D, fast_paths
from kgen.precision import policy

BACKEND = keras.backend.backend()
# The `fast_paths` functions each backend calls for the arguments of a kgen CNN
# (TensorFlow: none, Keras' own layers were the fastest there).
EXPECTED_PATHS = {
    "tensorflow": set(),
    "jax": {"jax_batch_norm", "window_max_pool"},
    "torch": {"torch_conv2d", "torch_batch_norm", "torch_max_pool"},
}


def trained_twin_weights(kgen_layer, keras_layer, images, steps=2):
    """Weights after `steps` SGD steps of [1x1 conv, layer, dense] built once
    with the kgen layer and once with the Keras layer, from the same start.

    The 1x1 convolution in front is updated through the layer's input gradient,
    so any difference in that gradient shows in its weights."""
    def build(layer):
        keras.utils.set_random_seed(0)
        inputs = keras.Input(images.shape[1:])
        x = keras.layers.Conv2D(images.shape[-1], 1, name="front")(inputs)
        x = layer(x)
        outputs = keras.layers.Dense(3, name="dense")(keras.layers.Flatten()(x))
        model = keras.Model(inputs, outputs)
        model.compile(keras.optimizers.SGD(0.1),
                      keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        return model

    labels = np.arange(len(images)) % 3
    kgen_model, keras_model = build(kgen_layer), build(keras_layer)
    keras_model.set_weights(kgen_model.get_weights())
    results = []
    for model in (kgen_model, keras_model):
        model.fit(images, labels, batch_size=len(images), epochs=steps, shuffle=False, verbose=0)
        outputs = keras.ops.convert_to_numpy(model(images, training=False))
        results.append((model.get_weights(), outputs))
    return results


def assert_twins_match(kgen_layer, keras_layer, images, rtol=2e-5, atol=2e-5):
    (kgen_weights, kgen_outputs), (keras_weights, keras_outputs) = trained_twin_weights(
        kgen_layer, keras_layer, images
    )
    for actual, expected in zip(kgen_weights, keras_weights, strict=True):
        np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol)
    np.testing.assert_allclose(kgen_outputs, keras_outputs, rtol=rtol, atol=atol)


def images_of(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


CONV_CASES = {
    "3x3 same": dict(filters=4, kernel_size=3, padding="same", use_bias=False),
    "3x3 same, bias, relu": dict(filters=4, kernel_size=3, padding="same", activation="relu"),
    "3x3 valid": dict(filters=4, kernel_size=3, padding="valid"),
    # Stride 2 on an odd size pads symmetrically, on an even size one more
    # pixel after (TensorFlow's convention).
    "3x3 stride 2 same": dict(filters=4, kernel_size=3, strides=2, padding="same"),
    "1x1 stride 2 projection": dict(filters=4, kernel_size=1, strides=2, use_bias=False),
    "2x2 same (asymmetric)": dict(filters=4, kernel_size=2, padding="same"),
    "dilation 2": dict(filters=4, kernel_size=3, padding="same", dilation_rate=2),
    "groups 2": dict(filters=4, kernel_size=3, padding="same", groups=2),
}


@pytest.mark.parametrize("size", [(8, 8), (7, 9)])
@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_trains_like_keras(case, size):
    kwargs = CONV_CASES[case]
    images = images_of((4, *size, 4))
    assert_twins_match(Conv2D(**kwargs), keras.layers.Conv2D(**kwargs), images)


BATCH_NORM_CASES = {
    "kgen's settings": dict(momentum=0.9, epsilon=1e-5),
    "Keras' defaults": dict(),
    "no scale, no center": dict(scale=False, center=False),
    "channels-first axis (Keras' path)": dict(axis=1),
}


@pytest.mark.parametrize("case", BATCH_NORM_CASES)
def test_batch_normalization_trains_like_keras(case):
    kwargs = BATCH_NORM_CASES[case]
    # Shifted and scaled inputs, so the moving statistics move visibly.
    images = images_of((8, 6, 5, 3)) * 3.0 + 1.5
    assert_twins_match(BatchNormalization(**kwargs), keras.layers.BatchNormalization(**kwargs),
                       images)


def test_batch_normalization_on_features_matches_keras():
    features = images_of((16, 5)) * 2.0 + 1.0
    layers = []
    for layer_class in (BatchNormalization, keras.layers.BatchNormalization):
        layer = layer_class(momentum=0.5)
        layer.build(features.shape)
        layers.append(layer)
    for training in (True, False):
        actual = keras.ops.convert_to_numpy(layers[0](features, training=training))
        expected = keras.ops.convert_to_numpy(layers[1](features, training=training))
        np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-5)
    for actual, expected in zip(layers[0].weights, layers[1].weights, strict=True):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(actual),
                                   keras.ops.convert_to_numpy(expected), rtol=1e-5, atol=1e-6)


def test_batch_normalization_mixed_precision_keeps_keras_dtypes():
    images = images_of((4, 4, 4, 3))
    with policy("mixed_bfloat16"):
        layer, reference = BatchNormalization(), keras.layers.BatchNormalization()
    for training in (True, False):
        actual = layer(images, training=training)
        expected = reference(images, training=training)
        assert keras.backend.standardize_dtype(actual.dtype) == "bfloat16"
        np.testing.assert_allclose(keras.ops.convert_to_numpy(keras.ops.cast(actual, "float32")),
                                   keras.ops.convert_to_numpy(keras.ops.cast(expected, "float32")),
                                   rtol=1e-2, atol=1e-2)
    assert keras.backend.standardize_dtype(layer.moving_mean.dtype) == "float32"


MAX_POOL_CASES = {
    "2x2": dict(pool_size=2),
    "3x3": dict(pool_size=3),
    "2x2 stride 1 (overlapping)": dict(pool_size=2, strides=1),
    "2x2 same": dict(pool_size=2, padding="same"),
}


@pytest.mark.parametrize("size", [(8, 8), (7, 9)])
@pytest.mark.parametrize("case", MAX_POOL_CASES)
def test_max_pooling_trains_like_keras(case, size):
    kwargs = MAX_POOL_CASES[case]
    # Continuous random inputs: no ties, where the gradients of the paths may differ.
    images = images_of((4, *size, 3))
    assert_twins_match(MaxPooling2D(**kwargs), keras.layers.MaxPooling2D(**kwargs), images)


@pytest.mark.skipif(BACKEND != "jax", reason="the window pool is the JAX path (jax.custom_vjp)")
def test_window_max_pool_forward_equals_keras_and_splits_tied_gradients():
    import jax

    # An odd size (the last row is in no window) and a window of four tied maxima.
    images = images_of((2, 7, 6, 3))
    images[0, 0:2, 0:2, 0] = 5.0
    actual = keras.ops.convert_to_numpy(fast_paths.window_max_pool(images, (2, 2)))
    expected = keras.ops.convert_to_numpy(keras.layers.MaxPooling2D(2)(images))
    np.testing.assert_array_equal(actual, expected)

    gradient = np.asarray(jax.grad(lambda x: fast_paths.window_max_pool(x, (2, 2)).sum())(images))
    np.testing.assert_array_equal(gradient[0, 0:2, 0:2, 0], np.full((2, 2), 0.25))
    assert np.all(gradient[:, 6] == 0)  # The uncovered row.
    # Elsewhere (no ties) each window sends its gradient of 1 to its maximum.
    windows = gradient[:, :6].reshape(2, 3, 2, 3, 2, 3).sum(axis=(2, 4))
    np.testing.assert_array_equal(windows, np.ones((2, 3, 3, 3)))
    is_max = images[:, :6] == np.repeat(np.repeat(expected, 2, axis=1), 2, axis=2)
    assert np.all(gradient[:, :6][~is_max] == 0)


def test_each_backend_takes_the_measured_path(monkeypatch):
    taken = set()
    for name in ("torch_conv2d", "torch_batch_norm", "torch_max_pool", "jax_batch_norm",
                 "window_max_pool"):
        function = getattr(fast_paths, name)

        def spy(*args, _name=name, _function=function, **kwargs):
            taken.add(_name)
            return _function(*args, **kwargs)
        monkeypatch.setattr(fast_paths, name, spy)
    images = images_of((2, 8, 8, 3))
    Conv2D(2, 3, padding="same")(images)
    BatchNormalization()(images, training=True)
    MaxPooling2D(2)(images)
    assert taken == EXPECTED_PATHS[BACKEND]


def test_configure_xla_cpu_adds_the_flag_on_jax_only():
    environ = {"XLA_FLAGS": "--xla_force_host_platform_device_count=4"}
    added = kgen.backend.configure_xla_cpu(environ)
    assert added == (BACKEND == "jax")
    if added:
        assert environ["XLA_FLAGS"] == (
            "--xla_force_host_platform_device_count=4 " + kgen.backend.XLA_CPU_FLAG
        )
    else:
        assert environ == {"XLA_FLAGS": "--xla_force_host_platform_device_count=4"}
    assert kgen.backend.configure_xla_cpu(environ) is False  # Only once.
    users = {"XLA_FLAGS": "--xla_cpu_experimental_ynn_fusion_type=individual_dot"}
    assert kgen.backend.configure_xla_cpu(users) is False
    assert users == {"XLA_FLAGS": "--xla_cpu_experimental_ynn_fusion_type=individual_dot"}
    # For a child of another backend (kgen bench's), whatever this process runs.
    child = {}
    assert kgen.backend.configure_xla_cpu(child, backend="jax") is True
    assert child == {"XLA_FLAGS": kgen.backend.XLA_CPU_FLAG}
    assert kgen.backend.configure_xla_cpu({}, backend="torch") is False


@pytest.mark.skipif(BACKEND != "jax", reason="the flag is for JAX; one process start is enough")
def test_importing_kgen_sets_no_environment_variable_and_start_sets_the_flag():
    script = (
        "import os, json; before = dict(os.environ)\n"
        "import kgen.layers, kgen.models, kgen.studies\n"
        "imported = dict(os.environ)\n"
        "import kgen.backend; kgen.backend.start()\n"
        "print(json.dumps([imported == before, os.environ.get('XLA_FLAGS', '')]))\n"
    )
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    env.pop("XLA_FLAGS", None)
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                            text=True, timeout=120, check=True)
    unchanged, flags = json.loads(result.stdout.strip().splitlines()[-1])
    assert unchanged
    assert flags == kgen.backend.XLA_CPU_FLAG


@pytest.mark.parametrize("shape", [(3, 5, 7, 6), (64, 33, 3), (2, 4), (256, 2, 2, 200)])
def test_channel_sum_equals_a_plain_sum(shape):
    x = np.random.default_rng(0).normal(size=shape).astype("float32")
    total = keras.ops.convert_to_numpy(fast_paths.channel_sum(keras.ops.convert_to_tensor(x)))
    np.testing.assert_allclose(total, x.reshape(-1, shape[-1]).sum(axis=0), rtol=1e-5, atol=1e-4)


@pytest.mark.skipif(BACKEND != "jax", reason="jax_batch_norm is the JAX path (jax.custom_vjp)")
@pytest.mark.parametrize("shape, affine", [((2, 5, 7, 3), True), ((3, 4), True),
                                           ((2, 5, 7, 3), False)])
def test_jax_batch_norm_gradient_equals_autodiff_of_the_plain_formula(shape, affine):
    # The twin tests never send a gradient through the batch mean and variance
    # (they only feed the moving averages); this loss uses all three outputs.
    import jax
    import jax.numpy as jnp

    rng = np.random.default_rng(0)
    x = rng.normal(size=shape).astype("float32")
    weights = [rng.normal(size=size).astype("float32") for size in (shape, shape[-1:], shape[-1:])]
    gamma = 1.0 + rng.normal(size=shape[-1:]).astype("float32") if affine else None
    beta = rng.normal(size=shape[-1:]).astype("float32") if affine else None
    axes = tuple(range(len(shape) - 1))

    def plain(x, gamma, beta):
        mean, variance = jnp.mean(x, axes), jnp.var(x, axes)
        outputs = (x - mean) * jax.lax.rsqrt(variance + 1e-3)
        if gamma is not None:
            outputs = outputs * gamma + beta
        return outputs, mean, variance

    def loss(function):
        return lambda *args: sum(jnp.sum(w * o) for w, o in zip(weights, function(*args)))

    def kgens(x, gamma, beta):
        return fast_paths.jax_batch_norm(x, gamma, beta, 1e-3)

    argnums = (0, 1, 2) if affine else (0,)
    expected = jax.grad(loss(plain), argnums)(x, gamma, beta)
    actual = jax.grad(loss(kgens), argnums)(x, gamma, beta)
    for got, want in zip(actual, expected):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
