"""CIFAR-10 and CIFAR-100 from the official archives, offline first.

Looked for in the data directory, in this order: an extracted python-version
folder, an extracted binary-version folder (also the folders `keras.datasets`
leaves behind), the python-version archive, the binary-version archive; only
when none is there is the python archive downloaded from the official URL.
Archives are md5-checked and read in memory (`kgen.data.safe_archive`).
"""

from dataclasses import dataclass
from numbers import Integral

import numpy as np

from kgen.data import safe_archive, storage
from kgen.data.safe_archive import read_tar_members, restricted_unpickle
from kgen.data.storage import DatasetFileError, check_md5, resolve_data_dir
from kgen.validation import check_choice, received

OFFICIAL_URL = "https://www.cs.toronto.edu/~kriz/"
PIXELS = 32 * 32 * 3

# Published md5 of each official archive (https://www.cs.toronto.edu/~kriz/cifar.html).
ARCHIVE_MD5 = {
    "cifar-10-python.tar.gz": "c58f30108f718f92721af3b95e74349a",
    "cifar-10-binary.tar.gz": "c32a1d4ab5d03f1284b67883e8d87530",
    "cifar-100-python.tar.gz": "eb9058c3a382ffc7106e4002c42a8d85",
    "cifar-100-binary.tar.gz": "03b5dce01913d631647c71ecec9e9cb8",
}


@dataclass(frozen=True)
class _Variant:
    """One official distribution format of a CIFAR dataset."""

    archive: str  # official archive file name
    folder: str  # top folder inside the archive
    train_files: tuple
    test_file: str
    meta_files: tuple
    binary: bool
    # Where keras.datasets 3.x keeps the same files: `<keras_dir>/<folder>`
    # and the downloaded archive under `keras_archive`.
    keras_dir: str = ""
    keras_archive: str = ""

    def file_names(self):
        return (*self.train_files, self.test_file, *self.meta_files)


_VARIANTS = {
    "cifar10": (
        _Variant(
            archive="cifar-10-python.tar.gz",
            folder="cifar-10-batches-py",
            train_files=tuple(f"data_batch_{i}" for i in range(1, 6)),
            test_file="test_batch",
            meta_files=("batches.meta",),
            binary=False,
            keras_dir="cifar-10-batches-py-target",
            keras_archive="cifar-10-batches-py-target_archive",
        ),
        _Variant(
            archive="cifar-10-binary.tar.gz",
            folder="cifar-10-batches-bin",
            train_files=tuple(f"data_batch_{i}.bin" for i in range(1, 6)),
            test_file="test_batch.bin",
            meta_files=("batches.meta.txt",),
            binary=True,
        ),
    ),
    "cifar100": (
        _Variant(
            archive="cifar-100-python.tar.gz",
            folder="cifar-100-python",
            train_files=("train",),
            test_file="test",
            meta_files=("meta",),
            binary=False,
            keras_dir="cifar-100-python-target",
            keras_archive="cifar-100-python-target_archive",
        ),
        _Variant(
            archive="cifar-100-binary.tar.gz",
            folder="cifar-100-binary",
            train_files=("train.bin",),
            test_file="test.bin",
            meta_files=("coarse_label_names.txt", "fine_label_names.txt"),
            binary=True,
        ),
    ),
}


def load_cifar10(data_dir=None):
    """Returns `(x_train, y_train, x_test, y_test, class_names)` of CIFAR-10."""
    return _load("cifar10", resolve_data_dir(data_dir), label_mode="fine")


def load_cifar100(data_dir=None, label_mode="fine"):
    """CIFAR-100 with its 100 `"fine"` labels or its 20 `"coarse"` superclasses."""
    check_choice("label_mode", label_mode, ("fine", "coarse"))
    return _load("cifar100", resolve_data_dir(data_dir), label_mode=label_mode)


