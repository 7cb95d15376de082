"""The bad-input contract of the public API, as one table.

Every case must raise `ValueError` or `TypeError` before any training starts, with a
message that names the argument and shows the value received. The CLI's cases are in
`tests/test_cli*.py` (exit code 2, one line on stderr, no files left behind).
"""

import dataclasses
from pathlib import Path

import numpy as np
import pytest

import kgen.data
import kgen.models
import kgen.studies
from kgen import optimizers, schedules, training
from kgen.layers import DropConnectDense, RandomErasing, RandomPadCrop
from kgen.models import Augmentation, Erasing, Stage, TrainConfig
from kgen.studies import layout


@pytest.fixture(scope="module")
def data():
    return kgen.data.load("synthetic", train_size=40, test_size=10, validation_split=0.25)


def model_for(data, **overrides):
    return kgen.models.create("small-cnn", input_shape=data.input_shape,
                              num_classes=data.num_classes, **overrides)


def fit_with(**arrays):
    def call(data):
        changed = dataclasses.replace(data, **{k: v(data) for k, v in arrays.items()})
        training.fit(model_for(data), changed, TrainConfig(epochs=1, batch_size=8), verbose=0)
    return call


def plan_study(**settings):
    study = kgen.studies.study_from_dict(
        {"name": "s", "variants": [{"name": "a", "preset": "small-cnn"}]})
    return runner().plan(study, kgen.studies.Settings(**settings))


def runner():
    from kgen.studies import runner

    return runner


def layer_on(layer, shape=(1, 8, 8, 3)):
    return lambda data: layer()(np.zeros(shape, "float32"))


