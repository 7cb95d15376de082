"""
Title: BatchNorm depends on the batch size; GroupNorm does not
Author: kgen developers
Description: The `bn-batch-size` study as one script: every variant trained from scratch.

The small CNN with BatchNorm and with GroupNorm after every convolution, at
batch sizes 2, 8, 32 and 256. BatchNorm normalizes with the batch's statistics
in training and with running averages at inference; with two images a batch
those differ most. Each GroupNorm variant is compared with the BatchNorm one
of the same batch size. The variants set their own batch sizes: do not pass
--batch-size (it would give them all one).

Each variant is a preset plus overrides, defined once as data in
kgen/studies/builtin.py; `kgen study bn-batch-size` runs the same variants; this
script is that command's runner with its options. Run it on any backend:

    KERAS_BACKEND=jax python recipes/studies/bn_batch_size.py --epochs 5 --only group-256,batch-256
"""

import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")  # a backend set by the user wins

import kgen.cli  # noqa: E402
import kgen.studies  # noqa: E402

# The variants, as data (kgen/studies/builtin.py): each a preset plus overrides.
STUDY = kgen.studies.get("bn-batch-size")

if __name__ == "__main__":
    sys.exit(kgen.cli.run_recipe(STUDY))
