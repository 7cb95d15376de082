"""Per-channel statistics of uint8 images, computed exactly with integer sums."""

import numpy as np

_ROWS_PER_CHUNK = 2048  # images per block: bounds the uint16 copy of squares


def exact_channel_statistics(images):
    """Per-channel mean and std in [0, 1] units, the numbers
    `kgen.data.channel_statistics` gives, from exact integer sums.

    Sums run down the image axis (long contiguous rows, which numpy vectorizes
    well) and fold to channels at the end: about 4x faster than summing floats
    per pixel, which matters when a cached 50,000-image folder otherwise
    loads in under a second.
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
    total = total.reshape(-1, channels).sum(axis=0).astype(np.float64)
    total_squares = total_squares.reshape(-1, channels).sum(axis=0).astype(np.float64)
    count = max(count, 1)
    mean = total / count / 255.0
    variance = total_squares / count / 255.0**2 - np.square(mean)
    return mean.astype(np.float32), np.sqrt(np.maximum(variance, 0.0)).astype(np.float32)
