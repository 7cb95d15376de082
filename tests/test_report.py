"""The report's reading aids, rebuilt from a study folder's files alone."""

import pytest

import kgen.studies
from kgen.studies import layout
from kgen.studies.files import read_json, write_csv, write_json
from kgen.studies.report import write_report
from kgen.studies.spec import study_from_dict

VAL_SIZE = 200  # chance + 3 binomial std = 0.1 + 3 * sqrt(0.09 / 200) = 16.4%


def _study_with(tmp_path, train_val_accuracies):
    study = study_from_dict({
        "name": "chance", "compare": "previous",
        "variants": [{"name": name, "preset": "small-cnn"} for name in train_val_accuracies],
    })
    layout.write_manifest(tmp_path, study, kgen.studies.Settings(epochs=1, seeds=1), [0])
    for name, (train, val) in train_val_accuracies.items():
        directory = layout.run_dir(tmp_path, name, 0)
        write_json(directory / "config.json",
                   {"dataset": {"name": "synthetic", "classes": 10, "val": VAL_SIZE}})
        history = [{"epoch": 0, "accuracy": train, "val_accuracy": val, "loss": 2.3,
                    "val_loss": 2.3, "learning_rate": 1e-3, "seconds": 1.0}]
        write_csv(directory / "history.csv", history, list(history[0]))
        write_json(directory / "result.json", {
            "status": "completed", "seed": 0, "train_accuracy": train, "val_accuracy": val,
            "test_accuracy": val, "gap": train - val, "backend": "tensorflow",
        })


def _chance_line(tmp_path):
    write_report(tmp_path)
    lines = (tmp_path / "report.md").read_text().splitlines()
    return next((line for line in lines if line.startswith("- Still at chance:")), None)


def test_report_names_variants_that_never_left_chance(tmp_path):
    _study_with(tmp_path, {
        "learned": (0.60, 0.40),
        "guessing": (0.11, 0.16),  # both under 16.4%
        "val-only-low": (0.30, 0.12),  # train left chance: it is learning
        "train-only-low": (0.15, 0.20),  # augmentation can keep train low
    })
    assert _chance_line(tmp_path).startswith("- Still at chance: guessing.")


def test_report_without_runs_at_chance_has_no_such_line(tmp_path):
    _study_with(tmp_path, {"learned": (0.60, 0.40), "just-above": (0.17, 0.17)})
    assert _chance_line(tmp_path) is None


def test_report_without_dataset_sizes_flags_nothing(tmp_path):
    # Folders written before config.json recorded the dataset: no basis for a call.
    _study_with(tmp_path, {"guessing": (0.10, 0.10)})
    for config in tmp_path.glob("runs/*/seed-0/config.json"):
        config.unlink()
    assert _chance_line(tmp_path) is None


def test_cli_summary_prints_the_chance_warning_after_the_table(tmp_path, capsys):
    from kgen.cli import _print_summary

    _study_with(tmp_path, {"learned": (0.60, 0.40), "guessing": (0.11, 0.16)})
    written = write_report(tmp_path)
    assert written.at_chance == ["guessing"]
    # The printed table is the report's, built from the runs, not read back from report.md.
    report_lines = (tmp_path / "report.md").read_text().splitlines()
    first = report_lines.index(written.table[0])
    assert report_lines[first:first + len(written.table)] == written.table
    _print_summary(written)
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("| # | Variant")
    assert printed[-1].startswith("Still at chance: guessing.")


def test_report_has_the_courses_columns_and_the_test_noise(tmp_path):
    # The HUST tables: best val loss and accuracy, test loss and accuracy; and the
    # binomial standard error of a test accuracy for the test split's size.
    study = study_from_dict({"name": "c", "variants": [{"name": "a", "preset": "small-cnn"}]})
    layout.write_manifest(tmp_path, study, kgen.studies.Settings(epochs=2, seeds=1), [0])
    directory = layout.run_dir(tmp_path, "a", 0)
    write_json(directory / "config.json",
               {"dataset": {"name": "synthetic", "classes": 10, "val": 250, "test": 2000}})
    history = [{"epoch": e, "accuracy": 0.5, "val_accuracy": v, "loss": 1.0, "val_loss": loss,
                "learning_rate": 1e-3, "seconds": 1.0}
               for e, (v, loss) in enumerate([(0.62, 1.234), (0.60, 1.5)])]
    write_csv(directory / "history.csv", history, list(history[0]))
    write_json(directory / "result.json", {
        "status": "completed", "seed": 0, "train_accuracy": 0.5, "val_accuracy": 0.60,
        "test_accuracy": 0.58, "test_loss": 1.41, "gap": -0.1, "best_val_accuracy": 0.62,
        "best_val_loss": 1.234, "backend": "jax", "course_train": 92.0,
    })
    write_report(tmp_path)
    lines = (tmp_path / "report.md").read_text().splitlines()
    header = lines.index("| # | Variant | Best val loss | Best val acc % | Test loss | Test acc % "
                         "| Train acc % | Course train % | Course % |")
    assert lines[header + 2] == "| 0 | a | 1.234 | 62.0 | 1.410 | 58.0 | 50.0 | 92.0 |  |"
    noise = next(line for line in lines if line.startswith("- Noise of one test accuracy"))
    assert "n = 2000" in noise and "±1.1 pp at 50%" in noise


