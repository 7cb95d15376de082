"""Keras layers for the generalization playbook; all run on TensorFlow, JAX and PyTorch."""

from kgen.layers.accelerated import BatchNormalization, Conv2D, MaxPooling2D
from kgen.layers.base import RandomImageLayer, every_layer
from kgen.layers.drop_connect import DropConnectDense
from kgen.layers.flip import AlternatingFlip
from kgen.layers.mean_only_batch_normalization import MeanOnlyBatchNormalization
from kgen.layers.random_erasing import RandomErasing
from kgen.layers.random_pad_crop import RandomPadCrop
from kgen.layers.random_rotation import RandomRotation
from kgen.layers.weight_normalization import (
    WeightNormalization,
    initialize_weight_normalization,
)

__all__ = [
    "AlternatingFlip",
    "BatchNormalization",
    "Conv2D",
    "DropConnectDense",
    "MaxPooling2D",
    "MeanOnlyBatchNormalization",
    "RandomErasing",
    "RandomImageLayer",
    "RandomPadCrop",
    "RandomRotation",
    "WeightNormalization",
    "every_layer",
    "initialize_weight_normalization",
]
