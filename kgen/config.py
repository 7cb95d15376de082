"""Frozen, validated configurations for kgen's CNN family and its training.

Keras-free, like `kgen.presets`: the CLI lists, checks and prints configs
without importing a backend. `kgen.models` re-exports everything here.
"""

import dataclasses
from dataclasses import dataclass, field

from kgen.validation import (
    MAX_BATCH_SIZE,
    MAX_CHANNELS,
    MAX_CONVOLUTIONS,
    MAX_EPOCHS,
    MAX_IMAGE_SIDE,
    check_bool,
    check_choice,
    check_erasing_value,
    check_float32,
    check_int,
    check_number,
    check_probability,
    check_range_pair,
    check_rate,
    check_sequence,
    received,
)

# "weight_mean_only": weight normalization with mean-only batch normalization
# after it (Salimans and Kingma 2016, sec. 2.2).
NORMALIZATIONS = ("none", "batch", "layer", "instance", "group", "weight", "weight_mean_only")
BLOCK_ORDERS = ("conv-act-norm", "conv-norm-act")
DOWNSAMPLES = ("maxpool", "avgpool", "stride", "none")
HEADS = ("flatten", "avg", "max")
ACTIVATIONS = ("relu", "sigmoid", "tanh", "elu", "selu", "gelu", "silu", "leaky_relu", "prelu")
INITIALIZERS = ("he_normal", "glorot_uniform", "normal")
OPTIMIZERS = ("adam", "adam_coupled_decay", "adamw", "sgd")
SCHEDULES = ("constant", "exponential", "cosine", "warmup_linear")
# Where a run's weights start (`TrainConfig.transfer`): its own initialization,
# or a pretrained backbone (`Settings.backbone`) with a new classifier, the
# backbone frozen throughout (a linear probe) or for the first `head_epochs`.
TRANSFERS = ("none", "probe", "fine-tune")
PAD_MODES = ("constant", "reflect")
FLIPS = ("none", "random", "alternating")


@dataclass(frozen=True)
class Stage:
    """A run of 3x3 convolutions at one width.

    Attributes:
        width: output channels of every convolution (before `width_multiplier`).
        convs: convolutions per block.
        blocks: blocks in the stage; with `residual`, each block gets a shortcut.
        residual: add a shortcut around each block (identity, or a 1x1
            convolution where the width or resolution changes).
        downsample: `"maxpool"` halves the resolution after the stage (2x2
            max pooling), `"avgpool"` with 2x2 average pooling (LeNet's),
            `"stride"` with a stride-2 first convolution, `"none"` keeps it.
        dropout: dropout rate after the stage.
        kernel_size: height and width of each convolution (LeNet's are 5).
    """

    width: int
    convs: int = 2
    blocks: int = 1
    residual: bool = False
    downsample: str = "maxpool"
    dropout: float = 0.0
    kernel_size: int = 3

    def __post_init__(self):
        object.__setattr__(self, "width", check_int("width", self.width, 1, MAX_CHANNELS))
        object.__setattr__(self, "convs", check_int("convs", self.convs, 1, MAX_CONVOLUTIONS))
        object.__setattr__(self, "blocks", check_int("blocks", self.blocks, 1, MAX_CONVOLUTIONS))
        object.__setattr__(self, "residual", check_bool("residual", self.residual))
        check_choice("downsample", self.downsample, DOWNSAMPLES)
        check_rate("dropout", self.dropout)
        check_int("kernel_size", self.kernel_size, minimum=1, maximum=MAX_IMAGE_SIDE)


@dataclass(frozen=True)
class Erasing:
    """Settings of `kgen.layers.RandomErasing` (torchvision's defaults)."""

    p: float = 0.5
    scale: tuple = (0.02, 0.33)
    ratio: tuple = (0.3, 3.3)
    value: float = 0.0

    def __post_init__(self):
        check_probability("p", self.p)
        object.__setattr__(self, "scale", check_range_pair("scale", self.scale, 0.0, 1.0))
        object.__setattr__(
            self, "ratio", check_range_pair("ratio", self.ratio, strictly_positive=True)
        )
        object.__setattr__(self, "value", check_erasing_value("value", self.value))


