"""kgen.studies: study data and its validation, statistics, atomic files, reports."""

import dataclasses
import json
import math
import os
from pathlib import Path

import numpy as np
import pytest

import kgen.data
import kgen.studies
from kgen.atomic import atomic_write_text
from kgen.studies import layout, stats
from kgen.studies.files import (
    read_csv,
    read_json,
    remove_partial_files,
    write_csv,
    write_json,
)
from kgen.studies.report import summarize, write_report
from kgen.studies.spec import load_study_file, resolve_variant, study_from_dict

# === Study data ===


@pytest.mark.parametrize("name", kgen.studies.names())
def test_builtin_study_resolves(name):
    study = kgen.studies.get(name)
    for variant in study.variants:
        preset, model, train = resolve_variant(variant)
        assert preset.name == variant.preset
    for index in range(len(study.variants)):
        reference = study.reference_of(index)
        assert reference is None or 0 <= reference < len(study.variants)


def test_ladder_study_is_the_ten_rungs_with_course_figures():
    import kgen.models
    from kgen.studies.spec import course_figure

    study = kgen.studies.get("ladder")
    assert [v.preset for v in study.variants] == list(kgen.models.LADDER)
    figures = [course_figure(v, kgen.models.get(v.preset)) for v in study.variants]
    assert figures[0] == 78.0 and figures[4] is None and figures[9] == 94.5


def test_normalization_study_variants_differ_in_normalization_only():
    study = kgen.studies.get("normalization")
    models = [resolve_variant(v)[1] for v in study.variants]
    assert [m.normalization for m in models] == ["none", "batch", "layer", "instance", "group",
                                                 "weight", "weight_mean_only"]
    assert [v.course for v in study.variants] == [70.7, 72.2, 70.5, 69.0, 72.3, 72.3, None]
    assert study.reference_of(3) == 0


def _differences(a, b):
    return {name for name, value in a.to_dict().items() if b.to_dict().get(name) != value}


def test_batch_size_study_pairs_differ_in_normalization_only():
    study = kgen.studies.get("bn-batch-size")
    resolved = {v.name: resolve_variant(v) for v in study.variants}
    for batch in (2, 8, 32, 256):
        _, bn_model, bn_train = resolved[f"batch-{batch}"]
        _, gn_model, gn_train = resolved[f"group-{batch}"]
        assert bn_train == gn_train and bn_train.batch_size == batch
        assert _differences(bn_model, gn_model) == {"normalization"}
        names = [v.name for v in study.variants]
        assert study.reference_of(names.index(f"group-{batch}")) == names.index(f"batch-{batch}")


def test_penalty_and_position_studies_change_one_thing_each():
    penalties = kgen.studies.get("penalties")
    base = resolve_variant(penalties.variants[0])[1]
    changed = [_differences(resolve_variant(v)[1], base) for v in penalties.variants[1:]]
    assert changed[:4] == [{"l2"}, {"l1"}, {"l1", "l2"}, {"max_norm"}]
    sgd = [resolve_variant(v) for v in penalties.variants[5:]]
    assert all(train.optimizer == "sgd" and train.nesterov is False for _, _, train in sgd)
    assert [_differences(model, sgd[0][1]) for _, model, _ in sgd[1:]] == [{"l2"}, {"l1"}]
    position = kgen.studies.get("bn-position")
    before, after = (resolve_variant(v)[1] for v in position.variants[1:])
    assert (before.block_order, after.block_order) == ("conv-norm-act", "conv-act-norm")
    assert _differences(before, after) == {"block_order"}


def test_training_study_scalings_and_references():
    study = kgen.studies.get("training")
    by_name = {v.name: v for v in study.variants}
    assert by_name["sigmoid"].scaling == "unit"
    assert by_name["scale-symmetric"].scaling == "symmetric"
    assert kgen.studies.SCALINGS["symmetric"] == (0.5, 0.5)
    assert kgen.studies.SCALINGS["unit"] == (0.0, 1.0)
    names = [v.name for v in study.variants]
    assert names[study.reference_of(names.index("gelu"))] == "batchnorm"
    assert names[study.reference_of(names.index("lr-decay"))] == "skip"
    _, model, train = resolve_variant(by_name["lr-decay"])
    assert model.residual and model.normalization == "batch" and train.schedule == "exponential"


