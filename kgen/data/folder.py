"""`folder:PATH` datasets: `PATH/<class>/<image>` files decoded with Pillow.

Class names are the sorted sub-folder names. Images are decoded on a thread
pool (Pillow releases the GIL while decoding), converted to RGB (16-bit gray
keeps its high byte; float images are refused) and resized to
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

from kgen.atomic import atomic_write
from kgen.data.splits import stratified_split, stratified_subset, take_rows
from kgen.data.storage import resolve_data_dir
from kgen.validation import check_int, check_number, received

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")
# Folder names that mean a split, not a class: ROOT/train + ROOT/test passed as
# ROOT would otherwise become two classes.
SPLIT_FOLDER_NAMES = ("train", "training", "test", "testing", "val", "valid", "validation")
DEFAULT_IMAGE_SIZE = (32, 32)  # used when the images do not all share one size
CACHE_FOLDER = "kgen-folder-cache"
_CACHE_FORMAT = 2  # bump when the cached arrays change meaning (2: 16-bit gray scaled, not clipped)
# Unsigned 16-bit gray modes (PNG, TIFF; little, big and native endian).
_16_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N")
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
        test_seed: which carving: 0 (the default) is `stratified_split` with
            seed 0; another seed N draws a test split of the same size from
            the images split 0 keeps (stratified, seed N), so settings chosen
            by scoring split 0 can be scored on images they were never chosen
            on (split 0's images then train). Fixed per study: every run
            scores on the same test images whatever the `seed` of `load`.
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
    if test_root is not None:
        if test_root.is_symlink() and not test_root.exists():
            raise _broken_link_error(test_root, "the test folder beside the train folder")
        if test_root.is_dir():
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


def _scan(folder):
    """`(sub-folder names, image entries, broken links)` of `folder`, each sorted.

    Image entries are `(path, size, mtime_ns)`. Hidden sub-folders are left out.
    Only this one level is read (never recursively), so a link that points back
    up the tree cannot make the listing loop. A link that loops or points to
    nothing is reported, not skipped: with an image name it is listed as an
    image (decoding then names it, and `skip_bad` can leave it out), else it is
    returned in `broken links` for the caller to refuse.
    """
    try:
        entries = list(os.scandir(folder))
    except OSError as error:  # unreadable (permissions), or removed meanwhile
        raise ValueError(
            f"Cannot list the folder {str(folder)!r} ({type(error).__name__}: {error}). "
            f"{received('path', str(folder))}"
        ) from None
    subfolders, images, broken = [], [], []
    for entry in entries:
        is_image = entry.name.lower().endswith(IMAGE_EXTENSIONS)
        # `is_symlink` comes from the directory listing itself: the extra
        # `exists` call is paid for links only, not for every image.
        if entry.is_symlink() and not os.path.exists(entry.path):
            if is_image:
                # The link itself is all there is to stat (for the cache key).
                stat = entry.stat(follow_symlinks=False)
                images.append((entry.path, stat.st_size, stat.st_mtime_ns))
            elif not entry.name.startswith("."):
                broken.append(entry.path)
        elif entry.is_dir():
            if not entry.name.startswith("."):
                subfolders.append(entry.name)
        elif is_image and entry.is_file():
            stat = entry.stat()
            images.append((entry.path, stat.st_size, stat.st_mtime_ns))
    return sorted(subfolders), sorted(images), sorted(broken)


def _broken_link_error(path, role):
    try:
        target = f"it points to {os.readlink(path)!r}"
    except OSError:
        target = "its target cannot be read"
    return ValueError(
        f"{str(path)!r} is a symbolic link that loops or points to nothing ({target}). "
        f"It stands where {role} is expected, so leaving it out would silently drop data "
        f"(and renumber the classes after it): fix or remove the link. "
        f"{received('path', str(path))}"
    )


def _refuse_broken_links(broken, role):
    if broken:
        raise _broken_link_error(broken[0], role)


def _refuse_split_folders(root, class_names):
    """ROOT/train + ROOT/test passed as ROOT would be read as two classes, "test"
    and "train". Only refused when every sub-folder is a split name, so a real
    class called "train" (say, among "bus" and "car") still loads."""
    folded = {name.casefold() for name in class_names}
    if not folded or not folded <= set(SPLIT_FOLDER_NAMES) or not folded & {"train", "training"}:
        return
    train_name = next(name for name in class_names if name.casefold() in ("train", "training"))
    train = root / train_name
    subfolders, loose, _ = _scan(train)
    detail = ""
    if loose and not subfolders:
        detail = (f" The images lie directly in {str(train)!r} ({len(loose)} file(s)): move "
                  "each class's images into its own sub-folder first.")
    raise ValueError(
        f"Image folder {str(root)!r} holds the split folders {list(class_names)} where one "
        f"sub-folder per class is expected, so the splits would be read as classes. Expected "
        f"layout: {train}/<class>/<image>.jpg, optionally with {root / 'test'}/<class>/"
        f"<image>.jpg beside it as the test split; then load the train folder: "
        f"folder:{train}.{detail} {received('path', str(root))}"
    )


def _warn_loose_images(loose, folder):
    warnings.warn(
        f"{len(loose)} image file(s) in {str(folder)!r} are not in a class folder and are "
        f"left out (e.g. {os.path.basename(loose[0][0])!r}); classes are the sub-folders.",
        stacklevel=5,
    )


def list_images(root):
    """Class names and `[(path, size, mtime_ns, label)]` of a class-per-folder tree."""
    class_names, loose, broken = _scan(root)
    _refuse_broken_links(broken, "a class folder")
    _refuse_split_folders(root, class_names)
    if len(class_names) < 2:
        found = f"only {class_names[0]!r}" if class_names else "none"
        message = (f"Image folder {str(root)!r} needs one sub-folder per class and at least two "
                   f"classes ({root}/<class>/<image>.jpg); found {found}.")
        if loose:
            message += (f" {len(loose)} image file(s) lie directly in {str(root)!r}, where class "
                        f"folders are expected: move each class's images into its own "
                        f"sub-folder ({root}/<class>/<image>.jpg).")
        raise ValueError(f"{message} {received('path', str(root))}")
    if loose:
        _warn_loose_images(loose, root)
    files = []
    for label, name in enumerate(class_names):
        entries = _scan(root / name)[1]
        if not entries:
            raise ValueError(
                f"Class folder {str(root / name)!r} holds no images with an extension "
                f"in {IMAGE_EXTENSIONS}. {received('path', str(root))}"
            )
        files.extend((*entry, label) for entry in entries)
    return tuple(class_names), files


def _list_test_images(test_root, class_names):
    test_classes, loose, broken = _scan(test_root)
    _refuse_broken_links(broken, "a class folder of the test split")
    unknown = sorted(set(test_classes) - set(class_names))
    if unknown:
        raise ValueError(
            f"Test folder {str(test_root)!r} has classes the train folder lacks: {unknown}. "
            f"{received('path', str(test_root))}"
        )
    expected = (f"{test_root}/<class>/<image>.jpg with the train folder's class names "
                f"({', '.join(class_names[:5])}{', ...' if len(class_names) > 5 else ''})")
    if not test_classes:
        if loose:
            raise ValueError(
                f"Test folder {str(test_root)!r} holds {len(loose)} image file(s) directly but "
                f"no class folders, so their labels are unknown; expected {expected}. "
                f"{received('path', str(test_root))}"
            )
        raise ValueError(
            f"Test folder {str(test_root)!r} holds no images, so the test split would be "
            f"empty. Put the test images in {expected}, or remove the empty folder to carve "
            f"`test_split` off the train images instead. {received('path', str(test_root))}"
        )
    if loose:
        _warn_loose_images(loose, test_root)
    files = []
    for name in test_classes:
        entries = _scan(test_root / name)[1]
        if not entries:
            raise ValueError(
                f"Class folder {str(test_root / name)!r} holds no images with an extension "
                f"in {IMAGE_EXTENSIONS}. {received('path', str(test_root))}"
            )
        label = class_names.index(name)
        files.extend((*entry, label) for entry in entries)
    return files


# === Decoding ===


def _decode_file(path, image_size):
    """One image as an (H, W, 3) uint8 array at `image_size` (or its own size)."""
    with _open_image(path) as image:
        if image_size is not None and image.format == "JPEG":
            # Lets libjpeg decode at 1/2, 1/4 or 1/8 scale when that is still
            # at least `image_size`: far less work for large photos.
            image.draft("RGB", (image_size[1], image_size[0]))
        _check_pixel_count(image)
        image = _to_8_bits(image).convert("RGB")
        if image_size is not None and image.size != (image_size[1], image_size[0]):
            # Pillow's resize filters antialias when shrinking.
            image = image.resize((image_size[1], image_size[0]), Image.Resampling.BILINEAR)
        return np.asarray(image)


def _open_image(path):
    try:
        return Image.open(path)
    except OSError:
        if os.path.islink(path) and not os.path.exists(path):
            raise ValueError(
                f"is a symbolic link that loops or points to nothing (-> "
                f"{os.readlink(path)!r}). Received: path={path!r}"
            ) from None
        raise


def _check_pixel_count(image):
    """Pillow only warns between `Image.MAX_IMAGE_PIXELS` and twice that (and
    errors above), so a small, highly compressed file could still expand to
    gigabytes in every decoding thread at once: kgen refuses from the limit on.
    Checked after `draft`, so a large JPEG that decodes scaled down passes."""
    limit = Image.MAX_IMAGE_PIXELS
    width, height = image.size
    if limit and width * height > limit:
        raise ValueError(
            f"is {width}x{height} = {width * height} pixels, above the decompression-bomb "
            f"limit of {limit} pixels (PIL.Image.MAX_IMAGE_PIXELS; raise it if such images "
            f"are genuine). Received: size={image.size}"
        )


def _to_8_bits(image):
    """Maps 16-bit grayscale to 8 bits; refuses what 8 bits cannot represent.

    Pillow's own `convert` clips 16-bit values at 255, so a full-range 16-bit
    image came out 99.6% white. Keeping the high byte (`>> 8`) is what Pillow
    does itself for 16-bit RGB PNGs and what torchvision's `convert_image_dtype`
    does for uint16 -> uint8, so gray and colour 16-bit files agree.
    """
    if image.mode == "F":
        raise ValueError(
            "holds 32-bit floating-point pixels, which have no fixed range to map to 8 bits; "
            "save it as an 8- or 16-bit image. Received: mode='F'"
        )
    if image.mode not in _16_BIT_MODES and image.mode != "I":
        return image
    pixels = np.asarray(image)
    if image.mode == "I":  # 32-bit signed: only its 16-bit subset is a known scale
        low, high = int(pixels.min()), int(pixels.max())
        if low < 0 or high > 65535:
            raise ValueError(
                "holds 32-bit integer pixels outside the 16-bit range 0..65535, which cannot "
                "be mapped to 8 bits without guessing their scale. "
                f"Received: mode='I', min={low}, max={high}"
            )
    return Image.fromarray((pixels >> 8).astype(np.uint8))


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
            "Fix or remove them, or pass `skip_bad=True` (CLI: --skip-bad) to leave them out. "
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
        keep, carved = stratified_split(y_train, test_split, 0)
        if test_seed:
            carved = keep[stratified_subset(y_train[keep], len(carved), test_seed)]
            keep = np.setdiff1d(np.arange(len(y_train)), carved, assume_unique=True)
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
