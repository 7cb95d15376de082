"""Every recipe runs for one epoch on tiny data, in-process, on the env's backend."""

import runpy
import sys
from pathlib import Path

import pytest

import kgen.studies

RECIPES = Path(__file__).resolve().parents[1] / "recipes"
LADDER_RECIPES = sorted((RECIPES / "ladder").glob("*.py"))
STUDY_RECIPES = sorted((RECIPES / "studies").glob("*.py"))
# --limit 256: the presets train with batch 256, and a batch larger than the data is an error.
TINY = ["--epochs", "1", "--limit", "256", "--width-scale", "0.125"]
# The built-in studies run in full in test_cli.py; here two variants each.
STUDY_VARIANTS = {"normalization": "none,weight", "overfitting": "base,dropconnect",
                  "training": "sigmoid,scale-symmetric"}


def run_recipe(path, argv, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", [str(path), *argv])
    runpy.run_path(str(path), run_name="__main__")
    return capsys.readouterr().out


def test_one_recipe_per_rung():
    assert [p.name[:2] for p in LADDER_RECIPES] == [f"{rung:02d}" for rung in range(10)]
    for rung, path in enumerate(LADDER_RECIPES):
        text = path.read_text()
        assert f'PRESET = "ladder-{rung}"' in text
        assert text.startswith('"""\nTitle: ') and "What the course measured" in text
        assert len(text.splitlines()) <= 120
    assert sorted(p.stem for p in STUDY_RECIPES) == sorted(STUDY_VARIANTS)
    assert sorted(STUDY_VARIANTS) == sorted(kgen.studies.names()[1:])


@pytest.mark.parametrize("path", LADDER_RECIPES, ids=lambda p: p.stem)
def test_ladder_recipe_runs(path, tmp_path, monkeypatch, capsys):
    out = run_recipe(path, [*TINY, "--out", str(tmp_path)], monkeypatch, capsys)
    last = out.strip().splitlines()[-1]
    rung = int(path.name[:2])
    assert last.startswith(f"ladder-{rung}: train accuracy ") and ", test accuracy " in last
    assert (tmp_path / "model.keras").exists()
    assert len((tmp_path / "history.csv").read_text().splitlines()) == 2  # header + 1 epoch


@pytest.mark.parametrize("path", STUDY_RECIPES, ids=lambda p: p.stem)
def test_study_recipe_runs(path, tmp_path, monkeypatch, capsys):
    variants = STUDY_VARIANTS[path.stem]
    out = run_recipe(path, [*TINY, "--out", str(tmp_path), "--variants", variants],
                     monkeypatch, capsys)
    lines = [line for line in out.splitlines() if ": train accuracy " in line]
    assert [line.split(":")[0] for line in lines] == variants.split(",")
    assert sorted(p.stem for p in tmp_path.glob("*.csv")) == sorted(variants.split(","))


def test_study_recipe_refuses_an_unknown_variant(monkeypatch, capsys, tmp_path):
    with pytest.raises(ValueError, match="Did you mean 'group'"):
        run_recipe(RECIPES / "studies" / "normalization.py",
                   [*TINY, "--out", str(tmp_path), "--variants", "gruop"], monkeypatch, capsys)
