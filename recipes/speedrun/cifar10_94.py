"""
Title: CIFAR-10 speedrun, airbench-style, in Keras on any backend
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

    KERAS_BACKEND=jax python recipes/speedrun/cifar10_94.py
    python recipes/speedrun/cifar10_94.py --tiny    # one epoch on tiny synthetic data
"""

import argparse
import dataclasses
import os
import sys
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")  # any of tensorflow, jax, torch
sys.path.insert(0, str(Path(__file__).resolve().parent))

import speedrun_common  # noqa: E402

import kgen.models  # noqa: E402
from kgen.models import Augmentation  # noqa: E402

HYPERPARAMETERS = {
    "batch_size": 1024,
    "epochs": 16,  # Page's ResNet-9 needed 24 at batch 512; airbench's tricks cut that
    "peak_learning_rate": 0.6,  # SGD on the mean loss; Page used 0.4 at batch 512
    "warmup_epochs": 2.0,  # linear from 0 to the peak, then linear to 0 at the end
    "momentum": 0.9,  # Nesterov
    "weight_decay": 0.0,  # the preset's L2 of 2.5e-4 (= PyTorch's weight_decay 5e-4) instead
    "label_smoothing": 0.2,
    "precision": "mixed_bfloat16",
}

# Page's ResNet-9 (kgen's "resnet9" preset) with airbench's augmentation:
# alternating flip and reflect pad 2, no erasing.
MODEL = dataclasses.replace(
    kgen.models.get("resnet9").model,
    augmentation=Augmentation(flip="alternating", pad_crop=2, pad_mode="reflect"),
)

TINY = {"batch_size": 64, "epochs": 1, "warmup_epochs": 0.5}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--data", default=None, help="CIFAR-10 train folder (class sub-folders)")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--seeds", type=int, default=1, help="runs, with seeds --seed, --seed + 1, ...")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--split", default="test", choices=speedrun_common.SPLITS,
                        help="score the untuned test images (default) or the tuning ones")
    parser.add_argument("--width", type=float, default=1.0, help="width multiplier")
    parser.add_argument("--limit", type=int, default=None,
                        help="train on a random subset of this many images (timing runs)")
    parser.add_argument("--tiny", action="store_true",
                        help="one epoch of a narrow net on tiny synthetic data (tests)")
    parser.add_argument("--out", default="results/speedrun")
    args = parser.parse_args(argv)

    hyper = dict(HYPERPARAMETERS)
    model = dataclasses.replace(MODEL, width_multiplier=args.width)
    if args.tiny:
        hyper.update(TINY)
        model = dataclasses.replace(model, width_multiplier=0.125)
    if args.epochs:
        hyper["epochs"] = args.epochs
    data = speedrun_common.load_data(args.data, tiny=args.tiny, limit=args.limit, split=args.split)
    print(data.summary())
    runs = speedrun_common.run_seeds(model, hyper, data, range(args.seed, args.seed + args.seeds),
                                     verbose=0 if args.tiny else 2)
    return speedrun_common.write_report(
        runs, args.out, f"cifar10_94-{runs[0]['backend']}",
        command=" ".join(["python", "recipes/speedrun/cifar10_94.py", *(argv or sys.argv[1:])]),
        extra={"split": args.split if data.name.startswith("folder:") else data.name, "width_multiplier": model.width_multiplier,
               "work_budget_epochs": hyper["epochs"]},
    )


if __name__ == "__main__":
    main()
