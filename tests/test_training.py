import keras
import numpy as np
import pytest

import kgen.data
import kgen.models
from kgen import training
from kgen.backend import set_random_seed
from kgen.models import TrainConfig


@pytest.fixture(scope="module")
def tiny_data():
    return kgen.data.load("synthetic", train_size=96, test_size=32, validation_split=0.25)


def tiny_model(data, preset="small-cnn", **overrides):
    return kgen.models.create(preset, input_shape=data.input_shape, num_classes=data.num_classes,
                              mean=data.mean, std=data.std, **overrides)


def test_fit_logs_learning_rate_and_seconds(tiny_data):
    train = TrainConfig(batch_size=32, epochs=3, schedule="exponential", gamma=0.5,
                        learning_rate=0.01)
    history = training.fit(tiny_model(tiny_data), tiny_data, train, verbose=0)
    np.testing.assert_allclose(history.history["learning_rate"], [0.01, 0.005, 0.0025], rtol=1e-5)
    assert all(seconds > 0 for seconds in history.history["seconds"])
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert len(history.history[key]) == 3


def test_same_seed_same_history(tiny_data):
    train = TrainConfig(batch_size=32, epochs=2)

    def run():
        set_random_seed(7)
        model = tiny_model(tiny_data, "ladder-5", width_multiplier=0.125)
        return training.fit(model, tiny_data, train, verbose=0).history

    first, second = run(), run()
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        np.testing.assert_array_equal(first[key], second[key])
    set_random_seed(8)
    third = training.fit(tiny_model(tiny_data, "ladder-5", width_multiplier=0.125), tiny_data,
                         train, verbose=0).history
    assert third["loss"] != first["loss"]


def test_weight_normalization_is_data_initialized_by_fit(tiny_data):
    model = tiny_model(tiny_data, normalization="weight")
    before = keras.ops.convert_to_numpy(model.get_layer("stage0_block0_unit0_weightnorm").g)
    training.fit(model, tiny_data, TrainConfig(batch_size=32, epochs=1), verbose=0)
    after = keras.ops.convert_to_numpy(model.get_layer("stage0_block0_unit0_weightnorm").g)
    assert not np.allclose(before, after)


def test_early_stopping_restores_and_stops(tiny_data):
    train = TrainConfig(batch_size=32, epochs=30, early_stopping_patience=1, learning_rate=1e-6)
    history = training.fit(tiny_model(tiny_data), tiny_data, train, verbose=0)
    assert len(history.history["loss"]) < 30


def replace_split(data, **arrays):
    import dataclasses

    return dataclasses.replace(data, **arrays)


@pytest.mark.parametrize("change, match", [
    (lambda d: {"x_train": d.x_train.astype("float32")}, "x_train"),
    (lambda d: {"x_train": d.x_train[..., :1]}, "x_train"),
    (lambda d: {"x_train": d.x_train[:, :16]}, "x_train"),
    (lambda d: {"x_train": d.x_train[0]}, "x_train"),
    (lambda d: {"y_train": d.y_train + 10}, "y_train"),
    (lambda d: {"y_train": d.y_train.astype("float32")}, "y_train"),
    (lambda d: {"y_train": d.y_train[:-1]}, "y_train"),
    (lambda d: {"y_val": np.eye(10, dtype="int64")[d.y_val]}, "y_val"),
    (lambda d: {"x_train": d.x_train[:0], "y_train": d.y_train[:0]}, "empty|x_train"),
])
def test_fit_rejects_bad_arrays_before_training(tiny_data, change, match):
    model = tiny_model(tiny_data)
    with pytest.raises((ValueError, TypeError), match=match):
        training.fit(model, replace_split(tiny_data, **change(tiny_data)), TrainConfig(epochs=1),
                     verbose=0)
    assert getattr(model, "optimizer", None) is None  # nothing was compiled or trained


def test_batch_size_up_to_the_training_set_only(tiny_data):
    train_images = len(tiny_data.x_train)
    model = tiny_model(tiny_data)
    with pytest.raises(ValueError, match=f"batch_size={train_images + 1}") as raised:
        training.fit(model, tiny_data, TrainConfig(epochs=1, batch_size=train_images + 1),
                     verbose=0)
    assert f"({train_images} images)" in str(raised.value)
    assert getattr(model, "optimizer", None) is None  # refused before compiling
    # One batch of the whole training set is fine; validation (fewer images than
    # the batch) and evaluation (batch 1024) may use batches larger than their data.
    history = training.fit(model, tiny_data, TrainConfig(epochs=1, batch_size=train_images),
                           verbose=0)
    assert len(tiny_data.x_val) < train_images and np.isfinite(history.history["val_loss"][0])
    assert 0.0 <= training.evaluate(model, tiny_data.x_test, tiny_data.y_test) <= 1.0


def test_fit_rejects_zero_epochs(tiny_data):
    with pytest.raises(ValueError, match="epochs"):
        training.fit(tiny_model(tiny_data), tiny_data, TrainConfig(), epochs=0)


@pytest.mark.parametrize("field, value", [
    ("learning_rate", 0.0), ("batch_size", 0), ("epochs", 0), ("gamma", 1.5),
    ("optimizer", "adagrad"), ("schedule", "step"), ("label_smoothing", 1.0),
])
def test_train_config_rejects_nonsense(field, value):
    with pytest.raises((ValueError, TypeError), match=field if field != "optimizer" else "optimizer"):
        TrainConfig(**{field: value})


@pytest.mark.slow
def test_ladder9_trains_one_epoch_on_random_images():
    # The core issue's acceptance check: the full-size top rung, 512 random images.
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (512, 32, 32, 3), dtype=np.uint8)
    labels = rng.integers(0, 10, 512)
    data = kgen.data.Dataset("random", images, labels, images[:0], labels[:0], images[:0],
                             labels[:0], tuple(str(i) for i in range(10)),
                             *kgen.data.channel_statistics(images))
    model = kgen.models.create("ladder-9", mean=data.mean, std=data.std)
    history = training.fit(model, data, kgen.models.get("ladder-9").train, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
