"""
Title: Where sigmoid stops learning: depth with sigmoid and with ReLU
Author: kgen developers
Description: The `sigmoid-depth` study as one script: every variant trained from scratch.

The training study's plain CNN with 3, 6, 9 and 12 convolutions, with sigmoid
and with ReLU. This script records each kernel's gradient norm after every
epoch (`--gradient-norms` is on by default here): the report's figure shows the
gradient shrinking layer by layer towards the input with sigmoid, whose slope
is at most 1/4.

Each variant is a preset plus overrides, defined once as data in
kgen/studies/builtin.py; `kgen study sigmoid-depth` runs the same variants; this
script is that command's runner with its options. Run it on any backend:

    KERAS_BACKEND=jax python recipes/studies/sigmoid_depth.py --epochs 5 --only sigmoid-3,relu-3
"""

import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")  # a backend set by the user wins

import kgen.cli  # noqa: E402
import kgen.studies  # noqa: E402

# The variants, as data (kgen/studies/builtin.py): each a preset plus overrides.
STUDY = kgen.studies.get("sigmoid-depth")

DEFAULTS = {'gradient_norms': True}

if __name__ == "__main__":
    sys.exit(kgen.cli.run_recipe(STUDY, defaults=DEFAULTS))
