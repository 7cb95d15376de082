"""`load_limited`: `kgen.data.load` with a cap on the images, for quick runs and
smoke tests (no Keras import)."""

import dataclasses
import math

import kgen.data
from kgen.validation import check_int, received


def load_limited(name="synthetic", limit=None, eval_limit=None, train_size=None,
                 validation_split=0.1, data_dir=None):
    """Loads dataset `name`, keeping the first `limit` training images and the
    first `eval_limit` validation and test images (None: all).

    The validation split is chosen with seed 0, so every run of a study sees
    the same split and seeds vary the training only. For the synthetic dataset
    only the images needed are generated (`train_size`, and `test_size` from
    `eval_limit`). With `limit`, `mean` and `std` are those of the kept images.
    """
    for option, value in (("limit", limit), ("eval_limit", eval_limit),
                          ("train_size", train_size)):
        if value is not None:
            check_int(option, value, minimum=1)
    options = {}
    if name == "synthetic":
        if limit is not None:
            needed = math.ceil(limit / (1.0 - validation_split)) + 10
            train_size = max(train_size or 0, needed)
        if train_size is not None:
            options["train_size"] = train_size
        if eval_limit is not None:
            options["test_size"] = eval_limit
    elif train_size is not None:
        raise ValueError("`train_size` only applies to the synthetic dataset; use `limit` "
                         f"for others. {received('dataset', name)}")
    data = kgen.data.load(name, data_dir=data_dir, validation_split=validation_split, seed=0,
                          **options)
    changes = {}
    if limit is not None and limit < len(data.x_train):
        x_train, y_train = data.x_train[:limit], data.y_train[:limit]
        mean, std = kgen.data.channel_statistics(x_train)
        changes.update(x_train=x_train, y_train=y_train, mean=mean, std=std)
    if eval_limit is not None:
        changes.update(x_val=data.x_val[:eval_limit], y_val=data.y_val[:eval_limit],
                       x_test=data.x_test[:eval_limit], y_test=data.y_test[:eval_limit])
    return dataclasses.replace(data, **changes) if changes else data
