"""RandomErasing against torchvision's algorithm, statistically and exactly."""

import math

import keras
import numpy as np
import pytest

from kgen.layers import RandomErasing

HEIGHT = WIDTH = 32


def reference_boxes(n, scale, ratio, rng, height=HEIGHT, width=WIDTH):
    """torchvision's `RandomErasing.get_params` for n images with p = 1, in numpy.
    Returns heights and widths, 0 x 0 where all 10 attempts were rejected."""
    heights = np.zeros(n)
    widths = np.zeros(n)
    pending = np.ones(n, dtype=bool)
    for _ in range(10):
        area = height * width * rng.uniform(scale[0], scale[1], n)
        aspect = np.exp(rng.uniform(math.log(ratio[0]), math.log(ratio[1]), n))
        h = np.round(np.sqrt(area * aspect))
        w = np.round(np.sqrt(area / aspect))
        accept = pending & (h < height) & (w < width)
        heights[accept], widths[accept] = h[accept], w[accept]
        pending &= ~accept
    return heights, widths


def draw(layer, batches, batch_size=10_000, height=HEIGHT, width=WIDTH):
    """`batches * batch_size` transformations, as numpy arrays."""
    images = keras.ops.zeros((batch_size, height, width, 1))
    parts = [layer.get_random_transformation(images) for _ in range(batches)]
    return {
        # float64 so equal box sizes compare equal to the float64 reference.
        key: np.concatenate([keras.ops.convert_to_numpy(p[key]) for p in parts]).astype(
            bool if key == "erase" else np.float64
        )
        for key in ("erase", "top", "left", "height", "width")
    }


def ks_statistic(a, b):
    """Two-sample Kolmogorov-Smirnov distance."""
    grid = np.sort(np.concatenate([a, b]))
    cdf_a = np.searchsorted(np.sort(a), grid, side="right") / len(a)
    cdf_b = np.searchsorted(np.sort(b), grid, side="right") / len(b)
    return np.max(np.abs(cdf_a - cdf_b))


@pytest.mark.parametrize("p", [0.25, 0.75])
def test_erase_frequency_is_p(p):
    t = draw(RandomErasing(p=p, seed=3), batches=4)  # 40,000 draws: std 0.0022
    assert abs(t["erase"].mean() - p) < 0.01


@pytest.mark.parametrize(
    "scale, ratio",
    [((0.02, 0.33), (0.3, 3.3)), ((0.01, 0.3), (1.0, 1.0)), ((0.3, 0.9), (0.5, 2.0))],
)
def test_box_distribution_matches_torchvision(scale, ratio):
    t = draw(RandomErasing(p=1.0, scale=scale, ratio=ratio, seed=5), batches=2)
    erased = t["erase"]
    fraction = (t["height"] * t["width"])[erased] / (HEIGHT * WIDTH)
    ref_h, ref_w = reference_boxes(400_000, scale, ratio, np.random.default_rng(0))
    ref_erased = ref_h > 0
    ref_fraction = (ref_h * ref_w)[ref_erased] / (HEIGHT * WIDTH)

    # Rounding makes the realized area stray a little outside `scale`.
    slack = 2.5 * (HEIGHT + WIDTH) / (HEIGHT * WIDTH)
    assert fraction.min() >= scale[0] - slack and fraction.max() <= scale[1] + slack
    assert abs(fraction.mean() / ref_fraction.mean() - 1) < 0.02
    assert abs(erased.mean() - ref_erased.mean()) < 0.01
    # Aspect ratio: the same distribution as the reference (log-uniform before rounding).
    log_aspect = np.log(t["height"][erased] / np.maximum(t["width"][erased], 1))
    ref_log_aspect = np.log(ref_h[ref_erased] / np.maximum(ref_w[ref_erased], 1))
    assert ks_statistic(log_aspect, ref_log_aspect) < 0.02


def test_log_uniform_aspect_without_rounding_noise():
    # Large images make rounding negligible: log(h / w) is then close to U(log ratio).
    layer = RandomErasing(p=1.0, scale=(0.1, 0.1), ratio=(0.25, 4.0), seed=2)
    t = draw(layer, batches=1, height=512, width=512, batch_size=2_000)
    log_aspect = np.log(t["height"] / t["width"])
    uniform = np.random.default_rng(0).uniform(math.log(0.25), math.log(4.0), 100_000)
    assert ks_statistic(log_aspect, uniform) < 0.05


