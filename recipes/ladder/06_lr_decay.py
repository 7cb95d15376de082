"""
Title: Ladder rung 6: learning-rate decay
Author: kgen developers
Description: The `ladder-6` rung (the previous rung plus learning-rate decay), trained from scratch.

Exponential learning-rate decay: the rate during epoch e is 1e-3 * 0.96^e,
stepped once per epoch as PyTorch's `ExponentialLR`
(`TrainConfig.schedule="exponential"`, `gamma=0.96`). Late epochs take smaller
steps and settle into a minimum. See docs/tricks/lr-decay.md.

What the course measured: 90.6% validation accuracy, train accuracy up from 92% to 98% on CIFAR-10.

Run it on any backend (the default here is TensorFlow when KERAS_BACKEND is unset):

    KERAS_BACKEND=jax python recipes/ladder/06_lr_decay.py --epochs 5 --width-scale 0.25

It trains through kgen's study runner (`kgen study`'s options, resumable) and
writes the files of a study: `kgen report runs/recipes/ladder-6` rebuilds its table.
"""

import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")  # a backend set by the user wins

import kgen.cli  # noqa: E402
from kgen.studies import Variant  # noqa: E402

# The trick, as a change of the previous rung: the learning rate times 0.96 every epoch.
RUNG = Variant(name="ladder-6", preset="ladder-5", course=90.6,
                train={"schedule": "exponential", "gamma": 0.96})

if __name__ == "__main__":
    sys.exit(kgen.cli.run_recipe(RUNG))
