"""
Title: Ladder rung 5: flip and pad-crop augmentation
Author: kgen developers
Description: The `ladder-5` rung (the previous rung plus flip and pad-crop augmentation), trained from scratch.

Random horizontal flips and random crops of the image padded by 2 pixels,
during training only (`Augmentation.flip="random"`, `Augmentation.pad_crop=2`):
two label-preserving transformations that multiply the effective training set.
See docs/tricks/augmentation.md.

What the course measured: 90.6% validation accuracy and 92% train accuracy on CIFAR-10.

Run it on any backend (the default here is TensorFlow when KERAS_BACKEND is unset):

    KERAS_BACKEND=jax python recipes/ladder/05_flip_crop.py --epochs 5 --width-scale 0.25

It trains through kgen's study runner (`kgen study`'s options, resumable) and
writes the files of a study: `kgen report runs/recipes/ladder-5` rebuilds its table.
"""

import os
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")  # a backend set by the user wins

import kgen.cli  # noqa: E402
from kgen.studies import Variant  # noqa: E402

# The trick, as a change of the previous rung: pad-2 random crops and horizontal flips.
RUNG = Variant(name="ladder-5", preset="ladder-4", course=90.6,
                model={"augmentation": {"pad_crop": 2, "flip": "random"}})

if __name__ == "__main__":
    sys.exit(kgen.cli.run_recipe(RUNG))
