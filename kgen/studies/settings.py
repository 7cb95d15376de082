"""How a study is run: the settings shared by all its variants, and `--quick`.

Keras-free, so the CLI can print and check settings before choosing a backend.
"""

import dataclasses
from dataclasses import dataclass

from kgen.data.loading import GENERATED_DATASETS
from kgen.precision import check_precision
from kgen.validation import check_classes, check_int, check_keras_file, check_number, received

# `kgen ladder --quick`: the ten-rung ladder in under ten minutes on two CPU cores
# (benchmarks/quick_ladder.py runs it on each backend and writes docs/results.md, with
# the check of what it must show: the baseline overfits, regularization closes the gap,
# ladder-5 and ladder-9 beat the baseline). Few images and many epochs: the regime
# where regularization pays within a short run: the baseline memorizes 1,000 images
# in ~15 epochs while the regularized rungs keep learning from the same images.
# Chosen on the synthetic train/val split (docs/datasets.md has what was tried).
QUICK = {
    "train_size": 1250,  # synthetic images before the validation split; full: 10,000
    "validation_split": 0.2,  # 250 validation images; the test split has 2,000
    "width_scale": 0.25,  # multiplies every preset's width_multiplier; full: 1.0
    # The course's 50. Over three seeds (PyTorch) ladder-5's test accuracy beat the
    # baseline's by 7.3 points on average at 50 epochs, by 4.2 at 40; at 30 it tied.
    "epochs": 50,
    "batch_size": 32,  # the presets' 256 gives too few steps; 64 and 128 learned less per epoch
    "seeds": 1,  # full: 3, the least that gives a noise estimate
}
DEFAULT_SEEDS = 3

# The settings that change what a run computes; two runs of one variant are
# the same run only when all of these agree (the seed is per run).
RESULT_FIELDS = ("dataset", "epochs", "width_scale", "batch_size", "train_size", "limit",
                 "eval_limit", "validation_split", "image_size", "data_seed", "test_seed",
                 "flip_tta", "precision", "folds", "label_noise", "classes")
# Result fields added after run folders were first written, with their defaults:
# a run's config leaves them out while they hold the default, so the folders of
# earlier studies (which lack them) still resume and are not refused as other runs.
LATER_RESULT_FIELDS = {"test_seed": None, "flip_tta": False, "precision": "float32",
                       "folds": None, "label_noise": 0.0, "classes": None}


