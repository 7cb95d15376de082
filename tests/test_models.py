"""Every preset and every builder option, looped over the registry (timm-style)."""

import json

import keras
import numpy as np
import pytest

import kgen.config
import kgen.data
import kgen.layers
import kgen.models
from kgen.layers import (
    DropConnectDense,
    RandomErasing,
    RandomPadCrop,
    RandomRotation,
    WeightNormalization,
    every_layer,
)
from kgen.models import ModelConfig, Stage, build_cnn
from tests.helpers import check_model_contract, random_images

# Full-size parameter counts for 32x32x3 inputs and 10 classes, pinned so that an
# accidental change of architecture shows up. Equal on every backend.
PARAMETER_COUNTS = {
    "ladder-0": 814_122,
    "ladder-1": 814_122,
    "ladder-2": 815_914,
    "ladder-3": 815_914,
    "ladder-4": 815_914,
    "ladder-5": 815_914,
    "ladder-6": 815_914,
    "ladder-7": 2_976_778,
    "ladder-8": 3_017_930,
    "ladder-9": 9_948_810,
    "small-cnn": 24_234,
    "hust-cnn": 156_074,  # 448 + 4,640 + 18,496 (convs) + 131,200 (4x4x64 -> 128) + 1,290
    # 896 + 18,496 (convs) + 524,416 (8x8x64 -> 128) + 1,290
    "two-conv": 545_098,
    "vgg16-cifar": 14_995_146,
    "vgg16": 33_638_218,  # at 32x32: the last stage pools to 1x1x512 before the 4096-unit layers
    "lenet": 136_886,  # 456 + 2,416 (5x5 convs) + 123,000 (8x8x16 -> 120) + 10,164 + 850
    # + 4 x (6 + 16 + 120 + 84) BatchNorm weights (scale, shift, moving mean and
    # variance), - the 22 biases of the convolutions a BatchNorm follows
    "lenet-bn": 137_768,
    "resnet9": 6_577_610,
    # 1,728 + 73,728 + 294,912 + 1,179,648 (bias-free convs) + 4 x 960 BatchNorm + 5,130
    "mcnn": 1_558_986,
    "resnet18-cifar": 11_179_978,
}


def layer_types(model):
    return {type(layer) for layer in every_layer(model)}


def test_every_preset_has_a_pinned_count():
    assert sorted(PARAMETER_COUNTS) == sorted(kgen.models.names())


@pytest.mark.parametrize("name", kgen.models.names())
def test_parameter_count(name):
    assert kgen.models.create(name).count_params() == PARAMETER_COUNTS[name]


@pytest.mark.slow
def test_vgg16_at_224_is_keras_applications_vgg16():
    # The configuration-D network: the same parameters, layer for layer.
    ours = kgen.models.create("vgg16", input_shape=(224, 224, 3), num_classes=1000)
    theirs = keras.applications.VGG16(weights=None)
    assert ours.count_params() == theirs.count_params() == 138_357_544
    shapes = [tuple(w.shape) for w in ours.trainable_weights]
    assert shapes == [tuple(w.shape) for w in theirs.trainable_weights]


def test_lenet_bn_normalizes_before_each_sigmoid():
    model = kgen.models.create("lenet-bn")
    names = [layer.name for layer in model.layers]
    for unit in ("stage0_block0_unit0", "stage1_block0_unit0"):
        conv = names.index(f"{unit}_conv")
        assert names[conv:conv + 3] == [f"{unit}_conv", f"{unit}_batchnorm", f"{unit}_sigmoid"]
        assert model.get_layer(f"{unit}_conv").kernel_size == (5, 5)
    for index in (0, 1):
        dense = names.index(f"head{index}_dense")
        assert names[dense:dense + 3] == [f"head{index}_dense", f"head{index}_batchnorm",
                                          f"head{index}_sigmoid"]
    assert sum(isinstance(layer, keras.layers.AveragePooling2D) for layer in model.layers) == 2
    with pytest.raises(ValueError, match="normalize_head.*Received: normalization='none'"):
        ModelConfig(normalize_head=True)


