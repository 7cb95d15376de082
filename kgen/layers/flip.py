"""Airbench's derandomized horizontal flip."""

import keras
import numpy as np
from keras import ops

from kgen.layers.base import RandomImageLayer


@keras.saving.register_keras_serializable(package="kgen")
class AlternatingFlip(RandomImageLayer):
    """Flip a fixed half of the images in even epochs and the other half in odd ones.

    Airbench (Jordan 2024) showed that replacing the per-epoch coin flip with this
    alternation sees every image both ways every two epochs and trains faster.
    Airbench picks the half by dataset index; a layer inside a model never sees
    indices, so the half is picked by a seeded hash of each image's pixels, which
    is stable across epochs as long as the layer sees the raw images (kgen puts
    it first). The epoch comes from the `epoch` variable, which
    `kgen.callbacks.SyncAugmentationEpoch` sets at the start of each epoch.

    For plain per-image random flips use `keras.layers.RandomFlip("horizontal")`:
    it already draws one coin per image on every backend (tested in kgen).
    """

    def build(self, input_shape):
        super().build(input_shape)
        self.epoch = self.add_weight(
            name="epoch", shape=(), dtype="int32", initializer="zeros", trainable=False
        )
        # Fixed random projection for the pixel hash: drawn with numpy from the
        # seed so it is the same on every backend and saved with the model.
        rng = np.random.default_rng(self.seed if self.seed is not None else 0)
        pattern = rng.uniform(-1.0, 1.0, size=tuple(input_shape[1:])).astype("float32")
        self.hash_pattern = self.add_weight(
            name="hash_pattern",
            shape=tuple(input_shape[1:]),
            initializer=keras.initializers.Constant(pattern),
            trainable=False,
            autocast=False,
        )

    def get_random_transformation(self, images):
        projection = ops.sum(
            ops.cast(images, "float32") * self.hash_pattern[None], axis=(1, 2, 3)
        )
        # Fractional part of a scaled projection: close to uniform, stable per image.
        base_half = ops.mod(projection * 12.9898, 1.0) < 0.5
        odd_epoch = ops.equal(ops.mod(self.epoch, 2), 1)
        return {"flip": ops.not_equal(base_half, odd_epoch)}

    def transform_images(self, images, transformation):
        flip = ops.reshape(transformation["flip"], (-1, 1, 1, 1))
        return ops.where(flip, ops.flip(images, axis=2), images)