def _load(dataset, data_dir, label_mode):
    is_cifar100 = dataset == "cifar100"
    variants = _VARIANTS[dataset]
    for variant in variants:
        for folder in _folder_candidates(data_dir, variant):
            if folder.is_dir():
                files = _read_folder(folder, variant)
                return _parse(variant, files, is_cifar100, label_mode, folder)
    for variant in variants:
        for archive in _archive_candidates(data_dir, variant):
            if archive.is_file():
                return _parse_archive(variant, archive, is_cifar100, label_mode)
    # Nothing on disk: download the python version, the one keras.datasets uses.
    variant = variants[0]
    alternatives = " or ".join(f"{v.archive} (or its extracted folder {v.folder}/)"
                               for v in variants)
    try:
        archive = storage.fetch(
            variant.archive,
            OFFICIAL_URL + variant.archive,
            data_dir,
            expected_md5=ARCHIVE_MD5[variant.archive],
            dataset=dataset,
        )
    except DatasetFileError as error:
        raise DatasetFileError(f"{error} Any of {alternatives} in that folder works too.") from None
    return _parse_archive(variant, archive, is_cifar100, label_mode)


def _folder_candidates(data_dir, variant):
    yield data_dir / variant.folder
    if variant.keras_dir:
        yield data_dir / variant.keras_dir / variant.folder


def _archive_candidates(data_dir, variant):
    yield data_dir / variant.archive
    if variant.keras_archive:
        yield data_dir / variant.keras_archive


def _parse_archive(variant, archive, is_cifar100, label_mode):
    check_md5(archive, ARCHIVE_MD5.get(variant.archive))
    members = read_tar_members(archive, [f"{variant.folder}/{n}" for n in variant.file_names()])
    files = {name.split("/", 1)[1]: data for name, data in members.items()}
    return _parse(variant, files, is_cifar100, label_mode, archive)


def _read_folder(folder, variant):
    files = {}
    for name in variant.file_names():
        path = folder / name
        if not path.is_file():
            raise DatasetFileError(
                f"{folder} lacks {name}: an extracted {variant.archive} holds "
                f"{', '.join(variant.file_names())}. Extract the archive again (or delete "
                f"the folder to fall back to the archive). {received('path', str(folder))}"
            )
        # The same cap as an archive member: an extracted file is read whole.
        size = path.stat().st_size
        if size > safe_archive.MAX_MEMBER_BYTES:
            raise DatasetFileError(
                f"{path} is {size} bytes, more than the {safe_archive.MAX_MEMBER_BYTES}-byte "
                f"cap for one dataset file (the largest official CIFAR file is about 160 MB): "
                f"it is not a genuine CIFAR file. {received('path', str(path))}"
            )
        files[name] = path.read_bytes()
    return files


def _parse(variant, files, is_cifar100, label_mode, source):
    if variant.binary:
        class_names = _binary_label_names(variant, files, label_mode, source)
        parse = _parse_binary_batch
    else:
        class_names = _pickled_label_names(variant, files, is_cifar100, label_mode, source)
        parse = _parse_pickled_batch
    if len(class_names) < 2:
        raise DatasetFileError(
            f"{source}: the label names file lists {len(class_names)} class names; the files "
            f"are corrupt. {received('path', str(source))}"
        )
    num_classes = len(class_names)
    train = [parse(files[n], f"{source}:{n}", is_cifar100, label_mode, num_classes)
             for n in variant.train_files]
    x_test, y_test = parse(files[variant.test_file], f"{source}:{variant.test_file}",
                           is_cifar100, label_mode, num_classes)
    x_train = np.concatenate([x for x, _ in train])
    y_train = np.concatenate([y for _, y in train])
    return x_train, y_train, x_test, y_test, class_names


def _to_nhwc(rows):
    """(N, 3072) rows stored as CHW planes -> (N, 32, 32, 3) uint8."""
    return np.ascontiguousarray(rows.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))


def _parse_pickled_batch(data, source, is_cifar100, label_mode, num_classes):
    batch = restricted_unpickle(data, source)
    label_key = f"{label_mode}_labels".encode() if is_cifar100 else b"labels"
    if not isinstance(batch, dict) or b"data" not in batch or label_key not in batch:
        keys = sorted(batch) if isinstance(batch, dict) else type(batch).__name__
        raise DatasetFileError(
            f"{source} is not a CIFAR batch: expected a dict with b'data' and {label_key!r}, "
            f"found {keys}. {received('path', source)}"
        )
    pixels = batch[b"data"]
    if (not isinstance(pixels, np.ndarray) or pixels.dtype != np.uint8 or pixels.ndim != 2
            or pixels.shape[1] != PIXELS):
        raise DatasetFileError(
            f"{source} is not a CIFAR batch: b'data' must be a uint8 (N, {PIXELS}) array "
            f"with one label per row. {received('path', source)}"
        )
    labels = _pickled_labels(batch[label_key], source, num_classes, len(pixels))
    return _to_nhwc(pixels), labels


