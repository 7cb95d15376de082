"""
Title: Ladder rung 1: random erasing
Author: kgen developers
Description: The `ladder-1` rung (the previous rung plus random erasing), trained from scratch.

Random erasing (Zhong et al. 2017) blanks a random square covering 1-30% of
the image, with probability 0.75, to the dataset mean (0 after standardization),
during training only. The network can no longer rely on any one region, so it
memorizes less. kgen's `RandomErasing` layer samples like torchvision's
(`Augmentation.erasing`); see docs/tricks/random-erasing.md.

What the course measured: 80% validation accuracy on CIFAR-10 (baseline: 78%).

Run it on any backend (the default here is TensorFlow when KERAS_BACKEND is unset):

    KERAS_BACKEND=jax python recipes/ladder/01_random_erasing.py --epochs 5 --width-scale 0.25

It trains through kgen's study runner (`kgen study`'s options, resumable) and
writes the files of a study: `kgen report runs/recipes/ladder-1` rebuilds its table.
"""

import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")  # a backend set by the user wins

import kgen.cli  # noqa: E402
from kgen.studies import Variant  # noqa: E402

# The trick, as a change of the previous rung: random erasing of square patches.
RUNG = Variant(
    name="ladder-1", preset="ladder-0", course=80.0,
    model={"augmentation": {"erasing": {"p": 0.75, "scale": (0.01, 0.3), "ratio": (1.0, 1.0),
                                        "value": 0.0}}},
)

if __name__ == "__main__":
    sys.exit(kgen.cli.run_recipe(RUNG))
