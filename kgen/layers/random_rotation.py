"""Random rotation about the image centre, bilinear, written on `keras.ops` only.

Why not `keras.layers.RandomRotation`: it sets `supports_jit = False` (its
TensorFlow path calls `ImageProjectiveTransformV3`, which has no XLA kernel), and
one such layer makes Keras resolve `jit_compile="auto"` to False for the whole
model, so on JAX every train step ran uncompiled. No argument of Keras' layer
changes that, and setting the flag on an instance is lost when a saved model is
loaded. This layer computes the same bilinear sampling as Keras'
`affine_transform` with `fill_mode="constant"` (tests pin it against Keras on
every backend) and compiles everywhere. Measured on a shared 2-CPU machine
(docs/performance.md, "Rotation on JAX"): ladder-7 at `--quick` settings on JAX
went from 17.7 to 4.1 s an epoch (first epoch, with compilation, 59.6 to 23.9 s);
TensorFlow unchanged; PyTorch 4.8 to 4.1 s. The layer alone, one
(32, 32, 32, 3) batch, compiled as in `fit`: JAX 1.6 ms (Keras' forced under
jit: 3.7), PyTorch 5.0 ms (Keras': 72), TensorFlow 2.6 ms (Keras' native kernel:
1.1, of a ~50 ms step). The four neighbours are read with one `take` from the
flattened batch: a `take_along_axis` gather was slower on TensorFlow (6.2 ms),
and tent-function weights applied with two einsums were slower on every backend
(JAX 4.5, TensorFlow 7.9, PyTorch 25 ms).
"""

import math

import keras
from keras import ops

from kgen.layers.base import RandomImageLayer
from kgen.validation import check_float32, check_number


@keras.saving.register_keras_serializable(package="kgen")
class RandomRotation(RandomImageLayer):
    """Rotate each image about its centre by its own angle, uniform in `[-degrees, degrees]`.

    The same transformation as `keras.layers.RandomRotation(degrees / 360,
    fill_mode="constant", interpolation="bilinear", fill_value=fill_value)`:
    output pixel `(row, col)` is the input sampled bilinearly at the point
    rotated by the angle about `((height - 1) / 2, (width - 1) / 2)`; a positive
    angle turns the content counter-clockwise. Points outside the image read as
    `fill_value` (0: black for pixels in [0, 1], like torchvision's default).

    Args:
        degrees: largest rotation, in degrees, in [0, 180].
        fill_value: the value of pixels that come from outside the image.
        seed: seed for the layer's `SeedGenerator`.
    """

    def __init__(self, degrees=5.0, fill_value=0.0, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.degrees = check_number("degrees", degrees, minimum=0.0, maximum=180.0)
        self.fill_value = check_float32("fill_value", fill_value)

    def get_random_transformation(self, images):
        batch_size = ops.shape(images)[0]
        angle = keras.random.uniform(
            (batch_size,), -self.degrees, self.degrees, seed=self.seed_generator
        )
        return {"angle": angle}

    def transform_images(self, images, transformation):
        """Rotates image `i` by `transformation["angle"][i]` degrees."""
        source_rows, source_cols = source_coordinates(
            transformation["angle"], images.shape[1], images.shape[2]
        )
        return sample_bilinear(images, source_rows, source_cols, self.fill_value)

    def get_config(self):
        return {**super().get_config(), "degrees": self.degrees, "fill_value": self.fill_value}


def source_coordinates(angle, height, width):
    """Where each output pixel reads from: `(rows, cols)`, each `(batch, height, width)`.

    Keras' rotation matrix for `affine_transform`, whose `x` is the column and
    `y` the row; computed in float32 whatever the image dtype.
    """
    radians = ops.cast(angle, "float32") * (math.pi / 180.0)
    cos = ops.cos(radians)[:, None, None]
    sin = ops.sin(radians)[:, None, None]
    centre_row, centre_col = (height - 1) / 2.0, (width - 1) / 2.0
    rows = ops.arange(height, dtype="float32")[None, :, None] - centre_row
    cols = ops.arange(width, dtype="float32")[None, None, :] - centre_col
    source_cols = centre_col + cos * cols - sin * rows
    source_rows = centre_row + sin * cols + cos * rows
    return source_rows, source_cols


def sample_bilinear(images, source_rows, source_cols, fill_value=0.0):
    """Bilinear samples of `images` at per-pixel source points, constant fill.

    The four neighbours of every point are read with one gather from the batch
    flattened to `(batch * height * width, channels)`; a neighbour outside the
    image gets weight 0 and its weight goes to `fill_value`.
    """
    batch_size = ops.shape(images)[0]
    height, width, channels = images.shape[1], images.shape[2], images.shape[3]
    top, left = ops.floor(source_rows), ops.floor(source_cols)
    down, right = source_rows - top, source_cols - left
    indices, weights = [], []
    for row, row_weight in ((top, 1.0 - down), (top + 1.0, down)):
        for col, col_weight in ((left, 1.0 - right), (left + 1.0, right)):
            inside = (row >= 0) & (row <= height - 1) & (col >= 0) & (col <= width - 1)
            row_index = ops.clip(row, 0, height - 1)
            col_index = ops.clip(col, 0, width - 1)
            indices.append(ops.cast(row_index * width + col_index, "int32"))
            weights.append(ops.where(inside, row_weight * col_weight, 0.0))
    first_pixel = ops.arange(batch_size, dtype="int32") * (height * width)
    indices = ops.stack(indices, axis=1) + first_pixel[:, None, None, None]
    weights = ops.stack(weights, axis=1)  # (batch, 4, height, width)
    pixels = ops.reshape(images, (-1, channels))
    neighbours = ops.take(pixels, ops.reshape(indices, (-1,)), axis=0)
    neighbours = ops.reshape(neighbours, (batch_size, 4, height, width, channels))
    out = ops.sum(neighbours * ops.cast(weights, images.dtype)[..., None], axis=1)
    if fill_value:
        outside = 1.0 - ops.sum(weights, axis=1)
        out = out + ops.cast(fill_value * outside, images.dtype)[..., None]
    return out
