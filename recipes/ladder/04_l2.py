"""
Title: Ladder rung 4: L2 weight decay
Author: kgen developers
Description: The `ladder-4` preset (the previous rung plus L2 weight decay), trained from scratch.

The course's optimizer, `torch.optim.Adam(lr=1e-3, weight_decay=5e-4)`: each step
adds 5e-4 * W to the gradient of every parameter before Adam's moments, pulling
the weights towards zero (`TrainConfig(optimizer="adam_coupled_decay",
weight_decay=5e-4)`). See docs/tricks/l2.md for L2 vs coupled vs decoupled
weight decay.

What the course measured: no separate figure for this rung.

Run it on any backend (the default here is TensorFlow when KERAS_BACKEND is unset):

    KERAS_BACKEND=jax python recipes/ladder/04_l2.py --epochs 5 --width-scale 0.25
"""

import argparse
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")  # a backend set by the user wins

import keras  # noqa: E402

import kgen.models  # noqa: E402
import kgen.studies  # noqa: E402
import kgen.training  # noqa: E402

# The preset holds the model and how to train it (`kgen list` shows them all).
PRESET = "ladder-4"
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
