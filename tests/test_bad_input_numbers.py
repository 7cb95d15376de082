"""Numbers and types at every entry point: the API, study files and `--set`.

Each number is checked once, where it enters, by `kgen.validation`: it must be finite,
of the right kind (an integer where a count is meant, a string where a name is), and
inside a range that cannot overflow later (a channel count, a float32 tensor, a step
count). Every refusal is a `ValueError` or `TypeError` whose message names the argument
and ends with what was received. A few cases show that the largest value accepted
really builds, so "validates" means "does not crash later".
"""

import json
import math
import sys

import pytest

import kgen.models
from kgen import losses, optimizers, schedules, training, validation
from kgen.cli import main
from kgen.layers import (
    Conv2D,
    DropConnectDense,
    RandomErasing,
    RandomPadCrop,
    RandomRotation,
    WeightNormalization,
)
from kgen.models import Augmentation, Erasing, ModelConfig, Stage, TrainConfig
from kgen.studies import spec
from kgen.studies.spec import load_study_file, resolve_variant, study_from_dict

INF = float("inf")
NAN = float("nan")
HUGE_INT = 10**400  # beyond float's range: float(HUGE_INT) overflows
OVERFLOWING = json.loads("1e309")  # what JSON, TOML and `--set` make of 1e309: inf


def create(**overrides):
    return kgen.models.create("small-cnn", **overrides)


def variant(model=None, train=None):
    study = study_from_dict({"name": "s", "variants": [
        {"name": "a", "preset": "ladder-3", "model": model or {}, "train": train or {}}]})
    return lambda: resolve_variant(study.variants[0])


TYPE_OR_VALUE = (TypeError, ValueError)

