"""The one CNN builder behind every kgen preset."""

import math

import keras

from kgen.layers import (
    AlternatingFlip,
    BatchNormalization,
    Conv2D,
    DropConnectDense,
    MaxPooling2D,
    RandomErasing,
    RandomPadCrop,
    RandomRotation,
    WeightNormalization,
)
from kgen.models.config import ModelConfig
from kgen.validation import check_int

# PyTorch's defaults, which the course's numbers were measured with: Keras'
# BatchNormalization defaults to momentum 0.99 and epsilon 1e-3.
BATCH_NORM_MOMENTUM = 0.9
NORM_EPSILON = 1e-5


def build_cnn(config, input_shape=(32, 32, 3), num_classes=10, mean=None, std=None,
              extra_augmentation=(), name="kgen_cnn"):
    """Build a functional Keras model from a `ModelConfig`.

    The model takes raw `uint8` images (`x / 255` and per-channel standardization
    happen inside it) and returns logits, so compile with
    `SparseCategoricalCrossentropy(from_logits=True)`.

    Args:
        config: a `kgen.models.ModelConfig`.
        input_shape: `(height, width, channels)`.
        num_classes: number of output logits.
        mean, std: per-channel statistics of the training images in [0, 1]
            units (`kgen.data` computes them). Default 0.5 and 0.25 per channel.
        extra_augmentation: more training-only layers (for example keras-cv's
            `RandomCutout`), applied after kgen's own augmentation.
        name: the model's name.
    """
    if not isinstance(config, ModelConfig):
        raise TypeError(f"`config` must be a kgen.models.ModelConfig. Received: config={config!r}")
    input_shape = _check_input_shape(input_shape)
    num_classes = check_int("num_classes", num_classes, minimum=2)
    channels = input_shape[-1]
    mean = _per_channel("mean", 0.5 if mean is None else mean, channels)
    std = _per_channel("std", 0.25 if std is None else std, channels)
    if min(std) <= 0:
        raise ValueError(f"`std` must be positive. Received: std={std}")

    # === Functional Model ===
    inputs = keras.Input(shape=input_shape, dtype="uint8", name="images")
    x = keras.layers.Rescaling(1.0 / 255, name="rescale")(inputs)
    x = apply_geometric_augmentation(x, config.augmentation)
    x = keras.layers.Normalization(
        mean=mean, variance=[s * s for s in std], name="standardize"
    )(x)
    if config.augmentation.erasing is not None:
        erasing = config.augmentation.erasing
        x = RandomErasing(erasing.p, erasing.scale, erasing.ratio, erasing.value,
                          name="random_erasing")(x)
    for layer in extra_augmentation:
        x = layer(x)
    if config.stem_width:
        x = apply_conv_unit(x, config.scaled_width(config.stem_width), config, name="stem")
    for index, stage in enumerate(config.stages):
        x = apply_stage(x, stage, config, name=f"stage{index}")
    outputs = apply_head(x, num_classes, config)
    return keras.Model(inputs, outputs, name=name)


def apply_geometric_augmentation(x, augmentation):
    """Flip, pad-crop and rotation on pixels in [0, 1]: zero padding is black,
    as with torchvision transforms applied before `Normalize`."""
    if augmentation.flip == "alternating":
        x = AlternatingFlip(name="alternating_flip")(x)
    elif augmentation.flip == "random":
        x = keras.layers.RandomFlip("horizontal", name="random_flip")(x)
    if augmentation.pad_crop:
        x = RandomPadCrop(augmentation.pad_crop, augmentation.pad_mode, name="random_pad_crop")(x)
    if augmentation.rotation_degrees:
        x = RandomRotation(augmentation.rotation_degrees, name="random_rotation")(x)
    return x


def apply_stage(x, stage, config, name):
    width = config.scaled_width(stage.width)
    residual = stage.residual or config.residual
    for block in range(stage.blocks):
        strides = 2 if (stage.downsample == "stride" and block == 0) else 1
        x = apply_block(x, width, stage.convs, strides, residual, config, name=f"{name}_block{block}")
    if stage.downsample == "maxpool":
        x = MaxPooling2D(2, name=f"{name}_pool")(x)
    if stage.dropout:
        x = keras.layers.Dropout(stage.dropout, name=f"{name}_dropout")(x)
    return x


def apply_block(x, width, convs, strides, residual, config, name):
    shortcut = x
    for index in range(convs):
        x = apply_conv_unit(x, width, config, strides=strides if index == 0 else 1,
                            name=f"{name}_unit{index}")
    if not residual:
        return x
    if strides != 1 or shortcut.shape[-1] != width:
        # The projection is linear: He's factor 2 makes up for a ReLU that halves the
        # variance, and here it would double the shortcut's variance at every stage
        # (ladder-8 began at loss 10 on noise). Variance-preserving LeCun init instead.
        arguments = _kernel_arguments(config)
        if config.initializer == "he_normal":
            arguments["kernel_initializer"] = "lecun_normal"
        shortcut = Conv2D(width, 1, strides=strides, use_bias=False, name=f"{name}_projection",
                          **arguments)(shortcut)
    return keras.layers.Add(name=f"{name}_add")([x, shortcut])


