"""How a study is run: the settings shared by all its variants, and `--quick`.

Keras-free, so the CLI can print and check settings before choosing a backend.
"""

import dataclasses
from dataclasses import dataclass

from kgen.validation import check_int, check_number, received

# `kgen ladder --quick`: the ten-rung ladder in a few minutes on two CPU cores
# (benchmarks/quick_ladder.py measures each backend and writes the times to
# docs/results.md, so they are kept in one place). What it shows: the baseline's train-val
# gap and random erasing narrowing it; the dropout rungs (3 and up) stay at chance
# this short (the report says so); their effect needs the full run (docs/datasets.md).
QUICK = {
    "train_size": 2000,  # synthetic train images before the 10% validation split; full: 10,000
    "width_scale": 0.25,  # multiplies every preset's width_multiplier; full: 1.0
    "epochs": 6,  # full: 50 for the ladder (the course's)
    "batch_size": 32,  # more updates per image than the presets' 256; at 128, too few to learn
    "seeds": 1,  # full: 3, the least that gives a noise estimate
}
DEFAULT_SEEDS = 3

# The settings that change what a run computes; two runs of one variant are
# the same run only when all of these agree (the seed is per run).
RESULT_FIELDS = ("dataset", "epochs", "width_scale", "batch_size", "train_size", "limit",
                 "eval_limit", "validation_split")


@dataclass(frozen=True)
class Settings:
    """Run settings shared by every variant of a study.

    Attributes:
        dataset: a `kgen.data` dataset name or `"folder:PATH"`.
        epochs: epochs per run; None trains each preset for its own `epochs`.
        seeds: runs per variant, with seeds 0 .. seeds - 1.
        width_scale: multiplies each variant's `width_multiplier`, so relative
            widths (ladder-9's doubling) survive a narrow quick run.
        batch_size: overrides each preset's batch size when set.
        train_size: the synthetic dataset's train size (None: its default).
        limit: train on the first `limit` training images only (None: all).
        eval_limit: evaluate on the first `eval_limit` validation and test
            images only (for tests; None: all).
        validation_split: fraction of the train split held out for validation.
        data_dir: where datasets are looked for (`kgen.data.load`).
        tensorboard: also write TensorBoard logs per run.
    """

    dataset: str = "synthetic"
    epochs: int | None = None
    seeds: int = DEFAULT_SEEDS
    width_scale: float = 1.0
    batch_size: int | None = None
    train_size: int | None = None
    limit: int | None = None
    eval_limit: int | None = None
    validation_split: float = 0.1
    data_dir: str | None = None
    tensorboard: bool = False

    def __post_init__(self):
        if not isinstance(self.dataset, str) or not self.dataset:
            raise ValueError(f"`dataset` must be a dataset name. {received('dataset', self.dataset)}")
        for name in ("epochs", "batch_size", "train_size", "limit", "eval_limit"):
            if getattr(self, name) is not None:
                check_int(name, getattr(self, name), minimum=1)
        check_int("seeds", self.seeds, minimum=1)
        check_number("width_scale", self.width_scale, minimum=0.0, min_inclusive=False)
        check_number("validation_split", self.validation_split, minimum=0.0, maximum=1.0,
                     max_inclusive=False)

    def to_dict(self):
        return dataclasses.asdict(self)

    def result_fields(self):
        return {name: getattr(self, name) for name in RESULT_FIELDS}


def quick_settings(**overrides):
    """`Settings` for `--quick`; explicit options (not None) win over QUICK."""
    values = {
        "epochs": QUICK["epochs"],
        "width_scale": QUICK["width_scale"],
        "batch_size": QUICK["batch_size"],
        "seeds": QUICK["seeds"],
    }
    dataset = overrides.get("dataset") or "synthetic"
    if dataset == "synthetic":
        values["train_size"] = QUICK["train_size"]
    else:
        values["limit"] = round(QUICK["train_size"] * 0.9)
    values.update({k: v for k, v in overrides.items() if v is not None})
    return Settings(**values)
