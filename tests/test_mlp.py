"""The MLP builder and presets, the two-moons data and the decision-boundary
recipe (the course's opening picture)."""

import importlib.util
import json
import re
from pathlib import Path

import keras
import numpy as np
import pytest

import kgen.models
from kgen.data.toy import two_moons
from kgen.decision_boundary import (
    boundary_callback,
    class_one_probability,
    frame_epochs,
    grid_axes,
    grid_extent,
    grid_path,
    plot_frame,
)
from kgen.models import MLPConfig, build_mlp
from tests.helpers import check_model_contract

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


@pytest.mark.parametrize("name", kgen.models.MLP_PRESETS)
def test_every_mlp_preset_meets_the_model_contract(name, tmp_path):
    features = np.random.default_rng(0).normal(size=(4, 6)).astype("float32")

    def make_model():
        return kgen.models.create_mlp(name, 6, 4, mean=features.mean(0), std=features.std(0))

    restored = check_model_contract(make_model, features, np.arange(4), tmp_path)
    # The file says what the model is: the preset, its config and its statistics.
    assert (restored.preset, restored.model_config) == (name, make_model().model_config)
    assert (restored.input_dim, restored.num_classes) == (6, 4)
    np.testing.assert_allclose(restored.mean, features.mean(0), rtol=1e-6)
    assert kgen.models.load_model(tmp_path / "model.keras").preset == name  # safe mode


def test_a_saved_mlp_keeps_its_precision_policy(tmp_path):
    from kgen import precision

    with precision.policy("mixed_bfloat16"):
        model = kgen.models.create_mlp("course-mlp", 3, 2)
    model.save(tmp_path / "mixed.keras")
    restored = kgen.models.load_model(tmp_path / "mixed.keras")
    assert keras.config.dtype_policy().name == "float32"  # the caller's is untouched
    assert restored.built_with_policy == "mixed_bfloat16"
    assert restored.get_layer("hidden0_dense").dtype_policy.name == "mixed_bfloat16"


@pytest.mark.parametrize("variant, settings, message", [
    ({"scaling": "unit"}, {}, "scaling='unit'"),
    ({"train": {"transfer": "probe"}}, {}, "transfer='probe'"),
    ({}, {"flip_tta": True}, "flip_tta=True"),
    ({}, {"width_scale": 0.25}, "--width-scale 1"),
])
def test_the_runner_refuses_image_settings_for_an_mlp(variant, settings, message):
    from kgen.studies import Settings, Study, Variant, runner

    study = Study(name="mlp", variants=(Variant(name="mlp", preset="course-mlp", **variant),))
    with pytest.raises(ValueError, match=re.escape(message)):
        runner.plan(study, Settings(dataset="two-moons", **settings))


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


def linear_model():
    """A model whose class-1 logit is 5 x: probability above 0.5 right of 0."""
    inputs = keras.Input((2,))
    dense = keras.layers.Dense(2, use_bias=False)
    model = keras.Model(inputs, dense(inputs))
    dense.kernel.assign(np.array([[0.0, 5.0], [0.0, 0.0]], "float32"))
    return model


def test_class_one_probability_follows_the_model(tmp_path):
    probability = class_one_probability(linear_model(), (-1, 1), (-1, 1), points=5)
    xs, _ = grid_axes((-1, 1), (-1, 1), points=5)
    assert probability.shape == (5, 5)
    assert np.all(probability[:, xs > 0] > 0.5) and np.all(probability[:, xs < 0] < 0.5)
    x, y = two_moons(20)
    plot_frame(tmp_path / "frame.png", [("linear", probability)], x, y, "test", (-1, 1), (-1, 1))
    assert (tmp_path / "frame.png").read_bytes()[:4] == b"\x89PNG"


def fit_with(callbacks, epochs=5, initial_epoch=0, seed=0):
    """course-mlp fitted on two moons from seed `seed`; returns its weights."""
    keras.utils.set_random_seed(seed)
    model = kgen.models.create_mlp("course-mlp", 2, 2, input_dropout=0.0)
    model.compile(keras.optimizers.SGD(0.1, momentum=0.9),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x, y = two_moons(64)
    model.fit(x, y, epochs=epochs, initial_epoch=initial_epoch, batch_size=16, verbose=0,
              callbacks=callbacks)
    return model


def test_boundary_callback_saves_grids_before_training_every_n_epochs_and_at_the_end(tmp_path):
    callback = boundary_callback(tmp_path, (-1, 1), (-1, 1), epochs=5, every=2, points=4)
    model = fit_with([callback])
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "boundary-000.npy", "boundary-002.npy", "boundary-004.npy", "boundary-005.npy"]
    np.testing.assert_allclose(np.load(grid_path(tmp_path, 5)),
                               class_one_probability(model, (-1, 1), (-1, 1), points=4),
                               rtol=1e-6)
    assert not np.allclose(np.load(grid_path(tmp_path, 0)), np.load(grid_path(tmp_path, 5)))
    assert frame_epochs(5, 2) == [0, 2, 4, 5] and frame_epochs(4, 2) == [0, 2, 4]