# name: (call, the exception it raises, the argument the message must name)
CASES = {
    # --- The checks themselves ---
    "check_number inf": (lambda: validation.check_number("x", INF), ValueError, "x"),
    "check_number -inf": (lambda: validation.check_number("x", -INF), ValueError, "x"),
    "check_number nan": (lambda: validation.check_number("x", NAN), ValueError, "x"),
    "check_number int beyond float": (lambda: validation.check_number("x", HUGE_INT),
                                      ValueError, "x"),
    "check_number string": (lambda: validation.check_number("x", "1.0"), TypeError, "x"),
    "check_int huge above maximum": (lambda: validation.check_int("n", HUGE_INT, maximum=10),
                                     ValueError, "n"),
    "check_int float": (lambda: validation.check_int("n", 2.0), TypeError, "n"),
    "check_bool string": (lambda: validation.check_bool("flag", "yes"), TypeError, "flag"),
    "check_choice int": (lambda: validation.check_choice("mode", 3, ("a", "b")), ValueError,
                         "mode"),
    "check_choice dict": (lambda: validation.check_choice("mode", {"a": 1}, ("a", "b")),
                          ValueError, "mode"),

    # --- Width: multiplier, stage widths and the channel cap ---
    "width_multiplier inf": (lambda: ModelConfig(width_multiplier=INF), ValueError,
                             "width_multiplier"),
    "width_multiplier 1e309": (lambda: create(width_multiplier=OVERFLOWING), ValueError,
                               "width_multiplier"),
    "width_multiplier 1e308": (lambda: create(width_multiplier=1e308), ValueError,
                               "width_multiplier"),
    "width_multiplier beyond the channel cap": (lambda: create(width_multiplier=1e6),
                                                ValueError, "width_multiplier"),
    "width_multiplier nan": (lambda: create(width_multiplier=NAN), ValueError,
                             "width_multiplier"),
    "width_multiplier string": (lambda: kgen.models.create("ladder-3", width_multiplier="wide"),
                                TypeError, "width_multiplier"),
    "width_multiplier list": (lambda: create(width_multiplier=[2.0]), TypeError,
                              "width_multiplier"),
    "width_multiplier huge int": (lambda: create(width_multiplier=HUGE_INT), ValueError,
                                  "width_multiplier"),
    "stage width huge": (lambda: Stage(10**30), ValueError, "width"),
    "stage width float": (lambda: Stage(32.5), TypeError, "width"),
    "stage width string": (lambda: Stage("32"), TypeError, "width"),
    "stage convs huge": (lambda: Stage(8, convs=10**9), ValueError, "convs"),
    "stage blocks huge": (lambda: Stage(8, blocks=10**9), ValueError, "blocks"),
    "stage dropout inf": (lambda: Stage(8, dropout=INF), ValueError, "dropout"),
    "stage residual string": (lambda: Stage(8, residual="yes"), TypeError, "residual"),
    "stem_width huge": (lambda: create(stem_width=10**30), ValueError, "stem_width"),
    "norm_groups huge": (lambda: create(norm_groups=10**30), ValueError, "norm_groups"),
    "head_units huge": (lambda: kgen.models.create("ladder-3", head_units=(10**30,)),
                        ValueError, "head_units"),
    "head_units an int": (lambda: kgen.models.create("ladder-3", head_units=5), TypeError,
                          "head_units"),
    "head_units strings": (lambda: kgen.models.create("ladder-3", head_units="abc"), TypeError,
                           "head_units"),
    "too many convolutions": (lambda: create(stages=[Stage(8, convs=10, blocks=10)] * 3),
                              ValueError, "stages"),

    # --- Other model floats ---
    "logit_scale inf": (lambda: ModelConfig(logit_scale=INF), ValueError, "logit_scale"),
    "logit_scale beyond float32": (lambda: create(logit_scale=1e300), ValueError,
                                   "logit_scale"),
    "l2 inf": (lambda: create(l2=INF), ValueError, "l2"),
    "l2 nan": (lambda: create(l2=NAN), ValueError, "l2"),
    "l2 int beyond float": (lambda: ModelConfig(l2=HUGE_INT), ValueError, "l2"),
    "head_dropout inf": (lambda: create(head_dropout=INF), ValueError, "head_dropout"),
    "drop_connect nan": (lambda: create(drop_connect=NAN), ValueError, "drop_connect"),
    "rotation_degrees inf": (lambda: Augmentation(rotation_degrees=INF), ValueError,
                             "rotation_degrees"),
    "pad_crop huge": (lambda: Augmentation(pad_crop=10**30), ValueError, "pad_crop"),
    "pad_crop float": (lambda: Augmentation(pad_crop=2.5), TypeError, "pad_crop"),
    "erasing value nan": (lambda: Erasing(value=NAN), ValueError, "value"),
    "erasing value inf": (lambda: Erasing(value=INF), ValueError, "value"),
    "erasing value per channel nan": (lambda: Erasing(value=(0.0, NAN, 0.0)), ValueError,
                                      "value"),
    "erasing value unknown string": (lambda: Erasing(value="noise"), ValueError, "value"),
    "erasing value dict": (lambda: Erasing(value={"a": 1}), TypeError, "value"),
    "erasing scale inf": (lambda: Erasing(scale=(0.1, INF)), ValueError, "scale"),
    "erasing ratio inf": (lambda: Erasing(ratio=(1.0, INF)), ValueError, "ratio"),

    # --- Wrong types in model overrides ---
    "normalization int": (lambda: kgen.models.create("ladder-3", normalization=3), ValueError,
                          "normalization"),
    "normalization dict": (lambda: create(normalization={"kind": "batch"}), ValueError,
                           "normalization"),
    "normalization list": (lambda: create(normalization=["batch"]), ValueError, "normalization"),
    "activation None": (lambda: create(activation=None), ValueError, "activation"),
    "stages an int": (lambda: kgen.models.create("ladder-3", stages=5), TypeError, "stages"),
    "stages a dict": (lambda: create(stages={"width": 8}), TypeError, "stages"),
    "stages empty": (lambda: create(stages=[]), ValueError, "stages"),
    "stages of strings": (lambda: create(stages=["wide"]), TypeError, "stages"),
    "stage unknown field": (lambda: create(stages=[{"widht": 8}]), ValueError, "widht"),
    "stage without width": (lambda: create(stages=[{"convs": 2}]), ValueError, "width"),
    "residual string": (lambda: create(residual="yes"), TypeError, "residual"),
    "residual int": (lambda: create(residual=1), TypeError, "residual"),
    "augmentation int": (lambda: create(augmentation=3), TypeError, "augmentation"),
    "augmentation unknown field": (lambda: create(augmentation={"flop": "random"}), ValueError,
                                   "flop"),
    "erasing int": (lambda: create(augmentation={"erasing": 3}), TypeError, "erasing"),
    "erasing unknown field": (lambda: Augmentation(erasing={"q": 0.5}), ValueError, "q"),
    "overrides not a dict": (lambda: kgen.models.replace_fields(ModelConfig(), [("l2", 1)],
                                                                "model"), TypeError, "overrides"),
    "preset name not a string": (lambda: kgen.models.create(3), ValueError, "preset"),

    # --- Training numbers ---
    "learning_rate inf": (lambda: TrainConfig(learning_rate=INF), ValueError, "learning_rate"),
    "learning_rate 1e309": (lambda: TrainConfig(learning_rate=OVERFLOWING), ValueError,
                            "learning_rate"),
    "learning_rate nan": (lambda: TrainConfig(learning_rate=NAN), ValueError, "learning_rate"),
    "learning_rate beyond float32": (lambda: TrainConfig(learning_rate=1e39), ValueError,
                                     "learning_rate"),
    "learning_rate string": (lambda: TrainConfig(learning_rate="fast"), TypeError,
                             "learning_rate"),
    "learning_rate list": (lambda: TrainConfig(learning_rate=[0.1]), TypeError, "learning_rate"),
    "warmup_epochs inf": (lambda: TrainConfig(warmup_epochs=INF), ValueError, "warmup_epochs"),
    "warmup_epochs 1e308": (lambda: TrainConfig(warmup_epochs=1e308, schedule="cosine"),
                            ValueError, "warmup_epochs"),
    "warmup_epochs int beyond float": (lambda: TrainConfig(warmup_epochs=HUGE_INT), ValueError,
                                       "warmup_epochs"),
    "weight_decay inf": (lambda: TrainConfig(weight_decay=INF), ValueError, "weight_decay"),
    "momentum nan": (lambda: TrainConfig(momentum=NAN), ValueError, "momentum"),
    "gamma inf": (lambda: TrainConfig(gamma=INF), ValueError, "gamma"),
    "label_smoothing nan": (lambda: TrainConfig(label_smoothing=NAN), ValueError,
                            "label_smoothing"),
    "epochs float": (lambda: TrainConfig(epochs=2.5), TypeError, "epochs"),
    "epochs huge": (lambda: TrainConfig(epochs=10**30), ValueError, "epochs"),
    "epochs string": (lambda: TrainConfig(epochs="10"), TypeError, "epochs"),
    "batch_size True": (lambda: TrainConfig(batch_size=True), TypeError, "batch_size"),
    "batch_size float": (lambda: TrainConfig(batch_size=32.0), TypeError, "batch_size"),
    "batch_size huge": (lambda: TrainConfig(batch_size=10**30), ValueError, "batch_size"),
    "early_stopping_patience huge": (lambda: TrainConfig(early_stopping_patience=10**30),
                                     ValueError, "early_stopping_patience"),
    "optimizer int": (lambda: TrainConfig(optimizer=1), ValueError, "optimizer"),
    "schedule dict": (lambda: TrainConfig(schedule={"name": "cosine"}), ValueError, "schedule"),

    # --- mean and std of the standardization layer ---
    "mean nan": (lambda: create(mean=NAN), ValueError, "mean"),
    "mean inf": (lambda: create(mean=INF), ValueError, "mean"),
    "mean per channel nan": (lambda: create(mean=[0.5, NAN, 0.5]), ValueError, "mean"),
    "mean in 0..255 units": (lambda: create(mean=(125.3, 123.0, 113.9)), ValueError, "mean"),
    "mean string": (lambda: create(mean="abc"), TypeError, "mean"),
    "mean dict": (lambda: create(mean={"r": 0.5}), TypeError, "mean"),
    "mean too few channels": (lambda: create(mean=(0.5, 0.5)), ValueError, "mean"),
    "std nan": (lambda: create(std=NAN), ValueError, "std"),
    "std inf": (lambda: create(std=INF), ValueError, "std"),
    "std per channel nan": (lambda: create(std=[0.2, NAN, 0.2]), ValueError, "std"),
    "std zero": (lambda: create(std=0.0), ValueError, "std"),
    "std negative": (lambda: create(std=(0.2, -0.2, 0.2)), ValueError, "std"),
    "std too many channels": (lambda: create(std=(0.2,) * 4), ValueError, "std"),
    "std bool": (lambda: create(std=True), TypeError, "std"),
    "input_shape float": (lambda: create(input_shape=(32.5, 32, 3)), TypeError, "input_shape"),
    "input_shape string": (lambda: create(input_shape=("32", 32, 3)), TypeError, "input_shape"),
    "input_shape huge": (lambda: create(input_shape=(10**30, 32, 3)), ValueError,
                         "input_shape"),
    "input too small for the downsampling": (
        lambda: create(input_shape=(4, 4, 3), stages=[Stage(8)] * 3), ValueError, "input_shape"),
    "num_classes huge": (lambda: create(num_classes=10**30), ValueError, "num_classes"),

    # --- Layers ---
    "rotation degrees inf": (lambda: RandomRotation(INF), ValueError, "degrees"),
    "rotation fill_value inf": (lambda: RandomRotation(5.0, fill_value=INF), ValueError,
                                "fill_value"),
    "rotation fill_value nan": (lambda: RandomRotation(5.0, fill_value=NAN), ValueError,
                                "fill_value"),
    "erasing layer value inf": (lambda: RandomErasing(value=INF), ValueError, "value"),
    "erasing layer value per channel nan": (lambda: RandomErasing(value=[NAN]), ValueError,
                                            "value"),
    "erasing layer p nan": (lambda: RandomErasing(p=NAN), ValueError, "p"),
    "pad-crop padding float": (lambda: RandomPadCrop(2.5), TypeError, "padding"),
    "pad-crop padding bool": (lambda: RandomPadCrop(True), TypeError, "padding"),
    "layer seed negative": (lambda: RandomPadCrop(2, seed=-1), ValueError, "seed"),
    "layer seed huge": (lambda: RandomPadCrop(2, seed=10**30), ValueError, "seed"),
    "layer seed string": (lambda: RandomRotation(5.0, seed="x"), TypeError, "seed"),
    "drop-connect rate nan": (lambda: DropConnectDense(4, rate=NAN), ValueError, "rate"),
    "drop-connect seed huge": (lambda: DropConnectDense(4, seed=2**40), ValueError, "seed"),
    "weight norm epsilon nan": (lambda: WeightNormalization(Conv2D(4, 3), epsilon=NAN),
                                ValueError, "epsilon"),
    "weight norm epsilon zero": (lambda: WeightNormalization(Conv2D(4, 3), epsilon=0.0),
                                 ValueError, "epsilon"),
    "weight norm epsilon string": (lambda: WeightNormalization(Conv2D(4, 3), epsilon="small"),
                                   TypeError, "epsilon"),

    # --- Losses, optimizers, schedules ---
    "loss label_smoothing nan": (lambda: losses.SparseCategoricalCrossentropy(label_smoothing=NAN),
                                 ValueError, "label_smoothing"),
    "loss label_smoothing 1": (lambda: losses.SparseCategoricalCrossentropy(label_smoothing=1.0),
                               ValueError, "label_smoothing"),
    "loss label_smoothing string": (
        lambda: losses.SparseCategoricalCrossentropy(label_smoothing="a"), TypeError,
        "label_smoothing"),
    "optimizer learning_rate inf": (lambda: optimizers.create("sgd", INF), ValueError,
                                    "learning_rate"),
    "optimizer learning_rate zero": (lambda: optimizers.create("adam", 0.0), ValueError,
                                     "learning_rate"),
    "optimizer learning_rate string": (lambda: optimizers.create("adam", "fast"), TypeError,
                                       "learning_rate"),
    "optimizer momentum nan": (lambda: optimizers.create("sgd", 0.1, momentum=NAN), ValueError,
                               "momentum"),
    "optimizer weight_decay inf": (lambda: optimizers.create("adamw", 0.1, weight_decay=INF),
                                   ValueError, "weight_decay"),
    "coupled decay inf": (lambda: optimizers.AdamCoupledDecay(0.1, coupled_weight_decay=INF),
                          ValueError, "coupled_weight_decay"),
    "coupled decay epsilon nan": (lambda: optimizers.AdamCoupledDecay(0.1, epsilon=NAN),
                                  ValueError, "epsilon"),
    "exponential learning rate inf": (lambda: schedules.per_epoch_exponential(INF, 0.9, 10),
                                      ValueError, "initial_learning_rate"),
    "exponential steps huge": (lambda: schedules.per_epoch_exponential(0.1, 0.9, 10**30),
                               ValueError, "steps_per_epoch"),
    "cosine learning rate nan": (lambda: schedules.cosine(NAN, 10), ValueError,
                                 "initial_learning_rate"),
    "cosine steps huge": (lambda: schedules.cosine(0.1, 10**30), ValueError, "total_steps"),
    "cosine final_fraction inf": (lambda: schedules.cosine(0.1, 10, final_fraction=INF),
                                  ValueError, "final_fraction"),
    "warmup-linear peak beyond float32": (lambda: schedules.WarmupLinearDecay(1e39, 0, 10),
                                          ValueError, "peak_learning_rate"),
    "warmup-linear steps huge": (lambda: schedules.WarmupLinearDecay(0.1, 0, 2**40), ValueError,
                                 "total_steps"),
    "warmup-linear steps float": (lambda: schedules.WarmupLinearDecay(0.1, 1.5, 10), TypeError,
                                  "warmup_steps"),
    "from_config steps float": (lambda: schedules.from_config(TrainConfig(), 2.5), TypeError,
                                "steps_per_epoch"),
    "training batch size huge": (lambda: training.check_batch_size(10**30, 100), ValueError,
                                 "batch_size"),

    # --- Study variants: what study files and `--set` overrides resolve through ---
    "variant width_multiplier string": (variant(model={"width_multiplier": "wide"}), TypeError,
                                        "width_multiplier"),
    "variant width_multiplier 1e309": (variant(model={"width_multiplier": OVERFLOWING}),
                                       ValueError, "width_multiplier"),
    "variant stages an int": (variant(model={"stages": 5}), TypeError, "stages"),
    "variant normalization int": (variant(model={"normalization": 3}), ValueError,
                                  "normalization"),
    "variant head_units dict": (variant(model={"head_units": {"a": 1}}), TypeError,
                                "head_units"),
    "variant augmentation list": (variant(model={"augmentation": [1]}), TypeError,
                                  "augmentation"),
    "variant erasing value nan": (variant(model={"augmentation": {"erasing": {"value": NAN}}}),
                                  ValueError, "value"),
    "variant epochs float": (variant(train={"epochs": 2.5}), TypeError, "epochs"),
    "variant batch_size True": (variant(train={"batch_size": True}), TypeError, "batch_size"),
    "variant learning_rate inf": (variant(train={"learning_rate": INF}), ValueError,
                                  "learning_rate"),
    "variant warmup_epochs 1e309": (variant(train={"warmup_epochs": OVERFLOWING}), ValueError,
                                    "warmup_epochs"),
    "variant course inf": (lambda: study_from_dict({"name": "s", "variants": [
        {"name": "a", "preset": "small-cnn", "course": INF}]}), ValueError, "course"),
    "study too many variants": (lambda: study_from_dict({"name": "s", "variants": [
        {"name": f"v{i}", "preset": "small-cnn"} for i in range(spec.MAX_VARIANTS + 1)]}),
        ValueError, "variants"),
    "study nested too deep": (lambda: study_from_dict({"name": "s", "variants": [
        {"name": "a", "preset": "small-cnn", "model": {"l2": nested_list(200)}}]}),
        ValueError, "study"),
    "variant name too long": (lambda: study_from_dict({"name": "s", "variants": [
        {"name": "v" * 300, "preset": "small-cnn"}]}), ValueError, "name"),
}


