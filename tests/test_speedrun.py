"""The speed recipes: each trains through the study runner over seeds (one
epoch, tiny synthetic data) on the current backend, with the configuration
docs/performance.md measured; a time budget becomes a work budget; flip TTA."""

import dataclasses
import importlib.util
from pathlib import Path

import keras
import numpy as np
import pytest

import kgen.cli
import kgen.models
from kgen.models import Augmentation, TrainConfig
from kgen.studies.files import read_json
from kgen.studies.spec import resolve_variant
from tests.helpers import randomize_classifier
from tests.test_data_folder import real_cifar10_folder

RECIPES = Path(__file__).resolve().parents[1] / "recipes" / "speedrun"
# A narrow model (width 1/8 of Page's) on 320 synthetic images, one epoch.
WIDTH_SCALE = {"cifar10_cpu": 0.5, "cifar10_94": 0.125}


def load_recipe(name):
    spec = importlib.util.spec_from_file_location(f"speedrun_{name}", RECIPES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tiny(name, out, epochs=True):
    argv = ["--dataset", "synthetic", "--test-seed", "0", "--train-size", "320",
            "--width-scale", str(WIDTH_SCALE[name]), "--batch-size", "64", "--eval-limit", "64",
            "--no-reference", "--out", str(out)]
    return argv + (["--epochs", "1"] if epochs else [])


@pytest.mark.parametrize("name", ["cifar10_94", "cifar10_cpu"])
def test_recipe_trains_through_the_runner_over_seeds(name, tmp_path):
    recipe = load_recipe(name)
    assert recipe.main(tiny(name, tmp_path) + ["--seeds", "2"]) == 0
    results = read_json(tmp_path / "results.json")
    assert results["settings"]["precision"] == recipe.PRECISION
    assert results["settings"]["flip_tta"] is True
    assert [run["seed"] for run in results["runs"]] == [0, 1]
    assert {run["backend"] for run in results["runs"]} == {keras.backend.backend()}
    variant, = results["variants"]
    for metric in ("test_accuracy", "test_accuracy_flip"):
        values = [run[metric] for run in results["runs"]]
        assert all(0.0 <= value <= 1.0 for value in values)
        assert variant[metric]["n"] == 2
        assert variant[metric]["mean"] == pytest.approx(np.mean(values))
        assert variant[metric]["std"] == pytest.approx(np.std(values, ddof=1))
    report = (tmp_path / "report.md").read_text()
    assert "Test, flip TTA %" in report and "| Epochs | Train minutes | Images/s |" in report
    # `kgen report` rebuilds it from the files, as for any study.
    (tmp_path / "report.md").unlink()
    assert kgen.cli.main(["report", str(tmp_path)]) == 0
    assert (tmp_path / "report.md").read_text() == report


@pytest.mark.parametrize("name, measured", [
    # What docs/performance.md measured at commit 1d571e8, before the recipes moved
    # onto the runner: the model and the schedule must stay exactly these.
    ("cifar10_cpu", {"width": 0.25, "learning_rate": 0.4, "warmup_epochs": 1.0,
                     "batch_size": 512, "epochs": 15}),
    ("cifar10_94", {"width": 1.0, "learning_rate": 0.6, "warmup_epochs": 2.0,
                    "batch_size": 1024, "epochs": 16}),
])
def test_recipe_variant_is_the_measured_configuration(name, measured):
    recipe = load_recipe(name)
    _, model, train = resolve_variant(recipe.SPEEDRUN)
    assert model == dataclasses.replace(
        kgen.models.get("resnet9").model, width_multiplier=measured["width"],
        augmentation=Augmentation(flip="alternating", pad_crop=2, pad_mode="reflect"))
    assert train == TrainConfig(
        optimizer="sgd", learning_rate=measured["learning_rate"], momentum=0.9,
        weight_decay=0.0, schedule="warmup_linear", warmup_epochs=measured["warmup_epochs"],
        batch_size=measured["batch_size"], epochs=measured["epochs"], label_smoothing=0.2)
    assert recipe.PRECISION == {"cifar10_cpu": "float32", "cifar10_94": "mixed_bfloat16"}[name]


def test_a_time_budget_becomes_the_epochs_that_fit(tmp_path, capsys):
    recipe = load_recipe("cifar10_cpu")
    # A budget shorter than one epoch still trains one, on one schedule.
    assert recipe.main(tiny("cifar10_cpu", tmp_path, epochs=False)
                       + ["--seeds", "1", "--minutes", "0.0001"]) == 0
    assert "--minutes 0.0001:" in capsys.readouterr().out
    run, = read_json(tmp_path / "results.json")["runs"]
    assert run["epochs_completed"] == run["epochs_planned"] == 1


def test_a_budget_is_planned_at_the_share_of_the_probe_speed_whole_epochs_reach():
    common = load_recipe("speedrun_common")
    # 3 minutes, 5 s to compile, 20 s epochs: 8 whole epochs, capped by the preset's.
    assert common.epochs_that_fit(3, 5, 20, max_epochs=15) == 8
    assert common.epochs_that_fit(3, 5, 20, max_epochs=4) == 4
    assert common.epochs_that_fit(0.01, 5, 20, max_epochs=15) == 1
    # The measured case: 27 s epochs at the probe's speed chose 6 epochs in 3
    # minutes and took 3.9; at the share whole epochs reach it plans fewer.
    probe_epoch_seconds = 27
    planned = common.epochs_that_fit(3, 5, probe_epoch_seconds / common.PROBE_SPEED_SHARE, 15)
    assert planned < 6 and planned * 39 <= 180  # 39 s: an idle whole epoch, 2026-12-05


@pytest.mark.parametrize("extra, message", [
    (["--minutes", "5", "--epochs", "2"], "give --minutes or --epochs, not both"),
    (["--minutes", "-1"], "Received: minutes=-1.0"),
    (["--minutes", "nan"], "Received: minutes=nan"),
])
def test_bad_time_budgets_are_one_line(extra, message, tmp_path, capsys):
    recipe = load_recipe("cifar10_cpu")
    argv = [a for a in tiny("cifar10_cpu", tmp_path, epochs=False)] + extra
    assert recipe.main(argv) == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1
    assert not (tmp_path / "study.json").exists()


@pytest.mark.slow
def test_recipe_scores_the_untuned_split_of_the_real_images(tmp_path):
    folder = real_cifar10_folder()
    recipe = load_recipe("cifar10_cpu")
    argv = ["--dataset", f"folder:{folder}", "--limit", "1000", "--eval-limit", "500",
            "--epochs", "1", "--seeds", "1", "--width-scale", "0.5", "--batch-size", "100",
            "--no-reference", "--out", str(tmp_path)]
    assert recipe.main(argv) == 0
    config = read_json(tmp_path / "runs/resnet9-w16/seed-0/config.json")
    assert config["settings"]["test_seed"] == 1  # the recipe's default
    assert (config["dataset"]["train"], config["dataset"]["test"]) == (1000, 500)


def test_test_time_flip_averages_the_logits_of_both_mirror_images():
    from kgen import training
    from kgen.models import ModelConfig, Stage, build_cnn

    model = build_cnn(ModelConfig(stages=(Stage(4, convs=1),), head="flatten", head_units=()),
                      input_shape=(8, 8, 3), num_classes=3)
    # The classifier starts at zero (all logits 0); random weights make the logits differ.
    randomize_classifier(model, seed=1)
    images = np.random.default_rng(0).integers(0, 256, (10, 8, 8, 3), dtype=np.uint8)
    labels = np.arange(10) % 3
    plain = training.predict_logits(model, images, batch_size=4)
    mirrored = training.predict_logits(model, np.ascontiguousarray(images[:, :, ::-1]))
    both = training.predict_logits(model, images, batch_size=4, flip=True)
    np.testing.assert_allclose(both, (plain + mirrored) / 2, rtol=1e-5, atol=1e-5)
    assert not np.allclose(plain, mirrored), "a flatten head is not mirror invariant"
    expected = np.mean(np.argmax(both, axis=-1) == labels)
    assert training.evaluate(model, images, labels, flip=True) == pytest.approx(expected)
    assert training.evaluate(model, images, labels) == pytest.approx(
        np.mean(np.argmax(plain, axis=-1) == labels))
