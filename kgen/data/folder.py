"""`folder:PATH` datasets: `PATH/<class>/<image>` files decoded with Pillow.

Class names are the sorted sub-folder names. Images are decoded on a thread
pool (Pillow releases the GIL while decoding), converted to RGB and resized to
`image_size`. The decoded arrays are cached as an `.npz` in the data directory,
keyed by a hash of the folder's file list, sizes and modification times, so a
second load skips decoding entirely and an edited folder is read again.
"""

import hashlib
import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from kgen.data.splits import stratified_split, take_rows
from kgen.data.storage import atomic_write, resolve_data_dir
from kgen.validation import check_int, check_number, received

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")
DEFAULT_IMAGE_SIZE = (32, 32)  # used when the images do not all share one size
CACHE_FOLDER = "kgen-folder-cache"
_CACHE_FORMAT = 1  # bump when the cached arrays change meaning
_FILES_PER_TASK = 256  # one thread-pool task decodes this many files: amortizes scheduling


def load_folder(
    path,
    data_dir=None,
    image_size=None,
    test_split=0.1,
    test_seed=0,
    skip_bad=False,
    cache=True,
    num_workers=None,
):
    """Returns `(x_train, y_train, x_test, y_test, class_names, skipped_files)`.

    Args:
        path: folder with one sub-folder of images per class.
        image_size: `(height, width)` or an int for square images. Default: the
            images' own size when they all agree, else 32x32.
        test_split: fraction of each class carved off as the test split when
            there is no `test/` folder beside a `.../train` folder.
        test_seed: seed of that carving, fixed so every run scores on the
            same test images whatever the `seed` of `load`.
        skip_bad: skip unreadable images (listed in `Dataset.skipped_files`
            and counted in a warning) instead of raising.
        cache: read and write the decoded-array cache in the data directory.
        num_workers: decoding threads; default `os.cpu_count() + 2`.
    """
    root = _check_root(path)
    image_size = _check_image_size(image_size)
    test_split = check_number("test_split", test_split, 0.0, 1.0, max_inclusive=False)
    test_seed = check_int("test_seed", test_seed, minimum=0)
    if not isinstance(skip_bad, bool):
        raise TypeError(f"`skip_bad` must be True or False. {received('skip_bad', skip_bad)}")
    if num_workers is not None:
        num_workers = check_int("num_workers", num_workers, minimum=1)

    class_names, train_files = list_images(root)
    test_root = root.parent / "test" if root.name.lower() == "train" else None
    test_files = None
    if test_root is not None and test_root.is_dir():
        test_files = _list_test_images(test_root, class_names)

    cache_path = None
    if cache:
        key = _cache_key(root, train_files, test_files, image_size, skip_bad)
        cache_path = resolve_data_dir(data_dir) / CACHE_FOLDER / f"{_root_key(root)}-{key}.npz"
        cached = _read_cache(cache_path)
        if cached is not None:
            arrays, skipped = cached
            return _finish(arrays, class_names, skipped, test_split, test_seed)

    arrays, skipped = _decode_all(train_files, test_files, image_size, skip_bad, num_workers)
    if cache_path is not None:
        _write_cache(cache_path, arrays, skipped)
    return _finish(arrays, class_names, skipped, test_split, test_seed)


# === Listing ===


def _check_root(path):
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"The folder path must be a string. {received('path', path)}")
    root = Path(path).expanduser()
    if not root.is_dir():
        raise ValueError(
            f"Image folder {str(root)!r} does not exist or is not a folder "
            f"(relative paths are relative to {os.getcwd()!r}). {received('path', str(path))}"
        )
    return root


def _check_image_size(image_size):
    if image_size is None:
        return None
    if isinstance(image_size, int) and not isinstance(image_size, bool):
        image_size = (image_size, image_size)
    try:
        height, width = image_size
        return (check_int("image_size", height, minimum=1),
                check_int("image_size", width, minimum=1))
    except (TypeError, ValueError):
        raise ValueError(
            "`image_size` must be an int or a (height, width) pair of positive ints. "
            f"{received('image_size', image_size)}"
        ) from None


