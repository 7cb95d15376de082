"""kgen's CNN family: one configurable builder and a registry of named presets.

    model = kgen.models.create("ladder-5", num_classes=10)
    model = kgen.models.create("small-cnn", normalization="group")  # override a field
    kgen.models.names()  # every preset
"""

from kgen.config import (
    Augmentation,
    Erasing,
    MLPConfig,
    ModelConfig,
    Stage,
    TrainConfig,
    replace_fields,
)
from kgen.models.builder import Classifier, build_cnn, model_name
from kgen.models.loading import load_model
from kgen.models.mlp import MLPClassifier, build_mlp
from kgen.models.weights import weight_statistics
from kgen.presets import LADDER, MLP_PRESETS, Preset, derive, get, get_mlp, names, register


def create(name, input_shape=(32, 32, 3), num_classes=10, mean=None, std=None, **overrides):
    """Build preset `name` as a `Classifier`; `overrides` replace `ModelConfig` fields.

    The model takes `uint8` images and returns logits. `mean` and `std` are the
    per-channel statistics of the training images in [0, 1] units.
    """
    preset = get(name)
    config = replace_fields(preset.model, overrides, "model")
    return build_cnn(config, input_shape, num_classes, mean=mean, std=std,
                     name=model_name(name), preset=name)


def create_mlp(name, input_dim, num_classes, mean=None, std=None, **overrides):
    """Build the MLP preset `name` (`MLP_PRESETS`); `overrides` replace
    `MLPConfig` fields. Returns the model; its training recipe is
    `get_mlp(name).train`."""
    preset = get_mlp(name)
    config = replace_fields(preset.model, overrides, "MLP")
    return build_mlp(config, input_dim, num_classes, mean=mean, std=std, name=model_name(name),
                     preset=name)


__all__ = [
    "LADDER", "MLP_PRESETS", "Augmentation", "Classifier", "Erasing", "MLPClassifier", "MLPConfig", "ModelConfig",
    "Preset", "Stage", "TrainConfig", "build_cnn", "build_mlp", "create", "create_mlp", "derive",
    "get", "get_mlp", "load_model", "model_name", "names", "register",
    "replace_fields", "weight_statistics",
]
