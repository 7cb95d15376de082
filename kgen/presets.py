"""The registry of named presets: the ten ladder rungs and the reference networks.

A preset is a `ModelConfig` plus the `TrainConfig` it is trained with, so a study
can train any preset without knowing what it is. Each ladder rung is the previous
rung with one delta, never a copy of model code.

Keras-free (the CLI's `kgen list` reads it without importing a backend);
`kgen.models` re-exports `get`, `names`, `register`, `derive` and `Preset`.
"""

import dataclasses
from dataclasses import dataclass

from kgen.config import (
    Augmentation,
    Erasing,
    MLPConfig,
    ModelConfig,
    Stage,
    TrainConfig,
    replace_fields,
)
from kgen.validation import check_choice, check_number, received


@dataclass(frozen=True)
class Preset:
    """A named model and training recipe.

    Attributes:
        name: registry key.
        summary: one line on what the preset is or adds to its parent.
        model: the `ModelConfig`.
        train: the `TrainConfig`.
        parent: the preset this one is derived from (the previous ladder rung).
        course_val_accuracy: the CIFAR-10 validation accuracy the course reports
            (a fraction), for reports to show beside measured figures.
        course_train_accuracy: the course's train accuracy, where it gives one.
    """

    name: str
    summary: str
    model: ModelConfig
    train: TrainConfig
    parent: str | None = None
    course_val_accuracy: float | None = None
    course_train_accuracy: float | None = None

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise TypeError(f"A preset's `name` must be a non-empty string. "
                            f"{received('name', self.name)}")
        if not isinstance(self.model, ModelConfig):
            raise TypeError(f"`model` must be a kgen.models.ModelConfig. "
                            f"{received('model', self.model)}")
        if not isinstance(self.train, TrainConfig):
            raise TypeError(f"`train` must be a kgen.models.TrainConfig. "
                            f"{received('train', self.train)}")
        for field_name in ("course_val_accuracy", "course_train_accuracy"):
            value = getattr(self, field_name)
            if value is not None:
                check_number(field_name, value, minimum=0.0, maximum=1.0)


_PRESETS = {}


def register(preset):
    if preset.name in _PRESETS:
        raise ValueError(f"A preset named {preset.name!r} is already registered.")
    _PRESETS[preset.name] = preset
    return preset


def get(name):
    """The `Preset` called `name`; the error lists the closest names."""
    check_choice("preset", name, tuple(_PRESETS))
    return _PRESETS[name]


def names():
    return list(_PRESETS)


def derive(parent, name, summary, model=None, augmentation=None, train=None, **course):
    """Register `parent` plus a delta: field overrides of its model, augmentation, train."""
    parent = get(parent)
    model_config = replace_fields(parent.model, model or {}, "model")
    if augmentation:
        model_config = dataclasses.replace(
            model_config,
            augmentation=replace_fields(model_config.augmentation, augmentation, "augmentation"),
        )
    return register(Preset(
        name=name,
        summary=summary,
        model=model_config,
        train=replace_fields(parent.train, train or {}, "train"),
        parent=parent.name,
        **course,
    ))


# === The ladder ===
# Widths, epochs and the course's figures follow the course's CIFAR-10 ladder;
# its accuracies are fractions of the validation set.
LADDER_EPOCHS = 50

register(Preset(
    name="ladder-0",
    summary="baseline: VGG-like 3x3 convs + ReLU + MaxPool, flatten, dense; Adam 1e-3, He init",
    model=ModelConfig(
        stages=(Stage(32), Stage(64), Stage(128)),
        head="flatten",
        head_units=(256,),
        initializer="he_normal",
    ),
    train=TrainConfig(optimizer="adam", learning_rate=1e-3, batch_size=256, epochs=LADDER_EPOCHS),
    course_val_accuracy=0.78,
))
derive("ladder-0", "ladder-1", "+ RandomErasing(p=0.75, scale=(0.01, 0.3), ratio=(1, 1), value=0)",
       augmentation={"erasing": Erasing(p=0.75, scale=(0.01, 0.3), ratio=(1.0, 1.0), value=0.0)},
       course_val_accuracy=0.80)
derive("ladder-1", "ladder-2", "+ BatchNorm after every conv (Conv -> ReLU -> BN)",
       model={"normalization": "batch"}, course_val_accuracy=0.84)