@dataclass(frozen=True)
class Augmentation:
    """Training-only augmentation inside the model, applied in this order:
    flip and pad-crop and rotation on pixels in [0, 1], then standardization,
    then erasing (so an erasing `value` of 0 is the dataset mean, as in the
    course's torchvision pipeline)."""

    flip: str = "none"
    pad_crop: int = 0
    pad_mode: str = "constant"
    rotation_degrees: float = 0.0
    erasing: Erasing | None = None

    def __post_init__(self):
        check_choice("flip", self.flip, FLIPS)
        check_int("pad_crop", self.pad_crop, minimum=0, maximum=MAX_IMAGE_SIDE)
        check_choice("pad_mode", self.pad_mode, PAD_MODES)
        check_number("rotation_degrees", self.rotation_degrees, minimum=0.0, maximum=180.0)
        if isinstance(self.erasing, dict):
            object.__setattr__(self, "erasing", from_fields(Erasing, self.erasing, "erasing field"))
        elif self.erasing is not None and not isinstance(self.erasing, Erasing):
            raise TypeError(f"`erasing` must be None, an Erasing or a table of its fields. "
                            f"{received('erasing', self.erasing)}")

    @property
    def active(self):
        return (
            self.flip != "none"
            or self.pad_crop > 0
            or self.rotation_degrees > 0
            or self.erasing is not None
        )


@dataclass(frozen=True)
class ModelConfig:
    """Everything that defines a kgen CNN. Presets are instances of this."""

    stages: tuple = (Stage(32), Stage(64), Stage(128))
    width_multiplier: float = 1.0
    stem_width: int = 0  # a single conv before the stages; 0 for none
    block_order: str = "conv-act-norm"  # the course's Conv -> ReLU -> BatchNorm
    normalization: str = "none"
    norm_groups: int = 8
    activation: str = "relu"
    initializer: str = "he_normal"
    l2: float = 0.0  # L2 penalty l2 * sum(W**2) on every kernel (Keras' L2)
    l1: float = 0.0  # L1 (LASSO) penalty l1 * sum(|W|) on every kernel; with l2: both
    max_norm: float = 0.0  # MaxNorm(max_norm) on every kernel, per output unit; 0: none
    residual: bool = False  # a shortcut around every block of every stage
    head: str = "flatten"
    head_units: tuple = (256,)
    head_dropout: float = 0.0
    # `normalization` (batch only) after each hidden dense layer too, as after
    # the convolutions (LeNet with BatchNorm).
    normalize_head: bool = False
    drop_connect: float = 0.0  # DropConnect on the hidden head layers
    logit_scale: float = 1.0  # ResNet-9 (Page 2018) multiplies logits by 0.125
    augmentation: Augmentation = field(default_factory=Augmentation)

    def __post_init__(self):
        object.__setattr__(self, "stages", _check_stages(self.stages))
        head_units = check_sequence("head_units", self.head_units)
        object.__setattr__(self, "head_units", tuple(
            check_int("head_units", units, minimum=1, maximum=MAX_CHANNELS) for units in head_units
        ))
        if isinstance(self.augmentation, dict):
            object.__setattr__(self, "augmentation",
                               from_fields(Augmentation, self.augmentation, "augmentation field"))
        elif not isinstance(self.augmentation, Augmentation):
            raise TypeError(f"`augmentation` must be an Augmentation or a table of its fields. "
                            f"{received('augmentation', self.augmentation)}")
        check_number("width_multiplier", self.width_multiplier, minimum=0.0, min_inclusive=False)
        check_int("stem_width", self.stem_width, minimum=0, maximum=MAX_CHANNELS)
        check_choice("block_order", self.block_order, BLOCK_ORDERS)
        check_choice("normalization", self.normalization, NORMALIZATIONS)
        check_int("norm_groups", self.norm_groups, minimum=1, maximum=MAX_CHANNELS)
        check_choice("activation", self.activation, ACTIVATIONS)
        check_choice("initializer", self.initializer, INITIALIZERS)
        check_float32("l2", self.l2, minimum=0.0)
        check_float32("l1", self.l1, minimum=0.0)
        check_float32("max_norm", self.max_norm, minimum=0.0)
        object.__setattr__(self, "residual", check_bool("residual", self.residual))
        check_choice("head", self.head, HEADS)
        check_rate("head_dropout", self.head_dropout)
        object.__setattr__(self, "normalize_head", check_bool("normalize_head", self.normalize_head))
        if self.normalize_head and self.normalization != "batch":
            raise ValueError("`normalize_head` puts BatchNorm after the hidden dense layers; it "
                             "needs normalization='batch'. "
                             f"{received('normalization', self.normalization)}")
        check_rate("drop_connect", self.drop_connect)
        check_float32("logit_scale", self.logit_scale, minimum=0.0, min_inclusive=False)
        self._check_scaled_widths()
        convolutions = sum(s.blocks * s.convs for s in self.stages) + (1 if self.stem_width else 0)
        if convolutions > MAX_CONVOLUTIONS:
            raise ValueError(
                f"`stages` make {convolutions} convolutions, more than the {MAX_CONVOLUTIONS} "
                f"kgen builds (blocks x convs summed over the stages). "
                f"{received('stages', self.stages)}"
            )

    def _check_scaled_widths(self):
        """Every width times `width_multiplier` must be a channel count a layer can
        have: 1e308 would overflow to infinity, 1e6 asks for millions of channels."""
        widths = [("stem", self.stem_width)] if self.stem_width else []
        widths += [(f"stage {index}", stage.width) for index, stage in enumerate(self.stages)]
        for where, width in widths:
            # A product past float range is inf, still larger than the cap.
            if width * float(self.width_multiplier) > MAX_CHANNELS:
                raise ValueError(
                    f"`width_multiplier` makes the {where} (width {width}) wider than the "
                    f"{MAX_CHANNELS} channels a layer may have. "
                    f"{received('width_multiplier', self.width_multiplier)}"
                )

    def scaled_width(self, width):
        return max(1, round(width * self.width_multiplier))

    def to_dict(self):
        fields = _without_later_defaults(dataclasses.asdict(self), LATER_MODEL_FIELDS)
        fields["stages"] = [_without_later_defaults(stage, LATER_STAGE_FIELDS)
                            for stage in fields["stages"]]
        return fields

    @classmethod
    def from_dict(cls, fields):
        """The config `to_dict` (or its JSON) describes."""
        return config_from_dict(cls, fields, "model field")


