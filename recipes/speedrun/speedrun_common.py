"""What both speedrun recipes share: the data, a time budget, training and the report.

Kept out of the recipes so each recipe reads as its hyperparameters and its model.
"""

import json
import time
from dataclasses import replace
from pathlib import Path

import keras

import kgen.data
from kgen import precision, training
from kgen.data.splits import stratified_subset
from kgen.models import TrainConfig, build_cnn

REPOSITORY = Path(__file__).resolve().parents[2]
# The shared copy of CIFAR-10's 50,000 training images, one folder per class.
SHARED_CIFAR10 = REPOSITORY.parent / "shared" / "data" / "cifar10-jpeg" / "train"
HELD_OUT = 5_000  # images of the 50,000 kept out of training and scored at the end


def load_data(path=None, tiny=False, limit=None):
    """CIFAR-10 from `path` (default: the shared folder) split 45,000 / 5,000,
    stratified; or, with `tiny` or when the folder is absent, a small synthetic set.
    `limit` keeps a seeded, stratified subset of that many training images (for timing runs)."""
    data = _load(path, tiny)
    if limit and limit < len(data.x_train):
        keep = stratified_subset(data.y_train, limit, seed=0)
        data = replace(data, x_train=data.x_train[keep], y_train=data.y_train[keep])
    return data


def _load(path, tiny):
    path = Path(path) if path else SHARED_CIFAR10
    if tiny or not path.is_dir():
        if not tiny:
            print(f"{path} not found: using the synthetic dataset instead.")
        size = 320 if tiny else 12_000
        return kgen.data.load("synthetic", train_size=size, test_size=64, validation_split=0.2)
    # No test/ folder beside train/: take the held-out images as the validation
    # split of the whole folder (test_split=0 keeps all 50,000 for that).
    total = sum(1 for _ in path.glob("*/*"))
    return kgen.data.load(f"folder:{path}", validation_split=HELD_OUT / total, test_split=0.0)


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


def write_report(result, out_dir, name):
    """`<name>.json` with every figure, and one Markdown line to paste into the docs."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    result = {**result, "date": time.strftime("%Y-%m-%d %H:%M")}
    (out_dir / f"{name}.json").write_text(json.dumps(result, indent=2))
    line = (
        f"| {result['backend']} | {result['precision']} | {result['epochs_completed']} | "
        f"{result['train_seconds'] / 60:.1f} | {result['images_per_second']:.0f} | "
        f"{100 * result['held_out_accuracy']:.2f} | {100 * result['held_out_accuracy_flip']:.2f} |"
    )
    print("| backend | precision | epochs | training minutes | images/s | held-out % | "
          "with flip TTA % |")
    print("|---|---|---:|---:|---:|---:|---:|")
    print(line)
    return result


def seed(value):
    """Seeds Python, numpy and the backend (Keras' shuffling draws from numpy's global RNG)."""
    keras.utils.set_random_seed(value)
