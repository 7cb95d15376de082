"""
Title: Ladder rung 2: batch normalization
Author: kgen developers
Description: The `ladder-2` rung (the previous rung plus batch normalization), trained from scratch.

BatchNorm after every convolution (Conv -> ReLU -> BN, the course's order)
standardizes each channel over the batch and learns a scale and shift; it
smooths optimization and adds batch noise (`ModelConfig.normalization="batch"`,
PyTorch's momentum 0.1 and epsilon 1e-5). See docs/tricks/batchnorm.md.

What the course measured: 84% validation accuracy on CIFAR-10 (previous rung: 80%).

Run it on any backend (the default here is TensorFlow when KERAS_BACKEND is unset):

    KERAS_BACKEND=jax python recipes/ladder/02_batchnorm.py --epochs 5 --width-scale 0.25

It trains through kgen's study runner (`kgen study`'s options, resumable) and
writes the files of a study: `kgen report runs/recipes/ladder-2` rebuilds its table.
"""

import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")  # a backend set by the user wins

import kgen.cli  # noqa: E402
from kgen.studies import Variant  # noqa: E402

# The trick, as a change of the previous rung: BatchNorm after every convolution.
RUNG = Variant(name="ladder-2", preset="ladder-1", course=84.0,
                model={"normalization": "batch"})

if __name__ == "__main__":
    sys.exit(kgen.cli.run_recipe(RUNG))
