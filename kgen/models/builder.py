"""The one CNN builder behind every kgen preset."""

import math
import re
from numbers import Integral

import keras

from kgen.config import ModelConfig
from kgen.layers import (
    AlternatingFlip,
    BatchNormalization,
    Conv2D,
    DropConnectDense,
    MaxPooling2D,
    MeanOnlyBatchNormalization,
    RandomErasing,
    RandomPadCrop,
    RandomRotation,
    WeightNormalization,
)
from kgen.validation import (
    MAX_CHANNELS,
    MAX_IMAGE_SIDE,
    check_int,
    check_per_channel,
    check_sequence,
    received,
)

# PyTorch's defaults, which the course's numbers were measured with: Keras'
# BatchNormalization defaults to momentum 0.99 and epsilon 1e-3.
BATCH_NORM_MOMENTUM = 0.9
NORM_EPSILON = 1e-5
# LeakyReLU's slope for negative inputs: Maas et al. (2013) and PyTorch's
# nn.LeakyReLU default (Keras' layer defaults to 0.3, its function to 0.2).
LEAKY_RELU_SLOPE = 0.01
# PReLU's learned slopes start where He et al. (2015) and PyTorch's nn.PReLU do.
PRELU_INITIAL_SLOPE = 0.25
# The axes a kernel's MaxNorm is taken over, per output unit: Keras' MaxNorm
# defaults to axis 0, right for a Dense kernel (inputs, units) only; a Conv2D
# kernel (height, width, inputs, filters) needs all three leading axes.
MAX_NORM_AXES = {"conv": (0, 1, 2), "dense": 0}
# The normalizations whose convolutions are wrapped in WeightNormalization.
WEIGHT_NORMALIZED = ("weight", "weight_mean_only")
# The activations that are layers of their own rather than a function name.
LAYER_ACTIVATIONS = ("leaky_relu", "prelu")


def model_name(name):
    """`name` (a preset's or a study variant's) as a Keras model name: every
    character but letters, digits and `_` becomes `_` ("ladder-5" -> "ladder_5"),
    so it is also a valid TensorFlow name scope."""
    return re.sub(r"[^A-Za-z0-9_]", "_", name)


def build_cnn(config, input_shape=(32, 32, 3), num_classes=10, mean=None, std=None,
              extra_augmentation=(), name="kgen_cnn", preset=None):
    """Build a `Classifier` (a functional Keras model) from a `ModelConfig`.

    The model takes raw `uint8` images (`x / 255` and per-channel standardization
    happen inside it) and returns logits, so compile with
    `SparseCategoricalCrossentropy(from_logits=True)`.

    Args:
        config: a `kgen.models.ModelConfig`.
        input_shape: `(height, width, channels)`.
        num_classes: number of output logits.
        mean, std: per-channel statistics of the training images in [0, 1]
            units (`kgen.data` computes them): one number or one per channel,
            the mean in [0, 1] and the std in (0, 1]. Default 0.5 and 0.25.
        extra_augmentation: more training-only layers (for example keras-cv's
            `RandomCutout`), applied after kgen's own augmentation.
        name: the model's name.
        preset: the name of the preset `config` comes from, if any; the model
            and its `.keras` file keep it.
    """
    return Classifier(config, input_shape, num_classes, mean=mean, std=std,
                      extra_augmentation=extra_augmentation, preset=preset, name=name)