def test_augmentation_override_merges_into_the_preset():
    study = study_from_dict({"name": "s", "variants": [
        {"name": "a", "preset": "ladder-5", "model": {"augmentation": {"pad_crop": 4}}},
    ]})
    _, model, _ = resolve_variant(study.variants[0])
    assert model.augmentation.pad_crop == 4
    assert model.augmentation.flip == "random"  # kept from ladder-5
    assert model.augmentation.erasing is not None


@pytest.mark.parametrize("data, message", [
    ({"name": "s", "variants": [{"name": "a", "preset": "ladder-O"}]}, "ladder-0"),
    ({"name": "s", "variants": [{"name": "a", "preset": "small-cnn",
                                 "model": {"normalisation": "batch"}}]}, "normalization"),
    ({"name": "s", "variants": [{"name": "a", "preset": "small-cnn",
                                 "train": {"learning_rte": 0.1}}]}, "learning_rate"),
    ({"name": "s", "variants": [{"name": "a", "preset": "small-cnn",
                                 "model": {"normalization": "btach"}}]}, "batch"),
    ({"name": "s", "variants": [{"name": "a", "preset": "small-cnn",
                                 "model": {"stages": [{"widht": 8}]}}]}, "width"),
    ({"name": "s", "variants": [{"name": "a", "preset": "small-cnn",
                                 "model": {"augmentation": {"flipp": "random"}}}]}, "flip"),
])
def test_bad_field_errors_name_it_with_a_suggestion(data, message):
    study = study_from_dict(data)
    with pytest.raises((ValueError, TypeError), match=f"variant 'a'.*{message}"):
        resolve_variant(study.variants[0])


@pytest.mark.parametrize("data, message", [
    ({"variants": [{"name": "a", "preset": "small-cnn"}]}, "study name"),
    ({"name": "s", "variants": []}, "non-empty list"),
    ({"name": "s", "variant": []}, "Did you mean 'variants'"),
    ({"name": "s", "variants": [{"name": "a b", "preset": "small-cnn"}]}, "folder name"),
    ({"name": "s", "variants": [{"name": "a", "preset": "small-cnn"},
                                {"name": "a", "preset": "small-cnn"}]}, "unique"),
    ({"name": "s", "variants": [{"name": "a", "preset": "small-cnn", "scaling": "unity"}]},
     "Did you mean 'unit'"),
    ({"name": "s", "variants": [{"name": "a", "preset": "small-cnn", "compare_to": "b"}]},
     "compare_to"),
    ({"name": "s", "variants": [{"name": "a", "preset": "small-cnn", "course": 140}]},
     "course"),
    ({"name": "s", "compare": "last", "variants": [{"name": "a", "preset": "small-cnn"}]},
     "compare"),
])
def test_malformed_study_data_is_refused(data, message):
    with pytest.raises(ValueError, match=message):
        study_from_dict(data)


def test_study_file_toml_and_json(tmp_path):
    toml = tmp_path / "mine.toml"
    toml.write_text(
        'name = "mine"\ncompare = "first"\n\n'
        '[[variants]]\nname = "base"\npreset = "small-cnn"\n\n'
        '[[variants]]\nname = "group"\npreset = "small-cnn"\ncourse = 72.3\n'
        '[variants.model]\nnormalization = "group"\nnorm_groups = 4\n'
    )
    study = load_study_file(toml)
    assert [v.name for v in study.variants] == ["base", "group"]
    assert study.variants[1].model == {"normalization": "group", "norm_groups": 4}
    as_json = tmp_path / "mine.json"
    as_json.write_text(json.dumps(study.to_dict()))
    assert load_study_file(as_json) == study


@pytest.mark.parametrize("name, text, message", [
    ("bad.toml", "name = [", "not valid TOML"),
    ("bad.json", "{", "not valid JSON"),
    ("bad.yaml", "name: x", "must end in .toml or .json"),
    ("missing.toml", None, "Cannot read"),
])
def test_bad_study_files(tmp_path, name, text, message):
    path = tmp_path / name
    if text is not None:
        path.write_text(text)
    with pytest.raises(ValueError, match=message):
        load_study_file(path)


