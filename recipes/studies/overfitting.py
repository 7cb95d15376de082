"""
Title: Fighting overfitting, one remedy at a time
Author: kgen developers
Description: The `overfitting` study as one script: every variant trained from scratch.

A VGG-like CNN with a flatten + dense head overfits; the variants add, one
after the other: an L2 penalty, Dropout, DropConnect on the dense layer, global
average pooling instead of flatten (a head with far fewer weights), flip and
pad-crop augmentation, and early stopping that restores the best epoch.

What the course measured (test accuracy on its own 4-class image-folder dataset,
not CIFAR-10): 83.0%, + L2 84.9%, + Dropout 86.5%, + DropConnect 84.9%,
+ GAP 90.9%, + augmentation 89.6%.

Each variant is a preset plus overrides, defined once as data in
kgen/studies/builtin.py; `kgen study overfitting --seeds 3` runs the same variants with
repetitions; this script is that command's runner with its options. Run it on any backend:

    KERAS_BACKEND=torch python recipes/studies/overfitting.py --epochs 5 --only base,gap
"""

import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")  # a backend set by the user wins

import kgen.cli  # noqa: E402
import kgen.studies  # noqa: E402

# The variants, as data (kgen/studies/builtin.py): each a preset plus overrides.
STUDY = kgen.studies.get("overfitting")

if __name__ == "__main__":
    sys.exit(kgen.cli.run_recipe(STUDY))
