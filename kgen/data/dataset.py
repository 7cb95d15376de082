"""The container every kgen loader returns."""

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class Dataset:
    """Train, validation and test splits as uint8 NHWC arrays with integer labels
    (or, for the MLP presets, float32 feature vectors `(N, features)`).

    `mean` and `std` are per-channel statistics of `x_train` in [0, 1] units,
    the numbers `kgen.models.create(..., mean=, std=)` standardizes with (per
    feature, in their own units, for vectors); a channel with no spread has
    std 1, never 0.
    `skipped_files` lists the unreadable image files a folder load with
    `skip_bad=True` left out (empty otherwise).
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple
    mean: np.ndarray
    std: np.ndarray
    skipped_files: tuple = ()

    @property
    def num_classes(self):
        return len(self.class_names)

    @property
    def input_shape(self):
        return tuple(self.x_train.shape[1:])

    def summary(self):
        return (
            f"{self.name}: {len(self.x_train)} train, {len(self.x_val)} val, "
            f"{len(self.x_test)} test {'points' if len(self.input_shape) == 1 else 'images'} of {self.input_shape}, {self.num_classes} classes"
        )


