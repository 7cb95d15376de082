"""`kgen` that stops at a chosen point and waits there, for the SIGKILL tests
(tests/test_studies_resume.py); the hooks live here, not in kgen.

    python tests/pausing_kgen.py POINT study --file ... --out ...

Points: "loading-data" (the dataset loaded), "train:VARIANT:SEED:EPOCH:BATCH"
(after that batch, both 0-based) and "write:NAME" (a file named NAME written
to its temporary file, not yet renamed). At the point it prints
"kgen-test: paused at POINT" and sleeps.
"""

import os
import sys
import time
from pathlib import Path

import keras

import kgen.cli
import kgen.training
from kgen.studies import runner


def pause(point, wanted):
    if point == wanted:
        print(f"kgen-test: paused at {point}", flush=True)
        time.sleep(600)


class PauseAtBatch(keras.callbacks.Callback):
    def __init__(self, prefix, wanted):
        super().__init__()
        self.prefix, self.wanted, self.epoch = prefix, wanted, 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        pause(f"{self.prefix}:{self.epoch}:{batch}", self.wanted)


def install(wanted):
    real_replace, real_load, real_run_one, real_fit = (
        os.replace, runner.load_dataset, runner.run_one, kgen.training.fit)
    current = {}

    def replace(source, target, *args, **kwargs):
        pause(f"write:{Path(target).name}", wanted)
        return real_replace(source, target, *args, **kwargs)

    def load_dataset(settings):
        data = real_load(settings)
        pause("loading-data", wanted)
        return data

    def run_one(planned_variant, settings, data, seed, *args, **kwargs):
        current["prefix"] = f"train:{planned_variant.variant.name}:{seed}"
        return real_run_one(planned_variant, settings, data, seed, *args, **kwargs)

    def fit(model, dataset, train_config, *args, callbacks=(), **kwargs):
        callbacks = [*callbacks, PauseAtBatch(current["prefix"], wanted)]
        return real_fit(model, dataset, train_config, *args, callbacks=callbacks, **kwargs)

    os.replace = replace
    runner.load_dataset, runner.run_one, kgen.training.fit = load_dataset, run_one, fit


if __name__ == "__main__":
    install(sys.argv[1])
    sys.exit(kgen.cli.main(sys.argv[2:]))
