"""Every recipe runs for one epoch on tiny data, in-process, on the env's
backend, through the study runner; each ladder recipe's trick, applied to the
previous rung, is exactly the rung's preset."""

import json
import runpy
import sys
from pathlib import Path

import pytest

import kgen.models
import kgen.studies
from kgen.studies.files import read_csv, read_json
from kgen.studies.spec import course_figure

RECIPES = Path(__file__).resolve().parents[1] / "recipes"
LADDER_RECIPES = sorted((RECIPES / "ladder").glob("*.py"))
STUDY_RECIPES = sorted((RECIPES / "studies").glob("*.py"))
# --limit 256: the presets train with batch 256, and a batch larger than the data is an error.
TINY = ["--epochs", "1", "--limit", "256", "--eval-limit", "32", "--width-scale", "0.125",
        "--seeds", "1"]
# The built-in studies run in full in test_cli.py; here two variants each.
STUDY_VARIANTS = {"normalization": "none,weight", "overfitting": "base,dropconnect",
                  "training": "sigmoid,scale-symmetric", "penalties": "none,l1",
                  "bn_position": "none,bn-after-relu", "bn_batch_size": "group-256,batch-256",
                  "sigmoid_depth": "sigmoid-3,relu-3", "double_descent": "k1,k4",
                  "lenet": "lenet,lenet-bn"}


def load(path):
    return runpy.run_path(str(path), run_name="recipe")  # defines, does not run


