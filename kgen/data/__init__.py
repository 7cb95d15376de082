"""Datasets as uint8 NHWC arrays: `kgen.data.load(name)`; `kgen.data.names()`."""

from kgen.data.dataset import Dataset, channel_statistics

__all__ = ["Dataset", "channel_statistics"]
