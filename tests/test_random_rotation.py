import keras
import numpy as np
import pytest

from kgen.layers import RandomRotation
from kgen.precision import policy
from tests.helpers import run_model_saving_test


def rotate(images, angles, fill_value=0.0):
    """kgen's rotation of image i by angles[i] degrees."""
    layer = RandomRotation(180.0, fill_value=fill_value)
    transformation = {"angle": keras.ops.convert_to_tensor(np.asarray(angles, "float32"))}
    return keras.ops.convert_to_numpy(
        layer.transform_images(keras.ops.convert_to_tensor(images), transformation)
    )


def keras_rotate(images, angle, fill_value=0.0):
    """`keras.layers.RandomRotation` (what kgen used before) forced to one angle."""
    layer = keras.layers.RandomRotation(
        (angle / 360.0, angle / 360.0), fill_mode="constant", fill_value=fill_value
    )
    return keras.ops.convert_to_numpy(layer(images, training=True))


@pytest.mark.parametrize("fill_value", [0.0, 0.3])
def test_matches_keras_random_rotation(fill_value):
    # Keras' layer samples with a different kernel on each backend (TensorFlow's
    # ImageProjectiveTransformV3, jax.scipy's map_coordinates, its own torch code);
    # kgen's must agree with it on every backend. Non-square, several channels,
    # angles past 90 degrees, each image of one batch with its own angle.
    images = np.random.default_rng(0).uniform(size=(1, 9, 12, 2)).astype("float32")
    angles = [-170.0, -30.0, -5.0, -0.4, 0.0, 3.3, 45.0, 90.0, 135.0]
    batch = np.repeat(images, len(angles), axis=0)
    ours = rotate(batch, angles, fill_value)
    for index, angle in enumerate(angles):
        expected = keras_rotate(images, angle, fill_value)[0]
        np.testing.assert_allclose(ours[index], expected, atol=1e-5, err_msg=f"angle {angle}")


def test_quarter_turn_is_counter_clockwise_about_the_centre():
    # A 90-degree turn of a square image is a pure permutation: np.rot90 turns
    # counter-clockwise, which is the sign of Keras' positive angles.
    images = np.random.default_rng(1).uniform(size=(2, 7, 7, 3)).astype("float32")
    np.testing.assert_allclose(rotate(images, [90.0, -90.0]),
                               np.stack([np.rot90(images[0]), np.rot90(images[1], k=-1)]),
                               atol=1e-5)


def test_zero_angle_is_exact_and_corners_fill():
    images = np.random.default_rng(2).uniform(size=(1, 6, 6, 1)).astype("float32")
    np.testing.assert_array_equal(rotate(images, [0.0]), images)
    # At 45 degrees the corners of a square image come from outside it.
    rotated = rotate(images, [45.0], fill_value=-1.0)[0, :, :, 0]
    assert rotated[0, 0] == rotated[0, -1] == rotated[-1, 0] == rotated[-1, -1] == -1.0


def test_angles_uniform_per_image():
    layer = RandomRotation(5.0, seed=3)
    n = 20_000
    angles = keras.ops.convert_to_numpy(
        layer.get_random_transformation(keras.ops.zeros((n, 4, 4, 1)))["angle"]
    )
    assert angles.min() >= -5.0 and angles.max() <= 5.0
    counts, _ = np.histogram(angles, bins=10, range=(-5.0, 5.0))
    expected = n / 10
    # Binomial std is about sqrt(expected); 5 std of slack per bin.
    assert np.all(np.abs(counts - expected) < 5 * np.sqrt(expected))
    assert len(np.unique(angles[:100])) == 100  # one angle per image, not per batch


def test_seeded_determinism():
    images = np.random.default_rng(4).uniform(size=(8, 8, 8, 3)).astype("float32")

    def outputs(seed, calls=2):
        layer = RandomRotation(30.0, seed=seed)
        return [keras.ops.convert_to_numpy(layer(images, training=True)) for _ in range(calls)]

    first, second = outputs(7), outputs(7)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(first[0], first[1])  # the seed generator advances per call
    assert not np.allclose(first[0], outputs(8, calls=1)[0])


def test_save_and_load(tmp_path):
    inputs = keras.Input((8, 8, 3))
    x = RandomRotation(12.5, fill_value=0.25, seed=5, name="rotation")(inputs)
    outputs = keras.layers.Dense(2)(keras.layers.Flatten()(x))
    model = keras.Model(inputs, outputs)
    images = np.random.default_rng(5).uniform(size=(3, 8, 8, 3)).astype("float32")
    restored = run_model_saving_test(model, images, tmp_path)
    layer = restored.get_layer("rotation")
    assert type(layer) is RandomRotation
    assert layer.get_config() == model.get_layer("rotation").get_config()


@pytest.mark.parametrize("jit_compile", ["auto", True])
def test_fit_compiled(jit_compile):
    # Keras' own RandomRotation sets `supports_jit = False`, which turns off jit
    # for the whole model (on JAX: an uncompiled train step). kgen's must not,
    # and must train under each backend's compiler (jax.jit, XLA, torch.compile).
    inputs = keras.Input((8, 8, 3))
    x = RandomRotation(10.0, seed=6)(inputs)
    outputs = keras.layers.Dense(3)(keras.layers.Flatten()(keras.layers.Conv2D(2, 3)(x)))
    model = keras.Model(inputs, outputs)
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  jit_compile=jit_compile)
    if jit_compile is True:
        assert model.jit_compile is True
    images = np.random.default_rng(6).uniform(size=(16, 8, 8, 3)).astype("float32")
    history = model.fit(images, np.arange(16) % 3, batch_size=6, epochs=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))


def test_mixed_precision_rotates_in_the_compute_dtype():
    images = np.random.default_rng(7).uniform(size=(2, 8, 8, 3)).astype("float32")
    with policy("mixed_bfloat16"):
        layer = RandomRotation(20.0)
    transformation = {"angle": keras.ops.convert_to_tensor(np.array([20.0, -7.0], "float32"))}
    out = layer.transform_images(keras.ops.cast(images, "bfloat16"), transformation)
    assert keras.backend.standardize_dtype(out.dtype) == "bfloat16"
    expected = rotate(images, [20.0, -7.0])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(keras.ops.cast(out, "float32")),
                               expected, atol=2e-2)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"degrees": -1.0}, ValueError, "degrees"),
    ({"degrees": 181.0}, ValueError, "degrees"),
    ({"degrees": "5"}, TypeError, "degrees"),
    ({"fill_value": None}, TypeError, "fill_value"),
])
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        RandomRotation(**kwargs)
