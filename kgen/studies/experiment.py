"""One run as a value: a variant, the settings it trains under, and a seed.

    experiment = Experiment(
        Variant(name="bn", preset="ladder-1", model={"normalization": "batch"}),
        Settings(epochs=20, width_scale=0.5),
        seed=0,
    )
    result = kgen.studies.run(experiment, "runs/bn")

A study is a list of experiments (its variants times its seeds) trained by the
same runner: `kgen.studies.run` writes the files `kgen study` writes for each
of its runs (`out_dir/VARIANT/seed-N/`, plus the study's manifest and report),
so an experiment's folder resumes, extends with more seeds and rebuilds with
`kgen report` like any study's. Keras-free: an experiment is checked and
shown before a backend starts.
"""

import dataclasses
from dataclasses import dataclass, field

from kgen.studies.settings import Settings
from kgen.studies.spec import Study, Variant
from kgen.validation import check_seed, received


@dataclass(frozen=True)
class Experiment:
    """One run of one variant with one seed.

    Attributes:
        variant: the preset and its model and training overrides (`Variant`).
        settings: the dataset, width scale, epoch and batch overrides and the
            other run settings (`Settings`); its `seeds` is not used, the run
            has `seed`.
        seed: the run's seed (weights, augmentation, shuffling).
    """

    variant: Variant
    settings: Settings = field(default_factory=Settings)
    seed: int = 0

    def __post_init__(self):
        if not isinstance(self.variant, Variant):
            raise TypeError("`variant` must be a kgen.studies.Variant. "
                            f"{received('variant', self.variant)}")
        if not isinstance(self.settings, Settings):
            raise TypeError("`settings` must be a kgen.studies.Settings. "
                            f"{received('settings', self.settings)}")
        check_seed("seed", self.seed)

    @property
    def study(self):
        """The study of this one variant, named after it (the folder's manifest)."""
        return Study(name=self.variant.name, variants=(self.variant,), title=self.variant.name)

    def with_seed(self, seed):
        return dataclasses.replace(self, seed=seed)

    def to_dict(self):
        return {"variant": self.variant.to_dict(), "settings": self.settings.to_dict(),
                "seed": self.seed}
