"""
Title: Transfer learning: from scratch, a linear probe and a fine-tune
Author: kgen developers
Description: Pretrain on five CIFAR-10 classes, transfer to the other five with 1,000 images.

The course's "use pretrained models" lesson, offline: no weights can be
downloaded here, so the script pretrains its own backbone on a source task
and transfers it to a target task with few images, both carved from one
dataset (`kgen.transfer.class_subset`):

- source: classes 0-4 of CIFAR-10 (airplane, automobile, bird, cat, deer), all
  their training images; the backbone is saved as `backbone.keras` (kept, so a
  second run reuses it);
- target: classes 5-9 (dog, frog, horse, ship, truck), `--target-images` of
  their training images (1,000 by default), scored on all their test images.

Three ways to train for the target, each for `--epochs` epochs, over `--seeds`:

- scratch: the same network from random weights;
- probe: the pretrained backbone frozen (BatchNorm in inference mode), a new
  classifier trained on its features (a linear probe);
- fine-tune: the new classifier trained on the frozen backbone for half the
  epochs, then everything at a tenth of the learning rate for the rest
  (`kgen.transfer.fine_tune`).

    KERAS_BACKEND=tensorflow python recipes/teaching/transfer.py --seeds 3

The dataset defaults to the shared CIFAR-10 folder (`../shared/data`), else the
synthetic one; `--dataset folder:PATH` names another. Results go to `--out`
(results.json), with the command.
"""

import argparse
import dataclasses
import json
import math
import os
import statistics
import sys
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")  # a backend set by the user wins

import kgen.backend  # noqa: E402
import kgen.cli  # noqa: E402

REPOSITORY = Path(__file__).resolve().parents[2]
SHARED_CIFAR10 = REPOSITORY.parent / "shared" / "data" / "cifar10-jpeg" / "train"
ARMS = ("scratch", "probe", "fine-tune")


def parse(argv):
    default_dataset = f"folder:{SHARED_CIFAR10}" if SHARED_CIFAR10.is_dir() else "synthetic"
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[3])
    parser.add_argument("--dataset", default=default_dataset)
    parser.add_argument("--source-classes", default="0,1,2,3,4")
    parser.add_argument("--target-classes", default="5,6,7,8,9")
    parser.add_argument("--target-images", type=int, default=1000)
    parser.add_argument("--preset", default="ladder-2")
    parser.add_argument("--width-scale", type=float, default=0.5)
    parser.add_argument("--pretrain-epochs", type=int, default=10)
    parser.add_argument("--pretrain-batch-size", type=int, default=None,
                        help="of the pretraining (default: the preset's)")
    parser.add_argument("--epochs", type=int, default=10, help="epochs of each target arm")
    parser.add_argument("--batch-size", type=int, default=64, help="of the target arms")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--limit", type=int, default=None, help="training images loaded (tests)")
    parser.add_argument("--out", default="runs/teaching/transfer")
    args = parser.parse_args(argv)
    for name in ("target_images", "pretrain_epochs", "epochs", "batch_size", "seeds"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be at least 1. "
                             f"Received: {name}={getattr(args, name)}")
    if args.epochs < 2:
        raise ValueError(f"--epochs must be at least 2 (the fine-tune has two phases). "
                         f"Received: epochs={args.epochs}")
    args.source_classes = [int(c) for c in args.source_classes.split(",")]
    args.target_classes = [int(c) for c in args.target_classes.split(",")]
    if set(args.source_classes) & set(args.target_classes):
        raise ValueError("The source and target classes must differ. Received: "
                         f"source_classes={args.source_classes}, "
                         f"target_classes={args.target_classes}")
    return args


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    return kgen.cli.handling_errors(lambda: run(parse(argv), argv))


def run(args, argv):
    kgen.backend.start()
    import keras

    from kgen import models, training, transfer
    from kgen.studies import load_limited
    from kgen.studies.runner import git_commit

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data = load_limited(args.dataset, limit=args.limit, validation_split=0.1)
    source = transfer.class_subset(data, args.source_classes)
    preset = models.get(args.preset)
    config = dataclasses.replace(
        preset.model, width_multiplier=preset.model.width_multiplier * args.width_scale)
    print(f"source: {', '.join(source.class_names)}: {len(source.x_train)} training images")

    backbone_path = out / "backbone.keras"
    if backbone_path.exists():
        print(f"pretrained backbone: {backbone_path} (kept from an earlier run)")
    else:
        kgen.backend.set_random_seed(0)
        model = models.build_cnn(config, data.input_shape, source.num_classes,
                                      mean=source.mean, std=source.std, preset=args.preset)
        pretrain = preset.train
        if args.pretrain_batch_size:
            pretrain = dataclasses.replace(pretrain, batch_size=args.pretrain_batch_size)
        training.fit(model, source, pretrain, epochs=args.pretrain_epochs, verbose=0)
        model.save(backbone_path)
    backbone = models.load_model(backbone_path)
    source_accuracy = training.evaluate(backbone, source.x_test, source.y_test)
    print(f"  source test accuracy {100 * source_accuracy:.1f}%")

    results = {arm: [] for arm in ARMS}
    for seed in range(args.seeds):
        target = transfer.class_subset(data, args.target_classes, train_limit=args.target_images,
                                       seed=seed)
        train = dataclasses.replace(preset.train, batch_size=args.batch_size)
        for arm in ARMS:
            keras.backend.clear_session()
            kgen.backend.set_random_seed(seed)
            if arm == "scratch":
                model = models.build_cnn(config, data.input_shape, target.num_classes,
                                              mean=target.mean, std=target.std)
                training.fit(model, target, train, epochs=args.epochs, verbose=0)
            else:
                model = transfer.with_new_head(models.load_model(backbone_path),
                                               target.num_classes)
                head_epochs = args.epochs if arm == "probe" else args.epochs // 2
                transfer.fine_tune(model, target, train, head_epochs=head_epochs,
                                   full_epochs=args.epochs - head_epochs)
            accuracy = training.evaluate(model, target.x_test, target.y_test)
            results[arm].append(accuracy)
            print(f"seed {seed}: {arm}: target test accuracy {100 * accuracy:.1f}%", flush=True)

    test_images = len(transfer.class_subset(data, args.target_classes).x_test)
    print(f"\ntarget: {', '.join(target.class_names)}: {args.target_images} training images, "
          f"{test_images} test images; {args.epochs} epochs per arm, {args.seeds} seeds")
    print("| arm | test accuracy % (mean ± std over seeds) |")
    print("|---|---:|")
    summary = {}
    for arm, values in results.items():
        mean = statistics.mean(values)
        spread = statistics.stdev(values) if len(values) > 1 else None
        summary[arm] = {"test_accuracy": values, "mean": mean, "std": spread}
        print(f"| {arm} | {100 * mean:.1f}" + (f" ± {100 * spread:.1f}" if spread else "") + " |")
    error = math.sqrt(0.5 * 0.5 / test_images)
    print(f"(one accuracy's binomial standard error on {test_images} images: at most "
          f"±{100 * error:.1f} points)")
    (out / "results.json").write_text(json.dumps({
        "command": "python recipes/teaching/transfer.py " + " ".join(argv),
        "commit": git_commit(),
        "backend": keras.backend.backend(), "versions": kgen.backend.versions(
            keras.backend.backend()),
        "source_classes": list(source.class_names), "target_classes": list(target.class_names),
        "source_test_accuracy": source_accuracy, "target_test_images": test_images,
        "arms": summary, "settings": {k: v for k, v in vars(args).items()},
    }, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