def _pickled_labels(raw, source, num_classes, count):
    """The labels of a pickled batch as int64 class ids, each checked.

    `np.asarray(raw, dtype=np.int64)` truncated 2.5 to 2, turned True into 1
    and raised numpy's own errors for text or huge numbers, so every entry is
    checked as a Python value first and the first bad one is named.
    """
    if isinstance(raw, np.ndarray) and raw.ndim == 1 and raw.dtype.kind in "iu":
        _check_label_range(raw, source, num_classes)
        labels = raw.astype(np.int64)
    elif isinstance(raw, (list, tuple)) or (isinstance(raw, np.ndarray) and raw.ndim >= 1):
        for index, value in enumerate(raw):
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, Integral):
                raise _bad_label(source, index, value, num_classes)
            if not 0 <= value < num_classes:
                raise _bad_label(source, index, value, num_classes)
        labels = np.asarray(raw, dtype=np.int64)
    else:
        raise DatasetFileError(
            f"{source} is not a CIFAR batch: its labels must be a list of integer class ids, "
            f"found {type(raw).__name__}. {received('path', source)}"
        )
    if len(labels) != count:
        raise DatasetFileError(
            f"{source} is not a CIFAR batch: {len(labels)} labels for {count} images (one "
            f"label per row of b'data'). {received('path', source)}"
        )
    return labels


def _check_label_range(labels, source, num_classes):
    bad = np.flatnonzero((labels < 0) | (labels >= num_classes))
    if len(bad):
        raise _bad_label(source, int(bad[0]), int(labels[bad[0]]), num_classes)


def _bad_label(source, index, value, num_classes):
    return DatasetFileError(
        f"{source}: image {index} has label {value!r}, which is not a class id (an integer "
        f"in [0, {num_classes}), as there are {num_classes} class names); the file is corrupt. "
        f"Received: path={str(source)!r}, label={value!r}"
    )


def _parse_binary_batch(data, source, is_cifar100, label_mode, num_classes):
    # CIFAR-10 records: 1 label byte + 3072 pixel bytes; CIFAR-100: coarse, fine, pixels.
    label_bytes = 2 if is_cifar100 else 1
    record = label_bytes + PIXELS
    if len(data) == 0 or len(data) % record:
        raise DatasetFileError(
            f"{source} is truncated or corrupt: {len(data)} bytes is not a whole number "
            f"of {record}-byte records. {received('path', source)}"
        )
    records = np.frombuffer(data, dtype=np.uint8).reshape(-1, record)
    label_column = 1 if is_cifar100 and label_mode == "fine" else 0
    labels = records[:, label_column].astype(np.int64)
    _check_label_range(labels, source, num_classes)  # one byte reaches 255
    return _to_nhwc(records[:, label_bytes:]), labels


def _pickled_label_names(variant, files, is_cifar100, label_mode, source):
    name = variant.meta_files[0]
    meta = restricted_unpickle(files[name], f"{source}:{name}")
    key = f"{label_mode}_label_names".encode() if is_cifar100 else b"label_names"
    if not isinstance(meta, dict) or not isinstance(meta.get(key), (list, tuple)):
        raise DatasetFileError(
            f"{source}:{name} has no {key!r} list of class names; the archive is corrupt. "
            f"{received('path', str(source))}"
        )
    return tuple(_decode(label) for label in meta[key])


def _binary_label_names(variant, files, label_mode, source):
    if len(variant.meta_files) == 1:
        name = variant.meta_files[0]
    else:
        name = f"{label_mode}_label_names.txt"
    text = files[name].decode("utf-8", errors="replace")
    return tuple(line.strip() for line in text.splitlines() if line.strip())


def _decode(label):
    return label.decode("utf-8") if isinstance(label, bytes) else str(label)