def run_recipe(path, argv, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", [str(path), *argv])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(str(path), run_name="__main__")
    captured = capsys.readouterr()
    return exit_info.value.code, captured.out, captured.err


def test_one_recipe_per_rung_each_a_change_of_the_previous_rung():
    assert [p.name[:2] for p in LADDER_RECIPES] == [f"{rung:02d}" for rung in range(10)]
    for rung, path in enumerate(LADDER_RECIPES):
        text = path.read_text()
        assert text.startswith('"""\nTitle: ') and "What the course measured" in text
        assert len(text.splitlines()) <= 60
        variant = load(path)["RUNG"]
        assert variant.name == f"ladder-{rung}"
        assert variant.preset == f"ladder-{max(rung - 1, 0)}"
        assert bool(variant.model or variant.train) == (rung > 0), "the trick is in the code"


@pytest.mark.parametrize("path", LADDER_RECIPES, ids=lambda p: p.stem)
def test_a_recipe_trains_exactly_its_rung(path):
    # The recipe's delta on the previous rung is the registry's rung: the same
    # model and training, so its results are the ladder study's.
    variant = load(path)["RUNG"]
    parent, model, train = kgen.studies.resolve_variant(variant)
    preset = kgen.models.get(variant.name)
    assert (model, train) == (preset.model, preset.train)
    course = preset.course_val_accuracy  # the report shows the rung's course figure
    assert course_figure(variant, parent) == (None if course is None
                                               else pytest.approx(100 * course))


@pytest.mark.parametrize("path", LADDER_RECIPES, ids=lambda p: p.stem)
def test_ladder_recipe_runs(path, tmp_path, monkeypatch, capsys):
    code, out, err = run_recipe(path, [*TINY, "--out", str(tmp_path)], monkeypatch, capsys)
    assert code == 0, err
    rung = int(path.name[:2])
    run_dir = tmp_path / "runs" / f"ladder-{rung}" / "seed-0"
    assert read_json(run_dir / "result.json")["status"] == "completed"
    assert len(read_csv(run_dir / "history.csv")) == 1
    assert f"| 0 | ladder-{rung} |" in out and (tmp_path / "report.md").exists()


@pytest.mark.parametrize("path", STUDY_RECIPES, ids=lambda p: p.stem)
def test_study_recipe_runs(path, tmp_path, monkeypatch, capsys):
    variants = STUDY_VARIANTS[path.stem]
    code, out, err = run_recipe(path, [*TINY, "--out", str(tmp_path), "--only", variants],
                                monkeypatch, capsys)
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == sorted(variants.split(","))
    for name in variants.split(","):
        assert f"| {name} |" in out
    # The depth study's point is the gradient readout: its recipe records it.
    recorded = sorted(p.parent.parent.name for p in tmp_path.glob("runs/*/seed-0/gradient_norms.csv"))
    assert recorded == (sorted(variants.split(",")) if path.stem == "sigmoid_depth" else [])


def test_every_built_in_study_but_the_ladder_has_a_recipe():
    assert sorted(p.stem for p in STUDY_RECIPES) == sorted(STUDY_VARIANTS)
    assert sorted(STUDY_VARIANTS) == sorted(n.replace("-", "_") for n in kgen.studies.names()[1:])


def test_study_recipe_refuses_an_unknown_variant(monkeypatch, capsys, tmp_path):
    code, _, err = run_recipe(RECIPES / "studies" / "normalization.py",
                              [*TINY, "--out", str(tmp_path), "--only", "gruop"],
                              monkeypatch, capsys)
    assert code == 2 and "gruop" in err and "group" in err
    assert not tmp_path.joinpath("runs").exists()


def test_mnist_vs_cifar10_trains_one_network_on_both(tmp_path, monkeypatch, capsys):
    # A tiny mnist.npz (Keras' layout) where the loader looks, so the recipe's
    # default easy dataset is read as a user's would be; synthetic photos as the hard one.
    import hashlib

    import numpy as np

    from kgen.data import mnist

    rng = np.random.default_rng(0)
    labels = np.tile(np.arange(10, dtype=np.uint8), 12)
    npz = tmp_path / "data" / "mnist.npz"
    npz.parent.mkdir()
    np.savez(npz, x_train=rng.integers(0, 256, (120, 28, 28), dtype=np.uint8), y_train=labels,
             x_test=rng.integers(0, 256, (40, 28, 28), dtype=np.uint8), y_test=labels[:40])
    monkeypatch.setattr(mnist, "MNIST_SHA256", hashlib.sha256(npz.read_bytes()).hexdigest())
    monkeypatch.setenv("KGEN_DATA", str(npz.parent))
    out = tmp_path / "out"
    code, printed, err = run_recipe(
        RECIPES / "teaching" / "mnist_vs_cifar10.py",
        ["--hard", "synthetic", "--limit", "96", "--epochs", "1", "--batch-size", "32", "--seeds", "2",
         "--out", str(out)],
        monkeypatch, capsys)
    assert code == 0, err
    configs = {role: read_json(out / role / "runs" / "two-conv" / "seed-0" / "config.json")
               for role in ("easy", "hard")}
    assert configs["easy"]["dataset"]["name"] == "mnist"
    assert configs["hard"]["dataset"]["name"] == "synthetic"
    preset = json.loads(json.dumps(kgen.models.get("two-conv").model.to_dict()))
    assert configs["easy"]["model"] == configs["hard"]["model"] == preset  # the same network
    assert configs["easy"]["train"] == configs["hard"]["train"]
    for role, dataset in (("easy", "mnist"), ("hard", "synthetic")):
        results = [read_json(out / role / "runs" / "two-conv" / f"seed-{seed}" / "result.json")
                   for seed in (0, 1)]
        test = [100 * r["test_accuracy"] for r in results]
        row = next(line for line in printed.splitlines() if line.startswith(f"| {role}: {dataset} |"))
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        assert cells[1] == "96" and cells[4] == f"{configs[role]['dataset']['test']:,}"
        mean = sum(test) / 2
        std = (sum((t - mean) ** 2 for t in test)) ** 0.5  # two values: n - 1 = 1
        assert cells[3] == f"{mean:.1f} ± {std:.1f}"
        assert (out / role / "report.md").exists()  # `kgen report` reads each half
