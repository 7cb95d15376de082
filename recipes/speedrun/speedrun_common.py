"""What both speed recipes share: where CIFAR-10 is, the run options they
default to, and turning a time budget into a work budget.

Kept out of the recipes so each recipe reads as its variant: the preset and
what it changes. Both train through kgen's study runner (`kgen.cli.run_recipe`,
the runner of `kgen study`), so a speedrun is a study of one variant over
seeds: resumable, one folder per seed, and `kgen report OUT` gives the mean
and spread of its test accuracy, with and without test-time flip averaging,
its training time and the plain-PyTorch reference's speed measured around it.

Which images score a recipe. The hyperparameters of both recipes were chosen
(2026-11-22) by scoring 5,000 of the 50,000 CIFAR-10 training images: the
folder loader's default test split (`--test-seed 0`). Those images say nothing
new about settings chosen on them, so the recipes score `--test-seed 1`: 5,000
other images, drawn (stratified) from the 45,000 that split never held, and
train on the remaining 45,000 (the tuning images included, as a final fit
after tuning does). `--test-seed 0` gives the tuning split back, for anyone
tuning the recipes further.
"""

import argparse
import math
import statistics
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]
# The shared copy of CIFAR-10's 50,000 training images, one folder per class.
SHARED_CIFAR10 = REPOSITORY.parent / "shared" / "data" / "cifar10-jpeg" / "train"
UNTUNED_TEST_SEED = 1  # kgen.data.load_folder: a test split the tuning never scored
TIMED_STEPS = 12  # steps timed by `epochs_for_minutes`, after one compiling step
# The share of the probe's speed that whole epochs reach. On the 2-core machine
# (TensorFlow, 2026-12-05/06) the 12-step probe on random images ran at 1,667
# images/s while whole epochs on the real images ran at 1,143 (idle, 15 epochs):
# 0.69 of it, and a budget planned at the probe's speed overran by 30%. So
# budgets are planned at 0.65 of the probe's speed.
PROBE_SPEED_SHARE = 0.65


def run_options(out, seeds=5):
    """The recipe's defaults for `kgen.cli.run_recipe`: CIFAR-10 from the shared
    folder scored on its untuned test split (or the synthetic dataset, with a
    message, where the folder is absent), no validation split (the settings
    are fixed: nothing is chosen during training), `seeds` seeds, test-time flip
    averaging, and the reference's speed measured around the runs."""
    if SHARED_CIFAR10.is_dir():
        dataset = {"dataset": f"folder:{SHARED_CIFAR10}", "test_seed": UNTUNED_TEST_SEED}
    else:
        print(f"{SHARED_CIFAR10} not found: the default dataset is the synthetic one "
              "(--dataset folder:PATH for your copy of CIFAR-10's training images).")
        dataset = {"dataset": "synthetic"}
    return {**dataset, "validation_split": 0.0, "seeds": seeds, "flip_tta": True,
            "reference": True, "out": out}


def split_minutes(argv):
    """`(minutes, rest)`: the recipe's own `--minutes M` option, and the
    arguments left for `run_recipe`."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--minutes", type=float, default=None)
    known, rest = parser.parse_known_args(argv)
    if known.minutes is not None and not (math.isfinite(known.minutes) and known.minutes > 0):
        raise ValueError(f"--minutes must be a positive number of minutes. "
                         f"Received: minutes={known.minutes}")
    return known.minutes, rest


def fit_to_minutes(variant, minutes, argv, defaults, log=print):
    """`variant` with the epochs (at most its own) that fit in `minutes` on this
    machine, for the data and options `argv` gives the recipe (`epochs_for_minutes`)."""
    import dataclasses

    import kgen.cli

    # First the backend, quietly (recipe_settings starts it); then the runner,
    # which imports Keras.
    settings = kgen.cli.recipe_settings(variant, argv, defaults)
    from kgen.studies import Study, runner

    if settings.epochs is not None:
        raise ValueError("--minutes chooses the epochs; give --minutes or --epochs, not both. "
                         f"Received: minutes={minutes}, epochs={settings.epochs}")
    planned, = runner.plan(Study(name=variant.name, variants=(variant,)), settings)
    data = runner.load_dataset(settings)
    epochs = epochs_for_minutes(planned.model, planned.train, minutes, len(data.x_train),
                                settings.precision, log=log)
    return dataclasses.replace(variant, train={**variant.train, "epochs": epochs})


def epochs_for_minutes(model_config, train_config, minutes, train_images, precision="float32",
                       log=print):
    """The epochs of `model_config` trained with `train_config` (at most its
    `epochs`, at least one) that fit in `minutes` on this machine, backend and
    `precision`, for `train_images` training images.

    A time budget becomes a work budget before training starts: the model
    trains one compiling step and `TIMED_STEPS` timed steps on random images
    of CIFAR's shape (speed does not depend on the pixels), and the budget less
    that compilation is divided by the time of an epoch at the median step
    time. The run is then an ordinary run of that many epochs, with one
    learning-rate schedule over all of them; a machine that slows down during
    the run makes it overrun the budget.
    """
    import keras

    from kgen import precision as precisions
    from kgen import training
    from kgen.bench import RANDOM_MEAN, RANDOM_STD, random_images_dataset
    from kgen.models import build_cnn

    batch = train_config.batch_size
    dataset = random_images_dataset(batch * (TIMED_STEPS + 1))

    class StepTimer(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.seconds = []

        def on_train_batch_begin(self, batch, logs=None):
            self.start = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            # Reading the loss waits for the step (JAX dispatches asynchronously).
            keras.ops.convert_to_numpy(logs["loss"])
            self.seconds.append(time.perf_counter() - self.start)

    timer = StepTimer()
    with precisions.policy(precision):
        model = build_cnn(model_config, mean=RANDOM_MEAN, std=RANDOM_STD)
    training.fit(model, dataset, train_config, epochs=1, callbacks=[timer], verbose=0)
    keras.backend.clear_session()
    compile_seconds, step_seconds = timer.seconds[0], statistics.median(timer.seconds[1:])
    epoch_seconds = math.ceil(train_images / batch) * step_seconds / PROBE_SPEED_SHARE
    epochs = epochs_that_fit(minutes, compile_seconds, epoch_seconds, train_config.epochs)
    log(f"--minutes {minutes:g}: {batch / step_seconds:.0f} images/s measured over "
        f"{TIMED_STEPS} steps, planned at {PROBE_SPEED_SHARE:.0%} of it: "
        f"{epoch_seconds:.0f} s an epoch, {compile_seconds:.0f} s to compile: "
        f"{epochs} epoch{'s' if epochs > 1 else ''} (at most {train_config.epochs})")
    return epochs


def epochs_that_fit(minutes, compile_seconds, epoch_seconds, max_epochs):
    """Whole epochs of `epoch_seconds` that fit in `minutes` after
    `compile_seconds`: at least one, at most `max_epochs`."""
    fitting = int((60 * minutes - compile_seconds) // epoch_seconds)
    return max(1, min(fitting, max_epochs))
