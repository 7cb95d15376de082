"""Input-pipeline cost and peak memory of CIFAR-10-sized training, per backend.

    python benchmarks/input_pipeline.py --backends tensorflow,jax,torch --json out.json

kgen feeds `model.fit` the uint8 arrays themselves: Keras' array adapter shuffles
a permutation of indices each epoch and gathers one uint8 batch at a time (no
float copy of the dataset, no copy per epoch, no per-image Python), and the model
casts, standardizes and augments the batch inside the compiled step. This script
checks both halves of that claim on each backend, in a child process per backend:

- pipeline: milliseconds per batch of `model.fit` on 50,000 images with a model that
  does almost nothing (global average pooling and a classifier), i.e. the
  per-batch cost of slicing, transfer and the step's fixed overhead;
- memory: peak RSS of fitting ResNet-9 width 16 on 50,000 uint8 images for a
  few steps, against the process before `fit` plus the uint8 dataset and one
  batch's float32 activations (forward outputs of every layer, kept for the
  backward pass).
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np

IMAGES = 50_000
BATCH = 256


def rss_mb():
    """Current resident memory of this process (Linux /proc), in MiB."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def measure(steps, count=IMAGES):
    import keras

    from kgen import bench
    from kgen.models import build_cnn

    images, labels = bench.random_dataset(count)
    result = {"backend": keras.backend.backend(), "dataset_mb": images.nbytes / 2**20}

    # Pipeline: a model whose step costs almost nothing.
    inputs = keras.Input((32, 32, 3), dtype="uint8")
    x = keras.layers.Rescaling(1 / 255)(inputs)
    outputs = keras.layers.Dense(10)(keras.layers.GlobalAveragePooling2D()(x))
    tiny = keras.Model(inputs, outputs)
    tiny.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    tiny.fit(images[:BATCH * 4], labels[:BATCH * 4], batch_size=BATCH, epochs=1, verbose=0)
    start = time.perf_counter()
    tiny.fit(images, labels, batch_size=BATCH, epochs=1, verbose=0, shuffle=True)
    seconds = time.perf_counter() - start
    result["pipeline_ms_per_batch"] = 1000 * seconds / (count // BATCH)
    result["images"] = count
    del tiny

    # Memory: ResNet-9 width 16 on the whole uint8 dataset.
    model_config, train_config = bench.preset_configs("resnet9", width=16, batch=BATCH)
    model = build_cnn(model_config, mean=bench.RANDOM_MEAN, std=bench.RANDOM_STD)
    model.compile(keras.optimizers.SGD(0.01, momentum=0.9),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    per_image = sum(int(np.prod(layer.output.shape[1:])) for layer in model.layers[1:])
    result["activations_mb"] = BATCH * per_image * 4 / 2**20
    result["weights_mb"] = model.count_params() * 4 / 2**20
    result["rss_before_fit_mb"] = rss_mb()
    model.fit(images, labels, batch_size=BATCH, epochs=1, steps_per_epoch=steps, verbose=0,
              shuffle=True)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result["expected_peak_mb"] = (result["rss_before_fit_mb"] + result["activations_mb"]
                                  + result["weights_mb"] * 3)  # weights, gradients, momentum
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="tensorflow,jax,torch")
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--images", type=int, default=IMAGES,
                        help="dataset size; compare two sizes to see what scales with it")
    parser.add_argument("--json", default=None)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(measure(args.steps, args.images)))
        return 0
    results = []
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for backend in args.backends.split(","):
        env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3",
                   PYTHONPATH=os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p))
        completed = subprocess.run([sys.executable, __file__, "--child", "--steps", str(args.steps),
                                    "--images", str(args.images)],
                                   env=env, capture_output=True, text=True)
        lines = [line for line in completed.stdout.splitlines() if line.startswith("{")]
        if completed.returncode or not lines:
            print(f"{backend} failed:\n{completed.stderr[-2000:]}", file=sys.stderr)
            continue
        results.append(json.loads(lines[-1]))
    print("| backend | pipeline ms/batch | RSS before fit MB | peak RSS MB | "
          "before + activations + 3 x weights MB | uint8 dataset MB |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['backend']} | {r['pipeline_ms_per_batch']:.1f} | {r['rss_before_fit_mb']:.0f} | "
              f"{r['peak_rss_mb']:.0f} | {r['expected_peak_mb']:.0f} | {r['dataset_mb']:.0f} |")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"results": results, "images": args.images, "batch": BATCH}, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
