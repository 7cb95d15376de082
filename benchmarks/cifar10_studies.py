"""Runs the course's studies on real CIFAR-10 images at CPU scale and writes
docs/results-cifar10.md from their files.

Usage, from the repository root:

    python benchmarks/cifar10_studies.py [--studies overfitting,normalization,ladder]
                                         [--data ../shared/data/cifar10-jpeg/train]
                                         [--backend torch] [--only-doc]

Each study runs as a user types it (the `kgen` command on this page), in its own
process, on the 50,000 CIFAR-10 training images of an image folder: the folder
loader carves 10% of each class off as the test split (never trained on, never
used to choose anything), and each study carves its validation split from the
rest. The small result files of each study (results.csv, results.json,
report.md, the PNGs; not the checkpoints) are copied to docs/results/cifar10-NAME/
with a run.json holding the command, wall time, date, machine and commit; the
page is generated from those files alone (`--only-doc` rebuilds it), so no
figure on it is typed by hand.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from quick_ladder import commit_label, criteria  # noqa: E402

from kgen.bench import machine_info  # noqa: E402
from kgen.studies.files import read_json  # noqa: E402

SHARED_CIFAR10 = ROOT.parent / "shared" / "data" / "cifar10-jpeg" / "train"
RESULTS = ROOT / "docs" / "results"
PAGE = ROOT / "docs" / "results-cifar10.md"
COPIED = ("results.csv", "results.json", "report.md", "learning_curves.png", "accuracy_gap.png")

# The CPU-scale settings of each study: the same for every variant of a study,
# chosen for the time a 2-core machine has (about 90 minutes for all three), before
# any of these runs was seen. A 5% validation split (2,250 images) keeps the
# per-epoch evaluation cheap; the test split is the folder loader's 10% (5,000).
STUDIES = {
    "overfitting": {
        "command": ["study", "overfitting"],
        "options": ["--limit", "5000", "--validation-split", "0.05", "--epochs", "30",
                    "--seeds", "1"],
        "why": "the course's small network at full width on 5,000 training images "
               "(500 per class, as small as the course's own 4-class dataset), the "
               "preset's 30 epochs and batch 32",
    },
    "normalization": {
        "command": ["study", "normalization"],
        "options": ["--limit", "10000", "--validation-split", "0.05", "--epochs", "15",
                    "--batch-size", "64", "--seeds", "1"],
        "why": "small-cnn at full width on 10,000 training images, 15 epochs (the "
               "course: 50,000 images, 30 epochs), batch 64",
    },
    "ladder": {
        "command": ["ladder"],
        "options": ["--limit", "5000", "--validation-split", "0.05", "--width-scale", "0.25",
                    "--epochs", "25", "--batch-size", "32", "--seeds", "1"],
        "why": "all ten rungs at a quarter of the course's width on 5,000 training "
               "images, 25 epochs, batch 32 (the course: full width, 50,000 images, "
               "50 epochs)",
    },
}


def user_command(name, data, backend):
    study = STUDIES[name]
    return ["kgen", *study["command"], "--dataset", f"folder:{data}", *study["options"],
            "--backend", backend, "--out", f"runs/cifar10-{name}"]


def run_study(name, data, backend):
    command = user_command(name, data, backend)
    out_dir = ROOT / command[-1]
    log_path = ROOT / "runs" / f"cifar10-{name}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    start = time.monotonic()
    with open(log_path, "w") as log:
        completed = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    wall = time.monotonic() - start
    if completed.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({completed.returncode}); see {log_path}")
    target = RESULTS / f"cifar10-{name}"
    target.mkdir(parents=True, exist_ok=True)
    for file_name in COPIED:
        shutil.copyfile(out_dir / file_name, target / file_name)
    shown = [part.replace(str(ROOT.parent), "..") for part in command]
    (target / "run.json").write_text(json.dumps({
        "command": " ".join(shown),
        "why": STUDIES[name]["why"],
        "wall_seconds": wall,
        "load_before": load_before,
        "load_after": os.getloadavg(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": machine_info(),
        "commit": commit_label(),
    }, indent=1))




def _percent(stat):
    return "n/a" if stat["mean"] is None else f"{100 * stat['mean']:.1f}"


def _loss(stat):
    return "n/a" if stat["mean"] is None else f"{stat['mean']:.3f}"


def study_section(name):
    folder = RESULTS / f"cifar10-{name}"
    run = json.loads((folder / "run.json").read_text())
    results = read_json(folder / "results.json")
    first = results["runs"][0]
    versions = ", ".join(f"{k} {v}" for k, v in first.get("versions", {}).items())
    machine = run["machine"]
    test_size = next((v["test_size"] for v in results["variants"] if v.get("test_size")), None)
    lines = [
        f"## {name}",
        "",
        "```bash",
        run["command"],
        "```",
        "",
        f"- Scale: {run['why']}; one seed.",
        f"- Ran {run['date']}, {run['wall_seconds'] / 60:.0f} min wall, kgen commit "
        f"`{run['commit']}`, backend {first.get('backend')}; {versions}.",
        f"- Machine: {machine.get('cpu')}, {machine.get('cpu_count')} cores, "
        f"{machine.get('memory_gib')} GiB, no GPU; load average before "
        + ", ".join(f"{x:.2f}" for x in run["load_before"]) + ".",
        f"- Test split: {test_size:,} images (10% of each class, never trained on); one "
        "test accuracy p has a binomial standard error of sqrt(p (1 - p) / n), "
        f"{100 * (0.25 / test_size) ** 0.5:.1f} points at most."
        if test_size else "- Test split size: not recorded.",
        f"- Files: [`docs/results/cifar10-{name}/`](results/cifar10-{name}/) "
        f"([report](results/cifar10-{name}/report.md)).",
        "",
        "| Variant | Train acc % | Val acc % | Test acc % | Δ test (pp) | vs | Gap (pp) "
        "| Best val loss | Test loss | Course % | Course Δ (pp) | Course train % |",
        "|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    by_name = {variant["variant"]: variant for variant in results["variants"]}
    for variant in results["variants"]:
        if not variant["runs"]:
            continue
        course = "" if variant["course"] is None else f"{variant['course']:.1f}"
        course_train = ("" if variant.get("course_train") is None
                        else f"{variant['course_train']:.1f}")
        reference = by_name.get(variant.get("reference") or "")
        change = course_change = ""
        if reference and reference["test_accuracy"]["mean"] is not None \
                and variant["test_accuracy"]["mean"] is not None:
            change = f"{100 * (variant['test_accuracy']['mean'] - reference['test_accuracy']['mean']):+.1f}"
            if variant["course"] is not None and reference["course"] is not None:
                course_change = f"{variant['course'] - reference['course']:+.1f}"
        lines.append(
            f"| {variant['variant']} | {_percent(variant['train_accuracy'])} "
            f"| {_percent(variant['val_accuracy'])} | {_percent(variant['test_accuracy'])} "
            f"| {change} | {variant.get('reference') or ''} | {_percent(variant['gap'])} "
            f"| {_loss(variant['best_val_loss'])} | {_loss(variant['test_loss'])} | {course} "
            f"| {course_change} | {course_train} |"
        )
    note = {
        "ladder": "Course: CIFAR-10 validation accuracy at full width, 50,000 images, 50 "
                  "epochs.",
        "normalization": "Course: CIFAR-10 test accuracy of the same network, full data.",
        "overfitting": "Course: test accuracy on its own 4-class image dataset, not "
                       "CIFAR-10: compare the direction of each remedy, not the level.",
    }[name]
    lines += ["", note, ""]
    if name == "ladder":
        lines += ["What the ladder must show (the quick ladder's criteria, checked on "
                  "`results.json`):", "", "| Criterion | Holds | Measured |", "|---|---|---|"]
        for criterion, measured, holds in criteria(folder / "results.json"):
            lines.append(f"| {criterion} | {'yes' if holds else '**no**'} | {measured} |")
        lines.append("")
    lines += [f"![Learning curves](results/cifar10-{name}/learning_curves.png)", "",
              f"![Accuracy and gap](results/cifar10-{name}/accuracy_gap.png)", ""]
    return lines


def write_page(names):
    done = [name for name in names if (RESULTS / f"cifar10-{name}" / "run.json").exists()]
    missing = [name for name in STUDIES if name not in done]
    lines = [
        "# The course's studies on real CIFAR-10, at CPU scale",
        "",
        "Generated by `python benchmarks/cifar10_studies.py` from the files under",
        "`docs/results/` (rebuild with `--only-doc`); no number on this page was typed by",
        "hand. Data: the 50,000 CIFAR-10 training images as JPEG class folders; the folder",
        "loader holds 10% of each class out as the test split (5,000 images) and each",
        "study holds 5% of the rest out for validation (2,250 images; `--limit` then",
        "keeps a seeded, stratified subset of the training images). The settings were",
        "fixed before any of these runs. The course's figures were measured",
        "at full scale, so compare the direction of each change, not the level.",
        "",
        "To repeat a row, type its command; to compare with your own machine, also run",
        "`kgen bench --backends torch` for the machine's speed.",
        "",
    ]
    if missing:
        lines += [f"Not run yet: {', '.join(missing)}.", ""]
    for name in done:
        lines += study_section(name)
    PAGE.write_text("\n".join(lines))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", default=",".join(STUDIES))
    parser.add_argument("--data", default=str(SHARED_CIFAR10))
    parser.add_argument("--backend", default="torch")
    parser.add_argument("--only-doc", action="store_true")
    args = parser.parse_args()
    names = [name.strip() for name in args.studies.split(",")]
    unknown = [name for name in names if name not in STUDIES]
    if unknown:
        raise SystemExit(f"unknown study {unknown[0]!r}; choose from {', '.join(STUDIES)}")
    if not args.only_doc:
        if not Path(args.data).is_dir():
            raise SystemExit(f"no CIFAR-10 image folder at {args.data} (see --data)")
        for name in names:
            print(f"{' '.join(user_command(name, args.data, args.backend))} ...", flush=True)
            run_study(name, args.data, args.backend)
            write_page(list(STUDIES))
    write_page(list(STUDIES))
    print(f"wrote {PAGE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
