"""Datasets as uint8 NHWC arrays: `kgen.data.load(name)`; `kgen.data.names()`.

Only numpy, Pillow and the standard library are imported here, so
`import kgen.data` is fast and does not choose a Keras backend.
"""

from kgen.data.checks import check_features, check_images, check_labels
from kgen.data.dataset import Dataset
from kgen.data.loading import check_dataset_name, class_subset, load, names
from kgen.data.statistics import channel_statistics, feature_statistics, mean_and_std
from kgen.data.storage import DatasetFileError, default_data_dir

__all__ = [
    "DatasetFileError",
    "Dataset",
    "channel_statistics",
    "feature_statistics",
    "mean_and_std",
    "class_subset",
    "check_dataset_name",
    "check_features",
    "check_images",
    "check_labels",
    "default_data_dir",
    "load",
    "names",
]