def nested_list(depth):
    value = []
    for _ in range(depth):
        value = [value]
    return value


def test_cases_cover_every_entry_point():
    assert len(CASES) >= 150


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_number_or_type_is_refused_naming_the_argument(case):
    call, error, argument = CASES[case]
    with pytest.raises(TYPE_OR_VALUE) as raised:
        call()
    assert isinstance(raised.value, error), f"{type(raised.value).__name__}: {raised.value}"
    message = str(raised.value)
    assert argument in message, message
    assert "Received" in message, message
    assert len(message) < 1000, message  # a huge value is shortened, never printed whole


def test_a_huge_integer_is_shown_by_its_size_not_its_digits():
    # repr() of a 400-digit int raises ValueError past Python's 4300-digit limit
    # for larger ones; kgen's message must survive any size.
    with pytest.raises(ValueError, match="Received: x=<an integer of 4001 digits>"):
        validation.check_number("x", 10**4000)


# === The largest accepted values build: nothing overflows after validation ===


def test_widest_accepted_multiplier_gives_the_channel_cap():
    config = ModelConfig(stages=(Stage(1),), width_multiplier=validation.MAX_CHANNELS)
    assert config.scaled_width(1) == validation.MAX_CHANNELS
    with pytest.raises(ValueError, match="width_multiplier"):
        ModelConfig(stages=(Stage(1),), width_multiplier=validation.MAX_CHANNELS + 1)


