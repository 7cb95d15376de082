"""What both speedrun recipes share: the data, a work or time budget, training
over seeds and the report.

Kept out of the recipes so each recipe reads as its hyperparameters and its model.

Which images score a recipe. The hyperparameters of both recipes were chosen
(2026-11-22) by scoring 5,000 images of the 50,000 CIFAR-10 training images:
the "tuning" split, `stratified_split(labels, 0.1, seed=0)`. Those images say
nothing new about settings chosen on them, so by default a recipe scores 5,000
other images, drawn (stratified, seed 1) from the 45,000 that were never scored
while tuning, and trains on the remaining 45,000 (the tuning images included,
as a final fit after tuning does). `--split tuning` gives the old split back,
for anyone tuning the recipes further.
"""

import json
import math
import time
from dataclasses import replace
from pathlib import Path

import keras
import numpy as np

import kgen.data
from kgen import precision, training
from kgen.data.splits import stratified_split, stratified_subset, take_rows
from kgen.data.statistics import exact_channel_statistics
from kgen.models import TrainConfig, build_cnn

REPOSITORY = Path(__file__).resolve().parents[2]
# The shared copy of CIFAR-10's 50,000 training images, one folder per class.
SHARED_CIFAR10 = REPOSITORY.parent / "shared" / "data" / "cifar10-jpeg" / "train"
HELD_OUT = 5_000  # images of the 50,000 kept out of training and scored at the end
SPLITS = ("test", "tuning")
TUNING_SEED = 0  # the seed of the split the hyperparameters were chosen on
TEST_SEED = 1  # the seed that draws the untuned test images


def held_out_indices(labels, split="test", held_out=HELD_OUT):
    """`(train, scored)` indices into `labels` (all of the images) for `split`.

    "tuning": the `held_out` images the recipes' hyperparameters were chosen
    on. "test": `held_out` images drawn from the others, so never scored while
    tuning. Both stratified; `train` is every image not scored.
    """
    if split not in SPLITS:
        raise ValueError(f"`split` must be one of {SPLITS}. Received: split={split!r}")
    labels = np.asarray(labels)
    not_tuning, tuning = stratified_split(labels, held_out / len(labels), TUNING_SEED)
    if split == "tuning":
        return not_tuning, tuning
    scored = not_tuning[stratified_subset(labels[not_tuning], held_out, TEST_SEED)]
    return np.setdiff1d(np.arange(len(labels)), scored, assume_unique=True), scored


def load_data(path=None, tiny=False, limit=None, split="test"):
    """CIFAR-10 from `path` (default: the shared folder) as 45,000 training
    images and 5,000 scored ones (`held_out_indices`, in the `x_val` arrays);
    or, with `tiny` or when the folder is absent, a small synthetic set.
    `limit` keeps a seeded, stratified subset of that many training images (for timing runs)."""
    data = _load(path, tiny, split)
    if limit and limit < len(data.x_train):
        keep = stratified_subset(data.y_train, limit, seed=0)
        data = replace(data, x_train=data.x_train[keep], y_train=data.y_train[keep])
    return data


def _load(path, tiny, split):
    path = Path(path) if path else SHARED_CIFAR10
    if tiny or not path.is_dir():
        if not tiny:
            print(f"{path} not found: using the synthetic dataset instead.")
        size = 320 if tiny else 12_000
        return kgen.data.load("synthetic", train_size=size, test_size=64, validation_split=0.2)
    # No test/ folder beside train/: all 50,000 images come back as train
    # images (test_split=0) and are split here.
    everything = kgen.data.load(f"folder:{path}", validation_split=0.0, test_split=0.0)
    train, scored = held_out_indices(everything.y_train, split)
    x_train = take_rows(everything.x_train, train)
    mean, std = exact_channel_statistics(x_train)
    return replace(
        everything, name=f"{everything.name} ({split} split)",
        x_train=x_train, y_train=take_rows(everything.y_train, train),
        x_val=take_rows(everything.x_train, scored), y_val=take_rows(everything.y_train, scored),
        mean=mean, std=std,
    )


