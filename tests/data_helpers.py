"""Builders of small dataset files in the official formats, for the data tests.

The official archives cannot be downloaded here, so each test writes a few
images in exactly the layout the real files use and checks the loader reads
them back pixel for pixel.
"""

import gzip
import hashlib
import io
import pickle
import pickletools
import tarfile
from pathlib import Path

import numpy as np
from PIL import Image


def random_images(count, seed=0, size=32, channels=3):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (count, size, size, channels), dtype=np.uint8)


def to_cifar_rows(images):
    """(N, 32, 32, 3) -> (N, 3072) rows of CHW planes, the CIFAR storage order."""
    return images.transpose(0, 3, 1, 2).reshape(len(images), -1)


def md5_of(path):
    return hashlib.md5(Path(path).read_bytes()).hexdigest()


def pickle_bytes(obj):
    """A pickle shaped like the original Python 2 CIFAR batches.

    Those are protocol-2 pickles whose byte strings are Python 2 `str`
    (BINSTRING opcodes, read back as bytes under encoding="bytes") and whose
    arrays name `numpy.core.multiarray._reconstruct`. Python 3 cannot write
    that directly (protocol 2 would wrap bytes in `_codecs.encode`), so this
    writes protocol 3 and rewrites its bytes opcodes and numpy module name.
    """
    python3 = pickle.dumps(obj, protocol=3)
    operations = list(pickletools.genops(python3))
    python2 = bytearray()
    for index, (opcode, _, position) in enumerate(operations):
        end = operations[index + 1][2] if index + 1 < len(operations) else len(python3)
        chunk = python3[position:end]
        if opcode.name == "PROTO":
            chunk = b"\x80\x02"
        elif opcode.name == "SHORT_BINBYTES":
            chunk = b"U" + chunk[1:]  # SHORT_BINSTRING: same length byte and payload
        elif opcode.name == "BINBYTES":
            chunk = b"T" + chunk[1:]  # BINSTRING: same 4-byte length and payload
        elif opcode.name == "GLOBAL":
            chunk = chunk.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
        python2 += chunk
    return bytes(python2)


def cifar10_python_files(train, test, class_names):
    """{member name: bytes} of cifar-10-batches-py; `train` is split over 5 batches."""
    (x_train, y_train), (x_test, y_test) = train, test
    files = {}
    for index, part in enumerate(np.array_split(np.arange(len(x_train)), 5), start=1):
        files[f"data_batch_{index}"] = pickle_bytes({
            b"batch_label": f"training batch {index} of 5".encode(),
            b"labels": [int(label) for label in y_train[part]],
            b"data": to_cifar_rows(x_train[part]),
            b"filenames": [f"image_{i}.png".encode() for i in part],
        })
    files["test_batch"] = pickle_bytes({
        b"batch_label": b"testing batch 1 of 1",
        b"labels": [int(label) for label in y_test],
        b"data": to_cifar_rows(x_test),
        b"filenames": [f"test_{i}.png".encode() for i in range(len(x_test))],
    })
    files["batches.meta"] = pickle_bytes({
        b"label_names": [name.encode() for name in class_names],
        b"num_cases_per_batch": 10000,
        b"num_vis": 3072,
    })
    return files


def cifar10_binary_files(train, test, class_names):
    (x_train, y_train), (x_test, y_test) = train, test

    def records(x, y):
        return np.concatenate([y.astype(np.uint8)[:, None], to_cifar_rows(x)], axis=1).tobytes()

    files = {}
    for index, part in enumerate(np.array_split(np.arange(len(x_train)), 5), start=1):
        files[f"data_batch_{index}.bin"] = records(x_train[part], y_train[part])
    files["test_batch.bin"] = records(x_test, y_test)
    files["batches.meta.txt"] = ("\n".join(class_names) + "\n\n").encode()
    return files


def cifar100_python_files(train, test, fine_names, coarse_names):
    """`train`/`test` are (x, fine_labels, coarse_labels)."""
    files = {}
    for name, (x, fine, coarse) in (("train", train), ("test", test)):
        files[name] = pickle_bytes({
            b"filenames": [f"{name}_{i}.png".encode() for i in range(len(x))],
            b"batch_label": f"{name} batch".encode(),
            b"fine_labels": [int(label) for label in fine],
            b"coarse_labels": [int(label) for label in coarse],
            b"data": to_cifar_rows(x),
        })
    files["meta"] = pickle_bytes({
        b"fine_label_names": [n.encode() for n in fine_names],
        b"coarse_label_names": [n.encode() for n in coarse_names],
    })
    return files


def cifar100_binary_files(train, test, fine_names, coarse_names):
    files = {}
    for name, (x, fine, coarse) in (("train", train), ("test", test)):
        labels = np.stack([coarse, fine], axis=1).astype(np.uint8)  # coarse byte first
        files[f"{name}.bin"] = np.concatenate([labels, to_cifar_rows(x)], axis=1).tobytes()
    files["fine_label_names.txt"] = "\n".join(fine_names).encode()
    files["coarse_label_names.txt"] = "\n".join(coarse_names).encode()
    return files


def write_tar_gz(path, folder, files, extra_members=()):
    """Writes `files` under `folder/` in a .tar.gz; `extra_members` are raw TarInfos
    (name, bytes or None, kind) for planting unsafe entries."""
    with tarfile.open(path, "w:gz") as tar:
        directory = tarfile.TarInfo(folder)
        directory.type = tarfile.DIRTYPE
        tar.addfile(directory)
        for name, data in files.items():
            info = tarfile.TarInfo(f"{folder}/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for info, data in extra_members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return Path(path)


def write_folder(path, files):
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (path / name).write_bytes(data)
    return path


def idx_gz_bytes(array):
    """A gzipped IDX file (uint8 images (N, H, W) or labels (N,))."""
    magic = 2051 if array.ndim == 3 else 2049
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return gzip.compress(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes())


def write_image_folder(root, images_per_class, seed=0, size=32, extension="png",
                       class_names=("cat", "dog")):
    """`root/<class>/<i>.<ext>` with random images; returns {class: [arrays]}."""
    root = Path(root)
    written = {}
    for offset, name in enumerate(class_names):
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        images = random_images(images_per_class, seed=seed + offset, size=size)
        for index, image in enumerate(images):
            Image.fromarray(image).save(folder / f"{index:04d}.{extension}")
        written[name] = images
    return written
