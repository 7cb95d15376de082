"""The `kgen` command line: help, listing, bad input, and every built-in study
run for one epoch on tiny data (in-process, on the tox env's backend)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import kgen
import kgen.studies
from kgen.cli import main
from kgen.studies.files import read_csv, read_json

# One epoch on 64 images of a 1/8-width model: every layer runs, nothing waits.
TINY = ["--epochs", "1", "--limit", "64", "--eval-limit", "8", "--width-scale", "0.125",
        "--batch-size", "32", "--seeds", "1"]
COMMANDS = ("ladder", "study", "train", "report", "list")


def run_cli(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("command", COMMANDS)
def test_help_of_every_command(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: kgen {command}")
    if command in ("ladder", "study", "train"):
        for option in ("--backend", "--dataset", "--epochs", "--seeds", "--only", "--out",
                       "--quick", "--tensorboard", "--force"):
            assert option in out


def test_top_level_help_and_version(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for command in (*COMMANDS, "bench"):
        assert command in out
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.strip() == f"kgen {kgen.__version__}"


def test_list(capsys):
    code, out, _ = run_cli(capsys, "list")
    assert code == 0
    for name in ("ladder-9", "small-cnn", "normalization", "overfitting", "training",
                 "synthetic", "cifar10", "folder:PATH", "course-mlp", "two-moons"):
        assert name in out


@pytest.mark.parametrize("argv, fragments", [
    (["train", "ladder-10"], ["preset", "'ladder-10'", "Did you mean"]),
    (["study", "normalisation"], ["study", "'normalisation'", "Did you mean 'normalization'"]),
    (["ladder", "--dataset", "cifar-10"], ["dataset", "'cifar-10'", "Did you mean 'cifar10'"]),
    (["ladder", "--only", "3-1"], ["--only", "only='3-1'"]),
    (["ladder", "--only", "0-12"], ["--only", "0-9"]),
    (["ladder", "--only", "ladder-x"], ["--only", "ladder-x"]),
    (["ladder", "--seeds", "0"], ["--seeds", "'0'"]),
    (["ladder", "--epochs", "0"], ["--epochs", "'0'"]),
    (["ladder", "--epochs", "ten"], ["--epochs", "'ten'"]),
    (["ladder", "--width-scale", "-1"], ["--width-scale", "'-1'"]),
    (["ladder", "--backend", "theano"], ["--backend", "'theano'"]),
    (["study"], ["study name or --file"]),
    (["study", "ladder", "--file", "x.toml"], ["study name or --file"]),
    (["train", "small-cnn", "--set", "normalisation=batch"], ["normalisation",
                                                              "Did you mean 'normalization'"]),
    (["train", "small-cnn", "--set", "l2"], ["FIELD=VALUE", "set='l2'"]),
    (["train", "small-cnn", "--set", "l2=-1"], ["l2", "-1"]),
    # A batch larger than the training set: known from --limit before loading the
    # data, else found once the data is loaded (38 of the 40 images train).
    (["ladder", "--limit", "16", "--batch-size", "32"], ["batch_size=32", "--limit", "(16)"]),
    (["train", "small-cnn", "--train-size", "40", "--batch-size", "64"],
     ["variant 'small-cnn'", "batch_size=64", "training set"]),
    (["ladder", "--image-size", "0"], ["--image-size", "'0'"]),
    (["ladder", "--image-size", "24"], ["image_size", "folder:", "dataset='synthetic'"]),
    (["ladder", "--validation-split", "1"], ["--validation-split", "'1'"]),
    # Networks and data of the other kind: an MLP on images, a CNN on points.
    (["train", "course-mlp"], ["course-mlp", "feature vectors", "two-moons", "(32, 32, 3)"]),
    (["train", "small-cnn", "--dataset", "two-moons"], ["small-cnn", "takes images",
                                                        "course-mlp", "dataset='two-moons'"]),
    (["train", "course-mlp", "--dataset", "two-moons", "--width-scale", "0.5"],
     ["hidden_units", "width_scale=0.5"]),
    (["train", "course-mlp", "--set", "stages=[]"], ["--set field 'stages'", "hidden_units"]),
    (["train", "course-mpl"], ["'course-mpl'", "course-mlp"]),
    (["nonsense"], ["invalid choice", "'nonsense'"]),
])
def test_bad_input_exits_2_with_one_line_and_no_files(argv, fragments, tmp_path, capsys):
    out_dir = tmp_path / "out"
    code, out, err = run_cli(capsys, *argv, *(["--out", str(out_dir)] if len(argv) > 1 and
                                              argv[0] != "nonsense" else []))
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("kgen: error: ")
    for fragment in fragments:
        assert fragment in lines[0]
    assert not out_dir.exists()


@pytest.mark.parametrize("problem", ["inside a file", "read-only", "full disk"])
def test_unusable_output_folder_exits_2_before_training(problem, tmp_path, capsys, monkeypatch):
    from tests.test_studies import deny_writing

    out_dir = tmp_path / "out"
    if problem == "inside a file":
        (tmp_path / "notes.txt").write_text("mine")
        out_dir = tmp_path / "notes.txt" / "out"
    elif problem == "read-only":
        deny_writing(tmp_path, monkeypatch)
    else:
        import shutil

        from kgen.studies import layout

        usage = shutil.disk_usage(tmp_path)
        monkeypatch.setattr(shutil, "disk_usage",
                            lambda path: usage._replace(free=layout.MIN_FREE_BYTES // 2))
    try:
        code, out, err = run_cli(capsys, "train", "small-cnn", "--out", str(out_dir), *TINY)
    finally:
        tmp_path.chmod(0o755)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kgen: error: "), err
    assert f"out={str(out_dir)!r}" in lines[0]
    assert "epoch" not in out and not out_dir.exists()


def test_malformed_study_file_exits_2(tmp_path, capsys):
    study_file = tmp_path / "mine.toml"
    study_file.write_text('name = "mine"\n[[variants]]\nname = "a"\npreset = "small-cnn"\n'
                          '[variants.model]\nwidht = 3\n')
    code, _, err = run_cli(capsys, "study", "--file", str(study_file), "--out",
                           str(tmp_path / "out"), *TINY)
    assert code == 2 and "'widht'" in err and "variant 'a'" in err
    assert len(err.strip().splitlines()) == 1
    study_file.write_text("name = [")
    code, _, err = run_cli(capsys, "study", "--file", str(study_file))
    assert code == 2 and "not valid TOML" in err
    assert not (tmp_path / "out").exists()


def test_folder_with_another_study_is_refused_without_force(tmp_path, capsys):
    out_dir = tmp_path / "out"
    code, _, _ = run_cli(capsys, "train", "small-cnn", "--out", str(out_dir), *TINY)
    assert code == 0
    before = sorted(p.relative_to(out_dir) for p in out_dir.rglob("*"))
    code, _, err = run_cli(capsys, "study", "normalization", "--only", "0", "--out", str(out_dir),
                           *TINY)
    assert code == 2 and "another study" in err and "--force" in err
    assert len(err.strip().splitlines()) == 1
    assert sorted(p.relative_to(out_dir) for p in out_dir.rglob("*")) == before
    code, _, _ = run_cli(capsys, "study", "normalization", "--only", "0", "--out", str(out_dir),
                         "--force", *TINY)
    assert code == 0
    assert read_json(out_dir / "study.json")["study"]["name"] == "normalization"


@pytest.mark.parametrize("name", kgen.studies.names())
def test_every_builtin_study_runs_one_epoch(name, tmp_path, capsys):
    out_dir = tmp_path / name
    arguments = TINY
    if name == "bn-batch-size":  # its variants set their batch sizes, up to 256
        arguments = [a for a in TINY if a not in ("--batch-size", "32")] + ["--limit", "256"]
    code, out, err = run_cli(capsys, "study", name, "--out", str(out_dir), *arguments)
    assert code == 0, err
    variants = [v.name for v in kgen.studies.get(name).variants]
    rows = read_csv(out_dir / "results.csv")
    assert [r["variant"] for r in rows] == variants
    assert all(r["status"] == "completed" and r["epochs_completed"] == 1 for r in rows)
    for variant in variants:
        run = out_dir / "runs" / variant / "seed-0"
        assert sorted(os.listdir(run)) == ["config.json", "history.csv", "result.json"]
        result = read_json(run / "result.json")
        assert 0.0 <= result["test_accuracy"] <= 1.0
        assert result["versions"]["keras"] and result["backend"]
    assert f"run {len(variants)}/{len(variants)}: {variants[-1]} seed 0" in out
    assert "epoch 1/1: loss" in out
    assert out.count("\n| ") == len(variants) + 1  # the summary table, header included
    if name == "normalization":  # the cheapest: a second invocation trains nothing
        code, out, _ = run_cli(capsys, "study", name, "--out", str(out_dir), *TINY)
        assert code == 0 and out.count("finished already") == len(variants)
        assert "epoch 1/1" not in out


def test_train_with_overrides_and_report_rebuild(tmp_path, capsys):
    out_dir = tmp_path / "out"
    code, out, _ = run_cli(capsys, "train", "small-cnn", "--set", "normalization=group",
                           "--set", "flip=random", "--set", "learning_rate=0.01", "--out",
                           str(out_dir), *TINY[:-2], "--seeds", "2")
    assert code == 0
    config = read_json(out_dir / "runs" / "small-cnn" / "seed-1" / "config.json")
    assert config["model"]["normalization"] == "group"
    assert config["model"]["augmentation"]["flip"] == "random"
    assert config["train"]["learning_rate"] == 0.01 and config["train"]["epochs"] == 1
    assert config["model"]["width_multiplier"] == 0.125
    for name in ("report.md", "results.csv", "results.json", "learning_curves.png",
                 "accuracy_gap.png"):
        (out_dir / name).unlink()
    code, out, _ = run_cli(capsys, "report", str(out_dir))
    assert code == 0 and "| 0 | small-cnn |" in out
    assert (out_dir / "accuracy_gap.png").exists()
    assert len(read_csv(out_dir / "results.csv")) == 2
    assert read_json(out_dir / "results.json")["variants"][0]["val_accuracy"]["n"] == 2


def test_an_mlp_preset_trains_on_two_moons(tmp_path, capsys):
    out_dir = tmp_path / "out"
    code, out, _ = run_cli(capsys, "train", "plain-mlp", "--dataset", "two-moons",
                           "--set", "hidden_units=[8, 8]", "--epochs", "2", "--seeds", "1",
                           "--train-size", "60", "--data-seed", "1", "--out", str(out_dir))
    assert code == 0 and "| 0 | plain-mlp |" in out
    config = read_json(out_dir / "runs" / "plain-mlp" / "seed-0" / "config.json")
    assert config["model"]["hidden_units"] == [8, 8] and config["train"]["optimizer"] == "sgd"
    assert config["dataset"]["train"] + config["dataset"]["val"] == 60
    assert config["settings"]["data_seed"] == 1
    # Standardized with the training points' own statistics, per feature.
    assert len(config["input_mean"]) == 2 and all(s > 0 for s in config["input_std"])
    result = read_json(out_dir / "runs" / "plain-mlp" / "seed-0" / "result.json")
    assert result["epochs_completed"] == 2 and 0.0 <= result["test_accuracy"] <= 1.0


def test_image_size_resizes_a_folder_dataset(tmp_path, capsys):
    # The course's cartoon set is not 32x32: --image-size resizes it from the CLI.
    from tests.data_helpers import write_image_folder

    write_image_folder(tmp_path / "cartoons", 12, size=40, class_names=("a", "b", "c", "d"))
    out_dir = tmp_path / "out"
    code, out, _ = run_cli(capsys, "train", "small-cnn", "--dataset",
                           f"folder:{tmp_path / 'cartoons'}", "--image-size", "24",
                           "--validation-split", "0.25", "--epochs", "1", "--batch-size", "8",
                           "--width-scale", "0.125", "--seeds", "1", "--data-dir",
                           str(tmp_path / "cache"), "--out", str(out_dir))
    assert code == 0
    config = read_json(out_dir / "runs" / "small-cnn" / "seed-0" / "config.json")
    assert config["settings"]["image_size"] == 24
    assert config["settings"]["validation_split"] == 0.25
    # 12 images per class: 1 carved for test, 11 left of which a quarter (3) validate.
    assert config["dataset"] == {"name": config["dataset"]["name"], "train": 32, "val": 12,
                                 "test": 4, "classes": 4,
                                 "fingerprint": config["dataset"]["fingerprint"]}
    assert "(24, 24, 3)" in out


def test_report_of_missing_folder_exits_2(tmp_path, capsys):
    code, _, err = run_cli(capsys, "report", str(tmp_path / "nothing"))
    assert code == 2 and "no such folder" in err
    code, _, err = run_cli(capsys, "report", str(tmp_path))
    assert code == 2 and "no kgen study" in err


def test_diverged_run_is_recorded_and_the_study_goes_on(tmp_path, capsys):
    study_file = tmp_path / "diverge.json"
    study_file.write_text(json.dumps({"name": "diverge", "variants": [
        # Glorot everywhere: with kgen's zero-initialized classifier the first huge step
        # can kill every ReLU instead, and the loss stays finite.
        {"name": "exploding", "preset": "small-cnn", "model": {"initializer": "glorot_uniform"},
         "train": {"optimizer": "sgd", "learning_rate": 1e30}},
        {"name": "fine", "preset": "small-cnn"},
    ]}))
    out_dir = tmp_path / "out"
    code, out, _ = run_cli(capsys, "study", "--file", str(study_file), "--out", str(out_dir),
                           *TINY[:1], "2", *TINY[2:])
    assert code == 0
    exploding = read_json(out_dir / "runs" / "exploding" / "seed-0" / "result.json")
    assert exploding["status"] == "diverged"
    # Training stops in the epoch the loss blows up.
    epoch = exploding["diverged_at_epoch"]
    assert epoch in (0, 1) and exploding["epochs_completed"] == epoch + 1
    assert exploding["test_accuracy"] is None
    fine = read_json(out_dir / "runs" / "fine" / "seed-0" / "result.json")
    assert fine["status"] == "completed" and fine["epochs_completed"] == 2
    assert "diverged" in (out_dir / "report.md").read_text()
    assert f"diverged: the loss became NaN or infinite in epoch {epoch + 1}" in out
    assert out.index("run 2/2: fine seed 0") > out.index("diverged: the loss")


def test_bench_is_a_command_with_its_own_options(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: kgen bench")
    for option in ("--preset", "--backends", "--repeats", "--no-reference"):
        assert option in out
    assert "--worker" not in out  # the parent's option for its children, hidden
    code, _, err = run_cli(capsys, "bench", "--steps", "0")
    assert code == 2 and "steps" in err


def test_list_imports_no_backend_and_starts_fast():
    # A fresh interpreter, as a user's shell gives: listing reads the Keras-free
    # catalogue (kgen.presets, kgen.studies, kgen.data) and nothing else.
    code = ("import resource, sys, kgen.cli; status = kgen.cli.main(['list']); "
            "loaded = [m for m in ('keras', 'tensorflow', 'jax', 'torch') if m in sys.modules]; "
            "usage = resource.getrusage(resource.RUSAGE_SELF); "
            "print('LOADED', loaded, 'CPU', usage.ru_utime + usage.ru_stime); sys.exit(status)")
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                               timeout=120)
    assert completed.returncode == 0, completed.stderr
    assert "ladder-0" in completed.stdout and "normalization" in completed.stdout
    marker = completed.stdout.splitlines()[-1]
    assert "LOADED []" in marker, marker
    # CPU seconds, which load on the machine disturbs far less than wall time;
    # importing TensorFlow alone costs several (the 1 s target of `kgen list`).
    assert float(marker.split("CPU")[-1]) < 1.0, marker


def test_backend_option_sets_keras_backend_before_import(tmp_path):
    # A fresh interpreter: the CLI module must not import Keras by itself, and
    # --backend wins over a KERAS_BACKEND that names no backend.
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    code = ("import sys, kgen.cli; assert 'keras' not in sys.modules; "
            f"status = kgen.cli.main(['train', 'small-cnn', '--backend', '{backend}', "
            f"*{TINY!r}, '--out', {str(tmp_path / 'out')!r}]); "
            "import keras; print('BACKEND', keras.backend.backend()); sys.exit(status)")
    environment = {**os.environ, "KERAS_BACKEND": "not-a-backend"}
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                               env=environment, timeout=300)
    assert completed.returncode == 0, completed.stderr
    assert f"BACKEND {backend}" in completed.stdout


def test_cli_refuses_a_second_backend_in_one_process(capsys, tmp_path):
    import keras

    other = next(b for b in ("tensorflow", "jax", "torch") if b != keras.backend.backend())
    code, _, err = run_cli(capsys, "train", "small-cnn", "--backend", other, *TINY,
                           "--out", str(tmp_path / "out"))
    assert code == 2 and "already imported" in err
    assert not (tmp_path / "out").exists()


def test_tensorboard_logs_or_a_clear_error(tmp_path, capsys):
    import importlib.util

    out_dir = tmp_path / "out"
    code, _, err = run_cli(capsys, "train", "small-cnn", "--tensorboard", "--out", str(out_dir),
                           *TINY)
    if None in (importlib.util.find_spec("tensorflow"), importlib.util.find_spec("tensorboard")):
        assert code == 2 and "--tensorboard needs the " in err
        assert len(err.strip().splitlines()) == 1
        assert not out_dir.exists()
    else:
        assert code == 0, err
        logs = out_dir / "runs" / "small-cnn" / "seed-0" / "tensorboard"
        assert any(path.is_file() for path in logs.rglob("*"))


def test_report_needs_no_keras(tmp_path):
    from tests.test_studies import _fake_study

    _fake_study(tmp_path, {"a": [0.5, 0.6], "b": [0.7, 0.8]})
    code = ("import sys, kgen.cli; code = kgen.cli.main(['report', sys.argv[1]]); "
            "assert 'keras' not in sys.modules, 'keras was imported'; sys.exit(code)")
    completed = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True,
                               text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr
    assert "| 1 | b |" in completed.stdout and (tmp_path / "report.md").exists()


def test_native_stderr_is_hidden_and_shown_again_on_failure(capfd):
    from kgen.backend import quiet

    with quiet():
        os.write(2, b"start-up chatter\n")
    with pytest.raises(ImportError):
        with quiet():
            os.write(2, b"why the import failed\n")
            raise ImportError("no backend")
    os.write(2, b"after\n")
    err = capfd.readouterr().err
    assert "start-up chatter" not in err
    assert "why the import failed" in err and "after" in err


RECIPE_PROGRAMS = {
    "kgen": ["-m", "kgen.cli", "train", "small-cnn", *TINY],
    "recipe": [str(Path(__file__).resolve().parents[1] / "recipes/ladder/02_batchnorm.py"), *TINY],
    # The speed recipe's --minutes probes the machine's speed before the run.
    "speedrun-minutes": [
        str(Path(__file__).resolve().parents[1] / "recipes/speedrun/cifar10_cpu.py"),
        "--minutes", "0.0001", "--dataset", "synthetic", "--test-seed", "0", "--no-reference",
        "--limit", "64", "--eval-limit", "8", "--width-scale", "0.125", "--batch-size", "32",
        "--seeds", "1"],
}


@pytest.mark.parametrize("entry, verbose", [("kgen", False), ("kgen", True), ("recipe", False),
                                            ("speedrun-minutes", False)])
def test_backend_start_up_messages_only_with_verbose(entry, verbose, tmp_path):
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    environment = {key: value for key, value in os.environ.items()
                   if key != "TF_CPP_MIN_LOG_LEVEL"}
    # The recipes share the CLI's runner and its start-up (a module imported
    # before the backend was chosen once imported Keras, and its noise, early).
    command = [sys.executable, *RECIPE_PROGRAMS[entry], "--backend", backend,
               "--out", str(tmp_path / "out"), *(["--verbose"] if verbose else [])]
    completed = subprocess.run(command, capture_output=True, text=True, env=environment,
                               timeout=300)
    assert completed.returncode == 0, completed.stderr
    noise = ("absl::InitializeLog", "oneDNN", "cuInit", "cuda drivers")
    shown = [fragment for fragment in noise if fragment in completed.stderr]
    if not verbose:
        assert shown == [], completed.stderr
    elif backend == "tensorflow":
        # The messages this option is for exist: without them the test above proves nothing.
        assert shown, completed.stderr


def test_reference_option_measures_before_and_after_the_runs(capsys, tmp_path, monkeypatch):
    import kgen.bench
    from kgen.studies import layout

    figures = iter([1000.0, 900.0])
    monkeypatch.setattr(kgen.bench, "measure_reference", lambda: {
        "images_per_second": next(figures), "bench": "reference", "measured_at": "now"})
    out_dir = tmp_path / "out"
    code, out, err = run_cli(capsys, "train", "small-cnn", *TINY, "--reference",
                             "--out", str(out_dir))
    assert code == 0, err
    assert "plain-PyTorch reference (before the runs): 1000 images/s" in out
    assert "plain-PyTorch reference (after the runs): 900 images/s" in out
    measured = layout.read_references(out_dir)
    assert [(m["when"], m["images_per_second"]) for m in measured] == [
        ("before", 1000.0), ("after", 900.0)]
    assert "1000 images/s before the runs (now), 900 images/s after" in (
        out_dir / "report.md").read_text()