derive("ladder-2", "ladder-3", "+ Dropout after each stage and before the classifier",
       model={
           "stages": (Stage(32, dropout=0.2), Stage(64, dropout=0.3), Stage(128, dropout=0.4)),
           "head_dropout": 0.5,
       },
       course_val_accuracy=0.866)
# The course's code is `torch.optim.Adam(lr=1e-3, weight_decay=5e-4)`: 5e-4 * W added to
# the gradient of every parameter before Adam's moments. `adam_coupled_decay` is exactly
# that; Keras' `L2(5e-4)` would add twice as much, and to kernels only.
derive("ladder-3", "ladder-4", "+ L2 weight decay 5e-4 (the course's Adam(weight_decay=5e-4))",
       train={"optimizer": "adam_coupled_decay", "weight_decay": 5e-4})
derive("ladder-4", "ladder-5", "+ pad-2 random crop + horizontal flip",
       augmentation={"pad_crop": 2, "flip": "random"},
       course_val_accuracy=0.906, course_train_accuracy=0.92)
derive("ladder-5", "ladder-6", "+ exponential LR decay, gamma 0.96 per epoch",
       train={"schedule": "exponential", "gamma": 0.96},
       course_val_accuracy=0.906, course_train_accuracy=0.98)
derive("ladder-6", "ladder-7", "+ more capacity (2x widths, 3 convs per stage) + rotation 5 degrees",
       model={"stages": (Stage(64, convs=3, dropout=0.2), Stage(128, convs=3, dropout=0.3),
                         Stage(256, convs=3, dropout=0.4))},
       augmentation={"rotation_degrees": 5.0},
       course_val_accuracy=0.93, course_train_accuracy=0.96)
derive("ladder-7", "ladder-8", "+ residual skip connections around every stage",
       model={"residual": True}, course_val_accuracy=0.93, course_train_accuracy=0.97)
derive("ladder-8", "ladder-9", "+ double the width of every conv",
       model={"width_multiplier": 2.0}, course_val_accuracy=0.945, course_train_accuracy=0.983)

LADDER = tuple(f"ladder-{rung}" for rung in range(10))

# === Reference networks ===
register(Preset(
    name="small-cnn",
    summary="Conv16-Conv32-Conv64 with ReLU and MaxPool, global average pooling, dense "
            "(the normalization study's model)",
    model=ModelConfig(
        stages=(Stage(16, convs=1), Stage(32, convs=1), Stage(64, convs=1)),
        block_order="conv-norm-act",
        head="avg",
        head_units=(),
    ),
    train=TrainConfig(optimizer="adam", learning_rate=1e-3, batch_size=256, epochs=30),
))

# The overfitting study's network (the HUST course slides): one 3x3 conv per stage,
# flatten, one dense layer; Keras' default Glorot init, as in the slides' Keras code.
register(Preset(
    name="hust-cnn",
    summary="Conv16-Conv32-Conv64 (3x3, ReLU, MaxPool each), flatten, dense 128 "
            "(the overfitting study's model)",
    model=ModelConfig(
        stages=(Stage(16, convs=1), Stage(32, convs=1), Stage(64, convs=1)),
        head="flatten",
        head_units=(128,),
        initializer="glorot_uniform",
    ),
    train=TrainConfig(optimizer="adam", learning_rate=1e-3, batch_size=32, epochs=30),
))

# The CNN-training lesson's "2 convs + MLP", trained on MNIST and then on
# CIFAR-10 to show that what fits digits does not fit photos: keras.io's "Simple
# MNIST convnet" (two 3x3 convs, 32 and 64, ReLU, 2x2 max pooling), with a dense
# 128 hidden layer for the MLP; Keras' default Glorot init and Adam at 1e-3.
register(Preset(
    name="two-conv",
    summary="Conv32-Conv64 (3x3, ReLU, MaxPool each), flatten, dense 128 (the "
            "CNN-training lesson's 2-conv + MLP network, for MNIST vs CIFAR-10)",
    model=ModelConfig(
        stages=(Stage(32, convs=1), Stage(64, convs=1)),
        head="flatten",
        head_units=(128,),
        initializer="glorot_uniform",
    ),
    train=TrainConfig(optimizer="adam", learning_rate=1e-3, batch_size=128, epochs=10),
))

