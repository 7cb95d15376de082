"""
Title: CIFAR-10 speedrun, airbench-style, in Keras on any backend
Author: kgen developers
Description: ResNet-9 with airbench's training tricks, for TensorFlow, JAX or PyTorch.

The recipe of Page (2018) and Jordan (2024, airbench) written with kgen and Keras
only: a ResNet-9 (Page's layout), batch 1024, label smoothing 0.2, airbench's
alternating flip, reflect-pad-2 random crop, bfloat16 mixed precision, a short
linear warmup and a linear decay (`kgen.schedules.WarmupLinearDecay`), and
test-time flip averaging. The data stay uint8 until the compiled step casts,
standardizes and augments each batch.

The target is 94% on held-out CIFAR-10 images in a few minutes on one GPU. No
GPU was available where this was written: docs/performance.md records only what
a 2-core CPU gives, and the 94% is not verified here.

It trains through kgen's study runner with `kgen study`'s options, scoring the
folder's untuned `--test-seed 1` split (speedrun_common.py), 5 seeds by default:

    KERAS_BACKEND=jax python recipes/speedrun/cifar10_94.py
    python recipes/speedrun/cifar10_94.py --seeds 1 --epochs 1 --limit 2000
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")  # any of tensorflow, jax, torch
sys.path.insert(0, str(Path(__file__).resolve().parent))

import speedrun_common  # noqa: E402

import kgen.cli  # noqa: E402
from kgen.studies import Variant  # noqa: E402

TITLE = "CIFAR-10 speedrun, airbench-style, in Keras on any backend"
# Page's ResNet-9 ("resnet9": batch norm, the preset's L2 of 2.5e-4 = PyTorch's
# weight_decay 5e-4) at full width, with airbench's augmentation.
SPEEDRUN = Variant(
    name="resnet9",
    preset="resnet9",
    summary="ResNet-9, batch 1024, one-cycle Nesterov SGD, label smoothing 0.2, "
            "alternating flip and reflect-pad-2 crop",
    model={"augmentation": {"flip": "alternating", "pad_crop": 2, "pad_mode": "reflect",
                            "erasing": None}},
    train={
        "optimizer": "sgd",  # Nesterov momentum 0.9, on the mean loss
        "learning_rate": 0.6,  # the peak; Page used 0.4 at batch 512
        "momentum": 0.9,
        "weight_decay": 0.0,  # the preset's L2 instead
        "schedule": "warmup_linear",  # linear from 0 to the peak, then linear to 0
        "warmup_epochs": 2.0,
        "batch_size": 1024,
        "epochs": 16,  # Page's ResNet-9 needed 24 at batch 512; airbench's tricks cut that
        "label_smoothing": 0.2,
    },
)
PRECISION = "mixed_bfloat16"


def main(argv=None):
    defaults = {**speedrun_common.run_options("runs/speedrun/cifar10-94"), "precision": PRECISION}
    return kgen.cli.run_recipe(SPEEDRUN, argv, description=TITLE, defaults=defaults)


if __name__ == "__main__":
    sys.exit(main())
