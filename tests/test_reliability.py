"""Reliability, second round: the output folder is the one record of what has
finished, nothing in it is deleted without `--force`, a run is the same run only
on the same backend and dataset content, two processes never share a folder,
Ctrl-C stops a study on every backend, and the CLI answers bad input and
damaged folders with one line.

Every test runs on the tox env's backend (the Ctrl-C test in a subprocess).
"""

import json
import os
import signal
import subprocess
import sys
import time

import keras
import pytest

from kgen.cli import main
from kgen.studies import layout
from kgen.studies.files import read_csv, read_json
from tests.data_helpers import write_image_folder

TINY = ["--epochs", "1", "--limit", "64", "--eval-limit", "8", "--width-scale", "0.125",
        "--batch-size", "32", "--seeds", "1"]


def run_cli(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_error_line(err):
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kgen: error: "), err
    return lines[0]


def snapshot(folder):
    """Every file under `folder` with its bytes: what must survive a refusal."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def train_small_cnn(capsys, out_dir, *extra):
    return run_cli(capsys, "train", "small-cnn", "--out", str(out_dir), *TINY, *extra)


# === Nothing finished is deleted without --force ===


def test_a_changed_folder_dataset_keeps_the_finished_run(tmp_path, capsys):
    # Two images added to a folder dataset used to wipe the finished run ("starting
    # afresh"). Now the study is refused before it writes anything; --force retrains.
    images = tmp_path / "images"
    write_image_folder(images / "train", 8)
    write_image_folder(images / "test", 2)
    out_dir = tmp_path / "out"
    args = ["--dataset", f"folder:{images / 'train'}", "--data-dir", str(tmp_path / "cache"),
            "--epochs", "1", "--batch-size", "4", "--width-scale", "0.125", "--seeds", "1",
            "--validation-split", "0.25"]
    code, _, err = run_cli(capsys, "train", "small-cnn", "--out", str(out_dir), *args)
    assert code == 0, err
    before = snapshot(out_dir)
    from PIL import Image

    Image.new("RGB", (32, 32), (9, 9, 9)).save(images / "train" / "dog" / "extra.png")

    code, out, err = run_cli(capsys, "train", "small-cnn", "--out", str(out_dir), *args)
    assert code == 2
    line = one_error_line(err)
    assert "seed-0" in line and "other images or labels" in line and "--force" in line
    assert "epoch 1/" not in out
    assert snapshot(out_dir) == before

    code, out, err = run_cli(capsys, "train", "small-cnn", "--out", str(out_dir), *args,
                             "--force")
    assert code == 0, err
    assert "retraining it from scratch" in out
    config = read_json(out_dir / "runs" / "small-cnn" / "seed-0" / "config.json")
    old_config = json.loads(before["runs/small-cnn/seed-0/config.json"])
    assert config["dataset"]["fingerprint"] != old_config["dataset"]["fingerprint"]


def test_a_run_of_another_backend_is_never_reused(tmp_path, capsys):
    # A study re-run on another backend used to skip every run as finished and
    # report the first backend's numbers. Here the finished run's config says it
    # ran on another backend, as a run from `--backend OTHER` would.
    out_dir = tmp_path / "out"
    assert train_small_cnn(capsys, out_dir)[0] == 0
    config_path = out_dir / "runs" / "small-cnn" / "seed-0" / "config.json"
    config = read_json(config_path)
    assert config["backend"] == keras.backend.backend()
    other = next(b for b in ("tensorflow", "jax", "torch") if b != keras.backend.backend())
    config_path.write_text(json.dumps({**config, "backend": other}))
    before = snapshot(out_dir)

    code, out, err = train_small_cnn(capsys, out_dir)
    assert code == 2
    line = one_error_line(err)
    assert f"backend {other!r}, not {keras.backend.backend()!r}" in line
    assert "finished already" not in out and snapshot(out_dir) == before


def test_a_damaged_result_is_refused_not_retrained(tmp_path, capsys):
    out_dir = tmp_path / "out"
    assert train_small_cnn(capsys, out_dir)[0] == 0
    result_path = out_dir / "runs" / "small-cnn" / "seed-0" / "result.json"
    result_path.write_text(result_path.read_text()[:40])  # truncated by hand or by a disk
    before = snapshot(out_dir)
    code, _, err = train_small_cnn(capsys, out_dir)
    assert code == 2
    line = one_error_line(err)
    assert "result.json is damaged" in line and "--force" in line
    assert snapshot(out_dir) == before
    code, _, err = train_small_cnn(capsys, out_dir, "--force")
    assert code == 0, err
    assert read_json(result_path)["status"] == "completed"


def test_the_api_refuses_too(tmp_path):
    # The library's own entry point keeps the same promise as the CLI.
    import kgen.studies
    from kgen.studies import runner

    study = kgen.studies.Study(name="one", variants=(
        kgen.studies.Variant(name="a", preset="small-cnn"),))
    settings = kgen.studies.Settings(epochs=1, seeds=1, width_scale=0.125, batch_size=32,
                                     limit=64, eval_limit=8)
    planned = runner.plan(study, settings)
    data = runner.load_dataset(settings)
    runner.run_study(study, planned, settings, data, tmp_path, [0], log=lambda _: None)
    run_dir = layout.run_dir(tmp_path, "a", 0)
    config = read_json(run_dir / "config.json")
    (run_dir / "config.json").write_text(json.dumps({**config, "seed": 5}))
    before = snapshot(tmp_path)
    with pytest.raises(ValueError, match=r"seed 5, not 0.*Received: out="):
        runner.run_study(study, planned, settings, data, tmp_path, [0], log=lambda _: None)
    with pytest.raises(ValueError, match=r"seed 5, not 0.*force=True"):
        runner.run_one(planned[0], settings, data, 0, run_dir, log=lambda _: None)
    assert snapshot(tmp_path) == before


# === One process per output folder ===


def test_a_second_process_on_the_same_folder_is_refused(tmp_path, capsys):
    out_dir = tmp_path / "out"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\n"
         "from kgen.studies import layout\n"
         f"with layout.locked({str(out_dir)!r}):\n"
         "    print('locked', flush=True)\n"
         "    time.sleep(120)\n"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        code, out, err = train_small_cnn(capsys, out_dir)
        assert code == 2
        line = one_error_line(err)
        assert f"pid {holder.pid}" in line and "another --out" in line
        assert not (out_dir / "study.json").exists() and "epoch 1/" not in out
    finally:
        holder.kill()
        holder.wait()
    # The kernel released the dead holder's lock: no stale lock to clean up.
    code, _, err = train_small_cnn(capsys, out_dir)
    assert code == 0, err


def test_the_lock_is_reentrant_in_one_process(tmp_path):
    with layout.locked(tmp_path):
        with layout.locked(tmp_path):
            pass
        assert (tmp_path / layout.LOCK_FILE).read_text() == str(os.getpid())


# === Ctrl-C ===


@pytest.mark.slow
def test_ctrl_c_stops_a_study_and_the_rerun_resumes(tmp_path):
    # On JAX, Keras' pythonify_logs swallowed a KeyboardInterrupt raised while it
    # waited for a step's result, and the study trained to its end. The signal is
    # sent mid-epoch (300 steps an epoch), where that happened; 400 epochs would
    # take minutes, stopping must take seconds.
    out_dir = tmp_path / "out"
    command = [sys.executable, "-m", "kgen", "train", "small-cnn", "--out", str(out_dir),
               "--epochs", "400", "--train-size", "2700", "--eval-limit", "8",
               "--width-scale", "0.125", "--batch-size", "8", "--seeds", "1"]
    run_dir = out_dir / "runs" / "small-cnn" / "seed-0"

    def interrupt_after(line_start, delay=0.3):
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True, cwd=tmp_path)
        seen = []
        for line in process.stdout:
            seen.append(line)
            if line.strip().startswith(line_start):
                break
        time.sleep(delay)
        assert process.poll() is None, "".join(seen) + process.stderr.read()
        process.send_signal(signal.SIGINT)
        sent = time.monotonic()
        try:
            process.wait(timeout=30)
        finally:
            process.kill()
        stopped_after = time.monotonic() - sent
        return process.returncode, "".join(seen), process.stderr.read(), stopped_after

    code, out, err, seconds = interrupt_after("epoch 2/400")
    assert code == 130, out + err
    assert seconds < 30 and "interrupted" in err and "Traceback" not in err
    assert not (run_dir / "result.json").exists()
    state = read_json(run_dir / "backup" / "state.json")
    assert 2 <= state["epoch"] < 400
    assert len(read_csv(run_dir / "history.csv")) >= state["epoch"]

    code, out, err, _ = interrupt_after("epoch")
    assert code == 130, out + err
    assert f"resuming after epoch {state['epoch']} of 400" in out


# === The CLI: one line for bad input and damaged folders ===


def test_an_unknown_keras_backend_variable_is_one_line(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow2")
    code, _, err = run_cli(capsys, "train", "small-cnn", "--out", str(tmp_path / "out"))
    assert code == 2
    assert "KERAS_BACKEND='tensorflow2'" in one_error_line(err)


@pytest.mark.parametrize("damage", ["study.json garbage", "study.json a list",
                                    "result.json truncated", "history.csv binary",
                                    "read-only"])
def test_report_of_a_damaged_folder_is_one_line(damage, tmp_path, capsys, monkeypatch):
    out_dir = tmp_path / "out"
    assert train_small_cnn(capsys, out_dir)[0] == 0
    run_dir = out_dir / "runs" / "small-cnn" / "seed-0"
    if damage == "study.json garbage":
        (out_dir / "study.json").write_text("{not json")
    elif damage == "study.json a list":
        (out_dir / "study.json").write_text("[1, 2]")
    elif damage == "result.json truncated":
        (run_dir / "result.json").write_text('{"status": "compl')
    elif damage == "history.csv binary":
        (run_dir / "history.csv").write_bytes(b"\xff\xfe\x00garbage")
    else:
        from tests.test_studies import deny_writing

        deny_writing(out_dir, monkeypatch)
    before = snapshot(out_dir)
    try:
        code, _, err = run_cli(capsys, "report", str(out_dir))
    finally:
        out_dir.chmod(0o755)
    assert code == 2
    line = one_error_line(err)
    assert str(out_dir) in line
    assert snapshot(out_dir) == before


def test_a_read_only_run_folder_is_found_before_study_json_is_rewritten(tmp_path, capsys,
                                                                        monkeypatch):
    out_dir = tmp_path / "out"
    assert train_small_cnn(capsys, out_dir)[0] == 0
    before = snapshot(out_dir)
    from tests.test_studies import deny_writing

    runs = out_dir / "runs" / "small-cnn"
    deny_writing(runs, monkeypatch)
    try:
        code, out, err = train_small_cnn(capsys, out_dir, "--seeds", "2")
    finally:
        runs.chmod(0o755)
    assert code == 2
    assert str(runs) in one_error_line(err)
    assert snapshot(out_dir) == before  # study.json (seeds 0, 1) not written


@pytest.mark.parametrize("argv, fragment", [
    (["bench", "--preset", "no-such-preset"], "no-such-preset"),
    (["bench", "--batch", "zero"], "--batch"),
    (["bench", "--steps", "0"], "steps"),
    (["bench", "--backends", "theano"], "theano"),
    (["bench", "--nonsense"], "--nonsense"),
])
def test_bench_with_bad_arguments_exits_2(argv, fragment, capsys):
    code, _, err = run_cli(capsys, *argv)
    assert code == 2
    assert fragment in one_error_line(err)


def test_a_limit_above_the_data_is_reported_as_what_ran(tmp_path, capsys):
    images = tmp_path / "images"
    write_image_folder(images / "train", 10)
    write_image_folder(images / "test", 2)
    out_dir = tmp_path / "out"
    code, _, err = run_cli(capsys, "train", "small-cnn", "--dataset", f"folder:{images / 'train'}",
                           "--data-dir", str(tmp_path / "cache"), "--limit", "5000",
                           "--epochs", "1", "--batch-size", "4", "--width-scale", "0.125",
                           "--seeds", "1", "--validation-split", "0.2", "--out", str(out_dir))
    assert code == 0, err
    report = (out_dir / "report.md").read_text()
    assert "16 training images (all of them: fewer than the limit of 5000)" in report
    assert "5000 training images" not in report


def test_limit_on_a_folder_listed_class_by_class_keeps_every_class(tmp_path):
    # `--quick` on a folder dataset sets a limit; the first N images of a folder
    # are one class (it trained on 1,800 airplanes and reported 10% validation).
    import numpy as np

    from kgen.studies.data import load_limited

    write_image_folder(tmp_path / "train", 20, size=8, class_names=("a", "b", "c", "d"))
    write_image_folder(tmp_path / "test", 2, size=8, class_names=("a", "b", "c", "d"))
    data = load_limited(f"folder:{tmp_path / 'train'}", limit=8, validation_split=0.25,
                        data_dir=str(tmp_path / "cache"))
    assert len(data.x_train) == 8
    assert np.bincount(data.y_train, minlength=4).tolist() == [2, 2, 2, 2]


def test_skip_bad_on_the_command_line(tmp_path, capsys):
    # The error for an unreadable image suggests skip_bad; the CLI offers it.
    images = tmp_path / "images"
    write_image_folder(images / "train", 8)
    write_image_folder(images / "test", 2)
    (images / "train" / "cat" / "broken.png").write_bytes(b"not a png")
    args = ["train", "small-cnn", "--dataset", f"folder:{images / 'train'}", "--data-dir",
            str(tmp_path / "cache"), "--epochs", "1", "--batch-size", "4", "--width-scale",
            "0.125", "--seeds", "1", "--validation-split", "0.25", "--out", str(tmp_path / "out")]
    code, _, err = run_cli(capsys, *args)
    assert code == 2 and "--skip-bad" in one_error_line(err) and "broken.png" in err
    assert not (tmp_path / "out").exists()
    code, out, err = run_cli(capsys, *args, "--skip-bad")
    assert code == 0, err
    assert "--skip-bad left out 1 unreadable image" in out and "broken.png" in out
