"""`load_limited`: `kgen.data.load` with a cap on the images, for quick runs and
smoke tests (no Keras import)."""

import dataclasses
import math

import numpy as np

import kgen.data
from kgen.data.splits import stratified_folds, stratified_subset, take_rows
from kgen.validation import check_int, received

# Subsets are a property of the data, not of a run: every run of a study sees the same
# images whatever its seed (as with the validation split).
SUBSET_SEED = 0


def load_limited(name="synthetic", limit=None, eval_limit=None, train_size=None,
                 validation_split=0.1, data_dir=None, image_size=None, data_seed=None,
                 test_seed=None, skip_bad=False, classes=None):
    """Loads dataset `name`, keeping `limit` training images and `eval_limit`
    validation and test images each (None: all; a limit above what the split
    holds keeps it whole).

    Each kept subset is seeded and stratified (`kgen.data.splits.stratified_subset`):
    class proportions survive, and a folder listed class by class does not
    become a one-class subset. The validation split and the subsets are chosen
    with seed 0, so every run of a study sees the same images and seeds vary
    the training only. For the synthetic dataset only the images needed are
    generated (`train_size`, and `test_size` from `eval_limit`). With `limit`,
    `mean` and `std` are those of the kept images. `image_size` resizes a
    `folder:` dataset (`kgen.data.load_folder`), and `skip_bad` leaves out its
    unreadable images, and `test_seed` picks its test split; `data_seed` picks a
    draw of a generated dataset (synthetic, two-moons). `classes` keeps those classes only,
    relabelled 0..k-1 (`kgen.data.class_subset`), before the limits.
    """
    for option, value in (("limit", limit), ("eval_limit", eval_limit),
                          ("train_size", train_size)):
        if value is not None:
            check_int(option, value, minimum=1)
    options = {} if image_size is None else {"image_size": image_size}
    if skip_bad:
        options["skip_bad"] = True
    if test_seed is not None:
        options["test_seed"] = test_seed
    if name in kgen.data.loading.GENERATED_DATASETS:
        if limit is not None and classes is None:  # (a class subset keeps fewer)
            needed = math.ceil(limit / (1.0 - validation_split)) + 10
            train_size = max(train_size or 0, needed)
        if train_size is not None:
            options["train_size"] = train_size
        if eval_limit is not None:
            options["test_size"] = eval_limit
        if data_seed is not None:
            options["data_seed"] = data_seed
    elif train_size is not None:
        raise ValueError("`train_size` only applies to the generated datasets "
                         f"({', '.join(kgen.data.loading.GENERATED_DATASETS)}); use `limit` "
                         f"for others. {received('dataset', name)}")
    data = kgen.data.load(name, data_dir=data_dir, validation_split=validation_split, seed=0,
                          **options)
    if classes is not None:
        data = kgen.data.class_subset(data, classes)
    changes = {}
    if limit is not None and limit < len(data.x_train):
        keep = stratified_subset(data.y_train, limit, SUBSET_SEED)
        x_train, y_train = take_rows(data.x_train, keep), data.y_train[keep]
        mean, std = kgen.data.mean_and_std(x_train)
        changes.update(x_train=x_train, y_train=y_train, mean=mean, std=std)
    if eval_limit is not None:
        for split in ("val", "test"):
            images, labels = getattr(data, f"x_{split}"), getattr(data, f"y_{split}")
            keep = stratified_subset(labels, eval_limit, SUBSET_SEED)
            changes.update({f"x_{split}": take_rows(images, keep), f"y_{split}": labels[keep]})
    return dataclasses.replace(data, **changes) if changes else data


def fold_of(data, folds, index):
    """`data` for fold `index` of `folds`-fold cross-validation: its training
    images split into `folds` stratified folds (seed 0, the same for every run),
    fold `index` the validation split and the others the training split, with
    the statistics of that training split. The test split is kept."""
    folds = check_int("folds", folds, minimum=2)
    index = check_int("fold", index, minimum=0)
    if index >= folds:
        raise ValueError(f"With {folds} folds, run (seed) {index} has no fold: each seed "
                         f"0..{folds - 1} validates on one. Received: fold={index}")
    if len(data.x_val):
        raise ValueError("Cross-validation splits the training images itself: load the "
                         f"data without a validation split. Received: {len(data.x_val)} "
                         "validation images")
    parts = stratified_folds(data.y_train, folds, SUBSET_SEED)
    if min(len(part) for part in parts) == 0:
        raise ValueError(f"{len(data.x_train)} training images cannot fill {folds} folds. "
                         f"Received: folds={folds}")
    validation = parts[index]
    training = np.sort(np.concatenate([part for i, part in enumerate(parts) if i != index]))
    x_train = take_rows(data.x_train, training)
    mean, std = kgen.data.mean_and_std(x_train)
    return dataclasses.replace(
        data, x_train=x_train, y_train=data.y_train[training],
        x_val=take_rows(data.x_train, validation), y_val=data.y_train[validation],
        mean=mean, std=std)


def with_label_noise(data, fraction):
    """`data` with `fraction` of its training labels replaced by another class,
    drawn uniformly from the other classes (seed 0: the same images and labels
    in every run of a study). Validation and test labels stay clean, so they
    measure the true task (the label-noise setting of the double-descent
    experiments, Nakkiran et al. 2019)."""
    labels = np.array(data.y_train, copy=True)
    count = round(fraction * len(labels))
    rng = np.random.default_rng(SUBSET_SEED)
    flipped = rng.choice(len(labels), size=count, replace=False)
    # An offset of 1 .. classes-1 always gives another class, each equally likely.
    offsets = rng.integers(1, data.num_classes, size=count)
    labels[flipped] = (labels[flipped] + offsets) % data.num_classes
    return dataclasses.replace(data, y_train=labels.astype(data.y_train.dtype))
