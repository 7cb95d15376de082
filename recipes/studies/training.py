"""
Title: How to raise training accuracy
Author: kgen developers
Description: The `training` study as one script: every variant trained from scratch.

When a network does not even fit its training data, the fixes are about
optimization, not regularization: a deeper (three convolutions per stage)
sigmoid CNN, then ReLU; inputs scaled to [0, 1], to [-1, 1] or standardized
(the `mean` and `std` the model is built with: [0, 1] is mean 0 and std 1,
[-1, 1] is mean 0.5 and std 0.5); BatchNorm; Glorot vs He initialization; ELU,
SELU, GELU and SiLU instead of ReLU; skip connections; learning-rate decay.

The course gives no figures for this study: run it and look at train accuracy.

Each variant is a preset plus overrides, defined once as data in
kgen/studies/builtin.py; `kgen study training --seeds 3` runs the same variants with
repetitions, resumable, and writes a report. Run it on any backend:

    KERAS_BACKEND=torch python recipes/studies/training.py --epochs 5 --variants sigmoid,relu
"""

import argparse
import dataclasses
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")  # a backend set by the user wins

import keras  # noqa: E402

import kgen.models  # noqa: E402
import kgen.studies  # noqa: E402
import kgen.training  # noqa: E402
from kgen.validation import check_choice  # noqa: E402

STUDY = "training"
EPOCHS = None  # None: each preset's own (30 or 50); 5 shows the trend in minutes on a CPU
DATASET = "synthetic"  # generated in code, no download; "cifar10" for the course's data

parser = argparse.ArgumentParser(description=f"Train every variant of the {STUDY} study.")
parser.add_argument("--epochs", type=int, default=EPOCHS)
parser.add_argument("--dataset", default=DATASET)
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--out", default=f"runs/recipes/{STUDY}", help="one history CSV per variant")
parser.add_argument("--limit", type=int, help="use only N train (and val, test) images")
parser.add_argument("--width-scale", type=float, default=1.0, help="0.25 for a quick CPU run")
parser.add_argument("--variants", help="comma-separated variant names (default: all)")
args = parser.parse_args()

study = kgen.studies.get(STUDY)
names = [variant.name for variant in study.variants]
chosen = args.variants.split(",") if args.variants else names
for name in chosen:
    check_choice("variant", name, names)  # a typo fails now, not after hours of training
data = kgen.studies.load_limited(args.dataset, limit=args.limit, eval_limit=args.limit)
print(data.summary())
os.makedirs(args.out, exist_ok=True)

for variant in study.variants:
    if variant.name not in chosen:
        continue
    preset, model_config, train_config = kgen.studies.resolve_variant(variant)
    # Input scaling is the mean and std the model standardizes with.
    mean, std = kgen.studies.SCALINGS[variant.scaling] or (data.mean, data.std)
    model_config = dataclasses.replace(
        model_config, width_multiplier=model_config.width_multiplier * args.width_scale
    )
    keras.utils.set_random_seed(args.seed)
    model = kgen.models.build_cnn(model_config, data.input_shape, data.num_classes,
                                  mean=mean, std=std, name=variant.name.replace("-", "_"))
    history = kgen.training.fit(
        model, data, train_config, epochs=args.epochs, verbose=2,
        callbacks=[keras.callbacks.CSVLogger(os.path.join(args.out, f"{variant.name}.csv"))],
    )
    train_accuracy = history.history["accuracy"][-1]
    test_accuracy = kgen.training.evaluate(model, data.x_test, data.y_test)
    course = f" (course: {variant.course}%)" if variant.course is not None else ""
    print(f"{variant.name}: train accuracy {train_accuracy:.4f}, "
          f"test accuracy {test_accuracy:.4f}{course}")