class TimeBudget(keras.callbacks.Callback):
    """Stops training once `seconds` of training time have passed (checked after
    every step), so a slow or shared machine cannot run past the budget; counts
    the steps run. `seconds=None`: no budget, only the count."""

    def __init__(self, seconds=None):
        super().__init__()
        self.seconds = seconds
        self.stopped_early = False
        self.steps = 0

    def on_train_begin(self, logs=None):
        self.start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1
        if self.seconds is not None and time.perf_counter() - self.start > self.seconds:
            self.stopped_early = True
            self.model.stop_training = True


def train_and_evaluate(model_config, hyper, data, budget_seconds=None, verbose=2):
    """Builds the model under `hyper["precision"]`, trains it with kgen.training.fit
    and scores the held-out images with and without the test-time flip.

    Without a budget: `hyper["epochs"]` epochs of one warmup-then-linear-decay
    schedule. With `budget_seconds`: one warm-up epoch (learning rate rising
    linearly to the peak), then as many epochs as the time left allows at the
    speed that epoch showed (at most `hyper["epochs"]` in all), with the rate
    decaying linearly to zero over exactly those epochs. So the schedule ends
    inside the budget on a fast or a slow backend alike; a `TimeBudget` still
    stops training if the machine slows down further.
    """
    with precision.policy(hyper["precision"]):
        model = build_cnn(model_config, data.input_shape, data.num_classes,
                          mean=data.mean, std=data.std, name="speedrun")
    # Validation only at the end: a per-epoch pass over 5,000 images costs ~3%.
    held_out = dataset_without_validation(data)
    start = time.perf_counter()
    if budget_seconds is None:
        budget = TimeBudget()
        config = _train_config(hyper, hyper["epochs"], hyper["warmup_epochs"])
        losses = training.fit(model, held_out, config, callbacks=[budget],
                              verbose=verbose).history["loss"]
        steps, stopped = budget.steps, False
    else:
        budget = TimeBudget(budget_seconds)
        warmup = training.fit(model, held_out, _train_config(hyper, 1, 1.0),
                              callbacks=[budget], verbose=verbose).history
        losses, steps, stopped = list(warmup["loss"]), budget.steps, budget.stopped_early
        left = budget_seconds - (time.perf_counter() - start)
        # The warm-up epoch's time includes one compilation, as the next fit's will.
        epochs = min(int(left // warmup["seconds"][0]), hyper["epochs"] - 1)
        if epochs >= 1 and not stopped:
            budget = TimeBudget(left)
            decay = training.fit(model, held_out, _train_config(hyper, epochs, 0.0),
                                 callbacks=[budget], verbose=verbose).history
            losses += decay["loss"]
            steps, stopped = steps + budget.steps, budget.stopped_early
    train_seconds = time.perf_counter() - start
    x_eval, y_eval = data.x_val, data.y_val
    return {
        "backend": keras.backend.backend(),
        "precision": hyper["precision"],
        "train_images": int(len(data.x_train)),
        "held_out_images": int(len(x_eval)),
        "epochs_completed": len(losses),
        "stopped_by_budget": stopped,
        "train_steps": steps,
        "train_seconds": train_seconds,
        # Compilation included; the last batch of an epoch may be partial.
        "images_per_second": min(steps * hyper["batch_size"],
                                 len(losses) * len(data.x_train)) / train_seconds,
        "final_train_loss": float(losses[-1]),
        "held_out_accuracy": training.evaluate(model, x_eval, y_eval),
        "held_out_accuracy_flip": training.evaluate(model, x_eval, y_eval, flip=True),
        "parameters": int(model.count_params()),
        "hyperparameters": hyper,
        "dataset": data.name,
    }


def _train_config(hyper, epochs, warmup_epochs):
    return TrainConfig(
        optimizer="sgd",
        learning_rate=hyper["peak_learning_rate"],
        momentum=hyper["momentum"],  # Nesterov
        weight_decay=hyper["weight_decay"],
        schedule="warmup_linear",  # kgen.schedules.WarmupLinearDecay
        warmup_epochs=warmup_epochs,
        batch_size=hyper["batch_size"],
        epochs=epochs,
        label_smoothing=hyper["label_smoothing"],
    )


def dataset_without_validation(data):
    return replace(data, x_val=data.x_val[:0], y_val=data.y_val[:0])


def run_seeds(model_config, hyper, data, seeds, budget_seconds=None, verbose=2, log=print):
    """`train_and_evaluate` once per seed (a fresh model each time); returns the results."""
    results = []
    for index, value in enumerate(seeds, start=1):
        log(f"seed {value} ({index} of {len(seeds)})")
        seed(value)
        result = train_and_evaluate(model_config, hyper, data, budget_seconds, verbose)
        result["seed"] = value
        log(f"  {result['epochs_completed']} epochs in {result['train_seconds']:.0f} s: "
            f"{_percent(result['held_out_accuracy'])} held out, "
            f"{_percent(result['held_out_accuracy_flip'])} with flip TTA")
        results.append(result)
        keras.backend.clear_session()
    return results


def summarize(runs):
    """Mean, sample std, min and max over the runs of each accuracy, plus the
    binomial standard error one run has on the scored images (the test set's
    own noise, which the spread over seeds includes)."""
    summary = {"seeds": [run["seed"] for run in runs], "n": len(runs)}
    scored = runs[0]["held_out_images"]
    for key in ("held_out_accuracy", "held_out_accuracy_flip", "epochs_completed",
                "train_seconds", "images_per_second"):
        values = np.array([run[key] for run in runs], dtype=np.float64)
        summary[key] = {
            "mean": float(values.mean()),
            "std": float(values.std(ddof=1)) if len(values) > 1 else None,
            "min": float(values.min()), "max": float(values.max()),
        }
    for key in ("held_out_accuracy", "held_out_accuracy_flip"):
        p = summary[key]["mean"]
        summary[key]["binomial_se_one_run"] = math.sqrt(p * (1 - p) / scored)
    return summary


def measure_reference(log=print):
    """Images/s of `kgen bench`'s plain-PyTorch reference (ResNet-9 at width 16,
    batch 256, DataLoader with 2 workers), the yardstick that lets a reader
    scale this run's wall time to their machine. None (and a message) when it
    cannot run, e.g. without PyTorch."""
    from kgen import bench

    measured = bench.run_reference_child(bench.BenchConfig(steps=40, warmup_steps=5))
    if measured.get("error"):
        log(f"The plain-PyTorch reference could not be measured: {measured['error']}")
        return None
    log(f"plain-PyTorch reference: {measured['images_per_second']:.0f} images/s")
    return {"images_per_second": measured["images_per_second"],
            "bench": "kgen bench --preset resnet9 --width 16 --batch 256 --steps 40 (reference)"}


def write_report(runs, out_dir, name, command, references=(), extra=None):
    """`<name>.json` with every run, their summary and the reference
    throughput before and after; prints a Markdown table of the runs and the
    summary line to paste into the docs. Returns the report dict."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    report = {
        "command": command,
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "backend": runs[0]["backend"],
        **(extra or {}),
        "reference": list(references),
        "summary": summarize(runs),
        "runs": runs,
    }
    (out_dir / f"{name}.json").write_text(json.dumps(report, indent=2))
    print("| seed | epochs | training minutes | images/s | held-out % | with flip TTA % |")
    print("|---:|---:|---:|---:|---:|---:|")
    for run in runs:
        print(f"| {run['seed']} | {run['epochs_completed']} | {run['train_seconds'] / 60:.1f} | "
              f"{run['images_per_second']:.0f} | {100 * run['held_out_accuracy']:.2f} | "
              f"{100 * run['held_out_accuracy_flip']:.2f} |")
    summary = report["summary"]
    rates = [f"{r['images_per_second']:.0f}" for r in references if r]
    print(f"{report['backend']}, {summary['n']} seed(s), {report.get('split')} split: "
          f"{_mean_std(summary['held_out_accuracy'])} held out, "
          f"{_mean_std(summary['held_out_accuracy_flip'])} with flip TTA; "
          f"reference {' / '.join(rates) or 'not measured'} images/s; "
          f"wrote {out_dir / (name + '.json')}")
    return report


def _percent(value):
    return f"{100 * value:.2f}%"


def _mean_std(figures):
    if figures["std"] is None:
        return _percent(figures["mean"])
    return f"{100 * figures['mean']:.2f} +- {100 * figures['std']:.2f}%"


def seed(value):
    """Seeds Python, numpy and the backend (Keras' shuffling draws from numpy's global RNG)."""
    keras.utils.set_random_seed(value)
