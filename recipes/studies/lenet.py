"""
Title: LeNet with sigmoid, without and with BatchNorm
Author: kgen developers
Description: The `lenet` study as one script: every variant trained from scratch.

LeNet as the course teaches it (5x5 convolutions of 6 and 16 channels, 2x2
average pooling, dense 120 and 84, sigmoid, plain SGD at lr 0.9), and the same
network with BatchNorm after every convolution and hidden dense layer, before
the sigmoid, at lr 1.0 (Dive into Deep Learning's batch-normalization chapter).

Each variant is a preset plus overrides, defined once as data in
kgen/studies/builtin.py; `kgen study lenet` runs the same variants; this
script is that command's runner with its options. Run it on any backend, for
example with 5-fold cross-validation:

    KERAS_BACKEND=jax python recipes/studies/lenet.py --epochs 10 --folds 5
"""

import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")  # a backend set by the user wins

import kgen.cli  # noqa: E402
import kgen.studies  # noqa: E402

# The variants, as data (kgen/studies/builtin.py): each a preset plus overrides.
STUDY = kgen.studies.get("lenet")

if __name__ == "__main__":
    sys.exit(kgen.cli.run_recipe(STUDY))
