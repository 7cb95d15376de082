"""
Title: Decision boundaries: a random start, a robust fit and an overfit
Author: kgen developers
Description: Two MLPs trained on 100 noisy points of two moons, with the decision boundary drawn every few epochs.

The course opens with three pictures of a classifier on 2-D points: the
boundary of an untrained network (random), one that follows the shape of the
classes (a robust fit), and one that bends around single noisy points (an
overfit). This script makes them with Keras: the same 100 training points,

- `plain-mlp`: three hidden layers of 256 units, nothing against overfitting;
- `course-mlp`: the course's regularized MLP, Dense 60 and 30 with MaxNorm(3)
  and Dropout(0.2) after each (its dropout on the 2 inputs is left out here:
  dropping one of two coordinates erases half a point);

both trained with SGD and classical momentum (lr 0.1, momentum 0.9, batch 16),
and writes a PNG frame of both boundaries before training and every
`--every` epochs, then prints each model's train and test accuracy (test: 2,000
fresh points from the same distribution) with the test set's binomial error.

    KERAS_BACKEND=jax python recipes/teaching/decision_boundary.py --epochs 300 --every 25

Frames go to `--out` (frame-000.png, frame-025.png, ...) with summary.json; any
viewer that steps through files plays them, or
`ffmpeg -framerate 4 -i frame-%03d.png boundaries.gif` joins them.
"""

import argparse
import json
import math
import os
import sys
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")  # a backend set by the user wins

import kgen.backend  # noqa: E402
import kgen.cli  # noqa: E402

TRAIN_POINTS = 100
TEST_POINTS = 2000
NOISE = 0.3  # wide enough that the classes overlap: an exact fit must be an overfit


def parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[3])
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--every", type=int, default=25, help="epochs between frames")
    parser.add_argument("--seed", type=int, default=0, help="seed of the points and the weights")
    parser.add_argument("--out", default="runs/teaching/decision-boundary")
    args = parser.parse_args(argv)
    for name in ("epochs", "every"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name} must be at least 1. "
                             f"Received: {name}={getattr(args, name)}")
    return args


def main(argv=None):
    return kgen.cli.handling_errors(lambda: run(parse(sys.argv[1:] if argv is None else argv)))


def run(args):
    kgen.backend.start()
    import keras

    import kgen.models as presets
    from kgen.data.toy import two_moons
    from kgen.decision_boundary import plot_frame
    from kgen.training import compile_model

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    x_train, y_train = two_moons(TRAIN_POINTS, noise=NOISE, seed=args.seed)
    x_test, y_test = two_moons(TEST_POINTS, noise=NOISE, seed=args.seed + 1)
    kgen.backend.set_random_seed(args.seed)
    models = {
        "plain-mlp": presets.create_mlp("plain-mlp", 2, 2),
        "course-mlp": presets.create_mlp("course-mlp", 2, 2, input_dropout=0.0),
    }
    batch_size = presets.get_mlp("course-mlp").train.batch_size
    steps = math.ceil(TRAIN_POINTS / batch_size)
    for name, model in models.items():
        train = presets.get_mlp(name).train
        compile_model(model, train, steps_per_epoch=steps, epochs=args.epochs)

    def frame(epoch):
        path = out / f"frame-{epoch:03d}.png"
        title = "before training (random weights)" if epoch == 0 else f"after {epoch} epochs"
        plot_frame(path, list(models.items()), x_train, y_train,
                   f"{TRAIN_POINTS} training points, noise {NOISE}: {title}")
        return path

    frames = [frame(0)]
    for epoch in range(args.epochs):
        for model in models.values():
            model.fit(x_train, y_train, batch_size=batch_size, epochs=epoch + 1,
                      initial_epoch=epoch, verbose=0, shuffle=True)
        if (epoch + 1) % args.every == 0 or epoch + 1 == args.epochs:
            frames.append(frame(epoch + 1))

    summary = {"epochs": args.epochs, "seed": args.seed, "train_points": TRAIN_POINTS,
               "test_points": TEST_POINTS, "noise": NOISE, "backend": keras.backend.backend(),
               "models": {}}
    print(f"after {args.epochs} epochs ({keras.backend.backend()}, seed {args.seed}):")
    for name, model in models.items():
        train_accuracy = accuracy(model, x_train, y_train)
        test_accuracy = accuracy(model, x_test, y_test)
        error = math.sqrt(test_accuracy * (1 - test_accuracy) / TEST_POINTS)
        summary["models"][name] = {"train_accuracy": train_accuracy,
                                   "test_accuracy": test_accuracy,
                                   "test_standard_error": error}
        print(f"  {name}: train {100 * train_accuracy:.1f}%, test {100 * test_accuracy:.1f}% "
              f"± {100 * error:.1f} (binomial standard error, {TEST_POINTS} points)")
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"{len(frames)} frames in {out}")
    return 0


def accuracy(model, x, y):
    import numpy as np

    logits = model.predict(x, batch_size=4096, verbose=0)
    return float(np.mean(np.argmax(logits, axis=-1) == y))


if __name__ == "__main__":
    sys.exit(main())
