"""`--executor ray`: the runs of a study as Ray tasks on a private local
instance (this machine's cores), including a worker killed mid-run.

The tests marked `ray` run in the tox `ray` env (`pytest -m ray`); the
others run everywhere (the other envs have no Ray, which one of them needs).
"""

import os
import re
import signal
import subprocess
import sys

import pytest

from kgen.studies.files import read_csv, read_json

TINY = ["--limit", "64", "--eval-limit", "8", "--width-scale", "0.125", "--batch-size", "32",
        "--seeds", "1"]


def kgen_command(*argv):
    return [sys.executable, "-m", "kgen", *argv]


@pytest.mark.ray
def test_a_study_on_ray_writes_what_the_local_runner_writes(tmp_path):
    pytest.importorskip("ray")
    folders = {}
    for executor in ("local", "ray"):
        out_dir = tmp_path / executor
        completed = subprocess.run(
            kgen_command("study", "normalization", "--only", "0,1", "--epochs", "2", *TINY,
                         "--executor", executor, "--out", str(out_dir)),
            capture_output=True, text=True, timeout=600, cwd=tmp_path)
        assert completed.returncode == 0, completed.stdout + completed.stderr
        folders[executor] = out_dir
    assert "2 runs sent to Ray" in completed.stdout
    assert "run 2/2 finished" in completed.stdout

    def files(folder):
        return sorted(str(path.relative_to(folder)) for path in folder.rglob("*")
                      if path.is_file() and path.name != ".kgen.lock")

    assert files(folders["ray"]) == files(folders["local"])
    for variant in ("none", "batch"):
        result = read_json(folders["ray"] / "runs" / variant / "seed-0" / "result.json")
        assert result["status"] == "completed" and result["epochs_completed"] == 2
        assert result["resumed_from_epoch"] == 0


@pytest.mark.ray
def test_a_killed_worker_resumes_its_run_and_counts_no_epoch_twice(tmp_path):
    pytest.importorskip("ray")
    out_dir = tmp_path / "out"
    epochs = 120
    process = subprocess.Popen(
        kgen_command("train", "small-cnn", "--epochs", str(epochs), *TINY, "--executor", "ray",
                     "--out", str(out_dir)),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    seen, killed = [], None
    try:
        for line in process.stdout:
            seen.append(line)
            # Ray prefixes a worker's lines with its pid: "(train_one_run pid=123)".
            match = re.search(r"pid=(\d+)\)\s+epoch (\d+)/", line)
            if match and killed is None and int(match.group(2)) >= 3:
                killed = int(match.group(1))
                os.kill(killed, signal.SIGKILL)
        process.wait(timeout=600)
    finally:
        if process.poll() is None:
            process.kill()
    output = "".join(seen)
    assert killed is not None, output
    assert process.returncode == 0, output
    run_dir = out_dir / "runs" / "small-cnn" / "seed-0"
    result = read_json(run_dir / "result.json")
    # Ray retried the task in a new worker, which resumed from the backup: at
    # least epoch 2's, written before epoch 3 began (epoch 3's line comes
    # before its own backup).
    assert result["status"] == "completed", output
    assert 2 <= result["resumed_from_epoch"] < epochs, output
    resumed = re.search(rf"pid=(\d+)\)\s+resuming after epoch {result['resumed_from_epoch']} "
                        rf"of {epochs}", output)
    assert resumed and int(resumed.group(1)) != killed, output  # in another worker
    assert [row["epoch"] for row in read_csv(run_dir / "history.csv")] == list(range(epochs))


def test_without_ray_the_executor_is_a_clear_error(tmp_path, monkeypatch, capsys):
    from kgen.cli import main

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    code = main(["train", "small-cnn", *TINY, "--epochs", "1", "--executor", "ray",
                 "--out", str(tmp_path / "out")])
    assert code == 2
    assert "kgen[ray]" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_the_ray_options_are_checked_before_anything_runs(tmp_path, capsys):
    from kgen.cli import main

    code = main(["train", "small-cnn", *TINY, "--address", "auto", "--out", str(tmp_path / "o")])
    assert code == 2 and "address" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