def _speed_study(tmp_path, runs, references=()):
    """A one-variant study whose seeds are `runs`: (test, test with flip, seconds)."""
    study = study_from_dict({"name": "s", "variants": [{"name": "a", "preset": "small-cnn"}]})
    settings = kgen.studies.Settings(epochs=2, seeds=len(runs), flip_tta=True)
    layout.write_manifest(tmp_path, study, settings, list(range(len(runs))))
    for seed, (test, flip, seconds) in enumerate(runs):
        directory = layout.run_dir(tmp_path, "a", seed)
        write_json(directory / "config.json",
                   {"dataset": {"name": "synthetic", "classes": 10, "val": 0, "test": 5000}})
        history = [{"epoch": e, "accuracy": 0.9, "val_accuracy": None, "loss": 1.0,
                    "val_loss": None, "learning_rate": 0.1, "seconds": seconds / 2}
                   for e in range(2)]
        write_csv(directory / "history.csv", history, list(history[0]))
        write_json(directory / "result.json", {
            "status": "completed", "seed": seed, "train_accuracy": 0.9, "val_accuracy": None,
            "test_accuracy": test, "test_accuracy_flip": flip, "gap": None,
            "epochs_completed": 2, "train_seconds": seconds, "train_images": 45_000,
            "backend": "tensorflow",
        })
    if references:
        layout.record_references(tmp_path, references)
    return write_report(tmp_path)


def test_report_has_the_flip_column_and_the_time_per_run(tmp_path):
    report = _speed_study(tmp_path, [(0.86, 0.87, 600.0), (0.88, 0.89, 900.0)], references=[
        {"when": "before", "images_per_second": 1012.4, "bench": "kgen bench (reference)",
         "measured_at": "t0"},
        {"when": "after", "images_per_second": 990.0, "bench": "kgen bench (reference)",
         "measured_at": "t1"},
    ])
    header, _, row = report.table
    assert "| Test acc % | Test, flip TTA % |" in header
    assert "| 87.0 ± 1.4 | 88.0 ± 1.4 |" in row  # mean ± sample std over the two seeds
    lines = (tmp_path / "report.md").read_text().splitlines()
    time_row = lines[lines.index("| # | Variant | Epochs | Train minutes | Images/s |") + 2]
    # 2 epochs x 45,000 images in 600 s and in 900 s: 150 and 100 images/s.
    assert time_row == "| 0 | a | 2 | 12.5 ± 3.5 | 125 ± 35 |"
    reference = next(line for line in lines if line.startswith("Plain-PyTorch reference"))
    assert "1012 images/s before the runs (t0), 990 images/s after the runs (t1)" in reference
    saved = read_json(tmp_path / "results.json")
    assert [r["images_per_second"] for r in saved["references"]] == [1012.4, 990.0]
    assert saved["variants"][0]["test_accuracy_flip"]["values"] == [0.87, 0.89]


def test_report_without_flip_has_no_flip_column_and_says_an_unmeasured_reference(tmp_path):
    report = _speed_study(tmp_path, [(0.86, None, 600.0)], references=[
        {"when": "before", "error": "No module named 'torch'", "bench": "b", "measured_at": "t"}])
    assert "flip" not in report.table[0]
    text = (tmp_path / "report.md").read_text()
    assert "Plain-PyTorch reference: not measured (No module named 'torch')." in text


def test_references_of_every_session_are_kept(tmp_path):
    layout.record_references(tmp_path, [{"when": "before", "images_per_second": 1.0}])
    layout.record_references(tmp_path, [{"when": "before", "images_per_second": 2.0}])
    assert [r["images_per_second"] for r in layout.read_references(tmp_path)] == [1.0, 2.0]
    (tmp_path / layout.REFERENCE).write_text('["not", "a", "reference file"]')
    with pytest.raises(ValueError, match="reference.json is not a kgen reference file"):
        layout.read_references(tmp_path)