def test_boundary_callback_only_watches(tmp_path):
    # The same seed with and without the callback trains the same weights (on
    # PyTorch, `predict` would draw from the global generator and change them).
    watched = fit_with([boundary_callback(tmp_path, (-1, 1), (-1, 1), epochs=5, every=1)])
    alone = fit_with([])
    for a, b in zip(watched.weights, alone.weights):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b))


def test_a_resumed_run_records_the_grid_its_kill_left_unwritten(tmp_path):
    # Killed after epoch 2's backup and before its grid: resumed at epoch 2.
    callback = boundary_callback(tmp_path, (-1, 1), (-1, 1), epochs=5, every=2, points=4)
    fit_with([callback], initial_epoch=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "boundary-002.npy", "boundary-004.npy", "boundary-005.npy"]
    # Killed after the last epoch: the resumed run trains no epoch.
    grid_path(tmp_path, 5).unlink()
    fit_with([boundary_callback(tmp_path, (-1, 1), (-1, 1), epochs=5, every=2, points=4)],
             initial_epoch=5)
    assert grid_path(tmp_path, 5).exists()


def test_grid_extent_is_the_points_box_with_a_margin():
    assert grid_extent(np.array([[0.0, 1.0], [2.0, -1.0]]), margin=0.5) == (
        (-0.5, 2.5), (-1.5, 1.5))
    with pytest.raises(ValueError, match=r"Received: x of shape \(3,\)"):
        grid_extent(np.zeros(3))


def load_recipe():
    spec = importlib.util.spec_from_file_location("decision_boundary", RECIPE)
    recipe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(recipe)
    return recipe


def test_decision_boundary_recipe_is_a_study_with_frames(tmp_path, capsys):
    recipe = load_recipe()
    assert recipe.main(["--epochs", "3", "--every", "2", "--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in (tmp_path / "frames").glob("frame-*.png")) == [
        "frame-000.png", "frame-002.png", "frame-003.png"]
    for variant in ("plain-mlp", "course-mlp"):
        run = tmp_path / "runs" / variant / "seed-0"
        result = json.loads((run / "result.json").read_text())
        assert result["status"] == "completed" and result["train_images"] == 100
        assert 0.0 <= result["test_accuracy"] <= 1.0
        config = json.loads((run / "config.json").read_text())
        assert config["dataset"] == {**config["dataset"], "name": "two-moons", "train": 100,
                                     "val": 25, "test": 2000}
        assert len(list(run.glob("boundary-*.npy"))) == 3
    assert json.loads((tmp_path / "runs" / "course-mlp" / "seed-0" / "config.json").read_text())[
        "model"]["input_dropout"] == 0.0
    printed = capsys.readouterr().out
    assert "| course-mlp |" in printed.replace("`", "")
    accuracies = [json.loads((tmp_path / "runs" / v / "seed-0" / "result.json").read_text())[
        "test_accuracy"] for v in ("course-mlp", "plain-mlp")]
    difference = 100 * (accuracies[0] - accuracies[1])
    assert f"course-mlp − plain-mlp: {difference:+.1f} points" in printed
    assert (tmp_path / "report.md").exists()
    # Run again: the finished runs are skipped, and the frames drawn from their grids.
    (tmp_path / "frames" / "frame-002.png").unlink()
    assert recipe.main(["--epochs", "3", "--every", "2", "--out", str(tmp_path)]) == 0
    assert "finished already" in capsys.readouterr().out
    assert (tmp_path / "frames" / "frame-002.png").exists()
    # Another --every on the finished runs: no stale frames, and the missing grids named.
    assert recipe.main(["--epochs", "3", "--every", "1", "--out", str(tmp_path)]) == 0
    assert "no frame for epoch 1: no grid" in capsys.readouterr().out
    assert sorted(p.name for p in (tmp_path / "frames").glob("frame-*.png")) == [
        "frame-000.png", "frame-002.png", "frame-003.png"]
    # Other epochs are other runs: refused, then retrained with --force.
    assert recipe.main(["--epochs", "2", "--every", "1", "--out", str(tmp_path)]) == 2
    assert "--force" in capsys.readouterr().err
    assert recipe.main(["--epochs", "2", "--every", "1", "--force", "--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in (tmp_path / "frames").glob("frame-*.png")) == [
        "frame-000.png", "frame-001.png", "frame-002.png"]
    assert recipe.main(["--every", "0", "--out", str(tmp_path)]) == 2


def test_the_paired_difference_leaves_out_a_diverged_seed(tmp_path):
    recipe = load_recipe()
    accuracies = {"plain-mlp": [0.80, 0.85, None], "course-mlp": [0.83, 0.86, 0.90]}
    for variant, values in accuracies.items():
        for seed, value in enumerate(values):
            run = tmp_path / "runs" / variant / f"seed-{seed}"
            run.mkdir(parents=True)
            (run / "result.json").write_text(json.dumps({"test_accuracy": value}))
    line = recipe.paired_test_difference(tmp_path, 3, 2000)
    assert "+2.0 ± 1.4 points (mean ± std over 2 seeds, 1 left out: a run diverged: +3.0, +1.0)" \
        in line
