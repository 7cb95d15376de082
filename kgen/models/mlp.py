"""The MLP builder: dense layers on feature vectors, in the style of `build_cnn`.

The course's Keras examples regularize a small MLP: dropout on the inputs,
`Dense(60, kernel_constraint=MaxNorm(3))`, dropout between the dense layers,
SGD with momentum. `MLPConfig` holds those choices and the `course-mlp` preset
is that network (`kgen.models.create_mlp`).
"""

import keras
import numpy as np

from kgen.config import MLPConfig
from kgen.models.builder import (
    activation_layer,
    kernel_initializer,
    kernel_regularizer,
    rebuild_under_policy,
)
from kgen.validation import check_int, check_per_channel, received


def build_mlp(config, input_dim, num_classes, mean=None, std=None, name="mlp", preset=None):
    """An `MLPClassifier` (a functional `keras.Model`) from feature vectors of
    `input_dim` floats to `num_classes` logits.

    `mean` and `std` (one number, or one per feature) standardize the inputs
    inside the model, as the CNNs do with pixels; None leaves them as given.
    `preset`: the name of the preset `config` comes from, if any; the model and
    its `.keras` file keep it.
    """
    return MLPClassifier(config, input_dim, num_classes, mean=mean, std=std, preset=preset,
                         name=name)


@keras.saving.register_keras_serializable(package="kgen")
class MLPClassifier(keras.Model):
    """A kgen MLP that knows what it was built from, like `Classifier` for the
    CNNs: `get_config` holds the `MLPConfig`, the input size, the classes, the
    input statistics, the preset's name and the dtype policy, so a `.keras`
    file says what the model is and loads in safe mode, mixed precision kept.

    Attributes:
        model_config: the `MLPConfig`.
        preset: the preset's name, or None.
        input_dim, num_classes, mean, std: as given to `build_mlp` (checked;
            `mean` and `std` are per-feature tuples, or None).
    """

    def __init__(self, model_config, input_dim, num_classes, mean=None, std=None, preset=None,
                 name="mlp", **kwargs):
        if not isinstance(model_config, MLPConfig):
            raise TypeError(f"`config` must be an MLPConfig. {received('config', model_config)}")
        if preset is not None and not isinstance(preset, str):
            raise TypeError(f"`preset` must be a preset name or None. {received('preset', preset)}")
        input_dim = check_int("input_dim", input_dim, minimum=1)
        num_classes = check_int("num_classes", num_classes, minimum=2)
        if mean is not None or std is not None:
            mean = tuple(check_per_channel("mean", 0.0 if mean is None else mean, input_dim))
            std = tuple(check_per_channel("std", 1.0 if std is None else std, input_dim,
                                          minimum=0.0, min_inclusive=False))
        inputs = keras.Input((input_dim,), name="features")
        x = inputs
        if mean is not None:
            x = keras.layers.Normalization(mean=np.asarray(mean, "float32"),
                                           variance=np.square(np.asarray(std, "float32")),
                                           name="standardize")(x)
        if model_config.input_dropout:
            x = keras.layers.Dropout(model_config.input_dropout, name="input_dropout")(x)
        for index, units in enumerate(model_config.hidden_units):
            x = keras.layers.Dense(units, name=f"hidden{index}_dense",
                                   **_kernel_arguments(model_config))(x)
            x = activation_layer(model_config.activation,
                                 f"hidden{index}_{model_config.activation}")(x)
            if model_config.dropout:
                x = keras.layers.Dropout(model_config.dropout, name=f"hidden{index}_dropout")(x)
        outputs = keras.layers.Dense(num_classes, name="classifier", dtype="float32",
                                     **_kernel_arguments(model_config))(x)
        super().__init__(inputs=inputs, outputs=outputs, name=name, **kwargs)
        self.model_config = model_config
        self.preset = preset
        self.input_dim = input_dim
        self.num_classes = num_classes
        self.mean, self.std = mean, std
        self.built_with_policy = keras.config.dtype_policy().name

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "model_config": self.model_config.to_dict(),
            "input_dim": self.input_dim,
            "num_classes": self.num_classes,
            "mean": None if self.mean is None else list(self.mean),
            "std": None if self.std is None else list(self.std),
            "preset": self.preset,
            "dtype_policy_name": self.built_with_policy,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["model_config"] = MLPConfig.from_dict(config["model_config"])
        return rebuild_under_policy(cls, config)


def _kernel_arguments(config):
    # MaxNorm's default axis 0 is the dense kernel's inputs: one norm per unit.
    constraint = keras.constraints.MaxNorm(config.max_norm) if config.max_norm else None
    return {"kernel_initializer": kernel_initializer(config.initializer),
            "kernel_regularizer": kernel_regularizer(config.l1, config.l2),
            "kernel_constraint": constraint}
