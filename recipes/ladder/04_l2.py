"""
Title: Ladder rung 4: L2 weight decay
Author: kgen developers
Description: The `ladder-4` rung (the previous rung plus L2 weight decay), trained from scratch.

The course's optimizer, `torch.optim.Adam(lr=1e-3, weight_decay=5e-4)`: each step
adds 5e-4 * W to the gradient of every parameter before Adam's moments, pulling
the weights towards zero (`TrainConfig(optimizer="adam_coupled_decay",
weight_decay=5e-4)`). See docs/tricks/l2.md for L2 vs coupled vs decoupled
weight decay.

What the course measured: no separate figure for this rung.

Run it on any backend (the default here is TensorFlow when KERAS_BACKEND is unset):

    KERAS_BACKEND=jax python recipes/ladder/04_l2.py --epochs 5 --width-scale 0.25

It trains through kgen's study runner (`kgen study`'s options, resumable) and
writes the files of a study: `kgen report runs/recipes/ladder-4` rebuilds its table.
"""

import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")  # a backend set by the user wins

import kgen.cli  # noqa: E402
from kgen.studies import Variant  # noqa: E402

# The trick, as a change of the previous rung: the course's Adam(weight_decay=5e-4),
# an L2 penalty added to every gradient (kgen.optimizers.AdamCoupledDecay).
RUNG = Variant(name="ladder-4", preset="ladder-3",
                train={"optimizer": "adam_coupled_decay", "weight_decay": 5e-4})

if __name__ == "__main__":
    sys.exit(kgen.cli.run_recipe(RUNG))
