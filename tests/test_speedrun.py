"""Each speed recipe runs end to end (one epoch, tiny synthetic data) on the current backend."""

import importlib.util
import json
from pathlib import Path

import keras
import numpy as np
import pytest

from tests.helpers import randomize_classifier

RECIPES = Path(__file__).resolve().parents[1] / "recipes" / "speedrun"


def load_recipe(name):
    spec = importlib.util.spec_from_file_location(f"speedrun_{name}", RECIPES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["cifar10_94", "cifar10_cpu"])
def test_recipe_runs_tiny_epochs_over_seeds(name, tmp_path):
    report = load_recipe(name).main(["--tiny", "--seeds", "2", "--out", str(tmp_path)])
    assert report["backend"] == keras.backend.backend()
    assert [run["seed"] for run in report["runs"]] == [0, 1]
    for run in report["runs"]:
        assert run["epochs_completed"] == 1 and np.isfinite(run["final_train_loss"])
        for key in ("held_out_accuracy", "held_out_accuracy_flip"):
            assert 0.0 <= run[key] <= 1.0
    summary = report["summary"]
    accuracies = [run["held_out_accuracy"] for run in report["runs"]]
    assert summary["n"] == 2
    assert summary["held_out_accuracy"]["mean"] == pytest.approx(np.mean(accuracies))
    assert summary["held_out_accuracy"]["std"] == pytest.approx(np.std(accuracies, ddof=1))
    saved = json.loads((tmp_path / f"{name}-{keras.backend.backend()}.json").read_text())
    assert saved["summary"]["n"] == 2 and saved["command"].endswith("--seeds 2 --out " + str(tmp_path))


def test_time_budget_stops_training(tmp_path):
    common = load_recipe("speedrun_common")
    report = load_recipe("cifar10_cpu").main(
        ["--tiny", "--epochs", "50", "--minutes", "0.0001", "--out", str(tmp_path)]
    )
    run = report["runs"][0]
    assert run["stopped_by_budget"] and run["epochs_completed"] == 1
    assert common.HELD_OUT == 5_000


def test_the_test_split_never_holds_a_tuning_image():
    common = load_recipe("speedrun_common")
    labels = np.repeat(np.arange(10), 5_000)  # CIFAR-10's 50,000 training labels
    tuning_train, tuning = common.held_out_indices(labels, "tuning")
    train, test = common.held_out_indices(labels, "test")
    assert len(tuning) == len(test) == 5_000 and len(train) == len(tuning_train) == 45_000
    assert not set(test) & set(tuning)  # scored images the settings were chosen on: none
    assert set(tuning) <= set(train)  # a final fit trains on the tuning images too
    assert sorted(np.concatenate([train, test])) == list(range(50_000))
    assert np.bincount(labels[test]).tolist() == [500] * 10  # stratified
    with pytest.raises(ValueError, match="split='val'"):
        common.held_out_indices(labels, "val")


def test_recipes_use_the_documented_tricks():
    recipe = load_recipe("cifar10_94")
    augmentation = recipe.MODEL.augmentation
    assert (augmentation.flip, augmentation.pad_crop, augmentation.pad_mode) == (
        "alternating", 2, "reflect")
    assert recipe.HYPERPARAMETERS["precision"] == "mixed_bfloat16"
    assert recipe.HYPERPARAMETERS["label_smoothing"] > 0
    assert 900 <= recipe.HYPERPARAMETERS["batch_size"] <= 1100


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