def _class_folders(root):
    return sorted(
        entry.name for entry in os.scandir(root)
        if entry.is_dir() and not entry.name.startswith(".")
    )


def _image_entries(folder):
    """`(path, size, mtime_ns)` of the image files in `folder`, sorted by name."""
    entries = []
    for entry in os.scandir(folder):
        if entry.name.lower().endswith(IMAGE_EXTENSIONS) and entry.is_file():
            stat = entry.stat()
            entries.append((entry.path, stat.st_size, stat.st_mtime_ns))
    return sorted(entries)


def list_images(root):
    """Class names and `[(path, size, mtime_ns, label)]` of a class-per-folder tree."""
    class_names = _class_folders(root)
    if len(class_names) < 2:
        found = f"only {class_names[0]!r}" if class_names else "none"
        raise ValueError(
            f"Image folder {str(root)!r} needs one sub-folder per class and at least two "
            f"classes (PATH/<class>/<image>.jpg); found {found}. "
            f"{received('path', str(root))}"
        )
    files = []
    for label, name in enumerate(class_names):
        entries = _image_entries(root / name)
        if not entries:
            raise ValueError(
                f"Class folder {str(root / name)!r} holds no images with an extension "
                f"in {IMAGE_EXTENSIONS}. {received('path', str(root))}"
            )
        files.extend((*entry, label) for entry in entries)
    return tuple(class_names), files


def _list_test_images(test_root, class_names):
    test_classes = _class_folders(test_root)
    unknown = sorted(set(test_classes) - set(class_names))
    if unknown:
        raise ValueError(
            f"Test folder {str(test_root)!r} has classes the train folder lacks: {unknown}. "
            f"{received('path', str(test_root))}"
        )
    files = []
    for name in test_classes:
        label = class_names.index(name)
        files.extend((*entry, label) for entry in _image_entries(test_root / name))
    return files


# === Decoding ===


def _decode_file(path, image_size):
    """One image as an (H, W, 3) uint8 array at `image_size` (or its own size)."""
    with Image.open(path) as image:
        if image_size is not None and image.format == "JPEG":
            # Lets libjpeg decode at 1/2, 1/4 or 1/8 scale when that is still
            # at least `image_size`: far less work for large photos.
            image.draft("RGB", (image_size[1], image_size[0]))
        image = image.convert("RGB")
        if image_size is not None and image.size != (image_size[1], image_size[0]):
            # Pillow's resize filters antialias when shrinking.
            image = image.resize((image_size[1], image_size[0]), Image.Resampling.BILINEAR)
        return np.asarray(image)


def _resize(image, image_size):
    return np.asarray(Image.fromarray(image).resize((image_size[1], image_size[0]),
                                                    Image.Resampling.BILINEAR))


def _decode_batch(paths, image_size):
    decoded = []
    for path in paths:
        try:
            decoded.append(_decode_file(path, image_size))
        except Exception as error:  # unreadable, truncated, not an image, too large
            decoded.append(f"{type(error).__name__}: {error}")
    return decoded


def _decode_files(paths, image_size, num_workers):
    """Decoded arrays (or error strings) for `paths`, in order."""
    workers = num_workers or (os.cpu_count() or 1) + 2
    tasks = [paths[i:i + _FILES_PER_TASK] for i in range(0, len(paths), _FILES_PER_TASK)]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = pool.map(_decode_batch, tasks, [image_size] * len(tasks))
        return [image for batch in results for image in batch]


