"""`kgen.data.load(name)`: one entry point for every dataset kgen knows."""

import dataclasses
import inspect

import numpy as np

from kgen.data.dataset import Dataset
from kgen.data.splits import stratified_split, stratified_subset, take_rows
from kgen.data.statistics import mean_and_std
from kgen.validation import check_choice, check_classes, check_int, check_number, received

FOLDER_PREFIX = "folder:"
# Made in code rather than read: their loaders take `train_size`, `test_size`
# and `data_seed` (which draw).
GENERATED_DATASETS = ("synthetic", "two-moons")


def _registry():
    # Imported here so `import kgen.data` stays cheap: a loader's module is only
    # read when its dataset is asked for.
    from kgen.data import cifar, folder, mnist, synthetic, toy

    return {
        "synthetic": synthetic.load_synthetic,
        "cifar10": cifar.load_cifar10,
        "cifar100": cifar.load_cifar100,
        "mnist": mnist.load_mnist,
        "fashion_mnist": mnist.load_fashion_mnist,
        "two-moons": toy.load_two_moons,
        FOLDER_PREFIX: folder.load_folder,
    }


def names():
    """The dataset names `load` accepts, besides `"folder:PATH"` for an image folder.
    All are images but `"two-moons"`: 2-D points, for the MLP presets."""
    return ("synthetic", "cifar10", "cifar100", "mnist", "fashion_mnist", "two-moons")


def check_dataset_name(name):
    """Refuses a dataset name `load` cannot load, before any file is read:
    one of `names()`, or `"folder:PATH"` with a path."""
    if not isinstance(name, str):
        raise TypeError(f"`name` must be a string. {received('dataset', name)}")
    if name.startswith(FOLDER_PREFIX):
        if name == FOLDER_PREFIX:
            raise ValueError(f"--dataset folder: needs a path, e.g. folder:data/images. "
                             f"{received('dataset', name)}")
        return name
    return check_choice("dataset", name, (*names(), FOLDER_PREFIX + "PATH"))


def load(name="synthetic", data_dir=None, validation_split=0.1, seed=0, **options):
    """Loads a dataset as uint8 NHWC arrays (`"two-moons"`: float32 points)
    with int64 labels.

    Args:
        name: one of `names()`, or `"folder:PATH"` for `PATH/<class>/<image>` files.
        data_dir: where archives are looked for, downloaded to and where decoded
            folders are cached. Default: env `KGEN_DATA`, else
            `$KERAS_HOME/datasets`, else `~/.keras/datasets` (as `keras.datasets`).
        validation_split: fraction of each class of the train split moved to
            the validation split, in [0, 1); 0 gives empty validation arrays.
        seed: chooses the validation split (and nothing else: the images and
            the test split are the same for every seed).
        **options: dataset specific, e.g. `train_size` for `"synthetic"`,
            `label_mode` for `"cifar100"`, `image_size` for folders.

    Returns:
        A `Dataset`; `mean`/`std` are per-channel (per-feature for points)
        statistics of `x_train` after the validation split was carved off.
    """
    if not isinstance(name, str):
        raise TypeError(f"`name` must be a string. {received('name', name)}")
    validation_split = check_number(
        "validation_split", validation_split, minimum=0.0, maximum=1.0, max_inclusive=False
    )
    seed = check_int("seed", seed, minimum=0)
    registry = _registry()
    if name.startswith(FOLDER_PREFIX):
        path = name[len(FOLDER_PREFIX):]
        if not path:
            raise ValueError(
                f"A folder dataset needs a path after 'folder:'. {received('name', name)}"
            )
        loader = registry[FOLDER_PREFIX]
        arguments = (path,)
    else:
        check_choice("name", name, (*names(), FOLDER_PREFIX + "PATH"), label="dataset name")
        loader = registry[name]
        arguments = ()
    _check_options(name, loader, options)
    loaded = loader(*arguments, data_dir=data_dir, **options)
    return split_dataset(name, loaded, validation_split, seed)


def split_dataset(name, loaded, validation_split, seed):
    """Carves the validation split off the train split and wraps a `Dataset`."""
    x_train, y_train, x_test, y_test, class_names = loaded[:5]
    skipped_files = tuple(loaded[5]) if len(loaded) > 5 else ()
    keep, carved = stratified_split(y_train, validation_split, seed)
    x_val, y_val = take_rows(x_train, carved), take_rows(y_train, carved)
    if len(carved):
        x_train, y_train = take_rows(x_train, keep), take_rows(y_train, keep)
    mean, std = mean_and_std(x_train)
    return Dataset(
        name=name,
        x_train=x_train,
        y_train=np.asarray(y_train, dtype=np.int64),
        x_val=x_val,
        y_val=np.asarray(y_val, dtype=np.int64),
        x_test=x_test,
        y_test=np.asarray(y_test, dtype=np.int64),
        class_names=tuple(class_names),
        mean=mean,
        std=std,
        skipped_files=skipped_files,
    )


def _check_options(name, loader, options):
    accepted = [
        parameter
        for parameter in inspect.signature(loader).parameters
        if parameter not in ("data_dir", "path")
    ]
    for option in options:
        if option in ("data_dir", "path") or option not in accepted:
            choices = ", ".join(accepted) if accepted else "none"
            raise ValueError(
                f"Unknown option {option!r} for dataset {name!r}. Options it accepts: "
                f"{choices}. {received(option, options[option])}"
            )


def class_subset(data, classes, train_limit=None, seed=0):
    """`data` restricted to `classes` (indices into its class names), relabelled
    0 .. len(classes) - 1, with at most `train_limit` training images (a
    stratified, seeded subset): a source or target task carved from one
    dataset, for pretraining on some classes and transferring to the others
    (`kgen transfer`; `Settings.classes` in a study)."""
    classes = list(check_classes("classes", classes, data.num_classes))
    mapping = np.full(data.num_classes, -1)
    mapping[classes] = np.arange(len(classes))
    changes = {}
    for split in ("train", "val", "test"):
        labels = getattr(data, f"y_{split}")
        keep = np.flatnonzero(mapping[labels] >= 0)
        if split == "train" and train_limit is not None:
            keep = keep[stratified_subset(labels[keep], train_limit, seed)]
        changes[f"x_{split}"] = take_rows(getattr(data, f"x_{split}"), keep)
        changes[f"y_{split}"] = mapping[labels[keep]].astype(labels.dtype)
    mean, std = mean_and_std(changes["x_train"])
    return dataclasses.replace(data, **changes, mean=mean, std=std,
                               class_names=tuple(data.class_names[c] for c in classes))
