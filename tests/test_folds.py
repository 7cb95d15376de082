"""k-fold cross-validation as an option of a study (`--folds K`)."""

import numpy as np
import pytest

import kgen.cli
import kgen.studies
from kgen.data.splits import stratified_folds
from kgen.studies import Settings, layout
from kgen.studies.data import fold_of, load_limited
from kgen.studies.files import read_csv, read_json


def test_stratified_folds_partition_every_class_evenly():
    labels = np.repeat(np.arange(3), [10, 7, 5])
    folds = stratified_folds(labels, 4, seed=0)
    joined = np.concatenate(folds)
    assert sorted(joined.tolist()) == list(range(len(labels)))  # each image in one fold
    assert max(map(len, folds)) - min(map(len, folds)) <= 1
    for label, count in enumerate((10, 7, 5)):
        per_fold = [int(np.sum(labels[fold] == label)) for fold in folds]
        assert sum(per_fold) == count and max(per_fold) - min(per_fold) <= 1
    again = stratified_folds(labels, 4, seed=0)
    assert all(np.array_equal(a, b) for a, b in zip(folds, again))


def test_fold_of_validates_on_its_fold_and_trains_on_the_rest():
    data = load_limited("synthetic", limit=60, eval_limit=10, validation_split=0.0)
    parts = stratified_folds(data.y_train, 3, seed=0)
    seen = []
    for index in range(3):
        fold = fold_of(data, 3, index)
        np.testing.assert_array_equal(fold.x_val, data.x_train[parts[index]])
        assert len(fold.x_train) + len(fold.x_val) == 60
        np.testing.assert_array_equal(fold.x_test, data.x_test)
        mean, _ = kgen.data.channel_statistics(fold.x_train)
        np.testing.assert_allclose(fold.mean, mean)
        seen.extend(parts[index].tolist())
    assert sorted(seen) == list(range(60))
    with pytest.raises(ValueError, match="Received: fold=3"):
        fold_of(data, 3, 3)


def test_folds_need_one_seed_per_fold():
    with pytest.raises(ValueError, match="Received: folds=5, seeds=3"):
        Settings(folds=5, seeds=3)
    with pytest.raises(ValueError, match="Received: folds=1"):
        Settings(folds=1, seeds=1)


def test_a_study_with_folds_trains_one_run_per_fold(tmp_path, capsys):
    code = kgen.cli.main(["study", "overfitting", "--only", "base", "--folds", "3", "--limit",
                          "90", "--eval-limit", "16", "--epochs", "1", "--width-scale", "0.25",
                          "--batch-size", "16", "--out", str(tmp_path)])
    assert code == 0, capsys.readouterr().err
    manifest = read_json(tmp_path / "study.json")
    assert manifest["seeds"] == [0, 1, 2] and manifest["settings"]["folds"] == 3
    validation = []
    for fold in range(3):
        config = read_json(layout.run_dir(tmp_path, "base", fold) / "config.json")
        assert config["dataset"]["train"] + config["dataset"]["val"] == 90
        validation.append(config["dataset"]["val"])
        assert config["settings"]["folds"] == 3
    assert sum(validation) == 90  # the folds cover the training images once
    rows = read_csv(tmp_path / "results.csv")
    assert len(rows) == 3 and all(row["val_accuracy"] is not None for row in rows)
    assert "3-fold cross-validation" in (tmp_path / "report.md").read_text()


def test_label_noise_flips_that_fraction_of_training_labels_to_other_classes():
    from kgen.studies.data import with_label_noise

    data = load_limited("synthetic", limit=200, eval_limit=20)
    noisy = with_label_noise(data, 0.25)
    changed = noisy.y_train != data.y_train
    assert changed.sum() == 50  # exactly the fraction, every one to another class
    assert noisy.y_train.dtype == data.y_train.dtype
    np.testing.assert_array_equal(noisy.y_val, data.y_val)
    np.testing.assert_array_equal(noisy.y_test, data.y_test)
    np.testing.assert_array_equal(with_label_noise(data, 0.25).y_train, noisy.y_train)
    # Each wrong class is drawn uniformly from the other nine.
    many = load_limited("synthetic", limit=5000, eval_limit=20)
    flipped = with_label_noise(many, 0.9)
    offsets = (flipped.y_train - many.y_train)[flipped.y_train != many.y_train] % 10
    counts = np.bincount(offsets, minlength=10)
    assert counts[0] == 0 and counts[1:].min() > 0.8 * counts[1:].mean()


def test_a_study_with_label_noise_records_it(tmp_path, capsys):
    code = kgen.cli.main(["study", "double-descent", "--only", "k1", "--label-noise", "0.2",
                          "--limit", "64", "--eval-limit", "8", "--epochs", "1", "--batch-size",
                          "32", "--seeds", "1", "--out", str(tmp_path)])
    assert code == 0, capsys.readouterr().err
    config = read_json(layout.run_dir(tmp_path, "k1", 0) / "config.json")
    assert config["settings"]["label_noise"] == 0.2
    assert "20% of the training labels replaced" in (tmp_path / "report.md").read_text()
    with pytest.raises(ValueError, match="Received: label_noise=1.0"):
        Settings(label_noise=1.0)
