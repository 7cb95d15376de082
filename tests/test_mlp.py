"""The MLP builder and presets, the two-moons data and the decision-boundary
recipe (the course's opening picture)."""

import importlib.util
import json
from pathlib import Path

import keras
import numpy as np
import pytest

import kgen.models
from kgen.data.toy import two_moons
from kgen.decision_boundary import class_one_probability, plot_frame
from kgen.models import MLPConfig, build_mlp

RECIPE = Path(__file__).resolve().parents[1] / "recipes" / "teaching" / "decision_boundary.py"


def test_course_mlp_is_the_courses_keras_example():
    model = kgen.models.create_mlp("course-mlp", 60, 2)
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert [layer.units for layer in dense] == [60, 30, 2]
    for layer in dense:
        assert layer.kernel_constraint.get_config() == {"max_value": 3.0, "axis": 0}
    dropouts = [layer for layer in model.layers if isinstance(layer, keras.layers.Dropout)]
    assert [(layer.name, layer.rate) for layer in dropouts] == [
        ("input_dropout", 0.2), ("hidden0_dropout", 0.2), ("hidden1_dropout", 0.2)]
    train = kgen.models.get_mlp("course-mlp").train
    assert (train.optimizer, train.learning_rate, train.momentum, train.nesterov) == (
        "sgd", 0.1, 0.9, False)


def test_mlp_standardizes_its_inputs_and_learns():
    rng = np.random.default_rng(0)
    x = rng.normal(loc=50.0, scale=10.0, size=(256, 3)).astype("float32")
    y = (x[:, 0] > 50.0).astype("int32")
    keras.utils.set_random_seed(0)
    model = build_mlp(MLPConfig(hidden_units=(16,)), 3, 2, mean=x.mean(0), std=x.std(0))
    model.compile(keras.optimizers.Adam(0.01),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    history = model.fit(x, y, batch_size=32, epochs=20, verbose=0)
    assert history.history["accuracy"][-1] > 0.9


@pytest.mark.parametrize("arguments, error, message", [
    ({"config": "course-mlp", "input_dim": 2, "num_classes": 2}, TypeError, "Received: config="),
    ({"config": MLPConfig(), "input_dim": 0, "num_classes": 2}, ValueError, "Received: input_dim=0"),
    ({"config": MLPConfig(), "input_dim": 2, "num_classes": 1}, ValueError,
     "Received: num_classes=1"),
])
def test_bad_builder_arguments(arguments, error, message):
    with pytest.raises(error, match=message):
        build_mlp(**arguments)


@pytest.mark.parametrize("fields, message", [
    ({"hidden_units": "60"}, "Received: hidden_units='60'"),
    ({"dropout": 1.0}, "Received: dropout=1.0"),
    ({"activation": "relux"}, "relu"),
])
def test_bad_mlp_fields(fields, message):
    with pytest.raises((TypeError, ValueError), match=message):
        MLPConfig(**fields)


def test_unknown_mlp_preset_suggests():
    with pytest.raises(ValueError, match="course-mlp"):
        kgen.models.get_mlp("course_mlp")


def test_two_moons_is_seeded_and_balanced():
    x, y = two_moons(101, noise=0.1, seed=3)
    again, _ = two_moons(101, noise=0.1, seed=3)
    np.testing.assert_array_equal(x, again)
    assert x.shape == (101, 2) and x.dtype == np.float32 and y.dtype == np.int32
    assert np.bincount(y).tolist() == [51, 50]
    # Without noise every point lies on its half circle.
    x, y = two_moons(50, noise=0.0)
    upper = x[y == 0]
    np.testing.assert_allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0, rtol=1e-6)
    lower = x[y == 1]
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1.0, lower[:, 1] - 0.5), 1.0, rtol=1e-6)


def test_class_one_probability_follows_the_model(tmp_path):
    # A linear model whose class-1 logit is x: probability above 0.5 right of 0.
    inputs = keras.Input((2,))
    dense = keras.layers.Dense(2, use_bias=False)
    model = keras.Model(inputs, dense(inputs))
    dense.kernel.assign(np.array([[0.0, 5.0], [0.0, 0.0]], "float32"))
    xs, ys, probability = class_one_probability(model, (-1, 1), (-1, 1), points=5)
    assert probability.shape == (5, 5)
    assert np.all(probability[:, xs > 0] > 0.5) and np.all(probability[:, xs < 0] < 0.5)
    x, y = two_moons(20)
    plot_frame(tmp_path / "frame.png", [("linear", model)], x, y, "test")
    assert (tmp_path / "frame.png").read_bytes()[:4] == b"\x89PNG"


def test_decision_boundary_recipe_writes_frames_and_accuracies(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("decision_boundary", RECIPE)
    recipe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(recipe)
    assert recipe.main(["--epochs", "3", "--every", "2", "--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.glob("frame-*.png")) == [
        "frame-000.png", "frame-002.png", "frame-003.png"]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert set(summary["models"]) == {"plain-mlp", "course-mlp"}
    for figures in summary["models"].values():
        assert 0.0 <= figures["test_accuracy"] <= 1.0 and figures["test_standard_error"] > 0
    assert "course-mlp: train" in capsys.readouterr().out
    assert recipe.main(["--every", "0", "--out", str(tmp_path)]) == 2
