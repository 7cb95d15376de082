"""Validators for the image, feature and label arrays the training code is handed."""

import numpy as np

from kgen.validation import check_int


def _describe(array):
    return f"array of shape {array.shape} and dtype {array.dtype}"


def check_images(x, name="x", num_channels=None, height=None, width=None):
    """`x` must be a rank-4 uint8 NHWC array; returns it unchanged.

    kgen keeps pixels as uint8 0..255 until the model's first layer, which
    rescales and standardizes them, so float input is refused rather than
    silently scaled twice.
    """
    if not isinstance(x, np.ndarray):
        raise TypeError(
            f"`{name}` must be a numpy array of uint8 images (N, H, W, C). "
            f"Received: {name}={type(x).__name__}"
        )
    if x.ndim != 4:
        raise ValueError(
            f"`{name}` must have rank 4 (N, H, W, C). Received: {name}={_describe(x)}"
        )
    if x.dtype != np.uint8:
        hint = ""
        if np.issubdtype(x.dtype, np.floating):
            hint = (
                " Pass uint8 pixel values 0..255 (e.g. `np.uint8` arrays from "
                "`kgen.data.load`); the model rescales them itself, so do not divide by 255."
            )
        raise ValueError(
            f"`{name}` must have dtype uint8.{hint} Received: {name}={_describe(x)}"
        )
    expected = {"num_channels": (num_channels, 3), "height": (height, 1), "width": (width, 2)}
    for label, (value, axis) in expected.items():
        if value is not None and x.shape[axis] != check_int(label, value, minimum=1):
            raise ValueError(
                f"`{name}` must have {label}={value} (axis {axis}). "
                f"Received: {name}={_describe(x)}"
            )
    return x


def check_features(x, name="x", num_features=None):
    """`x` must be a finite float32 array of feature vectors `(N, features)`
    (the MLP presets' input); returns it unchanged."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"`{name}` must be a numpy array of feature vectors (N, features). "
                        f"Received: {name}={type(x).__name__}")
    if x.ndim != 2:
        raise ValueError(f"`{name}` must have rank 2 (N, features). Received: {name}={_describe(x)}")
    if x.dtype != np.float32:
        raise ValueError(f"`{name}` must have dtype float32. Received: {name}={_describe(x)}")
    if num_features is not None and x.shape[1] != check_int("num_features", num_features, minimum=1):
        raise ValueError(f"`{name}` must have {num_features} features (axis 1). "
                         f"Received: {name}={_describe(x)}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"`{name}` must be finite: it holds NaN or infinite values. "
                         f"Received: {name}={_describe(x)}")
    return x


def check_labels(y, num_classes, name="y", x=None):
    """`y` must hold integer class ids in [0, num_classes), shape (N,) or (N, 1).

    When `x` is given, `y` must have as many entries as `x` has images.
    Returns `y` as a 1-D array.
    """
    num_classes = check_int("num_classes", num_classes, minimum=1)
    if not isinstance(y, np.ndarray):
        raise TypeError(
            f"`{name}` must be a numpy array of integer labels. "
            f"Received: {name}={type(y).__name__}"
        )
    if not (y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1)):
        raise ValueError(
            f"`{name}` must have shape (N,) or (N, 1) (integer class ids, not one-hot). "
            f"Received: {name}={_describe(y)}"
        )
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(
            f"`{name}` must have an integer dtype (class ids). Received: {name}={_describe(y)}"
        )
    flat = y.reshape(-1)
    if len(flat):
        low, high = int(flat.min()), int(flat.max())
        if low < 0 or high >= num_classes:
            raise ValueError(
                f"`{name}` must hold class ids in [0, {num_classes}); found values in "
                f"[{low}, {high}]. Received: {name}={_describe(y)}"
            )
    if x is not None and len(x) != len(flat):
        raise ValueError(
            f"`{name}` must have one label per image: {len(x)} images but {len(flat)} "
            f"labels. Received: {name}={_describe(y)}"
        )
    return flat