def _decode_all(train_files, test_files, image_size, skip_bad, num_workers):
    splits = {"train": train_files}
    if test_files is not None:
        splits["test"] = test_files
    all_files = [entry for files in splits.values() for entry in files]
    decoded = _decode_files([entry[0] for entry in all_files], image_size, num_workers)

    bad = [(entry[0], result) for entry, result in zip(all_files, decoded)
           if isinstance(result, str)]
    if bad and not skip_bad:
        listing = "\n".join(f"  {path}: {error}" for path, error in bad[:10])
        more = f"\n  ... and {len(bad) - 10} more" if len(bad) > 10 else ""
        raise ValueError(
            f"{len(bad)} image file(s) could not be read:\n{listing}{more}\n"
            "Fix or remove them, or pass `skip_bad=True` to leave them out. "
            f"Received: skip_bad={skip_bad}"
        )
    if image_size is None:
        sizes = {result.shape[:2] for result in decoded if not isinstance(result, str)}
        if len(sizes) > 1:
            # Mixed sizes: bring every image to the common default size.
            decoded = [_resize(result, DEFAULT_IMAGE_SIZE) if not isinstance(result, str)
                       else result for result in decoded]

    arrays = {}
    position = 0
    for split, files in splits.items():
        results = decoded[position:position + len(files)]
        position += len(files)
        kept = [(result, entry[3]) for entry, result in zip(files, results)
                if not isinstance(result, str)]
        if kept:
            arrays[f"x_{split}"] = np.stack([image for image, _ in kept])
        else:
            arrays[f"x_{split}"] = np.zeros((0, *(image_size or DEFAULT_IMAGE_SIZE), 3),
                                            np.uint8)
        arrays[f"y_{split}"] = np.asarray([label for _, label in kept], dtype=np.int64)
    skipped = tuple(path for path, _ in bad)
    if skipped:
        warnings.warn(
            f"Skipped {len(skipped)} unreadable image file(s) (skip_bad=True), e.g. "
            f"{skipped[0]}; the full list is in `Dataset.skipped_files`.",
            stacklevel=4,
        )
    return arrays, skipped


def _finish(arrays, class_names, skipped, test_split, test_seed):
    x_train, y_train = arrays["x_train"], arrays["y_train"]
    if "x_test" in arrays:
        x_test, y_test = arrays["x_test"], arrays["y_test"]
    else:
        keep, carved = stratified_split(y_train, test_split, test_seed)
        x_test, y_test = take_rows(x_train, carved), take_rows(y_train, carved)
        x_train, y_train = take_rows(x_train, keep), take_rows(y_train, keep)
    return x_train, y_train, x_test, y_test, class_names, skipped


# === Cache ===


def _root_key(root):
    return hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:12]


def _cache_key(root, train_files, test_files, image_size, skip_bad):
    digest = hashlib.sha256()
    digest.update(repr((_CACHE_FORMAT, str(root.resolve()), image_size, skip_bad)).encode())
    for split, files in (("train", train_files), ("test", test_files or [])):
        digest.update(split.encode())
        for path, size, mtime_ns, label in files:
            digest.update(f"{path}\0{size}\0{mtime_ns}\0{label}\n".encode())
    return digest.hexdigest()[:24]


def _read_cache(path):
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files if key != "skipped"}
            skipped = tuple(str(p) for p in archive["skipped"])
        return arrays, skipped
    except Exception as error:  # a damaged cache is rebuilt, never trusted
        warnings.warn(f"Ignoring unreadable cache {path} ({error}); decoding again.",
                      stacklevel=4)
        return None


def _write_cache(path, arrays, skipped):
    try:
        # A temp file renamed into place: a concurrent or interrupted load never
        # sees half a cache. The `.npz` suffix stops numpy appending its own.
        atomic_write(path, lambda temporary: _save_npz(temporary, arrays, skipped))
        # Older caches of the same folder are stale now: drop them.
        for old in path.parent.glob(f"{path.name.split('-')[0]}-*.npz"):
            if old != path:
                old.unlink(missing_ok=True)
    except OSError as error:
        warnings.warn(f"Could not write the image cache {path} ({error}); the next load "
                      "will decode the images again.", stacklevel=4)


def _save_npz(temporary, arrays, skipped):
    with open(temporary, "wb") as handle:
        np.savez(handle, skipped=np.asarray(skipped, dtype=str), **arrays)