CASES = {
    # name: (call taking the dataset, the argument the message must name)
    "erasing p above 1": (lambda d: RandomErasing(p=1.5), "p"),
    "erasing p negative": (lambda d: RandomErasing(p=-0.1), "p"),
    "erasing scale out of order": (lambda d: RandomErasing(scale=(0.4, 0.1)), "scale"),
    "erasing scale negative": (lambda d: RandomErasing(scale=(-0.1, 0.3)), "scale"),
    "erasing ratio non-positive": (lambda d: RandomErasing(ratio=(0.0, 2.0)), "ratio"),
    "erasing ratio out of order": (lambda d: RandomErasing(ratio=(3.0, 0.3)), "ratio"),
    "erasing unknown fill": (lambda d: RandomErasing(value="noise"), "value"),
    "erasing fill per channel mismatch": (layer_on(lambda: RandomErasing(value=(1.0, 2.0))), "value"),
    "pad-crop negative padding": (lambda d: RandomPadCrop(-2), "padding"),
    "pad-crop padding larger than image": (layer_on(lambda: RandomPadCrop(9)), "padding"),
    "pad-crop unknown mode": (lambda d: RandomPadCrop(2, mode="wrap"), "mode"),
    "drop-connect rate 1": (lambda d: DropConnectDense(4, rate=1.0), "rate"),
    "dropout rate 1 in a stage": (lambda d: Stage(8, dropout=1.0), "dropout"),
    "head dropout above 1": (lambda d: model_for(d, head_dropout=1.5), "head_dropout"),
    "negative L2": (lambda d: model_for(d, l2=-1e-4), "l2"),
    "zero width": (lambda d: Stage(0), "width"),
    "unknown normalization": (lambda d: model_for(d, normalization="batchnorm"), "normalization"),
    "unknown activation": (lambda d: model_for(d, activation="leaky"), "activation"),
    "unknown override": (lambda d: model_for(d, dropuot=0.1), "dropuot"),
    "negative rotation": (lambda d: Augmentation(rotation_degrees=-5), "rotation_degrees"),
    "erasing config out of order": (lambda d: Erasing(scale=(0.3, 0.1)), "scale"),
    "unknown preset": (lambda d: kgen.models.create("resnet-9"), "preset"),
    "one class": (lambda d: kgen.models.create("small-cnn", num_classes=1), "num_classes"),
    "input shape of rank 2": (lambda d: kgen.models.create("small-cnn", input_shape=(32, 32)),
                              "input_shape"),
    "mean per channel mismatch": (lambda d: kgen.models.create("small-cnn", mean=(0.5, 0.5)), "mean"),
    "zero std": (lambda d: kgen.models.create("small-cnn", std=0.0), "std"),
    "zero epochs": (lambda d: TrainConfig(epochs=0), "epochs"),
    "zero epochs in fit": (lambda d: training.fit(model_for(d), d, TrainConfig(), epochs=0), "epochs"),
    "negative learning rate": (lambda d: TrainConfig(learning_rate=-0.1), "learning_rate"),
    "zero batch size": (lambda d: TrainConfig(batch_size=0), "batch_size"),
    "decay factor above 1": (lambda d: TrainConfig(gamma=1.2), "gamma"),
    "label smoothing 1": (lambda d: TrainConfig(label_smoothing=1.0), "label_smoothing"),
    "unknown optimizer": (lambda d: TrainConfig(optimizer="rmsprop"), "optimizer"),
    "unknown schedule": (lambda d: TrainConfig(schedule="step"), "schedule"),
    "weight decay on plain adam": (lambda d: optimizers.create("adam", 0.1, weight_decay=0.1),
                                   "weight_decay"),
    "schedule without steps": (lambda d: schedules.per_epoch_exponential(0.1, 0.9, 0),
                               "steps_per_epoch"),
    "unknown dataset": (lambda d: kgen.data.load("cifar-10"), "dataset name"),
    "unknown study": (lambda d: kgen.studies.get("normalisation"), "study"),
    "malformed study": (lambda d: kgen.studies.study_from_dict({"name": "s", "variant": []}),
                        "variant"),
    "validation split 1": (lambda d: kgen.data.load("synthetic", validation_split=1.0),
                           "validation_split"),
    "validation split negative": (lambda d: kgen.data.load("synthetic", validation_split=-0.1),
                                  "validation_split"),
    "images of rank 3": (fit_with(x_train=lambda d: d.x_train[:, :, :, 0]), "x_train"),
    "float images in 0..255": (fit_with(x_train=lambda d: d.x_train.astype("float32")), "x_train"),
    "float images in 0..1": (fit_with(x_train=lambda d: d.x_train / 255.0), "x_train"),
    "wrong channel count": (fit_with(x_train=lambda d: d.x_train[..., :1]), "x_train"),
    "wrong image size": (fit_with(x_val=lambda d: d.x_val[:, :30, :30]), "x_val"),
    "labels out of range": (fit_with(y_train=lambda d: d.y_train + 10), "y_train"),
    "negative labels": (fit_with(y_train=lambda d: d.y_train - 20), "y_train"),
    "float labels": (fit_with(y_train=lambda d: d.y_train.astype("float32")), "y_train"),
    "one-hot labels": (fit_with(y_val=lambda d: np.eye(10, dtype="int64")[d.y_val]), "y_val"),
    "labels shorter than images": (fit_with(y_train=lambda d: d.y_train[:-3]), "y_train"),
    "num_classes mismatch": (
        lambda d: training.fit(kgen.models.create("small-cnn", num_classes=5), d,
                               TrainConfig(epochs=1, batch_size=8), verbose=0),
        "y_train"),
    "batch size larger than the dataset": (
        lambda d: training.fit(model_for(d), d, TrainConfig(epochs=1, batch_size=64), verbose=0),
        "batch_size=64"),
    "study batch size larger than its limit": (lambda d: plan_study(batch_size=64, limit=32),
                                               "batch_size=64"),
    "study batch size larger than its data": (
        lambda d: runner().check_batch_sizes(plan_study(batch_size=64), d), "batch_size=64"),
    "empty training split": (fit_with(x_train=lambda d: d.x_train[:0], y_train=lambda d: d.y_train[:0]),
                             "x_train"),
    "output folder inside a file": (lambda d: layout.check_writable(Path(__file__) / "out"), "out"),
    # More than any disk holds: the free-space check, without filling a disk.
    "output folder on a full disk": (lambda d: layout.check_writable(".", min_free_bytes=2**70),
                                     "out"),
    "model file that does not exist": (lambda d: kgen.models.load_model("no/such/model.keras"),
                                       "path"),
}


def test_suite_has_at_least_40_cases():
    assert len(CASES) >= 40


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_refused_with_a_clear_message(case, data):
    call, argument = CASES[case]
    with pytest.raises((ValueError, TypeError)) as raised:
        call(data)
    message = str(raised.value)
    assert argument in message, message
    assert "Received" in message, message


@pytest.mark.parametrize("call, suggestion", [
    (lambda: kgen.models.create("resnet-9"), "'resnet9'"),
    (lambda: kgen.studies.get("normalisation"), "'normalization'"),
    (lambda: kgen.data.load("cifar-10"), "'cifar10'"),
    # Letter O for zero and a capital: the look-alike wins over difflib's tie order.
    (lambda: kgen.models.create("Ladder-O"), "'ladder-0' or"),
], ids=["preset", "study", "dataset", "lookalike"])
def test_unknown_names_suggest_the_closest(call, suggestion):
    with pytest.raises(ValueError, match=f"Did you mean {suggestion}"):
        call()
