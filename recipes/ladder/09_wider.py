"""
Title: Ladder rung 9: a wider network
Author: kgen developers
Description: The `ladder-9` rung (the previous rung plus a wider network), trained from scratch.

Every convolution twice as wide (`ModelConfig.width_multiplier=2.0`; filters
128, 256, 512): the top of the ladder. See docs/tricks/capacity.md.

What the course measured: 94.5% validation accuracy, 98.3% train accuracy on CIFAR-10.

Run it on any backend (the default here is TensorFlow when KERAS_BACKEND is unset):

    KERAS_BACKEND=jax python recipes/ladder/09_wider.py --epochs 5 --width-scale 0.25

It trains through kgen's study runner (`kgen study`'s options, resumable) and
writes the files of a study: `kgen report runs/recipes/ladder-9` rebuilds its table.
"""

import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")  # a backend set by the user wins

import kgen.cli  # noqa: E402
from kgen.studies import Variant  # noqa: E402

# The trick, as a change of the previous rung: every convolution twice as wide.
RUNG = Variant(name="ladder-9", preset="ladder-8", course=94.5,
                model={"width_multiplier": 2.0})

if __name__ == "__main__":
    sys.exit(kgen.cli.run_recipe(RUNG))
