"""
Title: Ladder rung 7: more capacity
Author: kgen developers
Description: The `ladder-7` rung (the previous rung plus more capacity), trained from scratch.

Twice the filters (64, 128, 256) and three convolutions per stage, plus
random rotations of up to 5 degrees: once the regularizers hold the gap, a
bigger network can use its capacity (`ModelConfig.stages`,
`Augmentation.rotation_degrees`). See docs/tricks/capacity.md.

What the course measured: 93% validation accuracy, 96% train accuracy on CIFAR-10.

Run it on any backend (the default here is TensorFlow when KERAS_BACKEND is unset):

    KERAS_BACKEND=jax python recipes/ladder/07_capacity.py --epochs 5 --width-scale 0.25

It trains through kgen's study runner (`kgen study`'s options, resumable) and
writes the files of a study: `kgen report runs/recipes/ladder-7` rebuilds its table.
"""

import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")  # a backend set by the user wins

import kgen.cli  # noqa: E402
from kgen.studies import Variant  # noqa: E402

# The trick, as a change of the previous rung: twice the widths, three convolutions
# per stage, and rotations of up to 5 degrees.
RUNG = Variant(
    name="ladder-7", preset="ladder-6", course=93.0,
    model={"stages": [{"width": 64, "convs": 3, "dropout": 0.2},
                      {"width": 128, "convs": 3, "dropout": 0.3},
                      {"width": 256, "convs": 3, "dropout": 0.4}],
           "augmentation": {"rotation_degrees": 5.0}},
)

if __name__ == "__main__":
    sys.exit(kgen.cli.run_recipe(RUNG))