@dataclass(frozen=True)
class TrainConfig:
    """How a preset is trained: optimizer, schedule, batch and epochs."""

    optimizer: str = "adam"
    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    momentum: float = 0.9
    nesterov: bool = True  # SGD's momentum: Nesterov's; False: classical (heavy ball)
    schedule: str = "constant"
    gamma: float = 0.96  # per-epoch factor of the exponential schedule
    warmup_epochs: float = 0.0
    batch_size: int = 256
    epochs: int = 30
    label_smoothing: float = 0.0
    early_stopping_patience: int = 0  # 0: off
    transfer: str = "none"  # TRANSFERS
    head_epochs: int | None = None  # fine-tune: epochs with the backbone frozen; None: half
    fine_tune_learning_rate_factor: float = 0.1  # fine-tune: the learning rate after them

    def __post_init__(self):
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        # Divergence at a huge but finite learning rate is a result a study may
        # want to record (tests/test_cli.py trains at 1e30); past float32 it is
        # infinity in the optimizer from the first step.
        check_float32("learning_rate", self.learning_rate, minimum=0.0, min_inclusive=False)
        check_float32("weight_decay", self.weight_decay, minimum=0.0)
        check_number("momentum", self.momentum, minimum=0.0, maximum=1.0, max_inclusive=False)
        object.__setattr__(self, "nesterov", check_bool("nesterov", self.nesterov))
        check_choice("schedule", self.schedule, SCHEDULES)
        check_number("gamma", self.gamma, minimum=0.0, maximum=1.0, min_inclusive=False)
        check_number("warmup_epochs", self.warmup_epochs, minimum=0.0, maximum=MAX_EPOCHS)
        check_int("batch_size", self.batch_size, minimum=1, maximum=MAX_BATCH_SIZE)
        check_int("epochs", self.epochs, minimum=1, maximum=MAX_EPOCHS)
        check_number("label_smoothing", self.label_smoothing, minimum=0.0, maximum=1.0,
                     max_inclusive=False)
        check_int("early_stopping_patience", self.early_stopping_patience, minimum=0,
                  maximum=MAX_EPOCHS)
        check_choice("transfer", self.transfer, TRANSFERS)
        check_number("fine_tune_learning_rate_factor", self.fine_tune_learning_rate_factor,
                     minimum=0.0, maximum=1.0, min_inclusive=False)
        if self.head_epochs is not None:
            check_int("head_epochs", self.head_epochs, minimum=1, maximum=MAX_EPOCHS)
        if self.transfer == "fine-tune" and not 1 <= self.frozen_epochs < self.epochs:
            raise ValueError("A fine-tune trains the head alone for `head_epochs`, then all of "
                             "the network: `head_epochs` must be below `epochs` (and `epochs` "
                             f"at least 2). Received: head_epochs={self.head_epochs}, "
                             f"epochs={self.epochs}")
        if self.transfer != "fine-tune" and (self.head_epochs is not None
                                             or self.fine_tune_learning_rate_factor != 0.1):
            # They would change nothing but the run's name and identity.
            raise ValueError("`head_epochs` and `fine_tune_learning_rate_factor` apply to "
                             "transfer='fine-tune'. Received: "
                             f"transfer={self.transfer!r}, head_epochs={self.head_epochs}, "
                             f"fine_tune_learning_rate_factor={self.fine_tune_learning_rate_factor}")
        if self.transfer != "none" and self.early_stopping_patience:
            # A fine-tune is two fits: early stopping in the first would not stop the second.
            raise ValueError("`early_stopping_patience` is not available with `transfer`. "
                             f"{received('transfer', self.transfer)}")

    @property
    def frozen_epochs(self):
        """The epochs at the start with the backbone frozen: all of a probe's,
        `head_epochs` (by default half) of a fine-tune's, none otherwise."""
        if self.transfer == "probe":
            return self.epochs
        if self.transfer == "fine-tune":
            return self.head_epochs if self.head_epochs is not None else self.epochs // 2
        if self.transfer == "none":
            return 0
        raise ValueError(f"unknown transfer {self.transfer!r}")

    def to_dict(self):
        return _without_later_defaults(dataclasses.asdict(self), LATER_TRAIN_FIELDS)