def apply_conv_unit(x, width, config, strides=1, name="unit"):
    """Conv, activation and normalization in `config.block_order`."""
    normalized = config.normalization not in ("none", "weight")
    # A bias right before a normalization is cancelled by its mean subtraction.
    use_bias = not (normalized and config.block_order == "conv-norm-act")
    conv = Conv2D(
        width, 3, strides=strides, padding="same", use_bias=use_bias, name=f"{name}_conv",
        **_kernel_arguments(config),
    )
    if config.normalization == "weight":
        conv = WeightNormalization(conv, name=f"{name}_weightnorm")
    x = conv(x)
    activation = keras.layers.Activation(config.activation, name=f"{name}_{config.activation}")
    if config.block_order == "conv-norm-act":
        x = _normalization(x, config, name)
        return activation(x)
    return _normalization(activation(x), config, name)


def apply_head(x, num_classes, config):
    if config.head == "flatten":
        x = keras.layers.Flatten(name="flatten")(x)
    elif config.head == "avg":
        x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    else:
        x = keras.layers.GlobalMaxPooling2D(name="max_pool")(x)
    for index, units in enumerate(config.head_units):
        if config.drop_connect:
            dense = DropConnectDense(units, rate=config.drop_connect,
                                     activation=config.activation, name=f"head{index}_dropconnect",
                                     **_kernel_arguments(config))
        else:
            dense = keras.layers.Dense(units, activation=config.activation, name=f"head{index}_dense",
                                       **_kernel_arguments(config))
        x = dense(x)
    if config.head_dropout:
        x = keras.layers.Dropout(config.head_dropout, name="classifier_dropout")(x)
    # Logits in float32 even under a mixed-precision policy, for a stable loss.
    # The classifier of He-initialized models starts at zero (big_vision's zero-init
    # head): every model then starts at the loss of guessing, log(classes). He or
    # Glorot init there gave confident wrong logits from the start, the more so after
    # train-mode dropout and residual sums: at quarter width, on synthetic images, the
    # first batch's loss was 6.0 for ladder-3 and 22.9 for ladder-8 (chance 2.30), and
    # the dropout rungs sat at chance for many epochs. Measured on the quick ladder's
    # data (PyTorch backend, 2,000 images, batch 32): validation accuracy after 15
    # epochs 72.2% for ladder-3 (68.0% with PyTorch's nn.Linear default init), and
    # after 8 epochs 70.4% for ladder-8 (59.8%).
    classifier_arguments = _kernel_arguments(config)
    if config.initializer == "he_normal":
        classifier_arguments["kernel_initializer"] = "zeros"
    x = keras.layers.Dense(num_classes, name="classifier", dtype="float32",
                           **classifier_arguments)(x)
    if config.logit_scale != 1.0:
        x = keras.layers.Rescaling(config.logit_scale, name="logit_scale", dtype="float32")(x)
    return x


def _normalization(x, config, name):
    kind = config.normalization
    if kind in ("none", "weight"):
        return x
    channels = x.shape[-1]
    if kind == "batch":
        layer = BatchNormalization(
            momentum=BATCH_NORM_MOMENTUM, epsilon=NORM_EPSILON, name=f"{name}_batchnorm"
        )
    elif kind == "layer":
        # Over (H, W, C) per sample, as PyTorch's nn.LayerNorm([C, H, W]) in the course.
        layer = keras.layers.LayerNormalization(
            axis=(-3, -2, -1), epsilon=NORM_EPSILON, name=f"{name}_layernorm"
        )
    elif kind == "instance":
        layer = keras.layers.GroupNormalization(
            groups=-1, epsilon=NORM_EPSILON, name=f"{name}_instancenorm"
        )
    else:
        groups = math.gcd(config.norm_groups, channels)
        layer = keras.layers.GroupNormalization(
            groups=groups, epsilon=NORM_EPSILON, name=f"{name}_groupnorm"
        )
    return layer(x)


def _kernel_arguments(config):
    if config.initializer == "normal":
        initializer = keras.initializers.RandomNormal(mean=0.0, stddev=0.01)
    else:
        initializer = config.initializer
    regularizer = keras.regularizers.L2(config.l2) if config.l2 else None
    return {"kernel_initializer": initializer, "kernel_regularizer": regularizer}


def _check_input_shape(input_shape):
    try:
        shape = tuple(int(d) for d in input_shape)
    except (TypeError, ValueError):
        raise ValueError(
            f"`input_shape` must be (height, width, channels). Received: input_shape={input_shape!r}"
        ) from None
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(
            f"`input_shape` must be (height, width, channels) of positive sizes. "
            f"Received: input_shape={input_shape!r}"
        )
    return shape


def _per_channel(name, value, channels):
    values = [float(value)] * channels if isinstance(value, (int, float)) else [float(v) for v in value]
    if len(values) != channels:
        raise ValueError(
            f"`{name}` needs one value per channel ({channels}). Received: {name}={value!r}"
        )
    return values