@dataclass(frozen=True)
class Settings:
    """Run settings shared by every variant of a study.

    Attributes:
        dataset: a `kgen.data` dataset name or `"folder:PATH"`.
        epochs: epochs per run; None trains each preset for its own `epochs`.
        seeds: runs per variant, with seeds 0 .. seeds - 1.
        width_scale: multiplies each variant's `width_multiplier`, so relative
            widths (ladder-9's doubling) survive a narrow quick run.
        batch_size: overrides each variant's batch size when set (refused
            for a study whose variants compare batch sizes).
        train_size: a generated dataset's train size (synthetic, two-moons;
            None: its default).
        data_seed: which draw of a generated dataset (None: its default, 0):
            another seed gives other images in every split, to replicate a
            result on data it was not chosen on.
        test_seed: which test split of a `folder:` dataset without a test
            folder (None or 0: its default): another seed scores images the
            default test split never held (`kgen.data.load_folder`), for
            settings that were chosen on the default one.
        limit: train on `limit` training images only, a seeded stratified
            subset (None: all).
        eval_limit: evaluate on `eval_limit` validation and test images only,
            stratified subsets (for tests; None: all).
        validation_split: fraction of the train split held out for validation
            (not used with `folds`).
        folds: k-fold cross-validation: the training images are split into
            `folds` stratified folds and run (seed) i validates on fold i and
            trains on the others, so the validation accuracy's mean and spread
            over the runs are the cross-validation estimate. `seeds` must equal
            `folds`. None: one fixed validation split.
        label_noise: the fraction of training labels replaced by another class
            (seeded: the same in every run; validation and test labels stay
            clean), the double-descent experiments' setting.
        image_size: resize a `folder:` dataset's images to this many pixels
            square (None: their own size).
        skip_bad: leave out a `folder:` dataset's unreadable images instead of
            refusing the dataset (they are listed in the log; the run's dataset
            fingerprint records what was kept).
        data_dir: where datasets are looked for (`kgen.data.load`).
        precision: the dtype policy every model is built under
            (`kgen.precision`: "float32", "mixed_bfloat16" or "mixed_float16").
        flip_tta: also score the test split with test-time flip averaging
            (the mean of the logits of each image and its mirror image,
            airbench's TTA), recorded as `test_accuracy_flip`.
        tensorboard: also write TensorBoard logs per run.
        gradient_norms: also record each kernel's gradient norm on a probe
            batch before training and after every epoch
            (`kgen.callbacks.GradientNorms`, gradient_norms.csv per run). It
            changes nothing the run computes.
        classes: train and score on these classes of the dataset only
            (indices), relabelled 0..k-1: a source or target task carved
            from one dataset. None: all.
        backbone: a kgen `.keras` model the variants with a `transfer` start
            from (a new classifier on its features); each such run records
            the file's digest, so another file is another run.
        save_model: also save each run's trained model as `model.keras`.
    """

    dataset: str = "synthetic"
    epochs: int | None = None
    seeds: int = DEFAULT_SEEDS
    width_scale: float = 1.0
    batch_size: int | None = None
    train_size: int | None = None
    data_seed: int | None = None
    test_seed: int | None = None
    limit: int | None = None
    eval_limit: int | None = None
    validation_split: float = 0.1
    image_size: int | None = None
    skip_bad: bool = False
    flip_tta: bool = False
    precision: str = "float32"
    folds: int | None = None
    label_noise: float = 0.0
    data_dir: str | None = None
    tensorboard: bool = False
    gradient_norms: bool = False
    classes: tuple | None = None
    backbone: str | None = None
    save_model: bool = False

    def __post_init__(self):
        if not isinstance(self.dataset, str) or not self.dataset:
            raise ValueError(f"`dataset` must be a dataset name. {received('dataset', self.dataset)}")
        for name in ("epochs", "batch_size", "train_size", "limit", "eval_limit", "image_size"):
            if getattr(self, name) is not None:
                check_int(name, getattr(self, name), minimum=1)
        check_int("seeds", self.seeds, minimum=1)
        check_number("width_scale", self.width_scale, minimum=0.0, min_inclusive=False)
        check_number("validation_split", self.validation_split, minimum=0.0, maximum=1.0,
                     max_inclusive=False)
        if self.data_seed is not None:
            check_int("data_seed", self.data_seed, minimum=0)
            if self.dataset not in GENERATED_DATASETS:
                raise ValueError("`data_seed` chooses a draw of a generated dataset "
                                 f"({', '.join(GENERATED_DATASETS)}); "
                                 f"{received('dataset', self.dataset)}")
        check_precision(self.precision)
        check_number("label_noise", self.label_noise, minimum=0.0, maximum=1.0,
                     max_inclusive=False)
        if self.gradient_norms is True and self.precision == "mixed_float16":
            # Unscaled float16 backprop underflows below ~6e-8: exactly the
            # vanishing first-layer gradients the readout is for.
            raise ValueError("`gradient_norms` measures gradients down to tiny ones, which "
                             "float16 rounds to zero: use float32 or mixed_bfloat16. "
                             f"{received('precision', self.precision)}")
        if self.folds is not None:
            check_int("folds", self.folds, minimum=2)
            if self.seeds != self.folds:
                raise ValueError(f"With `folds`, run (seed) i validates on fold i: `seeds` must "
                                 f"equal `folds`. Received: folds={self.folds}, seeds={self.seeds}")
        if self.test_seed is not None:
            check_int("test_seed", self.test_seed, minimum=0)
        if self.test_seed == 0:
            # Split 0 is every dataset's default test split: the same settings as None.
            object.__setattr__(self, "test_seed", None)
        if self.test_seed is not None:
            if not self.dataset.startswith("folder:"):
                raise ValueError("`test_seed` chooses the test split of a folder: dataset; the "
                                 f"other datasets have a fixed one. {received('dataset', self.dataset)}")
        if self.classes is not None:
            object.__setattr__(self, "classes", check_classes("classes", self.classes))
        if self.backbone is not None:
            object.__setattr__(self, "backbone", check_keras_file("backbone", self.backbone))
        for name in ("skip_bad", "flip_tta", "tensorboard", "gradient_norms", "save_model"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"`{name}` must be True or False. {received(name, getattr(self, name))}")
        if self.skip_bad and not self.dataset.startswith("folder:"):
            raise ValueError("`skip_bad` leaves out a folder: dataset's unreadable images; the "
                             f"other datasets are checked archives. {received('dataset', self.dataset)}")
        if self.image_size is not None and not self.dataset.startswith("folder:"):
            raise ValueError("`image_size` resizes a folder: dataset's images; the other "
                             f"datasets have a fixed size. {received('dataset', self.dataset)}, "
                             f"{received('image_size', self.image_size)}")

    def to_dict(self):
        return dataclasses.asdict(self)

    def result_fields(self):
        return {name: getattr(self, name) for name in RESULT_FIELDS
                if name not in LATER_RESULT_FIELDS
                or getattr(self, name) != LATER_RESULT_FIELDS[name]}


def quick_settings(**overrides):
    """`Settings` for `--quick`; explicit options (not None) win over QUICK."""
    values = {
        "epochs": QUICK["epochs"],
        "width_scale": QUICK["width_scale"],
        "batch_size": QUICK["batch_size"],
        "seeds": QUICK["seeds"],
        "validation_split": QUICK["validation_split"],
    }
    dataset = overrides.get("dataset") or "synthetic"
    if dataset == "synthetic":
        values["train_size"] = QUICK["train_size"]
    else:
        values["limit"] = round(QUICK["train_size"] * (1 - QUICK["validation_split"]))
    values.update({k: v for k, v in overrides.items() if v is not None})
    return Settings(**values)
