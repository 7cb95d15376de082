"""A `.keras` file saved under one backend predicts the same under the other two."""

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.cross_backend_worker import FEATURES, MLP_MODELS, MODELS

BACKENDS = ("tensorflow", "jax", "torch")
WORKER = Path(__file__).with_name("cross_backend_worker.py")

pytestmark = pytest.mark.cross


def run_worker(backend, mode, folder):
    env = {**os.environ, "KERAS_BACKEND": backend,
           "PYTHONPATH": str(WORKER.parents[1]) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    completed = subprocess.run([sys.executable, str(WORKER), mode, str(folder)], env=env,
                               capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stderr[-3000:]


@pytest.fixture(scope="module")
def predictions(tmp_path_factory):
    for backend in BACKENDS:
        pytest.importorskip({"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}[backend])
    folder = tmp_path_factory.mktemp("cross")
    np.save(folder / "images.npy",
            np.random.default_rng(0).integers(0, 256, (8, 32, 32, 3), dtype=np.uint8))
    np.save(folder / "features.npy",
            np.random.default_rng(1).normal(size=(8, FEATURES)).astype("float32"))
    for backend in BACKENDS:
        run_worker(backend, "save", folder)
    for backend in BACKENDS:
        run_worker(backend, "predict", folder)
    return folder


@pytest.mark.parametrize("model", sorted({**MODELS, **MLP_MODELS}))
@pytest.mark.parametrize("saved_by, loaded_by", list(itertools.permutations(BACKENDS, 2)))
def test_predictions_agree_across_backends(predictions, model, saved_by, loaded_by):
    expected = np.load(predictions / f"{model}_{saved_by}_by_{saved_by}.npy")
    actual = np.load(predictions / f"{model}_{saved_by}_by_{loaded_by}.npy")
    assert np.abs(expected).max() > 1e-3  # a real output, not all zeros
    assert np.abs(actual - expected).max() < 1e-4


@pytest.mark.parametrize("model", sorted({**MODELS, **MLP_MODELS}))
@pytest.mark.parametrize("saved_by, loaded_by", list(itertools.permutations(BACKENDS, 2)))
def test_a_loaded_model_knows_its_preset_and_config(predictions, model, saved_by, loaded_by):
    restored = json.loads((predictions / f"{model}_{saved_by}_by_{loaded_by}.json").read_text())
    preset = {**MODELS, **MLP_MODELS}[model][0]
    kind = "MLPClassifier" if model in MLP_MODELS else "Classifier"
    assert restored == {"class": kind, "preset": preset, "same_config": True}


def test_a_study_rerun_on_another_backend_is_refused(tmp_path):
    # Re-run into the same --out with another backend: it used to skip the runs as
    # finished and report the first backend's numbers under the second one's name.
    out_dir = tmp_path / "out"
    tiny = ["--epochs", "1", "--limit", "64", "--eval-limit", "8", "--width-scale", "0.125",
            "--batch-size", "32", "--seeds", "1", "--out", str(out_dir)]

    def train(backend, *extra):
        return subprocess.run([sys.executable, "-m", "kgen", "train", "small-cnn", "--backend",
                               backend, *tiny, *extra], capture_output=True, text=True,
                              timeout=600, cwd=tmp_path)

    first = train("jax")
    assert first.returncode == 0, first.stderr
    result = out_dir / "runs" / "small-cnn" / "seed-0" / "result.json"
    before = result.read_bytes()
    second = train("torch")
    assert second.returncode == 2, second.stdout + second.stderr
    assert "backend 'jax', not 'torch'" in second.stderr and "--force" in second.stderr
    assert result.read_bytes() == before
    forced = train("torch", "--force")
    assert forced.returncode == 0, forced.stderr
    assert '"backend": "torch"' in result.read_text()