def test_stage_kernel_size_keeps_earlier_configs_as_written():
    config = kgen.models.get("lenet").model
    assert [stage["kernel_size"] for stage in config.to_dict()["stages"]] == [5, 5]
    assert "kernel_size" not in ModelConfig().to_dict()["stages"][0]
    assert "normalize_head" not in ModelConfig().to_dict()


@pytest.mark.parametrize("name", kgen.models.names())
def test_preset_meets_the_model_contract(name, tmp_path):
    # A narrow copy of the preset: the same layers, cheap enough for every backend.
    def make_model():
        return kgen.models.create(name, width_multiplier=0.125, num_classes=4)

    restored = check_model_contract(make_model, random_images(4), np.arange(4), tmp_path)
    # The file says what the model is: the preset and its whole config.
    assert (restored.preset, restored.model_config) == (name, make_model().model_config)
    assert restored.num_classes == 4


@pytest.mark.parametrize("name", kgen.models.names())
def test_model_config_survives_json(name):
    config = kgen.models.get(name).model
    assert ModelConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config


def test_a_saved_model_keeps_its_policy_statistics_and_extra_layers(tmp_path):
    from kgen import precision

    config = ModelConfig(stages=(Stage(4), Stage(8)), head="avg", head_units=())
    with precision.policy("mixed_bfloat16"):
        model = build_cnn(config, (16, 16, 3), 3, mean=[0.1, 0.2, 0.3], std=0.2,
                          extra_augmentation=[keras.layers.RandomContrast(0.2)])
    assert model.preset is None
    model.save(tmp_path / "model.keras")
    restored = kgen.models.load_model(tmp_path / "model.keras")  # under float32
    assert keras.config.dtype_policy().name == "float32"
    assert restored.built_with_policy == "mixed_bfloat16"
    convolution = next(layer for layer in restored.layers if isinstance(layer, keras.layers.Conv2D))
    assert convolution.compute_dtype == "bfloat16"
    assert (restored.mean, restored.std, restored.image_shape) == (
        (0.1, 0.2, 0.3), (0.2, 0.2, 0.2), (16, 16, 3))
    assert any(isinstance(layer, keras.layers.RandomContrast) for layer in restored.layers)


def test_preset_must_be_a_name():
    with pytest.raises(TypeError, match="preset=3"):
        build_cnn(ModelConfig(), preset=3)


# What each ladder rung claims to add, checked on the built model.
LADDER_CLAIMS = {
    "ladder-1": [RandomErasing],
    "ladder-2": [kgen.layers.BatchNormalization],
    "ladder-3": [keras.layers.Dropout],
    "ladder-5": [RandomPadCrop, keras.layers.RandomFlip],
    "ladder-7": [RandomRotation],
    "ladder-8": [keras.layers.Add],
}


@pytest.mark.parametrize("rung", range(10))
def test_ladder_is_cumulative(rung):
    name = f"ladder-{rung}"
    present = layer_types(kgen.models.create(name))
    claimed = [t for r in range(rung + 1) for t in LADDER_CLAIMS.get(f"ladder-{r}", [])]
    for layer_type in claimed:
        assert layer_type in present, f"{name} lacks {layer_type.__name__}"
    later = [t for r in range(rung + 1, 10) for t in LADDER_CLAIMS.get(f"ladder-{r}", [])]
    for layer_type in later:
        if layer_type is keras.layers.Dropout and rung < 3:
            assert layer_type not in present


