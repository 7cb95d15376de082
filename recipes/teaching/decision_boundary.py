"""
Title: Decision boundaries: a random start, a robust fit and an overfit
Author: kgen developers
Description: Two MLPs trained on 100 noisy points of two moons, with the decision boundary drawn every few epochs.

The course opens with three pictures of a classifier on 2-D points: the
boundary of an untrained network (random), one that follows the shape of the
classes (a robust fit), and one that bends around single noisy points (an
overfit). This script makes them with kgen's study runner, as a study of two
variants on the `two-moons` dataset (125 points with noise 0.3, 100 to train
on and 25 to validate on; 2,000 test points from the same distribution):

- `plain-mlp`: three hidden layers of 256 units, nothing against overfitting;
- `course-mlp`: the course's regularized MLP, Dense 60 and 30 with MaxNorm(3)
  and Dropout(0.2) after each (its dropout on the 2 inputs is left out here:
  dropping one of two coordinates erases half a point);

both trained with SGD and classical momentum (lr 0.1, momentum 0.9, batch 16).
Each run records its model's class-1 probability on a grid before training
and every `--every` epochs (`kgen.decision_boundary.boundary_callback`, in
the run's folder), and the script draws seed 0's grids of both variants side
by side as PNG frames, then prints the study's table (train, validation and
test accuracy over the seeds):

    KERAS_BACKEND=jax python recipes/teaching/decision_boundary.py --epochs 300 --every 25 --seeds 5

Frames go to `--out`/frames (frame-000.png, frame-025.png, ...); the runs, the
report and its table to `--out`, readable by `kgen report`. Any viewer that
steps through files plays the frames, or
`ffmpeg -framerate 4 -i frame-%03d.png boundaries.gif` joins them.
"""

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")  # a backend set by the user wins

import kgen.backend  # noqa: E402
import kgen.cli  # noqa: E402
from kgen.data.toy import TWO_MOONS_NOISE as NOISE  # noqa: E402
from kgen.studies import Settings, Study, Variant  # noqa: E402

STUDY = Study(
    name="decision-boundary",
    title="Decision boundaries on two moons: an unregularized and a regularized MLP",
    variants=(
        Variant(name="plain-mlp", preset="plain-mlp"),
        Variant(name="course-mlp", preset="course-mlp", model={"input_dropout": 0.0},
                summary="the course's MLP: Dense 60 and 30 with MaxNorm(3) and Dropout(0.2) "
                        "after each, no input dropout; SGD lr 0.1, classical momentum 0.9",
                compare_to="plain-mlp"),
    ),
)
# 100 points to train on: few enough, with noise 0.3 making the moons overlap,
# that fitting every training point means bending around noise.
POINTS = {"train_size": 125, "validation_split": 0.2}


def parse(argv):
    parser = argparse.ArgumentParser(prog="python decision_boundary.py",
                                     description=__doc__.split("\n")[3])
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--every", type=int, default=25, help="epochs between frames")
    parser.add_argument("--seeds", type=int, default=1,
                        help="runs per variant; the frames are seed 0's")
    parser.add_argument("--out", default="runs/teaching/decision-boundary")
    parser.add_argument("--force", action="store_true",
                        help="retrain runs of other settings in --out from scratch")
    parser.add_argument("--backend", default=None)
    args = parser.parse_args(argv)
    if args.every < 1:
        raise ValueError(f"--every must be at least 1. Received: every={args.every}")
    return args


def main(argv=None):
    return kgen.cli.handling_errors(lambda: run(parse(sys.argv[1:] if argv is None else argv)))


def run(args):
    # Checked before a backend starts or a file is written.
    settings = Settings(dataset="two-moons", epochs=args.epochs, seeds=args.seeds, **POINTS)
    kgen.backend.choose(args.backend)
    kgen.backend.start()

    import numpy as np

    from kgen.decision_boundary import (
        boundary_callback,
        frame_epochs,
        grid_extent,
        grid_path,
        plot_frame,
    )
    from kgen.studies import layout, runner

    out = Path(args.out)
    data = runner.load_dataset(settings)
    x_range, y_range = grid_extent(data.x_train)
    report = None
    # One variant and seed at a time: each run gets the callback that writes
    # into its own folder.
    for index, variant in enumerate(STUDY.variants):
        for seed in range(args.seeds):
            grids = boundary_callback(layout.run_dir(out, variant.name, seed), x_range, y_range,
                                      epochs=args.epochs, every=args.every)
            report = runner.execute(STUDY, settings, out, only=[index], seeds=[seed],
                                    callbacks=[grids], force=args.force)

    frames = out / "frames"
    for stale in frames.glob("frame-*.png"):  # an earlier --every's
        stale.unlink()
    for epoch in frame_epochs(args.epochs, args.every):
        paths = {variant.name: grid_path(layout.run_dir(out, variant.name, 0), epoch)
                 for variant in STUDY.variants}
        missing = [str(path) for path in paths.values() if not path.exists()]
        if missing:
            # Grids are recorded while a run trains: a finished run has those
            # of the --every it was trained with.
            print(f"no frame for epoch {epoch}: no grid {', '.join(missing)} (its run was "
                  "trained with another --every; --force retrains it)")
            continue
        title = "before training (random weights)" if epoch == 0 else f"after {epoch} epochs"
        plot_frame(frames / f"frame-{epoch:03d}.png",
                   [(name, np.load(path)) for name, path in paths.items()],
                   data.x_train, data.y_train,
                   f"{len(data.x_train)} training points, noise {NOISE}: {title}", x_range, y_range)
    print("\n" + "\n".join(report.table))
    print(paired_test_difference(out, args.seeds, len(data.x_test)))
    print(f"frames (seed 0) in {frames}")
    return 0


def paired_test_difference(out, seeds, test_points):
    """course-mlp minus plain-mlp test accuracy, seed by seed: both train on
    the same points, so the difference of a seed is the regularization's
    alone (the validation split holds only 25 points; the test split 2,000)."""
    import math
    import statistics

    from kgen.studies import layout
    from kgen.studies.files import read_json

    accuracy = {variant.name: [read_json(layout.run_dir(out, variant.name, seed) / "result.json")
                               ["test_accuracy"] for seed in range(seeds)]
                for variant in STUDY.variants}
    # A diverged run has no test accuracy: its seed is left out of the pairs.
    differences = [100 * (course - plain)
                   for course, plain in zip(accuracy["course-mlp"], accuracy["plain-mlp"])
                   if course is not None and plain is not None]
    if not differences:
        return "test accuracy, course-mlp − plain-mlp: no seed with both runs completed"
    spread = f" ± {statistics.stdev(differences):.1f}" if len(differences) > 1 else ""
    left_out = seeds - len(differences)
    error = 100 * math.sqrt(0.25 / test_points)
    return (f"test accuracy, course-mlp − plain-mlp: {statistics.mean(differences):+.1f}{spread} "
            f"points (mean ± std over {len(differences)} seed{'s' if len(differences) > 1 else ''}"
            + (f", {left_out} left out: a run diverged" if left_out else "") + ": "
            + ", ".join(f"{d:+.1f}" for d in differences)
            + f"); one test accuracy's binomial standard error is at most ±{error:.1f} on "
            f"{test_points:,} points")


if __name__ == "__main__":
    sys.exit(main())
