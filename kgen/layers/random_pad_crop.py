"""Pad-and-random-crop, per image (torchvision's `RandomCrop(size, padding=...)`)."""

import keras
from keras import ops

from kgen.config import PAD_MODES
from kgen.layers.base import RandomImageLayer
from kgen.validation import MAX_IMAGE_SIDE, check_choice, check_int


@keras.saving.register_keras_serializable(package="kgen")
class RandomPadCrop(RandomImageLayer):
    """Pad each image by `padding` on every side, then crop back at a random offset.

    Each image gets its own offset, uniform over all `(2 * padding + 1) ** 2`
    positions. `keras.layers.RandomCrop` neither pads nor varies the offset within
    a batch, so it cannot express this.

    Args:
        padding: pixels added on each side before cropping.
        mode: `"constant"` pads with zeros (torchvision's default, black for
            images in [0, 1]); `"reflect"` mirrors the border (airbench).
        seed: seed for the layer's `SeedGenerator`.
    """

    def __init__(self, padding=4, mode="constant", seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.padding = check_int("padding", padding, minimum=0, maximum=MAX_IMAGE_SIDE)
        self.mode = check_choice("mode", mode, PAD_MODES)

    def build(self, input_shape):
        super().build(input_shape)
        smallest_side = min(input_shape[1], input_shape[2])
        # Reflection needs a border to mirror; a constant pad wider than the image
        # would mostly crop padding, which is never what was meant.
        limit = smallest_side - 1 if self.mode == "reflect" else smallest_side
        if self.padding > limit:
            raise ValueError(
                f"`padding` must be at most {limit} for {self.mode} padding of images "
                f"whose smaller side is {smallest_side}. Received: padding={self.padding}"
            )

    def get_random_transformation(self, images):
        batch_size = ops.shape(images)[0]
        positions = 2 * self.padding + 1
        draw = lambda: keras.random.randint(  # noqa: E731
            (batch_size,), 0, positions, dtype="int32", seed=self.seed_generator
        )
        return {"top": draw(), "left": draw()}

    def transform_images(self, images, transformation):
        if self.padding == 0:
            return images
        height, width = images.shape[1], images.shape[2]
        pad = self.padding
        padded = ops.pad(images, [[0, 0], [pad, pad], [pad, pad], [0, 0]], mode=self.mode)
        # A crop at a per-image offset as two one-hot selections: a plain batched
        # einsum that every backend compiles well, and exact (each output pixel is
        # one input pixel times 1).
        def selection(offset, size):
            index = offset[:, None] + ops.arange(size, dtype="int32")[None, :]
            return ops.one_hot(index, size + 2 * pad, dtype=images.dtype)

        rows = selection(transformation["top"], height)
        cols = selection(transformation["left"], width)
        cropped = ops.einsum("bhp,bpqc->bhqc", rows, padded)
        return ops.einsum("bwq,bhqc->bhwc", cols, cropped)

    def get_config(self):
        return {**super().get_config(), "padding": self.padding, "mode": self.mode}
