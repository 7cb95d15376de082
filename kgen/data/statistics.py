"""Per-channel statistics of uint8 images, computed exactly with integer sums,
and per-feature statistics of float feature vectors (`mean_and_std` picks)."""

import warnings

import numpy as np

_ROWS_PER_CHUNK = 2048  # images per block: bounds the uint16 copy of squares
# A channel whose std is below one gray level (1/255 in [0, 1] units) carries
# (almost) no information, and dividing by its std would blow the rare pixel
# that differs up to thousands (or, at std 0, to inf/NaN). Such a channel gets
# std 1, so it standardizes to about 0 and no value leaves [-1, 1] through it;
# every channel above the floor then scales by at most 255 (float16-safe).
MIN_CHANNEL_STD = 1.0 / 255.0
FLAT_CHANNEL_STD = 1.0


def mean_and_std(x):
    """The statistics a model standardizes `x` with: per channel for uint8
    images (`channel_statistics`, in [0, 1] units), per feature for float
    feature vectors `(N, features)` (`feature_statistics`, in their own units)."""
    return feature_statistics(x) if x.ndim == 2 else channel_statistics(x)


def feature_statistics(vectors):
    """Per-feature mean and (population) std of float vectors `(N, features)`,
    accumulated in float64; a feature with no spread gets std 1."""
    vectors = np.asarray(vectors, dtype=np.float64)
    if len(vectors) == 0:
        return (np.zeros(vectors.shape[1], np.float32),
                np.ones(vectors.shape[1], np.float32))
    std = vectors.std(axis=0)
    flat = ~(std > 0)
    std[flat] = FLAT_CHANNEL_STD  # a constant feature: no signal, and no division by 0
    return vectors.mean(axis=0).astype(np.float32), std.astype(np.float32)


def channel_statistics(images):
    """Per-channel mean and (population) std of uint8 NHWC images in [0, 1]
    units, from exact integer sums: the one statistics function behind every
    dataset, subset and recipe.

    Sums run down the image axis (long contiguous rows, which numpy vectorizes
    well) and fold to channels at the end: about 4x faster than summing floats
    per pixel, which matters when a cached 50,000-image folder otherwise
    loads in under a second. A channel with no spread gets std 1
    (`usable_std`).
    """
    count = int(np.prod(images.shape[:-1]))
    channels = images.shape[-1]
    rows = images.reshape(len(images), -1)
    total = np.zeros(rows.shape[1], dtype=np.uint64)
    total_squares = np.zeros(rows.shape[1], dtype=np.uint64)
    for start in range(0, len(rows), _ROWS_PER_CHUNK):
        block = rows[start:start + _ROWS_PER_CHUNK]
        total += block.sum(axis=0, dtype=np.uint64)
        squares = block.astype(np.uint16)
        squares *= squares  # 255**2 = 65025 still fits in uint16
        total_squares += squares.sum(axis=0, dtype=np.uint64)
    count = max(count, 1)
    # Python ints from here: count * sum of squares overflows uint64 for large
    # sets, and the exact variance numerator is 0 exactly when a channel is flat.
    sums = [int(value) for value in total.reshape(-1, channels).sum(axis=0)]
    sums_of_squares = [int(value) for value in total_squares.reshape(-1, channels).sum(axis=0)]
    mean = np.array([value / count for value in sums]) / 255.0
    numerators = [count * squared - value * value
                  for value, squared in zip(sums, sums_of_squares)]
    std = np.sqrt(np.array(numerators, dtype=np.float64)) / count / 255.0
    return mean.astype(np.float32), usable_std(std)


def usable_std(std):
    """`std` as float32 with every channel below `MIN_CHANNEL_STD` set to
    `FLAT_CHANNEL_STD`, and a warning naming those channels."""
    std = np.asarray(std, dtype=np.float64)
    flat = np.flatnonzero(~(std >= MIN_CHANNEL_STD))  # NaN counts as flat too
    if len(flat):
        warnings.warn(
            f"Image channel(s) {flat.tolist()} have (almost) no spread in the training "
            f"images (std {np.round(std[flat], 6).tolist()}, below one gray level); they "
            f"are standardized with std {FLAT_CHANNEL_STD}, so they carry no signal. Check "
            "the data if that is unexpected (e.g. a colour channel that is always 0).",
            stacklevel=3,
        )
        std = std.copy()
        std[flat] = FLAT_CHANNEL_STD
    return std.astype(np.float32)