def test_study_files_are_data_never_code(tmp_path):
    marker = tmp_path / "ran"
    code = f"__import__('pathlib').Path({str(marker)!r}).touch()"
    toml = tmp_path / "planted.toml"
    toml.write_text(f'name = "planted"\n[[variants]]\nname = "a"\npreset = "{code}"\n'
                    f'[variants.model]\nl2 = "{code}"\n')
    as_json = tmp_path / "planted.json"
    as_json.write_text(json.dumps({"name": "planted", "variants": [
        {"name": "a", "preset": "small-cnn", "model": {"l2": code}}]}))
    for path in (toml, as_json):
        study = load_study_file(path)  # the expressions are strings, nothing more
        with pytest.raises((ValueError, TypeError)):
            resolve_variant(study.variants[0])
    assert not marker.exists()


def test_kgen_never_evaluates_code_or_plain_unpickles():
    # Pickles go through the restricted unpickler of kgen/data/safe_archive.py only
    # (tested in tests/test_data_safety.py).
    import ast

    import kgen

    found = []
    for path in Path(kgen.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = ast.unparse(node.func)
            if name in ("eval", "exec", "pickle.load", "pickle.loads", "builtins.eval"):
                found.append(f"{path.name}:{node.lineno}: {name}")
    assert not found


def test_unknown_study_suggests():
    with pytest.raises(ValueError, match="Did you mean 'normalization'"):
        kgen.studies.get("normalisation")


def test_select_keeps_study_order():
    study = kgen.studies.get("ladder")
    assert [v.name for v in study.select([5, 0, 3]).variants] == ["ladder-0", "ladder-3",
                                                                    "ladder-5"]


# === Statistics ===


def test_student_t_cdf_known_values():
    # df = 1 is the Cauchy distribution: CDF = 1/2 + atan(t) / pi.
    for t in (-3.0, -0.5, 0.0, 0.7, 10.0):
        assert stats.student_t_cdf(t, 1) == pytest.approx(0.5 + math.atan(t) / math.pi, abs=1e-12)
    # df = 2 has a closed form: 1/2 + t / (2 sqrt(2 + t^2)).
    for t in (-2.0, 0.3, 4.0):
        assert stats.student_t_cdf(t, 2) == pytest.approx(0.5 + t / (2 * math.sqrt(2 + t * t)),
                                                          abs=1e-12)
    # Tabulated two-sided 5% critical values.
    for df, critical in ((4, 2.776445105), (10, 2.228138852), (30, 2.042272456)):
        assert 2 * stats.student_t_cdf(-critical, df) == pytest.approx(0.05, abs=1e-7)
    # Large df tends to the normal: P(T <= 1.959964) -> 0.975.
    assert stats.student_t_cdf(1.959964, 1e6) == pytest.approx(0.975, abs=1e-5)


def test_incomplete_beta_symmetry_and_bounds():
    assert stats.regularized_incomplete_beta(2.0, 3.0, 0.0) == 0.0
    assert stats.regularized_incomplete_beta(2.0, 3.0, 1.0) == 1.0
    # I_x(1, 1) = x; I_x(a, b) = 1 - I_{1-x}(b, a).
    assert stats.regularized_incomplete_beta(1.0, 1.0, 0.37) == pytest.approx(0.37, abs=1e-12)
    value = stats.regularized_incomplete_beta(2.5, 0.5, 0.8)
    assert value == pytest.approx(1 - stats.regularized_incomplete_beta(0.5, 2.5, 0.2), abs=1e-12)
    with pytest.raises(ValueError, match="x"):
        stats.regularized_incomplete_beta(1.0, 1.0, 1.5)


def test_welch_flags_only_changes_beyond_the_noise():
    # Hand-computed: means 0.80 and 0.70, stds 0.01 -> t = 0.1 / sqrt(2 * 0.0001 / 3) = 12.25.
    clear = stats.welch_t_test([0.79, 0.80, 0.81], [0.69, 0.70, 0.71])
    assert clear.difference == pytest.approx(0.10)
    assert clear.t == pytest.approx(12.247, abs=1e-3)
    assert clear.df == pytest.approx(4.0)
    assert clear.p_value < 0.001 and clear.significant
    noisy = stats.welch_t_test([0.70, 0.80, 0.75], [0.72, 0.66, 0.78])
    assert noisy.difference == pytest.approx(0.03)
    assert noisy.p_value > 0.05 and noisy.significant is False
    single = stats.welch_t_test([0.9], [0.1])
    assert single.difference == pytest.approx(0.8)
    assert single.p_value is None and single.significant is None
    exact = stats.welch_t_test([0.5, 0.5], [0.4, 0.4])
    assert exact.significant and exact.p_value == 0.0


def test_mean_std():
    assert stats.mean_std([1.0, 2.0, 3.0]) == (2.0, 1.0)
    assert stats.mean_std([4.0]) == (4.0, None)
    assert stats.mean_std([]) == (None, None)


# === Files ===


def test_atomic_write_replaces_whole_files_and_leaves_no_temp(tmp_path):
    path = tmp_path / "sub" / "result.json"
    atomic_write_text(path, "old")
    atomic_write_text(path, "new")
    assert path.read_text() == "new"
    assert os.listdir(path.parent) == ["result.json"]


def test_atomic_write_failure_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "result.json"
    write_json(path, {"status": "completed"})
    with pytest.raises(TypeError):
        write_json(path, {"value": object()})  # fails while serializing

    def interrupted_replace(source, target):
        raise KeyboardInterrupt  # a Ctrl-C between writing and renaming

    monkeypatch.setattr(os, "replace", interrupted_replace)
    with pytest.raises(KeyboardInterrupt):
        write_json(path, {"status": "diverged"})
    monkeypatch.undo()
    assert read_json(path) == {"status": "completed"}
    assert os.listdir(tmp_path) == ["result.json"]


def test_partial_files_are_removed(tmp_path):
    (tmp_path / ".history.csv.abc.partial").write_text("half")
    (tmp_path / "history.csv").write_text("epoch\n")
    remove_partial_files(tmp_path)
    assert os.listdir(tmp_path) == ["history.csv"]


def test_json_has_no_nan_and_csv_round_trips(tmp_path):
    write_json(tmp_path / "r.json", {"loss": float("nan"), "values": (1, 2)})
    assert read_json(tmp_path / "r.json") == {"loss": None, "values": [1, 2]}
    rows = [{"epoch": 0, "loss": 1.25, "val_loss": float("nan"), "name": "a"}]
    write_csv(tmp_path / "h.csv", rows, ("epoch", "loss", "val_loss", "name"))
    back = read_csv(tmp_path / "h.csv")
    assert back[0]["epoch"] == 0 and back[0]["loss"] == 1.25 and back[0]["name"] == "a"
    assert math.isnan(back[0]["val_loss"])


# === Reports from files alone ===


def _fake_study(out_dir, accuracies, compare="previous"):
    """A study folder with hand-made results: accuracies[variant] = per-seed val acc."""
    study = study_from_dict({
        "name": "fake", "compare": compare,
        "variants": [{"name": name, "preset": "small-cnn", "course": 70.0}
                     for name in accuracies],
    })
    settings = kgen.studies.Settings(epochs=2, seeds=3)
    layout.write_manifest(out_dir, study, settings, [0, 1, 2])
    for name, values in accuracies.items():
        for seed, value in enumerate(values):
            directory = layout.run_dir(out_dir, name, seed)
            history = [{"epoch": e, "accuracy": value + 0.1 * e, "loss": 1.0,
                        "val_accuracy": value - 0.05 + 0.05 * e, "val_loss": 1.2,
                        "learning_rate": 1e-3, "seconds": 1.0} for e in range(2)]
            write_csv(directory / "history.csv", history, list(history[0]))
            write_json(directory / "result.json", {
                "status": "completed", "seed": seed, "train_accuracy": value + 0.1,
                "val_accuracy": value, "test_accuracy": value - 0.01, "gap": 0.1,
                "backend": "tensorflow", "versions": {"keras": "3"},
            })
    return study


def test_report_rebuilds_from_files(tmp_path):
    _fake_study(tmp_path, {"a": [0.60, 0.61, 0.62], "b": [0.70, 0.71, 0.72],
                           "c": [0.69, 0.73, 0.71]})
    paths = write_report(tmp_path)
    names = sorted(p.name for p in paths)
    assert names == ["accuracy_gap.png", "learning_curves.png", "report.md", "results.csv",
                     "results.json"]
    for path in paths:
        if path.suffix == ".png":
            assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = read_csv(tmp_path / "results.csv")
    assert [(r["variant"], r["seed"]) for r in rows] == [(v, s) for v in "abc" for s in range(3)]
    summary = read_json(tmp_path / "results.json")["variants"]
    assert summary[1]["reference"] == "a" and summary[1]["significant"] is True
    assert summary[1]["change"] == pytest.approx(0.10)
    assert summary[2]["reference"] == "b" and summary[2]["significant"] is False
    report = (tmp_path / "report.md").read_text()
    assert "| 1 | b |" in report and "61.0 ± 1.0" in report and "+10.0 *" in report and "| <0.001 |" in report
    assert "Welch" in report and "70.0" in report
    # Runs written before kgen measured the trained kernels: no kernel table.
    assert "Near-zero weights" not in report


def test_report_has_the_kernel_table_when_runs_measured_their_weights(tmp_path):
    _fake_study(tmp_path, {"none": [0.60, 0.61], "l1": [0.62, 0.63]}, compare="first")
    for seed, (none, l1) in enumerate([(0.01, 0.30), (0.02, 0.40)]):
        for name, fraction in (("none", none), ("l1", l1)):
            path = layout.run_dir(tmp_path, name, seed) / "result.json"
            write_json(path, {**read_json(path), "near_zero_weights": fraction,
                              "max_unit_norm": 2.0 + seed})
    write_report(tmp_path)
    report = (tmp_path / "report.md").read_text()
    assert "| 0 | none | 1.5 ± 0.7 | 2.50 ± 0.71 |" in report
    assert "| 1 | l1 | 35.0 ± 7.1 | 2.50 ± 0.71 |" in report


def test_report_with_one_seed_says_no_noise_estimate(tmp_path):
    _fake_study(tmp_path, {"a": [0.6], "b": [0.9]}, compare="first")
    write_report(tmp_path)
    summary = summarize(*_collect(tmp_path))
    assert summary[1]["change"] == pytest.approx(0.3) and summary[1]["significant"] is None
    report = (tmp_path / "report.md").read_text()
    assert "| n=1 |" in report and "no noise estimate" in report and "+30.0 *" not in report


def _collect(out_dir):
    from kgen.studies.report import collect

    _, study, runs = collect(out_dir)
    return study, runs


def test_report_refuses_a_folder_without_study(tmp_path):
    with pytest.raises(ValueError, match="no kgen study"):
        write_report(tmp_path)


# === The output folder guard ===


def test_output_folder_guard(tmp_path):
    settings = kgen.studies.Settings(epochs=2)
    ladder = kgen.studies.get("ladder")
    layout.check_output_folder(tmp_path / "new", ladder, settings)  # absent: fine
    layout.write_manifest(tmp_path, ladder, settings, [0])
    layout.check_output_folder(tmp_path, ladder, settings)  # same study: resumable
    layout.check_output_folder(tmp_path, ladder, kgen.studies.Settings(epochs=2, seeds=5))
    with pytest.raises(ValueError, match="study 'ladder', not 'normalization'"):
        layout.check_output_folder(tmp_path, kgen.studies.get("normalization"), settings)
    with pytest.raises(ValueError, match="epochs=2, not 3"):
        layout.check_output_folder(tmp_path, ladder, kgen.studies.Settings(epochs=3))
    layout.check_output_folder(tmp_path, kgen.studies.get("normalization"), settings, force=True)
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="holds no kgen study"):
        layout.check_output_folder(other, ladder, settings)


