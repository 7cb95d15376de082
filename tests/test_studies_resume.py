"""A study killed with SIGKILL and started again: finished runs are kept, the
unfinished one resumes from its last completed epoch, nothing is counted twice and
no file is left torn.

The first test kills at whatever moment a polling loop sees two epochs backed up;
the second kills at chosen points (data loading, mid-epoch, between a temporary
result file and its rename) that the study reaches and then waits at, through
the test-only launcher `tests/pausing_kgen.py`.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kgen.atomic import TEMP_SUFFIX
from kgen.studies.files import read_csv, read_json

PAUSING_KGEN = Path(__file__).with_name("pausing_kgen.py")

EPOCHS = 8
# Enough steps per epoch (256 images, batch 8) that the kill lands mid-run.
ARGS = ["--epochs", str(EPOCHS), "--limit", "256", "--eval-limit", "16", "--width-scale",
        "0.125", "--batch-size", "8", "--seeds", "1"]


def study_command(study_file, out_dir, args=ARGS):
    return [sys.executable, "-m", "kgen", "study", "--file", str(study_file), "--out",
            str(out_dir), *args]


def backup_epoch(run_dir):
    try:
        return json.loads((run_dir / "backup" / "state.json").read_text())["epoch"]
    except (OSError, ValueError, KeyError):
        return 0


@pytest.mark.slow
def test_killed_study_resumes_without_losing_or_repeating_runs(tmp_path):
    study_file = tmp_path / "resume.json"
    study_file.write_text(json.dumps({"name": "resume", "variants": [
        {"name": "first", "preset": "small-cnn"},
        # Exponential decay: the learning rate logged per epoch shows whether the
        # optimizer's step count survived the kill.
        {"name": "second", "preset": "small-cnn", "model": {"normalization": "batch"},
         "train": {"schedule": "exponential", "gamma": 0.5}},
    ]}))
    out_dir = tmp_path / "out"
    first = out_dir / "runs" / "first" / "seed-0"
    second = out_dir / "runs" / "second" / "seed-0"
    log = open(tmp_path / "first-attempt.log", "w")
    process = subprocess.Popen(study_command(study_file, out_dir), stdout=log,
                               stderr=subprocess.STDOUT, cwd=tmp_path)
    deadline = time.monotonic() + 600
    try:
        # Kill once the second run has backed up two epochs but not finished.
        while backup_epoch(second) < 2:
            assert process.poll() is None, (tmp_path / "first-attempt.log").read_text()
            assert time.monotonic() < deadline, "the study did not reach the second run"
            time.sleep(0.02)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
        log.close()
    killed_at = backup_epoch(second)
    assert 2 <= killed_at < EPOCHS
    assert (first / "result.json").exists() and not (second / "result.json").exists()
    first_result = read_json(first / "result.json")
    assert len(read_csv(second / "history.csv")) >= killed_at

    completed = subprocess.run(study_command(study_file, out_dir), capture_output=True,
                               text=True, cwd=tmp_path, timeout=600)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "finished already (completed); skipped" in completed.stdout
    assert f"resuming after epoch {killed_at} of {EPOCHS}" in completed.stdout

    assert read_json(first / "result.json") == first_result  # not trained again
    resumed = read_json(second / "result.json")
    assert resumed["status"] == "completed" and resumed["resumed_from_epoch"] == killed_at
    assert resumed["epochs_completed"] == EPOCHS and first_result["resumed_from_epoch"] == 0
    for run_dir in (first, second):
        history = read_csv(run_dir / "history.csv")
        assert [row["epoch"] for row in history] == list(range(EPOCHS))
        assert all(row["accuracy"] is not None and row["val_loss"] is not None
                   for row in history)
        assert not (run_dir / "backup").exists()
        assert not [p for p in run_dir.iterdir() if p.name.startswith(".")]
    rows = read_csv(out_dir / "results.csv")
    assert [(row["variant"], row["seed"]) for row in rows] == [("first", 0), ("second", 0)]
    summary = read_json(out_dir / "results.json")
    assert [v["completed"] for v in summary["variants"]] == [1, 1]
    learning_rates = [row["learning_rate"] for row in read_csv(second / "history.csv")]
    assert learning_rates == pytest.approx([1e-3 * 0.5**epoch for epoch in range(EPOCHS)])


# Points: 8 steps per epoch (64 images, batch 8), so batch 3 of an epoch is mid-epoch.
POINT_EPOCHS = 3
POINT_ARGS = ["--epochs", str(POINT_EPOCHS), "--limit", "64", "--eval-limit", "16",
              "--width-scale", "0.125", "--batch-size", "8", "--seeds", "1"]


def kill_when_paused(study_file, out_dir, point, log_path):
    """Runs the study until it pauses at `point`, SIGKILLs it; returns its output."""
    marker = f"kgen-test: paused at {point}"
    command = study_command(study_file, out_dir, POINT_ARGS)
    # `python -m kgen ARGS` becomes `python tests/pausing_kgen.py POINT ARGS`.
    command = [command[0], str(PAUSING_KGEN), point, *command[3:]]
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (str(PAUSING_KGEN.parents[1]), os.environ.get("PYTHONPATH")) if p)}
    with open(log_path, "w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                   cwd=log_path.parent, env=environment)
        try:
            deadline = time.monotonic() + 300
            while marker not in log_path.read_text():
                assert process.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, f"never reached {point}"
                time.sleep(0.05)
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL
    return log_path.read_text()


def study_files(out_dir):
    """Every file under `out_dir` (relative path -> bytes); each JSON and CSV
    file that is not a temporary one must parse."""
    files = {}
    for path in sorted(out_dir.rglob("*")):
        if path.is_file():
            if not path.name.endswith(TEMP_SUFFIX):
                if path.suffix == ".json":
                    read_json(path)
                elif path.suffix == ".csv":
                    read_csv(path)
            files[path.relative_to(out_dir).as_posix()] = path.read_bytes()
    return files


@pytest.mark.slow
def test_study_killed_at_each_point_resumes_each_time(tmp_path):
    study_file = tmp_path / "points.json"
    study_file.write_text(json.dumps({"name": "points", "variants": [
        {"name": "first", "preset": "small-cnn",
         "train": {"schedule": "exponential", "gamma": 0.5}},
        {"name": "second", "preset": "small-cnn", "model": {"normalization": "batch"}},
    ]}))
    out_dir = tmp_path / "out"
    first = out_dir / "runs" / "first" / "seed-0"
    second = out_dir / "runs" / "second" / "seed-0"

    # 1. Mid-epoch: after batch 3 of the second epoch; the backup holds epoch 1.
    kill_when_paused(study_file, out_dir, "train:first:0:1:3", tmp_path / "mid-epoch.log")
    files = study_files(out_dir)
    assert backup_epoch(first) == 1 and not (first / "result.json").exists()
    assert [row["epoch"] for row in read_csv(first / "history.csv")] == [0]
    epoch_0 = read_csv(first / "history.csv")[0]

    # 2. During data loading, on restart: nothing is touched.
    kill_when_paused(study_file, out_dir, "loading-data", tmp_path / "loading.log")
    assert study_files(out_dir) == files

    # 3. Writing the first run's result.json: its temporary file is complete, the
    # rename has not happened; the run resumed from epoch 1 and trained the rest.
    output = kill_when_paused(study_file, out_dir, "write:result.json",
                              tmp_path / "result.log")
    assert f"resuming after epoch 1 of {POINT_EPOCHS}" in output
    assert f"epoch 1/{POINT_EPOCHS}:" not in output and f"epoch 2/{POINT_EPOCHS}:" in output
    study_files(out_dir)
    assert not (first / "result.json").exists()
    assert list(first.glob(f".result.json.*{TEMP_SUFFIX}"))
    assert backup_epoch(first) == POINT_EPOCHS

    # 4. Writing the report's results.csv, after both runs have finished.
    output = kill_when_paused(study_file, out_dir, "write:results.csv",
                              tmp_path / "report.log")
    assert f"resuming after epoch {POINT_EPOCHS} of {POINT_EPOCHS}" in output
    assert f"epoch {POINT_EPOCHS}/{POINT_EPOCHS}:" in output  # the second run's
    study_files(out_dir)
    assert (first / "result.json").exists() and (second / "result.json").exists()
    assert not (out_dir / "results.csv").exists()
    assert list(out_dir.glob(f".results.csv.*{TEMP_SUFFIX}"))
    first_result = read_json(first / "result.json")

    # 5. The same command to the end: nothing is trained again.
    completed = subprocess.run(study_command(study_file, out_dir, POINT_ARGS),
                               capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert completed.stdout.count("finished already (completed); skipped") == 2
    assert "epoch 1/" not in completed.stdout

    files = study_files(out_dir)
    assert not [name for name in files if name.endswith(TEMP_SUFFIX)]
    assert not [name for name in files if "/backup/" in name]
    rows = read_csv(out_dir / "results.csv")
    assert [(row["variant"], row["seed"]) for row in rows] == [("first", 0), ("second", 0)]
    assert all(row["status"] == "completed" for row in rows)
    summary = read_json(out_dir / "results.json")
    assert [v["completed"] for v in summary["variants"]] == [1, 1]
    assert read_json(first / "result.json") == first_result
    assert first_result["epochs_completed"] == POINT_EPOCHS
    history = read_csv(first / "history.csv")
    assert [row["epoch"] for row in history] == list(range(POINT_EPOCHS))
    assert history[0] == epoch_0  # trained once, before the first kill
    # The optimizer's step count came back from the epoch-1 backup, not from the
    # batches trained after it: the schedule goes on where the backup left it.
    assert [row["learning_rate"] for row in history] == pytest.approx(
        [1e-3 * 0.5**epoch for epoch in range(POINT_EPOCHS)])
    second_result = read_json(second / "result.json")
    assert second_result["resumed_from_epoch"] == 0
    assert [row["epoch"] for row in read_csv(second / "history.csv")] == list(range(POINT_EPOCHS))
