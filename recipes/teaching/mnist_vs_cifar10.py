"""
Title: The same network on MNIST and on CIFAR-10
Author: kgen developers
Description: A 2-conv + MLP network fits handwritten digits and not photos.

The CNN-training lesson opens with this: a small network (`two-conv`: two 3x3
convolutions, 32 and 64 channels, with ReLU and max pooling, then a dense
layer of 128) that reaches about 99% on MNIST reaches far less on CIFAR-10,
trained the same way. Digits are centred, gray and alike; photos vary in pose,
colour, background and scale, so the network must learn much more from the
same number of images, and the ways to raise training accuracy (the `training`
study) start from here.

The script trains the one variant on two datasets, each as a study of its own
through kgen's runner (`OUT/easy/` and `OUT/hard/`, each readable by
`kgen report`), with the same number of training images, epochs and seeds, and
prints both side by side:

    KERAS_BACKEND=jax python recipes/studies/mnist_vs_cifar10.py --limit 5000 --seeds 3

`--easy` defaults to `mnist` (Keras' mnist.npz, downloaded where there is a
network; see docs/datasets.md) and `--hard` to `cifar10`; any dataset name or
`folder:PATH` works for either. Both are trained at their own size and
channels: the network is built for each dataset's input shape.
"""

import argparse
import math
import os
import statistics
import sys
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")  # a backend set by the user wins

import kgen.backend  # noqa: E402
import kgen.cli  # noqa: E402
from kgen.studies import Settings, Variant  # noqa: E402

VARIANT = Variant(name="two-conv", preset="two-conv",
                  summary="2 convs (32, 64) + dense 128, Adam 1e-3")


def parse(argv):
    parser = argparse.ArgumentParser(prog="python mnist_vs_cifar10.py",
                                     description=__doc__.split("\n")[3])
    parser.add_argument("--easy", default="mnist", help="the digits dataset (default: mnist)")
    parser.add_argument("--hard", default="cifar10",
                        help="the photos dataset (default: cifar10)")
    parser.add_argument("--limit", type=int, default=5000,
                        help="training images of each dataset (the same for both)")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=None,
                        help="default: the preset's (128)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--out", default="runs/recipes/mnist-vs-cifar10")
    parser.add_argument("--backend", default=None)
    return parser.parse_args(argv)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    return kgen.cli.handling_errors(lambda: run(parse(argv), argv))


def run(args, argv):
    # Checked before a backend starts or a file is written.
    settings = {role: Settings(dataset=dataset, limit=args.limit, epochs=args.epochs,
                               batch_size=args.batch_size, seeds=args.seeds)
                for role, dataset in (("easy", args.easy), ("hard", args.hard))}
    kgen.backend.choose(args.backend)
    kgen.backend.start()
    import keras

    from kgen.studies import Study, layout, runner
    from kgen.studies.files import read_json, write_json
    from kgen.studies.runner import git_commit

    study = Study(name="two-conv", variants=(VARIANT,), title="The same network on two datasets")
    rows = []
    for role, role_settings in settings.items():
        out = Path(args.out) / role
        print(f"\n== {role}: {role_settings.dataset} -> {out}")
        runner.execute(study, role_settings, out)
        runs = [layout.run_dir(out, VARIANT.name, seed) for seed in range(args.seeds)]
        results = [read_json(run / "result.json") for run in runs]
        test_images = read_json(runs[0] / "config.json")["dataset"]["test"]
        rows.append((role, role_settings.dataset, results, test_images))

    print(f"\n{VARIANT.summary}; {args.limit:,} training images at most, {args.epochs} epochs, "
          f"{args.seeds} seed{'s' if args.seeds > 1 else ''}; mean ± std over seeds")
    print("| Dataset | Train images | Train accuracy | Test accuracy | Test images "
          "| Train − val gap (pp) |")
    print("|---|---:|---:|---:|---:|---:|")
    for role, dataset, results, test_images in rows:
        print(f"| {role}: {dataset} | {results[0]['train_images']:,} "
              f"| {spread([r['train_accuracy'] for r in results])} "
              f"| {spread([r['test_accuracy'] for r in results])} "
              f"| {test_images:,} | {spread([r['gap'] for r in results])} |")
    sizes = " and ".join(f"±{100 * math.sqrt(0.25 / n):.1f} points on {n:,}"
                         for *_, n in rows)
    print(f"(one test accuracy's binomial standard error is at most {sizes} images)")
    write_json(Path(args.out) / "results.json", {
        "command": "python recipes/teaching/mnist_vs_cifar10.py " + " ".join(argv),
        "commit": git_commit(), "backend": keras.backend.backend(),
        "versions": kgen.backend.versions(keras.backend.backend()),
        "variant": VARIANT.to_dict(), "limit": args.limit, "epochs": args.epochs,
        "datasets": [{"role": role, "dataset": dataset, "test_images": test_images,
                      "train_images": results[0]["train_images"],
                      **{metric: [r[metric] for r in results]
                         for metric in ("train_accuracy", "val_accuracy", "test_accuracy", "gap")}}
                     for role, dataset, results, test_images in rows],
    })
    return 0


def spread(values):
    """`values` (fractions) as "mean ± std" in percent (the std with two or more)."""
    mean = 100 * statistics.mean(values)
    if len(values) < 2:
        return f"{mean:.1f}"
    return f"{mean:.1f} ± {100 * statistics.stdev(values):.1f}"


if __name__ == "__main__":
    sys.exit(main())