# === The output folder: writable, with free space, checked before training ===


def test_output_path_inside_a_file_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    for out_dir in (tmp_path / "notes.txt", tmp_path / "notes.txt" / "study" / "out"):
        with pytest.raises(ValueError, match="not a folder") as raised:
            layout.check_writable(out_dir)
        assert f"out={str(out_dir)!r}" in str(raised.value)


def deny_writing(folder, monkeypatch):
    """Makes `folder` read-only; as root, where permission bits do not stop
    writing, `os.access` says what it would say on a read-only disk."""
    folder.chmod(0o555)
    if os.access(folder, os.W_OK):
        real_access = os.access
        monkeypatch.setattr(os, "access", lambda path, mode, **kwargs: (
            False if Path(path) == folder and mode & os.W_OK
            else real_access(path, mode, **kwargs)))


def test_read_only_output_folder_is_refused(tmp_path, monkeypatch):
    folder = tmp_path / "read-only"
    folder.mkdir()
    deny_writing(folder, monkeypatch)
    try:
        for out_dir in (folder, folder / "new" / "out"):  # existing, or to be created in it
            with pytest.raises(ValueError, match="cannot be written") as raised:
                layout.check_writable(out_dir)
            assert str(folder) in str(raised.value) and f"out={str(out_dir)!r}" in str(raised.value)
    finally:
        folder.chmod(0o755)
    layout.check_writable(tmp_path / "out")  # a writable one passes