def test_rejected_boxes_leave_the_image_alone():
    # Every attempt is taller than the image: torchvision gives up after 10.
    t = draw(RandomErasing(p=1.0, scale=(0.9, 1.0), ratio=(3.0, 3.3), seed=0), batches=1,
             batch_size=1000)
    assert not t["erase"].any()


def test_top_left_uniform_over_valid_positions():
    # scale 1/16 and ratio 1 give 8 x 8 boxes: 25 valid rows and columns.
    t = draw(RandomErasing(p=1.0, scale=(0.0625, 0.0625), ratio=(1.0, 1.0), seed=4), batches=2)
    assert np.all(t["height"] == 8) and np.all(t["width"] == 8)
    for key in ("top", "left"):
        counts = np.bincount(t[key].astype(int), minlength=25)
        assert len(counts) == 25
        expected = len(t[key]) / 25
        # Binomial std is sqrt(expected): 5 std of slack per cell.
        assert np.all(np.abs(counts - expected) < 5 * np.sqrt(expected))


def test_boxes_differ_within_a_batch():
    t = draw(RandomErasing(p=1.0, seed=9), batches=1, batch_size=64)
    assert len({(a, b, c, d) for a, b, c, d in zip(t["top"], t["left"], t["height"], t["width"])}) > 32


def test_transform_with_forced_parameters():
    layer = RandomErasing(p=1.0, value=(7.0, 8.0, 9.0))
    images = keras.ops.ones((2, 6, 5, 3))
    transformation = {
        "erase": keras.ops.convert_to_tensor([True, False]),
        "top": keras.ops.convert_to_tensor([1.0, 0.0]),
        "left": keras.ops.convert_to_tensor([2.0, 0.0]),
        "height": keras.ops.convert_to_tensor([3.0, 6.0]),
        "width": keras.ops.convert_to_tensor([2.0, 5.0]),
    }
    out = keras.ops.convert_to_numpy(layer.transform_images(images, transformation))
    expected = np.ones((2, 6, 5, 3), dtype="float32")
    expected[0, 1:4, 2:4] = [7.0, 8.0, 9.0]
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("value", [0.0, -1.5, (1.0, 2.0, 3.0)])
def test_fill_value(value):
    layer = RandomErasing(p=1.0, scale=(0.2, 0.2), ratio=(1.0, 1.0), value=value, seed=0)
    images = np.full((8, 16, 16, 3), 100.0, dtype="float32")
    out = keras.ops.convert_to_numpy(layer(images, training=True))
    erased = out != 100.0
    fill = np.broadcast_to(np.asarray(value, dtype="float32"), (3,))
    assert erased.any()
    for channel in range(3):
        assert np.all(out[..., channel][erased[..., channel]] == fill[channel])


def test_random_fill_is_standard_normal():
    layer = RandomErasing(p=1.0, scale=(0.3, 0.3), ratio=(1.0, 1.0), value="random", seed=0)
    images = np.full((64, 32, 32, 3), 1000.0, dtype="float32")
    out = keras.ops.convert_to_numpy(layer(images, training=True))
    noise = out[out != 1000.0]
    assert noise.size > 10_000
    assert abs(noise.mean()) < 0.05 and abs(noise.std() - 1.0) < 0.05


@pytest.mark.parametrize(
    "kwargs, match",
    [({"p": 1.5}, "p"), ({"p": -0.1}, "p"), ({"scale": (0.5, 0.1)}, "scale"),
     ({"scale": (0.1, 1.5)}, "scale"), ({"ratio": (0.0, 1.0)}, "ratio"),
     ({"ratio": (3.0, 1.0)}, "ratio"), ({"value": "noise"}, "value"), ({"scale": 0.5}, "scale")],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RandomErasing(**kwargs)


def test_per_channel_value_must_match_channels():
    with pytest.raises(ValueError, match="value"):
        RandomErasing(value=(1.0, 2.0))(np.zeros((1, 8, 8, 3), "float32"))
