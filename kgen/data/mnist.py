"""MNIST and Fashion-MNIST from the files `keras.datasets` uses, offline first.

MNIST: `<data_dir>/mnist.npz` (keys x_train, y_train, x_test, y_test), read with
`allow_pickle=False` and checked against the sha256 Keras publishes.
Fashion-MNIST: the four gzipped IDX files under `<data_dir>/fashion-mnist/`,
checked by their IDX headers and sizes.
"""

import gzip
import math
import zlib

import numpy as np

from kgen.data import storage
from kgen.data.storage import DatasetFileError, file_digest, resolve_data_dir
from kgen.validation import received

KERAS_DATASETS_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
MNIST_FILE = "mnist.npz"
MNIST_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
FASHION_FOLDER = "fashion-mnist"
FASHION_FILES = {
    "x_train": "train-images-idx3-ubyte.gz",
    "y_train": "train-labels-idx1-ubyte.gz",
    "x_test": "t10k-images-idx3-ubyte.gz",
    "y_test": "t10k-labels-idx1-ubyte.gz",
}
MNIST_CLASS_NAMES = tuple(str(digit) for digit in range(10))
FASHION_CLASS_NAMES = (
    "t-shirt/top", "trouser", "pullover", "dress", "coat",
    "sandal", "shirt", "sneaker", "bag", "ankle boot",
)
# IDX magic numbers: 0x00000801 = unsigned byte, rank 1; 0x00000803 = rank 3.
_IDX_LABELS_MAGIC = 2049
_IDX_IMAGES_MAGIC = 2051
# Most bytes a gzipped IDX file may inflate to. The Fashion-MNIST files carry no
# published checksum, so this cap is what stops a gzip bomb: the largest real
# file (train images) holds 47 MB.
MAX_IDX_BYTES = 256 * 2**20


def load_mnist(data_dir=None, pad_to_32=False, rgb=False):
    """MNIST digits as (N, 28, 28, 1) uint8 (see `_shape_images` for the options)."""
    _check_flags(pad_to_32, rgb)
    data_dir = resolve_data_dir(data_dir)
    path = storage.fetch(MNIST_FILE, KERAS_DATASETS_URL + MNIST_FILE, data_dir, dataset="mnist")
    _check_sha256(path, MNIST_SHA256)
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in ("x_train", "y_train", "x_test", "y_test")}
    except Exception as error:  # not a zip, missing key, object arrays, truncated
        raise DatasetFileError(
            f"{path} is corrupt or not the Keras mnist.npz ({type(error).__name__}: {error}). "
            f"Delete it and place it again. {received('path', str(path))}"
        ) from None
    return _finish(arrays, MNIST_CLASS_NAMES, pad_to_32, rgb, path)


def load_fashion_mnist(data_dir=None, pad_to_32=False, rgb=False):
    """Fashion-MNIST as (N, 28, 28, 1) uint8 (see `_shape_images` for the options)."""
    _check_flags(pad_to_32, rgb)
    data_dir = resolve_data_dir(data_dir)
    arrays = {}
    for key, filename in FASHION_FILES.items():
        path = storage.fetch(
            filename, KERAS_DATASETS_URL + filename, data_dir,
            subdir=FASHION_FOLDER, dataset="fashion_mnist",
        )
        arrays[key] = read_idx(path, images=key.startswith("x"))
    return _finish(arrays, FASHION_CLASS_NAMES, pad_to_32, rgb, data_dir / FASHION_FOLDER)