@keras.saving.register_keras_serializable(package="kgen")
class Classifier(keras.Model):
    """A kgen CNN: a functional Keras model that knows what it was built from.

    keras-hub's pattern: `get_config` holds the constructor's arguments (the
    `ModelConfig`, input shape, classes, input statistics, preset name and the
    dtype policy), so a `.keras` file says what the model is, and loading
    rebuilds the same graph before reading the weights into it, in safe mode.
    Build it with `build_cnn` or `kgen.models.create`.

    Attributes:
        model_config: the `ModelConfig`.
        preset: the preset's name, or None.
        image_shape, num_classes, mean, std: as given to `build_cnn` (checked).
    """

    def __init__(self, model_config, image_shape=(32, 32, 3), num_classes=10, mean=None,
                 std=None, extra_augmentation=(), preset=None, name="kgen_cnn", **kwargs):
        if not isinstance(model_config, ModelConfig):
            raise TypeError("`config` must be a kgen.models.ModelConfig. "
                            f"{received('config', model_config)}")
        if preset is not None and not isinstance(preset, str):
            raise TypeError(f"`preset` must be a preset name or None. {received('preset', preset)}")
        image_shape = _check_input_shape(image_shape)
        num_classes = check_int("num_classes", num_classes, minimum=2, maximum=MAX_CHANNELS)
        mean, std = _check_statistics(mean, std, image_shape[-1])
        extra_augmentation = tuple(check_sequence("extra_augmentation", extra_augmentation))
        _check_downsampling(model_config, image_shape)
        inputs, outputs = _build_graph(model_config, image_shape, num_classes, mean, std,
                                       extra_augmentation)
        super().__init__(inputs=inputs, outputs=outputs, name=name, **kwargs)
        self.model_config = model_config
        self.preset = preset
        self.image_shape = image_shape
        self.num_classes = num_classes
        self.mean, self.std = tuple(mean), tuple(std)
        self.extra_augmentation = extra_augmentation
        self.built_with_policy = keras.config.dtype_policy().name

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "model_config": self.model_config.to_dict(),
            "image_shape": list(self.image_shape),
            "num_classes": self.num_classes,
            "mean": list(self.mean),
            "std": list(self.std),
            "extra_augmentation": [keras.saving.serialize_keras_object(layer)
                                   for layer in self.extra_augmentation],
            "preset": self.preset,
            "dtype_policy_name": self.built_with_policy,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["model_config"] = ModelConfig.from_dict(config["model_config"])
        config["extra_augmentation"] = [keras.saving.deserialize_keras_object(layer)
                                        for layer in config.get("extra_augmentation", ())]
        return rebuild_under_policy(cls, config)


def rebuild_under_policy(cls, config):
    """`cls(**config)` under the dtype policy its layers were built with
    (`config["dtype_policy_name"]`), so a mixed-precision model stays mixed
    wherever it is loaded; the caller's policy is restored after."""
    config = dict(config)
    policy = config.pop("dtype_policy_name", None)
    previous = keras.config.dtype_policy()
    if policy is not None:
        keras.config.set_dtype_policy(policy)
    try:
        return cls(**config)
    finally:
        keras.config.set_dtype_policy(previous)


def _check_statistics(mean, std, channels):
    original_mean, original_std = mean, std
    mean = check_per_channel("mean", 0.5 if mean is None else mean, channels)
    std = check_per_channel("std", 0.25 if std is None else std, channels,
                            minimum=0.0, min_inclusive=False)
    # Statistics of pixels in [0, 1] lie in [0, 1], and their spread is at most 0.5
    # (std 1 is `scaling="unit"`, the identity). Larger numbers are statistics in
    # 0..255 units, which would map every image to nearly one constant.
    for name, values, original, interval in (("mean", mean, original_mean, "[0, 1]"),
                                             ("std", std, original_std, "(0, 1]")):
        if min(values) < 0.0 or max(values) > 1.0:
            raise ValueError(
                f"`{name}` must lie in {interval}: it is a statistic of pixels in [0, 1] "
                f"units (divide statistics of 0..255 pixels by 255). "
                f"{received(name, original)}"
            )
    return mean, std


def _build_graph(config, input_shape, num_classes, mean, std, extra_augmentation):
    """The functional graph: `(inputs, outputs)`."""
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
    return inputs, apply_head(x, num_classes, config)


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
        x = apply_block(x, width, stage.convs, strides, residual, config, name=f"{name}_block{block}",
                        kernel_size=stage.kernel_size)
    if stage.downsample == "maxpool":
        x = MaxPooling2D(2, name=f"{name}_pool")(x)
    elif stage.downsample == "avgpool":
        x = keras.layers.AveragePooling2D(2, name=f"{name}_avgpool")(x)
    if stage.dropout:
        x = keras.layers.Dropout(stage.dropout, name=f"{name}_dropout")(x)
    return x


