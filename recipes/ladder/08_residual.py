"""
Title: Ladder rung 8: residual connections
Author: kgen developers
Description: The `ladder-8` rung (the previous rung plus residual connections), trained from scratch.

A shortcut around every block, y = F(x) + x (a 1x1 convolution where the
width changes), so gradients reach early layers directly
(`ModelConfig.residual=True`). See docs/tricks/residual.md.

What the course measured: 93% validation accuracy, 97% train accuracy on CIFAR-10.

Run it on any backend (the default here is TensorFlow when KERAS_BACKEND is unset):

    KERAS_BACKEND=jax python recipes/ladder/08_residual.py --epochs 5 --width-scale 0.25

It trains through kgen's study runner (`kgen study`'s options, resumable) and
writes the files of a study: `kgen report runs/recipes/ladder-8` rebuilds its table.
"""

import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")  # a backend set by the user wins

import kgen.cli  # noqa: E402
from kgen.studies import Variant  # noqa: E402

# The trick, as a change of the previous rung: a skip connection around every block.
RUNG = Variant(name="ladder-8", preset="ladder-7", course=93.0, model={"residual": True})

if __name__ == "__main__":
    sys.exit(kgen.cli.run_recipe(RUNG))
