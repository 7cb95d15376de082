"""
Title: Normalization layers compared
Author: kgen developers
Description: The `normalization` study as one script: every variant trained from scratch.

The small CNN (Conv16, Conv32, Conv64 with max pooling, global average pooling,
a linear classifier) with each normalization after every convolution, in the
order Conv -> Norm -> ReLU: none, batch (statistics over the batch and the
image), layer (over each image's H, W and C), instance (over each image's H and
W, per channel), group (channels in groups of 8) and weight normalization
(w = g v / ||v||, no activation statistics at all).

What the course measured (CIFAR-10 test accuracy): none 70.7%, batch 72.2%,
layer 70.5%, instance 69.0%, group 72.3%, weight 72.3%.

Each variant is a preset plus overrides, defined once as data in
kgen/studies/builtin.py; `kgen study normalization --seeds 3` runs the same variants with
repetitions, resumable, and writes a report. Run it on any backend:

    KERAS_BACKEND=torch python recipes/studies/normalization.py --epochs 5 --variants none,group
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

STUDY = "normalization"
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
