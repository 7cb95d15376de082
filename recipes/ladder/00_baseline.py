"""
Title: Ladder rung 0: the baseline CNN
Author: kgen developers
Description: The `ladder-0` rung, the network every later rung adds one trick to.

A VGG-like CNN: three stages of two 3x3 convolutions with ReLU and 2x2 max
pooling (32, 64, 128 filters), flatten, a 256-unit dense layer and the classifier;
He-normal initialization, Adam at 1e-3, batch 256. Every later rung adds one trick
to this network. It memorizes its training set: train accuracy runs far ahead of
validation accuracy, and that gap is what the ladder works on.

What the course measured: 78% validation accuracy on CIFAR-10 after 50 epochs.

Run it on any backend (the default here is TensorFlow when KERAS_BACKEND is unset):

    KERAS_BACKEND=jax python recipes/ladder/00_baseline.py --epochs 5 --width-scale 0.25

It trains through kgen's study runner (`kgen study`'s options, resumable) and
writes the files of a study: `kgen report runs/recipes/ladder-0` rebuilds its table.
"""

import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")  # a backend set by the user wins

import kgen.cli  # noqa: E402
from kgen.studies import Variant  # noqa: E402

# The baseline: the ladder-0 preset as it is (`kgen list` shows every preset).
RUNG = Variant(name="ladder-0", preset="ladder-0")

if __name__ == "__main__":
    sys.exit(kgen.cli.run_recipe(RUNG))