def test_the_channel_cap_counts_the_stem_too():
    with pytest.raises(ValueError, match="width_multiplier.*stem"):
        ModelConfig(stem_width=validation.MAX_CHANNELS, stages=(Stage(1),), width_multiplier=2.0)


def test_a_tiny_multiplier_still_gives_one_channel():
    config = ModelConfig(width_multiplier=sys.float_info.min)
    assert config.scaled_width(32) == 1


@pytest.mark.parametrize("schedule", ["constant", "exponential", "cosine", "warmup_linear"])
def test_largest_accepted_training_numbers_make_a_schedule(schedule):
    config = TrainConfig(schedule=schedule, learning_rate=validation.FLOAT32_MAX,
                         warmup_epochs=float(validation.MAX_EPOCHS), epochs=validation.MAX_EPOCHS)
    made = schedules.from_config(config, steps_per_epoch=100)
    rate = made if isinstance(made, float) else float(made(0))
    assert math.isfinite(rate)


def test_largest_accepted_mean_and_std_build_a_model():
    model = create(mean=(0.0, 1.0, 0.5), std=(1e-6, 0.5, 1.0))
    assert model.get_layer("standardize") is not None


@pytest.mark.parametrize("mean, std", [(0.5, 0.25), ((0.49, 0.48, 0.45), (0.25, 0.24, 0.26))])
def test_numpy_statistics_are_accepted(mean, std):
    import numpy as np

    create(mean=np.asarray(mean, "float32"), std=np.asarray(std, "float32"))
    create(mean=np.float32(0.5), std=np.float64(0.25))


