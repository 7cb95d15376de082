"""
Title: Normalization layers compared
Author: kgen developers
Description: The `normalization` study as one script: every variant trained from scratch.

The small CNN (Conv16, Conv32, Conv64 with max pooling, global average pooling,
a linear classifier) with each normalization after every convolution, in the
order Conv -> Norm -> ReLU: none, batch (statistics over the batch and the
image), layer (over each image's H, W and C), instance (over each image's H and
W, per channel), group (channels in groups of 8) and weight normalization
(w = g v / ||v||, no activation statistics at all).

What the course measured (CIFAR-10 test accuracy): none 70.7%, batch 72.2%,
layer 70.5%, instance 69.0%, group 72.3%, weight 72.3%.

Each variant is a preset plus overrides, defined once as data in
kgen/studies/builtin.py; `kgen study normalization --seeds 3` runs the same variants with
repetitions; this script is that command's runner with its options. Run it on any backend:

    KERAS_BACKEND=torch python recipes/studies/normalization.py --epochs 5 --only none,group
"""

import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")  # a backend set by the user wins

import kgen.cli  # noqa: E402
import kgen.studies  # noqa: E402

# The variants, as data (kgen/studies/builtin.py): each a preset plus overrides.
STUDY = kgen.studies.get("normalization")

if __name__ == "__main__":
    sys.exit(kgen.cli.run_recipe(STUDY))
