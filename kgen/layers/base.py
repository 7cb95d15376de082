"""Shared machinery for kgen's layers: the random image layers' base class, and
the walk over every layer of a model."""

import keras
from keras import ops

from kgen.validation import check_seed


def every_layer(model, include_self=True):
    """Every layer inside `model`, nested ones included (a `WeightNormalization`'s
    wrapped layer, a sub-model's layers), depth first, each once.

    Keras has no public walk: `model.layers` holds only the top level. This is
    Keras' private `_flatten_layers`, called (never overridden) from this one
    place; `tests/test_models.py::test_every_layer_reaches_nested_layers` fails
    if a Keras release renames or changes it.
    """
    return list(model._flatten_layers(include_self=include_self))


class RandomImageLayer(keras.layers.Layer):
    """A batched image augmentation that is the identity at inference.

    Subclasses split the work the way Keras' own image preprocessing layers do:
    `get_random_transformation` draws every random number for a batch and returns
    them as a dict of tensors; `transform_images` applies a given dict. Tests can
    then feed hand-written parameters to `transform_images` and check the sampling
    statistically through `get_random_transformation` alone.

    Inputs are channels-last batches `(batch, height, width, channels)` with static
    height and width. Integer inputs are cast to the layer's compute dtype.
    """

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        # Keras' SeedGenerator takes Python ints only (not NumPy's), and each
        # backend overflows differently past 2**31.
        seed = check_seed("seed", seed)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.supports_masking = True

    def get_random_transformation(self, images):
        raise NotImplementedError

    def transform_images(self, images, transformation):
        raise NotImplementedError

    def call(self, images, training=None):
        images = ops.cast(images, self.compute_dtype)
        if not training:
            return images
        return self.transform_images(images, self.get_random_transformation(images))

    def build(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(
                f"{type(self).__name__} expects a batch of images of rank 4 "
                f"(batch, height, width, channels). Received: input_shape={input_shape}"
            )
        if input_shape[1] is None or input_shape[2] is None:
            raise ValueError(
                f"{type(self).__name__} needs static height and width. "
                f"Received: input_shape={input_shape}"
            )
        self.built = True

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}
