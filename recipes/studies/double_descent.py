"""
Title: Double descent: test error over model width, with label noise
Author: kgen developers
Description: The `double-descent` study as one script: every width trained from scratch.

Nakkiran et al.'s five-layer CNN (convolutions k, 2k, 4k, 8k with BatchNorm,
global max pool, dense) at widths k = 1 to 64, each trained from scratch to the
same number of epochs. With label noise (`--label-noise 0.2`, the default of
this script) the test error over width falls, rises near the width that just
fits the noisy training set, and falls again: the double descent. The widest
models are expensive on a CPU; `--only k1,k2,...` keeps the narrow ones.

Each variant is a preset plus overrides, defined once as data in
kgen/studies/builtin.py; `kgen study double-descent --label-noise 0.2` runs the
same variants; this script is that command's runner with its options. Run it
on any backend:

    KERAS_BACKEND=jax python recipes/studies/double_descent.py --epochs 5 --only k1,k4
"""

import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")  # a backend set by the user wins

import kgen.cli  # noqa: E402
import kgen.studies  # noqa: E402

# The variants, as data (kgen/studies/builtin.py): each a preset plus overrides.
STUDY = kgen.studies.get("double-descent")

DEFAULTS = {"label_noise": 0.2}

if __name__ == "__main__":
    sys.exit(kgen.cli.run_recipe(STUDY, defaults=DEFAULTS))