def test_full_disk_is_refused(tmp_path, monkeypatch):
    import shutil

    real_usage = shutil.disk_usage(tmp_path)
    layout.check_writable(tmp_path)
    monkeypatch.setattr(shutil, "disk_usage",
                        lambda path: real_usage._replace(free=layout.MIN_FREE_BYTES - 1))
    with pytest.raises(ValueError, match="full.*MiB free") as raised:
        layout.check_writable(tmp_path / "out")
    assert f"out={str(tmp_path / 'out')!r}" in str(raised.value)


def test_run_study_checks_its_folder_and_batch_sizes_before_writing(tmp_path, monkeypatch):
    from kgen.studies import runner

    study = study_from_dict({"name": "s", "variants": [{"name": "a", "preset": "small-cnn"}]})
    data = kgen.studies.load_limited("synthetic", limit=16, eval_limit=4)
    settings = kgen.studies.Settings(epochs=1, seeds=1, batch_size=32, width_scale=0.125)
    with pytest.raises(ValueError, match="variant 'a'.*batch_size=32"):
        runner.run_study(study, runner.plan(study, settings), settings, data, tmp_path / "a", [0])
    settings = dataclasses.replace(settings, batch_size=8)
    planned = runner.plan(study, settings)
    folder = tmp_path / "read-only"
    folder.mkdir()
    deny_writing(folder, monkeypatch)
    try:
        with pytest.raises(ValueError, match="cannot be written"):
            runner.run_study(study, planned, settings, data, folder / "out", [0])
    finally:
        folder.chmod(0o755)
    assert sorted(os.listdir(tmp_path)) == ["read-only"] and not os.listdir(folder)


