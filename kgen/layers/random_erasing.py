"""Random erasing with torchvision's sampling (Zhong et al. 2017)."""

import math

import keras
from keras import ops

from kgen.layers.base import RandomImageLayer
from kgen.validation import check_erasing_value, check_probability, check_range_pair

# torchvision gives up after this many rejected boxes and leaves the image alone.
MAX_ATTEMPTS = 10


@keras.saving.register_keras_serializable(package="kgen")
class RandomErasing(RandomImageLayer):
    """Erase one random rectangle per image, exactly as `torchvision.transforms.RandomErasing`.

    For each image independently, with probability `p`: draw a target area
    `U(scale) * H * W` and an aspect ratio `exp(U(log ratio))`; the box is
    `h = round(sqrt(area * r))` by `w = round(sqrt(area / r))` and is accepted
    only if `h < H and w < W`. Up to 10 draws are made; if none is accepted the
    image is left unchanged. The top-left corner is uniform over the valid
    positions. All of this is vectorized over the batch.

    `keras.layers.RandomErasing` is a different algorithm (its `factor` draws the
    probability, its `scale` is per side, it has no aspect ratio and clips its
    fill to `value_range`), which is why kgen does not wrap it.

    Args:
        p: probability that an image is erased.
        scale: range of the erased area as a fraction of the image area.
        ratio: range of the box's aspect ratio (height / width), sampled log-uniformly.
        value: the fill: a number, one number per channel, or `"random"` for
            standard-normal noise per erased pixel. It is in the units of the
            layer's input; kgen models erase after standardization, so `0` is
            the dataset mean, as in the course's torchvision pipeline.
        seed: seed for the layer's `SeedGenerator`.
    """

    def __init__(self, p=0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0.0, seed=None,
                 **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.p = check_probability("p", p)
        self.scale = check_range_pair("scale", scale, low=0.0, high=1.0)
        self.ratio = check_range_pair("ratio", ratio, low=0.0, strictly_positive=True)
        self.value = check_erasing_value("value", value)

    def build(self, input_shape):
        super().build(input_shape)
        if isinstance(self.value, tuple) and len(self.value) not in (1, input_shape[-1]):
            raise ValueError(
                f"`value` has {len(self.value)} entries but the images have "
                f"{input_shape[-1]} channels. Received: value={self.value}"
            )

    def get_random_transformation(self, images):
        batch_size = ops.shape(images)[0]
        height, width = images.shape[1], images.shape[2]
        shape = (batch_size, MAX_ATTEMPTS)
        seed = self.seed_generator
        area = height * width * keras.random.uniform(shape, *self.scale, seed=seed)
        log_ratio = keras.random.uniform(
            shape, math.log(self.ratio[0]), math.log(self.ratio[1]), seed=seed
        )
        aspect = ops.exp(log_ratio)
        box_heights = ops.round(ops.sqrt(area * aspect))
        box_widths = ops.round(ops.sqrt(area / aspect))
        accepted = ops.logical_and(box_heights < height, box_widths < width)
        # The first accepted attempt wins, as in torchvision's loop.
        first = ops.one_hot(ops.argmax(ops.cast(accepted, "int32"), axis=1), MAX_ATTEMPTS)
        box_height = ops.sum(box_heights * first, axis=1)
        box_width = ops.sum(box_widths * first, axis=1)
        erase = ops.logical_and(
            keras.random.uniform((batch_size,), seed=seed) < self.p, ops.any(accepted, axis=1)
        )
        # floor(U[0, 1) * n) is uniform over 0..n-1: the valid top-left corners.
        top = ops.floor(keras.random.uniform((batch_size,), seed=seed) * (height - box_height + 1))
        left = ops.floor(keras.random.uniform((batch_size,), seed=seed) * (width - box_width + 1))
        transformation = {
            "erase": erase,
            "top": ops.minimum(top, height - box_height),
            "left": ops.minimum(left, width - box_width),
            "height": box_height,
            "width": box_width,
        }
        if self.value == "random":
            transformation["noise"] = keras.random.normal(ops.shape(images), seed=seed)
        return transformation

    def transform_images(self, images, transformation):
        height, width = images.shape[1], images.shape[2]
        rows = ops.arange(height, dtype="float32")[None, :]
        cols = ops.arange(width, dtype="float32")[None, :]

        def inside(index, start, size):
            start = ops.cast(start, "float32")[:, None]
            size = ops.cast(size, "float32")[:, None]
            return ops.logical_and(index >= start, index < start + size)

        in_rows = inside(rows, transformation["top"], transformation["height"])
        in_cols = inside(cols, transformation["left"], transformation["width"])
        mask = ops.logical_and(in_rows[:, :, None], in_cols[:, None, :])
        mask = ops.logical_and(mask, ops.reshape(transformation["erase"], (-1, 1, 1)))
        mask = mask[..., None]
        if self.value == "random":
            fill = ops.cast(transformation["noise"], images.dtype)
        else:
            fill = ops.cast(ops.convert_to_tensor(self.value), images.dtype)
        return ops.where(mask, fill, images)

    def get_config(self):
        return {
            **super().get_config(),
            "p": self.p,
            "scale": self.scale,
            "ratio": self.ratio,
            "value": self.value,
        }