def test_ladder_regularizer_schedule_and_width():
    def regularized(model):
        return [layer for layer in model.layers if getattr(layer, "kernel_regularizer", None)]

    assert not regularized(kgen.models.create("ladder-3"))
    # ladder-4's decay is the course's, in the optimizer (test_optimizers.py compares
    # it with torch's Adam), not a kernel regularizer on top of it.
    assert not regularized(kgen.models.create("ladder-4"))
    ladder4 = kgen.models.get("ladder-4").train
    assert (ladder4.optimizer, ladder4.weight_decay) == ("adam_coupled_decay", 5e-4)
    assert kgen.models.get("ladder-5").train.weight_decay == 5e-4
    assert kgen.models.get("ladder-5").train.schedule == "constant"
    assert kgen.models.get("ladder-6").train.schedule == "exponential"
    assert kgen.models.get("ladder-6").train.gamma == 0.96
    width = lambda model: model.get_layer("stage0_block0_unit0_conv").filters  # noqa: E731
    assert width(kgen.models.create("ladder-9")) == 2 * width(kgen.models.create("ladder-8"))
    erasing = kgen.models.create("ladder-1").get_layer("random_erasing")
    assert (erasing.p, erasing.scale, erasing.ratio, erasing.value) == (0.75, (0.01, 0.3), (1.0, 1.0), 0.0)


def test_every_preset_carries_training_settings():
    for name in kgen.models.names():
        train = kgen.models.get(name).train
        assert train.epochs >= 1 and train.batch_size >= 1 and train.learning_rate > 0
    assert kgen.models.get("ladder-0").train.batch_size == 256


# === Builder options: one test per branch ===
def build(**fields):
    base = ModelConfig(stages=(Stage(8, convs=1), Stage(16, convs=1)), head_units=(8,))
    import dataclasses

    return build_cnn(dataclasses.replace(base, **fields), input_shape=(16, 16, 3), num_classes=3)


@pytest.mark.parametrize(
    "normalization, layer_type, check",
    [
        ("batch", kgen.layers.BatchNormalization, lambda layer: layer.epsilon == 1e-5),
                # Over (H, W, C) of each sample; Keras stores the axes negative or positive.
        ("layer", keras.layers.LayerNormalization,
         lambda layer: sorted(axis % 4 for axis in layer.axis) == [1, 2, 3]),
        # One group per channel (Keras turns groups=-1 into the channel count).
        ("instance", keras.layers.GroupNormalization,
         lambda layer: layer.groups in (-1, layer.input.shape[-1])),
        ("group", keras.layers.GroupNormalization, lambda layer: layer.groups == 8),
        ("weight", WeightNormalization, lambda layer: True),
        ("weight_mean_only", kgen.layers.MeanOnlyBatchNormalization,
         lambda layer: layer.momentum == 0.9),
        ("weight_mean_only", WeightNormalization, lambda layer: True),
    ],
)
def test_normalization_choice(normalization, layer_type, check):
    model = build(normalization=normalization)
    found = [layer for layer in every_layer(model) if type(layer) is layer_type]
    assert len(found) == 2 and all(check(layer) for layer in found)
    norm_types = {kgen.layers.BatchNormalization, keras.layers.LayerNormalization,
                  keras.layers.GroupNormalization, WeightNormalization,
                  kgen.layers.MeanOnlyBatchNormalization}
    assert not (layer_types(build(normalization="none")) & norm_types)


@pytest.mark.parametrize("order, expected", [
    ("conv-act-norm", ["conv", "relu", "batchnorm"]),
    ("conv-norm-act", ["conv", "batchnorm", "relu"]),
])
def test_block_order_and_bias(order, expected):
    model = build(normalization="batch", block_order=order)
    names = [layer.name.split("_")[-1] for layer in model.layers if layer.name.startswith("stage0_block0_unit0")]
    assert names == expected
    # A conv bias is dropped only when the normalization directly follows the conv.
    assert model.get_layer("stage0_block0_unit0_conv").use_bias == (order == "conv-act-norm")