def test_limits_take_stratified_subsets_of_a_class_ordered_folder(tmp_path):
    # Files are listed class by class; `--limit` and `eval_limit` must not keep
    # only the first classes (issue: --limit 1800 trained on airplanes only).
    from tests.data_helpers import write_image_folder

    names = ("a", "b", "c", "d")
    write_image_folder(tmp_path / "pictures", 20, size=8, class_names=names)
    data = kgen.studies.load_limited(f"folder:{tmp_path / 'pictures'}", limit=12, eval_limit=4,
                                     validation_split=0.25)
    assert np.bincount(data.y_train, minlength=4).tolist() == [3, 3, 3, 3]
    assert np.bincount(data.y_val, minlength=4).tolist() == [1, 1, 1, 1]
    assert np.bincount(data.y_test, minlength=4).tolist() == [1, 1, 1, 1]
    mean, _ = kgen.data.channel_statistics(data.x_train)
    np.testing.assert_allclose(data.mean, mean)


def test_data_seed_draws_another_synthetic_dataset():
    first = kgen.studies.load_limited("synthetic", train_size=40, eval_limit=20)
    again = kgen.studies.load_limited("synthetic", train_size=40, eval_limit=20, data_seed=0)
    other = kgen.studies.load_limited("synthetic", train_size=40, eval_limit=20, data_seed=1)
    np.testing.assert_array_equal(first.x_test, again.x_test)
    for split in ("x_train", "x_val", "x_test"):
        assert not np.array_equal(getattr(first, split), getattr(other, split))
    with pytest.raises(ValueError, match="data_seed.*dataset='cifar10'"):
        kgen.studies.Settings(dataset="cifar10", data_seed=1)


def test_overfitting_study_tries_each_remedy_alone_on_the_courses_network():
    # The HUST experiment: every variant is the base network plus one remedy, so a
    # row measures that remedy, not the ones listed above it.
    import dataclasses as dc

    study = kgen.studies.get("overfitting")
    _, base_model, base_train = resolve_variant(study.variants[0])
    assert study.variants[0].name == "base" and study.compare == "first"
    assert [s.width for s in base_model.stages] == [16, 32, 64]
    assert all(s.convs == 1 for s in base_model.stages)
    assert (base_model.head, base_model.head_units) == ("flatten", (128,))
    changed = {}
    for variant in study.variants[1:]:
        _, model, train = resolve_variant(variant)
        fields = [f.name for f in dc.fields(model) if getattr(model, f.name) != getattr(base_model, f.name)]
        fields += [f"train.{f.name}" for f in dc.fields(train)
                   if getattr(train, f.name) != getattr(base_train, f.name)]
        changed[variant.name] = sorted(fields)
    assert changed == {
        "l2": ["l2"],
        "dropout": ["head_dropout", "stages"],
        "dropconnect": ["drop_connect"],
        "gap": ["head"],
        "augmentation": ["augmentation"],
        "early-stopping": ["train.early_stopping_patience"],
    }


