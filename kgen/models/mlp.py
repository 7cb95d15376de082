"""The MLP builder: dense layers on feature vectors, in the style of `build_cnn`.

The course's Keras examples regularize a small MLP: dropout on the inputs,
`Dense(60, kernel_constraint=MaxNorm(3))`, dropout between the dense layers,
SGD with momentum. `MLPConfig` holds those choices and the `course-mlp` preset
is that network (`kgen.models.create_mlp`).
"""

import keras
import numpy as np

from kgen.config import MLPConfig
from kgen.models.builder import activation_layer, kernel_initializer, kernel_regularizer
from kgen.validation import check_int, check_per_channel, received


def build_mlp(config, input_dim, num_classes, mean=None, std=None, name="mlp"):
    """A functional `keras.Model` from feature vectors of `input_dim` floats to
    `num_classes` logits.

    `mean` and `std` (one number, or one per feature) standardize the inputs
    inside the model, as the CNNs do with pixels; None leaves them as given.
    """
    if not isinstance(config, MLPConfig):
        raise TypeError(f"`config` must be an MLPConfig. {received('config', config)}")
    input_dim = check_int("input_dim", input_dim, minimum=1)
    num_classes = check_int("num_classes", num_classes, minimum=2)
    inputs = keras.Input((input_dim,), name="features")
    x = inputs
    if mean is not None or std is not None:
        mean = np.asarray(check_per_channel("mean", 0.0 if mean is None else mean, input_dim),
                          "float32")
        std = np.asarray(check_per_channel("std", 1.0 if std is None else std, input_dim,
                                           minimum=0.0, min_inclusive=False), "float32")
        x = keras.layers.Normalization(mean=mean, variance=np.square(std), name="standardize")(x)
    if config.input_dropout:
        x = keras.layers.Dropout(config.input_dropout, name="input_dropout")(x)
    for index, units in enumerate(config.hidden_units):
        x = keras.layers.Dense(units, name=f"hidden{index}_dense", **_kernel_arguments(config))(x)
        x = activation_layer(config.activation, f"hidden{index}_{config.activation}")(x)
        if config.dropout:
            x = keras.layers.Dropout(config.dropout, name=f"hidden{index}_dropout")(x)
    outputs = keras.layers.Dense(num_classes, name="classifier", dtype="float32",
                                 **_kernel_arguments(config))(x)
    return keras.Model(inputs, outputs, name=name)


def _kernel_arguments(config):
    # MaxNorm's default axis 0 is the dense kernel's inputs: one norm per unit.
    constraint = keras.constraints.MaxNorm(config.max_norm) if config.max_norm else None
    return {"kernel_initializer": kernel_initializer(config.initializer),
            "kernel_regularizer": kernel_regularizer(config.l1, config.l2),
            "kernel_constraint": constraint}