@pytest.mark.parametrize("head, layer_type", [
    ("flatten", keras.layers.Flatten), ("avg", keras.layers.GlobalAveragePooling2D),
    ("max", keras.layers.GlobalMaxPooling2D),
])
def test_head_choice(head, layer_type):
    types = layer_types(build(head=head))
    assert layer_type in types
    others = {keras.layers.Flatten, keras.layers.GlobalAveragePooling2D,
              keras.layers.GlobalMaxPooling2D} - {layer_type}
    assert not (types & others)


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "elu", "selu", "gelu", "silu"])
def test_activation_choice(activation):
    model = build(activation=activation)
    assert model.get_layer(f"stage0_block0_unit0_{activation}").activation.__name__ == activation


@pytest.mark.parametrize("initializer, expected", [
    ("he_normal", keras.initializers.HeNormal), ("glorot_uniform", keras.initializers.GlorotUniform),
    ("normal", keras.initializers.RandomNormal),
])
def test_initializer_choice(initializer, expected):
    conv = build(initializer=initializer).get_layer("stage0_block0_unit0_conv")
    assert isinstance(conv.kernel_initializer, expected)
    if initializer == "normal":
        assert conv.kernel_initializer.stddev == 0.01


@pytest.mark.parametrize("rung", [0, 3, 8, 9])
def test_ladder_rungs_start_at_the_loss_of_guessing(rung):
    # Zero-initialized classifier: the loss starts at log(10) whatever dropout and the
    # residual sums do to the features (with Glorot, ladder-3 began at 6.0, ladder-8 at 22.9).
    from kgen.data.synthetic import generate_images

    keras.utils.set_random_seed(0)
    images, labels = generate_images(32)
    mean, std = kgen.data.channel_statistics(images)
    model = kgen.models.create(f"ladder-{rung}", width_multiplier=0.125, mean=mean, std=std)
    logits = model(images, training=True)
    loss = keras.ops.convert_to_numpy(keras.ops.mean(keras.losses.sparse_categorical_crossentropy(
        labels, logits, from_logits=True)))
    np.testing.assert_allclose(loss, np.log(10), rtol=1e-6)


def test_residual_projection_preserves_variance():
    # The 1x1 projection is linear (no ReLU follows it): LeCun init, not He's factor 2.
    model = kgen.models.create("ladder-8")
    projection = model.get_layer("stage1_block0_projection")
    kernel = keras.ops.convert_to_numpy(projection.kernel)
    fan_in = kernel.shape[2]
    np.testing.assert_allclose(kernel.var() * fan_in, 1.0, rtol=0.1)


def test_residual_shortcuts():
    model = build(residual=True, stages=(Stage(8, convs=2), Stage(8, convs=2), Stage(16, convs=2)))
    adds = [layer for layer in model.layers if isinstance(layer, keras.layers.Add)]
    assert len(adds) == 3
    projections = [layer.name for layer in model.layers if layer.name.endswith("projection")]
    # 3 -> 8 channels and 8 -> 16 need a 1x1 projection; 8 -> 8 is the identity.
    assert projections == ["stage0_block0_projection", "stage2_block0_projection"]
    assert model.get_layer("stage0_block0_projection").kernel_size == (1, 1)


def test_strided_downsample():
    model = build(stages=(Stage(8, convs=2, blocks=2, residual=True, downsample="stride"),))
    assert model.get_layer("stage0_block0_unit0_conv").strides == (2, 2)
    assert model.get_layer("stage0_block1_unit0_conv").strides == (1, 1)
    assert model.get_layer("stage0_block0_projection").strides == (2, 2)
    assert not [layer for layer in model.layers if isinstance(layer, keras.layers.MaxPooling2D)]


def test_dropout_and_drop_connect_placement():
    model = build(stages=(Stage(8, convs=1, dropout=0.25),), head_dropout=0.5, drop_connect=0.3)
    assert model.get_layer("stage0_dropout").rate == 0.25
    assert model.get_layer("classifier_dropout").rate == 0.5
    assert isinstance(model.get_layer("head0_dropconnect"), DropConnectDense)