def test_quick_settings_come_from_quick_and_explicit_options_win():
    from kgen.studies import QUICK, quick_settings

    quick = quick_settings()
    assert (quick.train_size, quick.validation_split, quick.epochs, quick.width_scale,
            quick.batch_size, quick.seeds) == (
        QUICK["train_size"], QUICK["validation_split"], QUICK["epochs"], QUICK["width_scale"],
        QUICK["batch_size"], QUICK["seeds"])
    assert quick_settings(epochs=3, validation_split=0.1).epochs == 3
    # Another dataset gets as many training images as the synthetic quick run trains on.
    folder = quick_settings(dataset="folder:x")
    assert folder.train_size is None
    assert folder.limit == round(QUICK["train_size"] * (1 - QUICK["validation_split"]))


def test_folders_written_before_the_newer_settings_still_resume(tmp_path):
    # test_seed, flip_tta and precision came after run folders existed: at their
    # defaults they are left out of a run's identity, so older folders resume.
    study = study_from_dict({"name": "s", "variants": [{"name": "a", "preset": "small-cnn"}]})
    settings = kgen.studies.Settings(epochs=1, seeds=1)
    assert not {"test_seed", "flip_tta", "precision"} & set(settings.result_fields())
    layout.write_manifest(tmp_path, study, settings, [0])
    manifest = layout.read_manifest(tmp_path)
    for name in ("test_seed", "flip_tta", "precision"):
        del manifest["settings"][name]
    assert layout.manifest_differences(manifest, study, settings) == []
    changed = dataclasses.replace(settings, flip_tta=True, precision="mixed_bfloat16")
    assert layout.manifest_differences(manifest, study, changed) == [
        "flip_tta=False, not True", "precision='float32', not 'mixed_bfloat16'"]


def test_test_seed_zero_is_every_datasets_default_split():
    assert kgen.studies.Settings(test_seed=0).test_seed is None
    assert kgen.studies.Settings(dataset="folder:x", test_seed=2).result_fields()["test_seed"] == 2
    with pytest.raises(ValueError, match="test split of a folder: dataset.*dataset='synthetic'"):
        kgen.studies.Settings(test_seed=1)
    with pytest.raises(ValueError, match="precision"):
        kgen.studies.Settings(precision="float16")
    with pytest.raises(TypeError, match="flip_tta"):
        kgen.studies.Settings(flip_tta="yes")


def test_a_study_that_compares_batch_sizes_refuses_a_study_wide_one():
    from kgen.studies import runner

    with pytest.raises(ValueError, match=r"compares batch sizes.*\[2, 8, 32, 256\].*"
                                         r"Received: batch_size=32"):
        runner.plan(kgen.studies.get("bn-batch-size"), kgen.studies.quick_settings())
    planned = runner.plan(kgen.studies.get("bn-batch-size"), kgen.studies.Settings(limit=1000))
    assert [p.train.batch_size for p in planned] == [2, 2, 8, 8, 32, 32, 256, 256]
    # One variant with its own batch size (a speed recipe) still takes --batch-size.
    recipe = kgen.studies.Study(name="r", variants=(kgen.studies.Variant(
        name="r", preset="small-cnn", train={"batch_size": 512}),))
    planned, = runner.plan(recipe, kgen.studies.Settings(batch_size=32))
    assert planned.train.batch_size == 32


def test_gradient_norms_refuse_float16():
    with pytest.raises(ValueError, match="Received: precision='mixed_float16'"):
        kgen.studies.Settings(gradient_norms=True, precision="mixed_float16")


@pytest.mark.parametrize("seeds, error", [("ab", TypeError), ([0, 0], ValueError),
                                          ([], ValueError), ([None], TypeError), ([-1], ValueError)])
def test_bad_seed_lists_are_refused_before_anything_is_written(seeds, error, tmp_path):
    from kgen.studies import runner

    study = kgen.studies.Study(name="one", variants=(kgen.studies.Variant(name="a",
                                                                           preset="small-cnn"),))
    with pytest.raises(error, match="seeds"):
        runner.execute(study, kgen.studies.Settings(epochs=1), tmp_path / "out", seeds=seeds)
    assert not (tmp_path / "out").exists()
