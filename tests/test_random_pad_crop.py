import keras
import numpy as np
import pytest

from kgen.layers import RandomPadCrop


@pytest.mark.parametrize("padding", [1, 2, 4])
def test_offsets_uniform_over_all_positions(padding):
    layer = RandomPadCrop(padding, seed=3)
    t = layer.get_random_transformation(keras.ops.zeros((20_000, 8, 8, 1)))
    top, left = (keras.ops.convert_to_numpy(t[k]) for k in ("top", "left"))
    positions = 2 * padding + 1
    counts = np.bincount(top * positions + left, minlength=positions**2)
    assert len(counts) == positions**2
    expected = 20_000 / positions**2
    # Binomial std is sqrt(expected); 5 std of slack for each of up to 81 cells.
    assert np.all(np.abs(counts - expected) < 5 * np.sqrt(expected))
    assert len(set(zip(top[:100], left[:100]))) > 1  # per image, not per batch


@pytest.mark.parametrize("mode, numpy_mode", [("constant", "constant"), ("reflect", "reflect")])
def test_content_is_the_padded_source_window(mode, numpy_mode):
    rng = np.random.default_rng(0)
    images = rng.normal(size=(16, 6, 7, 2)).astype("float32")
    layer = RandomPadCrop(3, mode=mode, seed=5)
    t = layer.get_random_transformation(images)
    out = keras.ops.convert_to_numpy(layer.transform_images(keras.ops.convert_to_tensor(images), t))
    padded = np.pad(images, [(0, 0), (3, 3), (3, 3), (0, 0)], mode=numpy_mode)
    for index, (top, left) in enumerate(zip(*(keras.ops.convert_to_numpy(t[k]) for k in ("top", "left")))):
        np.testing.assert_array_equal(out[index], padded[index, top:top + 6, left:left + 7])


def test_identity_when_unpadded():
    images = np.random.default_rng(0).normal(size=(3, 5, 5, 1)).astype("float32")
    out = keras.ops.convert_to_numpy(RandomPadCrop(0)(images, training=True))
    np.testing.assert_array_equal(out, images)


@pytest.mark.parametrize("kwargs, match", [({"padding": -1}, "padding"), ({"mode": "wrap"}, "mode"),
                                           ({"padding": 1.5}, "padding")])
def test_bad_arguments(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        RandomPadCrop(**kwargs)


def test_padding_larger_than_image_is_refused_for_reflect():
    with pytest.raises(ValueError, match="padding"):
        RandomPadCrop(8, mode="reflect")(np.zeros((1, 8, 8, 1), "float32"))