def read_idx(path, images):
    """Parses a gzipped IDX file of uint8 images (N, H, W) or labels (N,).

    Inflates the header first and then exactly the bytes it promises, plus one
    to detect more: a gzip stream never inflates past `MAX_IDX_BYTES`.
    """
    rank = 3 if images else 1
    header_size = 4 * (1 + rank)
    try:
        with gzip.open(path, "rb") as handle:
            header = handle.read(header_size)
            shape = _idx_shape(header, header_size, rank, images, path)
            expected = math.prod(shape)  # Python int: three 32-bit sizes overflow int64
            if expected > MAX_IDX_BYTES:
                raise DatasetFileError(
                    f"{path} promises {shape} values ({expected} bytes), more than the "
                    f"{MAX_IDX_BYTES}-byte cap for an IDX file (the largest Fashion-MNIST "
                    f"file holds 47 MB): it is not a genuine dataset file. "
                    f"{received('path', str(path))}"
                )
            raw = handle.read(expected + 1)
    except DatasetFileError:
        raise
    except (OSError, EOFError, zlib.error) as error:
        raise DatasetFileError(
            f"{path} is corrupt or truncated ({type(error).__name__}: {error}). "
            f"Delete it and place it again. {received('path', str(path))}"
        ) from None
    if len(raw) > expected:
        raise DatasetFileError(
            f"{path} holds more data than its header promises ({shape} values); it is "
            f"corrupt or not a genuine IDX file. {received('path', str(path))}"
        )
    if len(raw) < expected:
        raise DatasetFileError(
            f"{path} is truncated: its header promises {shape} values but it holds "
            f"{len(raw)}. {received('path', str(path))}"
        )
    return np.frombuffer(raw, dtype=np.uint8).reshape(shape)


def _idx_shape(header, header_size, rank, images, path):
    magic = int.from_bytes(header[:4], "big") if len(header) >= 4 else None
    expected_magic = _IDX_IMAGES_MAGIC if images else _IDX_LABELS_MAGIC
    if magic != expected_magic or len(header) < header_size:
        raise DatasetFileError(
            f"{path} is not an IDX {'image' if images else 'label'} file (magic number "
            f"{magic}, expected {expected_magic}). {received('path', str(path))}"
        )
    return tuple(int.from_bytes(header[4 + 4 * i: 8 + 4 * i], "big") for i in range(rank))


def _check_sha256(path, expected):
    actual = file_digest(path, "sha256")
    if actual != expected:
        raise DatasetFileError(
            f"{path} is corrupt or not the Keras mnist.npz: its sha256 is "
            f"{actual}, expected {expected}. Delete it and place it again. "
            f"{received('path', str(path))}"
        )


def _check_flags(pad_to_32, rgb):
    for name, value in (("pad_to_32", pad_to_32), ("rgb", rgb)):
        if not isinstance(value, bool):
            raise TypeError(f"`{name}` must be True or False. {received(name, value)}")


def _finish(arrays, class_names, pad_to_32, rgb, source):
    for key in ("x_train", "x_test"):
        images = arrays[key]
        if images.dtype != np.uint8 or images.ndim != 3:
            raise DatasetFileError(
                f"{source}: {key} must be uint8 (N, H, W) images, found dtype "
                f"{images.dtype} and shape {images.shape}. {received('path', str(source))}"
            )
        arrays[key] = _shape_images(images, pad_to_32, rgb)
    for key, images_key in (("y_train", "x_train"), ("y_test", "x_test")):
        labels = np.asarray(arrays[key]).reshape(-1)
        if labels.dtype.kind not in "iu":
            raise DatasetFileError(
                f"{source}: {key} must hold integer class ids, found dtype {labels.dtype}. "
                f"{received('path', str(source))}"
            )
        if len(labels) != len(arrays[images_key]):
            raise DatasetFileError(
                f"{source}: {len(labels)} labels for {len(arrays[images_key])} images in "
                f"{key}. {received('path', str(source))}"
            )
        bad = np.flatnonzero((labels < 0) | (labels >= len(class_names)))
        if len(bad):
            value = int(labels[bad[0]])
            raise DatasetFileError(
                f"{source}: {key}[{bad[0]}] is {value}, not a class id in "
                f"[0, {len(class_names)}); the file is corrupt. "
                f"Received: path={str(source)!r}, label={value}"
            )
        arrays[key] = labels.astype(np.int64)
    return arrays["x_train"], arrays["y_train"], arrays["x_test"], arrays["y_test"], class_names


def _shape_images(images, pad_to_32, rgb):
    """(N, 28, 28) -> (N, 28, 28, 1).

    `pad_to_32=True` adds a 2-pixel black border (32x32, the CIFAR size, so the
    same model fits both); `rgb=True` repeats the channel three times.
    """
    images = images[..., None]
    if pad_to_32:
        images = np.pad(images, ((0, 0), (2, 2), (2, 2), (0, 0)))
    if rgb:
        images = np.repeat(images, 3, axis=-1)
    return np.ascontiguousarray(images)
