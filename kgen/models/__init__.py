"""kgen's CNN family: one configurable builder and a registry of named presets.

    model = kgen.models.create("ladder-5", num_classes=10)
    model = kgen.models.create("small-cnn", normalization="group")  # override a field
    kgen.models.names()  # every preset
"""

from kgen.config import (
    Augmentation,
    Erasing,
    ModelConfig,
    Stage,
    TrainConfig,
    replace_fields,
)
from kgen.models.builder import Classifier, build_cnn, model_name
from kgen.models.loading import load_model
from kgen.models.weights import weight_statistics
from kgen.presets import LADDER, Preset, derive, get, names, register


def create(name, input_shape=(32, 32, 3), num_classes=10, mean=None, std=None, **overrides):
    """Build preset `name` as a `Classifier`; `overrides` replace `ModelConfig` fields.

    The model takes `uint8` images and returns logits. `mean` and `std` are the
    per-channel statistics of the training images in [0, 1] units.
    """
    preset = get(name)
    config = replace_fields(preset.model, overrides, "model")
    return build_cnn(config, input_shape, num_classes, mean=mean, std=std,
                     name=model_name(name), preset=name)


__all__ = [
    "LADDER", "Augmentation", "Classifier", "Erasing", "ModelConfig", "Preset", "Stage", "TrainConfig",
    "build_cnn", "create", "derive", "get", "load_model", "model_name", "names", "register",
    "replace_fields", "weight_statistics",
]
