"""
Title: Ladder rung 1: random erasing
Author: kgen developers
Description: The `ladder-1` preset (the previous rung plus random erasing), trained from scratch.

Random erasing (Zhong et al. 2017) blanks a random square covering 1-30% of
the image, with probability 0.75, to the dataset mean (0 after standardization),
during training only. The network can no longer rely on any one region, so it
memorizes less. kgen's `RandomErasing` layer samples like torchvision's
(`Augmentation.erasing`); see docs/tricks/random-erasing.md.

What the course measured: 80% validation accuracy on CIFAR-10 (baseline: 78%).

Run it on any backend (the default here is TensorFlow when KERAS_BACKEND is unset):

    KERAS_BACKEND=jax python recipes/ladder/01_random_erasing.py --epochs 5 --width-scale 0.25
"""

import argparse
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")  # a backend set by the user wins

import keras  # noqa: E402

import kgen.models  # noqa: E402
import kgen.studies  # noqa: E402
import kgen.training  # noqa: E402

# The preset holds the model and how to train it (`kgen list` shows them all).
PRESET = "ladder-1"
EPOCHS = 50  # the course's; 5 shows the first epochs in minutes on a CPU
DATASET = "synthetic"  # generated in code, no download; "cifar10" for the course's data

parser = argparse.ArgumentParser(description=f"Train {PRESET} and print its accuracies.")
parser.add_argument("--epochs", type=int, default=EPOCHS)
parser.add_argument("--dataset", default=DATASET)
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--out", default=f"runs/recipes/{PRESET}", help="history.csv, model.keras")
parser.add_argument("--limit", type=int, help="use only N train (and val, test) images")
parser.add_argument("--width-scale", type=float, default=1.0, help="0.25 for a quick CPU run")
args = parser.parse_args()

# Data: uint8 images; the model standardizes them with the train split's mean and std.
data = kgen.studies.load_limited(args.dataset, limit=args.limit, eval_limit=args.limit)
print(data.summary())

# Model: built from scratch with the seed (weights, dropout, augmentation draws).
keras.utils.set_random_seed(args.seed)
preset = kgen.models.get(PRESET)
model = kgen.models.create(PRESET, data.input_shape, data.num_classes, mean=data.mean,
                           std=data.std,
                           width_multiplier=preset.model.width_multiplier * args.width_scale)
print(f"{PRESET}: {preset.summary} ({model.count_params():,} parameters)")

# Training: the preset's optimizer, schedule and batch size; fit compiles the model.
os.makedirs(args.out, exist_ok=True)
history = kgen.training.fit(
    model, data, preset.train, epochs=args.epochs, verbose=2,
    callbacks=[keras.callbacks.CSVLogger(os.path.join(args.out, "history.csv"))],
)
model.save(os.path.join(args.out, "model.keras"))

train_accuracy = history.history["accuracy"][-1]
test_accuracy = kgen.training.evaluate(model, data.x_test, data.y_test)
print(f"{PRESET}: train accuracy {train_accuracy:.4f}, test accuracy {test_accuracy:.4f}")