def test_width_multiplier_scales_every_conv():
    model = build(width_multiplier=0.5)
    assert [layer.filters for layer in model.layers if isinstance(layer, keras.layers.Conv2D)] == [4, 8]


def test_model_outputs_float32_logits_under_mixed_precision():
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        model = build()
        out = model(random_images(2, 16, 16))
        assert keras.backend.standardize_dtype(out.dtype) == "float32"
    finally:
        keras.config.set_dtype_policy("float32")


# === Bad input ===
@pytest.mark.parametrize("kwargs, match", [
    ({"input_shape": (32, 32)}, "input_shape"),
    ({"input_shape": (0, 32, 3)}, "input_shape"),
    ({"num_classes": 1}, "num_classes"),
    ({"mean": (0.5, 0.5)}, "mean"),
    ({"std": 0.0}, "std"),
    ({"normalisation": "batch"}, "normalization"),  # the suggestion names the right field
    ({"l2": -1e-4}, "l2"),
    ({"head_dropout": 1.0}, "head_dropout"),
    ({"head": "mean"}, "head"),
    ({"activation": "relu6"}, "activation"),
])
def test_create_rejects_bad_arguments(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        kgen.models.create("small-cnn", **kwargs)


def test_unknown_preset_suggests_names():
    with pytest.raises(ValueError, match="ladder-1"):
        kgen.models.create("ladder1")


@pytest.mark.parametrize("kwargs, match", [
    ({"width": 0}, "width"), ({"convs": 0}, "convs"), ({"downsample": "avg"}, "downsample"),
    ({"kernel_size": 0}, "kernel_size"),
    ({"dropout": 1.0}, "dropout"),
])
def test_stage_rejects_bad_arguments(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        Stage(**{"width": 8, **kwargs})


# === Every validated choice is built (the builder's branches are the config's names) ===


@pytest.mark.parametrize("head", kgen.config.HEADS)
@pytest.mark.parametrize("normalization", kgen.config.NORMALIZATIONS)
def test_every_head_and_normalization_builds(head, normalization):
    config = ModelConfig(stages=(Stage(4), Stage(8)), head=head, head_units=(),
                         normalization=normalization, norm_groups=2)
    model = build_cnn(config, (8, 8, 3), 3)
    assert tuple(model(random_images(2, 8, 8), training=False).shape) == (2, 3)


@pytest.mark.parametrize("schedule", kgen.config.SCHEDULES)
def test_every_schedule_is_made(schedule):
    from kgen import schedules

    made = schedules.from_config(kgen.models.TrainConfig(schedule=schedule, epochs=2),
                                 steps_per_epoch=3)
    rate = made if isinstance(made, float) else float(keras.ops.convert_to_numpy(made(1)))
    assert 0 < rate <= 1e-3 * (1 + 1e-6)  # float32


@pytest.mark.parametrize("name", kgen.config.OPTIMIZERS)
def test_every_optimizer_is_made(name):
    from kgen import optimizers

    assert isinstance(optimizers.create(name, 1e-3), keras.optimizers.Optimizer)


def test_every_layer_reaches_nested_layers():
    # `every_layer` is Keras' private `_flatten_layers`: this fails if a release
    # renames it or stops reaching a wrapper's inner layer or a sub-model's layers.
    inner = keras.Sequential([keras.layers.Dense(3, name="inner_dense")], name="inner")
    wrapped = WeightNormalization(keras.layers.Dense(4, name="wrapped_dense"))
    inputs = keras.Input((5,))
    model = keras.Model(inputs, inner(wrapped(inputs)), name="outer")
    names = [layer.name for layer in every_layer(model)]
    assert names[0] == "outer"
    assert {"inner", "inner_dense", "wrapped_dense", wrapped.name} <= set(names)
    assert len(names) == len(set(names))
    assert "outer" not in [layer.name for layer in every_layer(model, include_self=False)]
