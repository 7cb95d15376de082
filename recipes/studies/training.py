"""
Title: How to raise training accuracy
Author: kgen developers
Description: The `training` study as one script: every variant trained from scratch.

When a network does not even fit its training data, the fixes are about
optimization, not regularization: a deeper (three convolutions per stage)
sigmoid CNN, then ReLU; inputs scaled to [0, 1], to [-1, 1] or standardized
(the `mean` and `std` the model is built with: [0, 1] is mean 0 and std 1,
[-1, 1] is mean 0.5 and std 0.5); BatchNorm; Glorot vs He initialization; ELU,
SELU, GELU and SiLU instead of ReLU; skip connections; learning-rate decay.

The course gives no figures for this study: run it and look at train accuracy.

Each variant is a preset plus overrides, defined once as data in
kgen/studies/builtin.py; `kgen study training --seeds 3` runs the same variants with
repetitions; this script is that command's runner with its options. Run it on any backend:

    KERAS_BACKEND=torch python recipes/studies/training.py --epochs 5 --only sigmoid,relu
"""

import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")  # a backend set by the user wins

import kgen.cli  # noqa: E402
import kgen.studies  # noqa: E402

# The variants, as data (kgen/studies/builtin.py): each a preset plus overrides.
STUDY = kgen.studies.get("training")

if __name__ == "__main__":
    sys.exit(kgen.cli.run_recipe(STUDY))