register(Preset(
    name="vgg16-cifar",
    summary="VGG-16 with BatchNorm for 32x32 inputs (13 convs, 512-unit head)",
    model=ModelConfig(
        stages=(Stage(64, convs=2), Stage(128, convs=2), Stage(256, convs=3),
                Stage(512, convs=3), Stage(512, convs=3)),
        block_order="conv-norm-act",
        normalization="batch",
        head="flatten",
        head_units=(512,),
        head_dropout=0.5,
        l2=2.5e-4,  # = PyTorch SGD weight_decay 5e-4: the L2 gradient is 2 * l2 * W
        augmentation=Augmentation(flip="random", pad_crop=4),
    ),
    train=TrainConfig(optimizer="sgd", learning_rate=0.05, momentum=0.9, schedule="cosine",
                      batch_size=256, epochs=100),
))

# Simonyan and Zisserman (2015), configuration D, for 224x224 ImageNet-sized
# inputs: `kgen.models.create("vgg16", input_shape=(224, 224, 3), num_classes=1000)`
# has the 138,357,544 parameters of `keras.applications.VGG16` (tests/test_models.py).
# No BatchNorm (the paper's); dropout 0.5 before the classifier only (the paper
# has it after both 4096-unit layers). The course's transfer-learning backbone.
register(Preset(
    name="vgg16",
    summary="VGG-16 (configuration D) for 224x224 inputs: 13 convs, two 4096-unit dense layers",
    model=ModelConfig(
        stages=(Stage(64, convs=2), Stage(128, convs=2), Stage(256, convs=3),
                Stage(512, convs=3), Stage(512, convs=3)),
        initializer="glorot_uniform",
        head="flatten",
        head_units=(4096, 4096),
        head_dropout=0.5,
    ),
    train=TrainConfig(optimizer="sgd", learning_rate=0.01, momentum=0.9, nesterov=False,
                      batch_size=256, epochs=74),
))

# LeNet (LeCun et al. 1998) as the course teaches it: 5x5 convolutions with 6 and
# 16 channels, sigmoid, 2x2 average pooling, dense 120 and 84. "same" padding
# throughout, so a 32x32 image flattens to 8x8x16 (LeNet-5's valid second
# convolution gives 5x5x16). Trained as in Dive into Deep Learning: plain SGD
# (no momentum), 10 epochs, batch 256, lr 0.9; with BatchNorm after every
# convolution and hidden dense layer, before the sigmoid, at lr 1.0.
register(Preset(
    name="lenet",
    summary="LeNet: 5x5 convs 6 and 16 with sigmoid and 2x2 average pooling, dense 120 and 84",
    model=ModelConfig(
        stages=(Stage(6, convs=1, kernel_size=5, downsample="avgpool"),
                Stage(16, convs=1, kernel_size=5, downsample="avgpool")),
        activation="sigmoid",
        initializer="glorot_uniform",
        head="flatten",
        head_units=(120, 84),
    ),
    train=TrainConfig(optimizer="sgd", learning_rate=0.9, momentum=0.0, batch_size=256,
                      epochs=10),
))
derive("lenet", "lenet-bn", "+ BatchNorm after every convolution and hidden dense layer, "
       "before the sigmoid", model={"normalization": "batch", "block_order": "conv-norm-act",
                                    "normalize_head": True},
       train={"learning_rate": 1.0})

# The double-descent experiments' five-layer CNN (Nakkiran et al. 2019, "Deep
# Double Descent", sec. 3): four 3x3 convolutions of widths k, 2k, 4k, 8k with
# BatchNorm and ReLU, max pooling of sizes 1, 2, 2 and 8 after them (the last a
# global max pool on 32x32 inputs), one dense layer; k = 64 here, and
# `width_multiplier` = k / 64 gives the other widths. Adam at 1e-4 as there.
register(Preset(
    name="mcnn",
    summary="Nakkiran et al.'s 5-layer CNN at k = 64: convs 64, 128, 256, 512 with BN, "
            "global max pool, dense",
    model=ModelConfig(
        stages=(Stage(64, convs=1, downsample="none"), Stage(128, convs=1),
                Stage(256, convs=1), Stage(512, convs=1, downsample="none")),
        block_order="conv-norm-act",
        normalization="batch",
        head="max",
        head_units=(),
    ),
    train=TrainConfig(optimizer="adam", learning_rate=1e-4, batch_size=128, epochs=4000),
))