def apply_block(x, width, convs, strides, residual, config, name, kernel_size=3):
    shortcut = x
    for index in range(convs):
        x = apply_conv_unit(x, width, config, strides=strides if index == 0 else 1,
                            name=f"{name}_unit{index}", kernel_size=kernel_size)
    if not residual:
        return x
    if strides != 1 or shortcut.shape[-1] != width:
        # The projection is linear: He's factor 2 makes up for a ReLU that halves the
        # variance, and here it would double the shortcut's variance at every stage
        # (ladder-8 began at loss 10 on noise). Variance-preserving LeCun init instead.
        arguments = _kernel_arguments(config, "conv")
        if config.initializer == "he_normal":
            arguments["kernel_initializer"] = "lecun_normal"
        shortcut = Conv2D(width, 1, strides=strides, use_bias=False, name=f"{name}_projection",
                          **arguments)(shortcut)
    return keras.layers.Add(name=f"{name}_add")([x, shortcut])


def apply_conv_unit(x, width, config, strides=1, name="unit", kernel_size=3):
    """Conv, activation and normalization in `config.block_order`."""
    normalized = config.normalization not in ("none", "weight")
    # A bias right before a normalization is cancelled by its mean subtraction.
    use_bias = not (normalized and config.block_order == "conv-norm-act")
    conv = Conv2D(
        width, kernel_size, strides=strides, padding="same", use_bias=use_bias,
        name=f"{name}_conv",
        **_kernel_arguments(config, "conv"),
    )
    if config.normalization in WEIGHT_NORMALIZED:
        conv = WeightNormalization(conv, name=f"{name}_weightnorm")
    x = conv(x)
    activation = activation_layer(config.activation, f"{name}_{config.activation}",
                                  per_channel_of_images=True)
    if config.block_order == "conv-norm-act":
        x = _normalization(x, config, name)
        return activation(x)
    return _normalization(activation(x), config, name)


# How each head (`kgen.config.HEADS`) turns the last feature map into a vector.
HEAD_POOLING = {
    "flatten": lambda: keras.layers.Flatten(name="flatten"),
    "avg": lambda: keras.layers.GlobalAveragePooling2D(name="avg_pool"),
    "max": lambda: keras.layers.GlobalMaxPooling2D(name="max_pool"),
}


def apply_head(x, num_classes, config):
    x = HEAD_POOLING[config.head]()(x)
    # Activations with a layer of their own (a learned or parametrized slope)
    # follow the dense layer; the others are its `activation`, as before.
    separate = config.activation in LAYER_ACTIVATIONS
    inner_activation = None if separate or config.normalize_head else config.activation
    for index, units in enumerate(config.head_units):
        if config.drop_connect:
            dense = DropConnectDense(units, rate=config.drop_connect,
                                     activation=inner_activation, name=f"head{index}_dropconnect",
                                     **_kernel_arguments(config, "dense"))
        else:
            dense = keras.layers.Dense(units, activation=inner_activation,
                                       name=f"head{index}_dense",
                                       **_kernel_arguments(config, "dense"))
        x = dense(x)
        if config.normalize_head:
            # BatchNorm over the units, between the dense layer and its activation.
            x = BatchNormalization(momentum=BATCH_NORM_MOMENTUM, epsilon=NORM_EPSILON,
                                   name=f"head{index}_batchnorm")(x)
        if separate or config.normalize_head:
            x = activation_layer(config.activation, f"head{index}_{config.activation}")(x)
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
    classifier_arguments = _kernel_arguments(config, "dense")
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
    elif kind == "weight_mean_only":
        layer = MeanOnlyBatchNormalization(momentum=BATCH_NORM_MOMENTUM, name=f"{name}_meanonlybn")
    elif kind == "group":
        groups = math.gcd(config.norm_groups, channels)
        layer = keras.layers.GroupNormalization(
            groups=groups, epsilon=NORM_EPSILON, name=f"{name}_groupnorm"
        )
    else:  # ModelConfig refuses other names; a new one must be built here first
        raise ValueError(f"The builder has no {kind!r} normalization. "
                         f"{received('normalization', kind)}")
    return layer(x)


