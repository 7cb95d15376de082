"""
Title: Weight penalties and constraints: L2, L1, L1 + L2, MaxNorm
Author: kgen developers
Description: The `penalties` study as one script: every variant trained from scratch.

The overfitting study's network (Conv16-Conv32-Conv64, flatten, dense 128)
with each way of keeping weights small, against none: L2, L1 (LASSO), both
(elastic net) and a MaxNorm(3) constraint; then none, L2 and L1 again with
plain SGD and classical momentum, where a penalty's step is the learning rate
times its gradient (Adam rescales it like any other gradient). The report's
kernel table gives the share of near-zero weights (the course's claim for L1
is sparsity) and the largest unit norm (what MaxNorm caps).

Each variant is a preset plus overrides, defined once as data in
kgen/studies/builtin.py; `kgen study penalties` runs the same variants; this
script is that command's runner with its options. Run it on any backend:

    KERAS_BACKEND=jax python recipes/studies/penalties.py --epochs 5 --only none,l1
"""

import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")  # a backend set by the user wins

import kgen.cli  # noqa: E402
import kgen.studies  # noqa: E402

# The variants, as data (kgen/studies/builtin.py): each a preset plus overrides.
STUDY = kgen.studies.get("penalties")

if __name__ == "__main__":
    sys.exit(kgen.cli.run_recipe(STUDY))
