"""
Title: Transfer learning: from scratch, a linear probe and a fine-tune
Author: kgen developers
Description: Pretrain on five CIFAR-10 classes, transfer to the other five with 1,000 images.

The course's "use pretrained models" lesson, offline: no weights can be
downloaded here, so the script pretrains its own backbone on a source task
and transfers it to a target task with few images, both carved from one
dataset (`Settings.classes`):

- source: classes 0-4 of CIFAR-10 (airplane, automobile, bird, cat, deer), all
  their training images; the pretraining is a study of its own
  (`OUT/pretrain/`) whose run saves the backbone as its `model.keras`;
- target: classes 5-9 (dog, frog, horse, ship, truck), `--target-images` of
  their training images (1,000 by default, the same stratified subset for
  every seed), scored on all their test images.

Three ways to train for the target, each for `--epochs` epochs, over `--seeds`:

- scratch: the same network from random weights;
- probe: the pretrained backbone frozen (BatchNorm in inference mode), a new
  classifier trained on its features (a linear probe);
- fine-tune: the new classifier trained on the frozen backbone for half the
  epochs, then everything at a tenth of the learning rate for the rest.

Each arm is a variant whose `transfer` training field says how it starts
(`"probe"`, `"fine-tune"`, or none for scratch), trained by the study runner
behind every study into `OUT/target/`, with the report every study has.

    KERAS_BACKEND=tensorflow python recipes/teaching/transfer.py --seeds 3

The dataset defaults to the shared CIFAR-10 folder (`../shared/data`), else the
synthetic one; `--dataset folder:PATH` names another. The script is
`kgen transfer` with these defaults (`kgen.studies.transfer.compare`): `--source-dataset cifar100`
pretrains on CIFAR-100 instead, `--backbone FILE` transfers a kgen `.keras`
model of your own.
"""

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")  # a backend set by the user wins

import kgen.cli  # noqa: E402

REPOSITORY = Path(__file__).resolve().parents[2]
SHARED_CIFAR10 = REPOSITORY.parent / "shared" / "data" / "cifar10-jpeg" / "train"


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    default_dataset = f"folder:{SHARED_CIFAR10}" if SHARED_CIFAR10.is_dir() else "synthetic"
    parser = argparse.ArgumentParser(prog="python recipes/teaching/transfer.py",
                                     description=__doc__.split("\n")[3])
    kgen.cli.add_transfer_options(parser, default_dataset=default_dataset,
                                  default_out="runs/teaching/transfer")
    return kgen.cli.handling_errors(lambda: kgen.cli.run_transfer(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