def test_numpy_integers_are_accepted_where_an_integer_is_meant():
    import numpy as np

    assert Stage(np.int64(16)).width == 16
    assert RandomPadCrop(np.int32(2), seed=np.int64(3)).seed == 3


# === Study files: size, depth and variant caps before and after parsing ===


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_study_file_over_the_size_cap_is_refused_before_parsing(tmp_path):
    path = write(tmp_path, "big.json", " " * (spec.MAX_STUDY_FILE_BYTES + 1))
    with pytest.raises(ValueError, match="big.json.*MiB.*Received: file="):
        load_study_file(path)


def test_a_ten_megabyte_study_file_is_refused(tmp_path):
    variants = [{"name": f"v{i}", "preset": "small-cnn", "summary": "x" * 100}
                for i in range(100_000)]
    path = write(tmp_path, "huge.json", json.dumps({"name": "s", "variants": variants}))
    assert path.stat().st_size > 10 * 2**20
    with pytest.raises(ValueError, match="huge.json.*Received: file="):
        load_study_file(path)


@pytest.mark.parametrize("name, text", [
    ("deep.json", "[" * 100_000 + "]" * 100_000),
    ("deep-object.json", '{"a":' * 100_000 + "1" + "}" * 100_000),
    ("deep.toml", "a = " + "[" * 100_000 + "]" * 100_000),
    ("deep-table.toml", "a = " + "{b = " * 50_000 + "1" + "}" * 50_000),
])
def test_deeply_nested_study_files_are_refused(tmp_path, name, text):
    path = write(tmp_path, name, text)
    with pytest.raises(ValueError, match=f"{name}.*nested.*Received: file="):
        load_study_file(path)