# Page (2018), "How to train your ResNet": prep, layer1 + residual, layer2,
# layer3 + residual, global max pool, logits scaled by 0.125.
register(Preset(
    name="resnet9",
    summary="ResNet-9 (Page 2018): prep-64, 128 + residual, 256, 512 + residual, max pool",
    model=ModelConfig(
        stem_width=64,
        stages=(
            Stage(128, convs=1),
            Stage(128, convs=2, residual=True, downsample="none"),
            Stage(256, convs=1),
            Stage(512, convs=1),
            Stage(512, convs=2, residual=True, downsample="none"),
        ),
        block_order="conv-norm-act",
        normalization="batch",
        head="max",
        head_units=(),
        logit_scale=0.125,
        l2=2.5e-4,  # = weight decay 5e-4 on the gradient
        augmentation=Augmentation(flip="random", pad_crop=4, pad_mode="reflect",
                                  erasing=Erasing(p=0.5, scale=(0.0625, 0.0625), ratio=(1.0, 1.0))),
    ),
    train=TrainConfig(optimizer="sgd", learning_rate=0.4, momentum=0.9, schedule="warmup_linear",
                      warmup_epochs=5, batch_size=512, epochs=24, label_smoothing=0.2),
))

register(Preset(
    name="resnet18-cifar",
    summary="ResNet-18 for 32x32 inputs: 3x3 stem, four stages of two basic blocks, strided",
    model=ModelConfig(
        stem_width=64,
        stages=(
            Stage(64, convs=2, blocks=2, residual=True, downsample="none"),
            Stage(128, convs=2, blocks=2, residual=True, downsample="stride"),
            Stage(256, convs=2, blocks=2, residual=True, downsample="stride"),
            Stage(512, convs=2, blocks=2, residual=True, downsample="stride"),
        ),
        block_order="conv-norm-act",
        normalization="batch",
        head="avg",
        head_units=(),
        l2=2.5e-4,
        augmentation=Augmentation(flip="random", pad_crop=4),
    ),
    train=TrainConfig(optimizer="sgd", learning_rate=0.1, momentum=0.9, schedule="cosine",
                      batch_size=256, epochs=100),
))


@dataclass(frozen=True)
class MLPPreset:
    """A named MLP (`kgen.models.build_mlp`) and its training recipe."""

    name: str
    summary: str
    model: MLPConfig
    train: TrainConfig
    # No course table lists these networks' accuracies (the CNN presets' fields).
    course_val_accuracy = None
    course_train_accuracy = None


# The MLPs, for feature vectors (the CNN presets above take images).
MLP_PRESETS = {preset.name: preset for preset in (
    # The course's Keras example: dropout 0.2 on the inputs and after each hidden
    # layer, MaxNorm(3) on the kernels, SGD with classical momentum 0.9 at lr 0.1
    # (Srivastava et al. 2014's recipe: max-norm lets dropout use a large rate).
    MLPPreset(
        name="course-mlp",
        summary="Dropout(0.2) on the inputs, Dense 60 and 30 with MaxNorm(3) and "
                "Dropout(0.2) after each; SGD lr 0.1, classical momentum 0.9",
        model=MLPConfig(hidden_units=(60, 30), input_dropout=0.2, dropout=0.2, max_norm=3.0),
        train=TrainConfig(optimizer="sgd", learning_rate=0.1, momentum=0.9, nesterov=False,
                          batch_size=16, epochs=300),
    ),
    # The same layers with nothing against overfitting, and wider: the overfit
    # panel of the decision-boundary picture.
    MLPPreset(
        name="plain-mlp",
        summary="Dense 256, 256 and 256 with ReLU, no dropout, no constraint; SGD lr 0.1, "
                "classical momentum 0.9",
        model=MLPConfig(hidden_units=(256, 256, 256)),
        train=TrainConfig(optimizer="sgd", learning_rate=0.1, momentum=0.9, nesterov=False,
                          batch_size=16, epochs=300),
    ),
)}


def get_mlp(name):
    """The MLP preset `name`; the error suggests close names."""
    check_choice("MLP preset", name, tuple(MLP_PRESETS))
    return MLP_PRESETS[name]