# Fields added after run folders and saved models were first written, with their
# defaults. `to_dict` leaves them out while they hold the default, so a config is
# written as it was before they existed: earlier studies' run folders (whose
# config.json is compared field by field before a run resumes) still resume, and
# `from_dict` fills them back in.
LATER_MODEL_FIELDS = {"l1": 0.0, "max_norm": 0.0, "normalize_head": False}
LATER_STAGE_FIELDS = {"kernel_size": 3}
LATER_TRAIN_FIELDS = {"nesterov": True, "transfer": "none", "head_epochs": None,
                      "fine_tune_learning_rate_factor": 0.1}


def _without_later_defaults(fields, later):
    return {name: value for name, value in fields.items()
            if name not in later or value != later[name]}


@dataclass(frozen=True)
class MLPConfig:
    """Everything that defines a kgen MLP (`kgen.models.build_mlp`): dense
    layers on feature vectors, the course's Keras examples' network.

    Attributes:
        hidden_units: units of each hidden dense layer, in order.
        activation: one of `ACTIVATIONS`.
        input_dropout: dropout rate on the input features (the course's
            `Dropout(0.2, input_shape=...)` first layer).
        dropout: dropout rate after each hidden layer.
        max_norm: `MaxNorm(max_norm)` on every kernel, per unit (0: none).
        l1, l2: penalties on every kernel.
        initializer: one of `INITIALIZERS`.
    """

    hidden_units: tuple = (60, 30)
    activation: str = "relu"
    input_dropout: float = 0.0
    dropout: float = 0.0
    max_norm: float = 0.0
    l1: float = 0.0
    l2: float = 0.0
    initializer: str = "glorot_uniform"

    def __post_init__(self):
        units = check_sequence("hidden_units", self.hidden_units)
        object.__setattr__(self, "hidden_units", tuple(
            check_int("hidden_units", value, minimum=1, maximum=MAX_CHANNELS) for value in units))
        check_choice("activation", self.activation, ACTIVATIONS)
        check_rate("input_dropout", self.input_dropout)
        check_rate("dropout", self.dropout)
        for name in ("max_norm", "l1", "l2"):
            check_float32(name, getattr(self, name), minimum=0.0)
        check_choice("initializer", self.initializer, INITIALIZERS)

    def to_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, fields):
        """The config `to_dict` (or its JSON) describes."""
        return config_from_dict(cls, fields, "MLP field")


def replace_fields(config, overrides, what):
    """`dataclasses.replace` with a clear error for unknown field names."""
    if not isinstance(overrides, dict):
        raise TypeError(f"The {what} overrides must be a dict of field names to values. "
                        f"{received(f'{what} overrides', overrides)}")
    names = [f.name for f in dataclasses.fields(config)]
    for key in overrides:
        if key not in names:
            check_choice(f"{what} override", key, names)
    return dataclasses.replace(config, **overrides)


def config_from_dict(config_class, fields, what):
    """`from_fields` for a whole config read back from its `to_dict` (or JSON):
    `fields` must be a dict."""
    if not isinstance(fields, dict):
        raise TypeError(f"A {config_class.__name__} is read from a dict of its fields. "
                        f"{received('fields', fields)}")
    return from_fields(config_class, fields, what)


def from_fields(config_class, fields, what):
    """`config_class(**fields)` with a clear error for unknown or missing names."""
    names = [f.name for f in dataclasses.fields(config_class)]
    for key in fields:
        check_choice(what, key, names)
    required = [f.name for f in dataclasses.fields(config_class)
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    for name in required:
        if name not in fields:
            raise ValueError(f"`{name}` is required in each {config_class.__name__.lower()}. "
                             f"{received(config_class.__name__.lower(), fields)}")
    return config_class(**fields)


def _check_stages(stages):
    if isinstance(stages, (Stage, dict)) or not isinstance(stages, (list, tuple)):
        raise TypeError(f"`stages` must be a non-empty list of Stage. {received('stages', stages)}")
    if not stages:
        raise ValueError(f"`stages` must be a non-empty list of Stage. {received('stages', stages)}")
    checked = []
    for stage in stages:
        if isinstance(stage, dict):
            stage = from_fields(Stage, stage, "stage field")
        elif not isinstance(stage, Stage):
            raise TypeError(f"`stages` must hold Stage objects or tables of their fields. "
                            f"{received('stages', stages)}")
        checked.append(stage)
    return tuple(checked)