def test_moderately_nested_study_file_is_refused_after_parsing(tmp_path):
    data = {"name": "s", "variants": [{"name": "a", "preset": "small-cnn",
                                       "model": {"l2": nested_list(500)}}]}
    path = write(tmp_path, "nested.json", json.dumps(data))
    with pytest.raises(ValueError, match="nested.json.*nested"):
        load_study_file(path)


def test_a_study_file_with_too_many_variants_is_refused(tmp_path):
    variants = [{"name": f"v{i}", "preset": "small-cnn"} for i in range(spec.MAX_VARIANTS + 1)]
    path = write(tmp_path, "many.json", json.dumps({"name": "s", "variants": variants}))
    with pytest.raises(ValueError, match=f"many.json.*at most {spec.MAX_VARIANTS}.*Received"):
        load_study_file(path)


@pytest.mark.parametrize("text, argument", [
    ('name = "s"\n[[variants]]\nname = "a"\npreset = "small-cnn"\n'
     '[variants.train]\nlearning_rate = inf\n', "learning_rate"),
    ('name = "s"\n[[variants]]\nname = "a"\npreset = "small-cnn"\n'
     '[variants.model]\nwidth_multiplier = 1e309\n', "width_multiplier"),
    ('name = "s"\n[[variants]]\nname = "a"\npreset = "small-cnn"\n'
     '[variants.model]\nl2 = nan\n', "l2"),
    ('name = "s"\n[[variants]]\nname = "a"\npreset = "small-cnn"\n'
     f'[variants.train]\nepochs = {10**400}\n', "epochs"),
    ('name = "s"\n[[variants]]\nname = "a"\npreset = "small-cnn"\n'
     '[variants.model]\nstages = 5\n', "stages"),
])
def test_toml_numbers_are_checked_when_the_variant_resolves(tmp_path, text, argument):
    study = load_study_file(write(tmp_path, "s.toml", text))
    with pytest.raises(TYPE_OR_VALUE, match=f"variant 'a'.*{argument}.*Received"):
        resolve_variant(study.variants[0])


