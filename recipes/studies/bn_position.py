"""
Title: Where BatchNorm goes: before or after the activation
Author: kgen developers
Description: The `bn-position` study as one script: every variant trained from scratch.

The normalization study's small CNN without normalization, with BatchNorm
between each convolution and its ReLU (Ioffe and Szegedy's placement) and with
BatchNorm after the ReLU (the course ladder's).

Each variant is a preset plus overrides, defined once as data in
kgen/studies/builtin.py; `kgen study bn-position` runs the same variants; this
script is that command's runner with its options. Run it on any backend:

    KERAS_BACKEND=jax python recipes/studies/bn_position.py --epochs 5 --only none,bn-after-relu
"""

import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")  # a backend set by the user wins

import kgen.cli  # noqa: E402
import kgen.studies  # noqa: E402

# The variants, as data (kgen/studies/builtin.py): each a preset plus overrides.
STUDY = kgen.studies.get("bn-position")

if __name__ == "__main__":
    sys.exit(kgen.cli.run_recipe(STUDY))
