"""Writes the UCI handwritten digits as an image folder: MNIST's stand-in offline.

MNIST cannot be downloaded on the development machine and no copy is shared,
so the MNIST-vs-CIFAR-10 measurement (recipes/studies/mnist_vs_cifar10.py)
uses the one set of real handwritten digits that installs offline: the UCI
"Optical Recognition of Handwritten Digits" test set (1,797 images, 8x8, 17
gray levels, 43 writers) that scikit-learn ships inside its wheel
(`sklearn.datasets.load_digits`). Each image is scaled to 0-255 and enlarged
to 28x28 with bilinear interpolation (MNIST's size), and written as a PNG
under OUT/<digit>/<index>.png, the `folder:` layout kgen loads:

    pip install scikit-learn   # not a kgen dependency: only this script needs it
    python benchmarks/uci_digits_folder.py /tmp/uci-digits
    python recipes/studies/mnist_vs_cifar10.py --easy folder:/tmp/uci-digits ...

It is easier than MNIST in one way (fewer writers, cleaner scans) and harder
in another (8x8 detail, 1,797 images); the page that uses it says so.
"""

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

SIZE = 28


def write_digits(out):
    from sklearn.datasets import load_digits

    digits = load_digits()
    out = Path(out)
    for index, (image, label) in enumerate(zip(digits.images, digits.target)):
        pixels = np.round(image * (255 / 16)).astype(np.uint8)  # 0..16 -> 0..255
        folder = out / str(label)
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels, mode="L").resize((SIZE, SIZE), Image.Resampling.BILINEAR).save(
            folder / f"{index:04d}.png")
    return len(digits.images)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out")
    args = parser.parse_args()
    print(f"wrote {write_digits(args.out)} images to {args.out}")