# === `kgen train --set`: the same checks, exit code 2 and one line ===


@pytest.mark.parametrize("override, argument", [
    ("width_multiplier=1e309", "width_multiplier"),
    ("width_multiplier=1e308", "width_multiplier"),
    ("width_multiplier=wide", "width_multiplier"),
    ("learning_rate=Infinity", "learning_rate"),
    ("learning_rate=NaN", "learning_rate"),
    ("warmup_epochs=1e309", "warmup_epochs"),
    ("logit_scale=1e309", "logit_scale"),
    ("epochs=2.5", "epochs"),
    ("batch_size=true", "batch_size"),
    ("stages=5", "stages"),
    ("normalization=3", "normalization"),
    ("head_units=[1e400]", "head_units"),
    ("residual=\"yes\"", "residual"),
    ("erasing={\"value\": NaN}", "value"),
])
def test_set_overrides_exit_2_naming_the_field(override, argument, tmp_path, capsys):
    out_dir = tmp_path / "out"
    code = main(["train", "small-cnn", "--set", override, "--out", str(out_dir)])
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert argument in lines[0] and "Received" in lines[0], lines[0]
    assert not out_dir.exists()


def test_deepest_accepted_model_builds():
    # Keras builds functional models recursively: the cap is set below its limit.
    blocks = validation.MAX_CONVOLUTIONS
    model = kgen.models.create("small-cnn", input_shape=(8, 8, 3), normalization="batch",
                               stages=[Stage(4, convs=1, blocks=blocks, residual=True,
                                             downsample="none")])
    assert sum(isinstance(layer, Conv2D) for layer in model.layers) > blocks
    with pytest.raises(ValueError, match="blocks"):
        ModelConfig(stages=[Stage(4, convs=1, blocks=blocks + 1)])
    with pytest.raises(ValueError, match="`stages` make 201 convolutions"):
        ModelConfig(stages=[Stage(4, blocks=100), Stage(4, convs=1)])


@pytest.mark.parametrize("key", ["model", "train"])
def test_a_variant_made_in_python_gets_the_same_checks(key):
    from kgen.studies import Variant

    with pytest.raises(TypeError, match=f"variant 'a': `{key}`.*Received: {key}=5"):
        resolve_variant(Variant(name="a", preset="small-cnn", **{key: 5}))