def activation_layer(activation, name, per_channel_of_images=False):
    """The layer named `name` for `activation` (`kgen.config.ACTIVATIONS`).

    `prelu` learns its negative slope: one per channel after a convolution
    (`per_channel_of_images`, He et al.'s channel-wise PReLU), one per unit
    after a dense layer.
    """
    if activation == "prelu":
        return keras.layers.PReLU(
            alpha_initializer=keras.initializers.Constant(PRELU_INITIAL_SLOPE),
            shared_axes=(1, 2) if per_channel_of_images else None, name=name)
    if activation == "leaky_relu":
        return keras.layers.LeakyReLU(negative_slope=LEAKY_RELU_SLOPE, name=name)
    return keras.layers.Activation(activation, name=name)


def kernel_regularizer(l1, l2):
    """Keras' L1, L2 or L1L2 penalty on a kernel (None for neither)."""
    if l1 and l2:
        return keras.regularizers.L1L2(l1=l1, l2=l2)
    if l1:
        return keras.regularizers.L1(l1)
    return keras.regularizers.L2(l2) if l2 else None


def kernel_initializer(name):
    """The Keras initializer for `kgen.config.INITIALIZERS` name `name`:
    "normal" is N(0, 0.01**2), the course's (Keras' "random_normal" is 0.05)."""
    if name == "normal":
        return keras.initializers.RandomNormal(mean=0.0, stddev=0.01)
    return name


def _kernel_arguments(config, kind):
    """Initializer, penalty and constraint of a `kind` ("conv" or "dense") kernel."""
    initializer = kernel_initializer(config.initializer)
    constraint = (keras.constraints.MaxNorm(config.max_norm, axis=MAX_NORM_AXES[kind])
                  if config.max_norm else None)
    return {"kernel_initializer": initializer,
            "kernel_regularizer": kernel_regularizer(config.l1, config.l2),
            "kernel_constraint": constraint}


def _check_input_shape(input_shape):
    expected = "`input_shape` must be (height, width, channels) of positive integers"
    if isinstance(input_shape, (str, bytes, dict)):
        raise TypeError(f"{expected}. {received('input_shape', input_shape)}")
    try:
        shape = tuple(input_shape)
    except TypeError:
        raise TypeError(f"{expected}. {received('input_shape', input_shape)}") from None
    if len(shape) != 3:
        raise ValueError(f"{expected}. {received('input_shape', input_shape)}")
    # int() would quietly turn 32.5 into 32 and "32" into 32.
    if any(isinstance(size, bool) or not isinstance(size, Integral) for size in shape):
        raise TypeError(f"{expected}. {received('input_shape', input_shape)}")
    limits = (MAX_IMAGE_SIDE, MAX_IMAGE_SIDE, MAX_CHANNELS)
    if any(size < 1 or size > limit for size, limit in zip(shape, limits)):
        raise ValueError(
            f"{expected}, at most {MAX_IMAGE_SIDE} x {MAX_IMAGE_SIDE} pixels and "
            f"{MAX_CHANNELS} channels. {received('input_shape', input_shape)}"
        )
    return tuple(int(size) for size in shape)


def _check_downsampling(config, input_shape):
    """Each max-pooling stage halves the resolution, rounding down; a stage that
    would pool a 1-pixel-wide feature map fails deep inside Keras, so say it here."""
    size = min(input_shape[0], input_shape[1])
    for index, stage in enumerate(config.stages):
        if stage.downsample == "stride":
            size = (size + 1) // 2
        elif stage.downsample in ("maxpool", "avgpool"):
            if size < 2:
                pools = sum(s.downsample in ("maxpool", "avgpool") for s in config.stages)
                raise ValueError(
                    f"`input_shape` is too small for the `stages`: stage {index} would "
                    f"pool a 1-pixel feature map ({pools} stages halve the resolution). "
                    f"Use larger images or fewer downsampling stages. "
                    f"{received('input_shape', input_shape)}"
                )
            size //= 2
