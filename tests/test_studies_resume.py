"""A study killed with SIGKILL mid-run and started again: finished runs are kept,
the unfinished one resumes from its last completed epoch, nothing is counted twice."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from kgen.studies.files import read_csv, read_json

EPOCHS = 8
# Enough steps per epoch (512 images, batch 8) that the kill lands mid-run.
ARGS = ["--epochs", str(EPOCHS), "--limit", "512", "--eval-limit", "16", "--width-scale",
        "0.125", "--batch-size", "8", "--seeds", "1"]


def study_command(study_file, out_dir):
    return [sys.executable, "-m", "kgen", "study", "--file", str(study_file), "--out",
            str(out_dir), *ARGS]


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
