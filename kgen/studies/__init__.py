"""Studies: named lists of variants (a preset plus overrides), run for several
seeds and reported as tables and plots.

    kgen.studies.names()                      # built-in studies
    study = kgen.studies.get("normalization")
    study = kgen.studies.load_study_file("my_study.toml")

    # One run: a variant, its settings and a seed, trained into a folder.
    experiment = kgen.studies.Experiment(study.variants[0], kgen.studies.Settings(epochs=5))
    result = kgen.studies.run(experiment, "runs/one")

This package imports no Keras: `kgen.studies.runner` (which trains) does, and
`kgen.studies.report` rebuilds a report from files alone.
"""

from kgen.studies.builtin import STUDIES
from kgen.studies.data import load_limited
from kgen.studies.experiment import Experiment
from kgen.studies.settings import QUICK, Settings, quick_settings
from kgen.studies.spec import (
    SCALINGS,
    Study,
    Variant,
    load_study_file,
    resolve_variant,
    study_from_dict,
)
from kgen.validation import check_choice


def names():
    """The built-in studies' names."""
    return list(STUDIES)


def run(experiment, out_dir, callbacks=(), force=False, log=print):
    """Trains one `Experiment` into `out_dir` (resuming it, or skipping it when
    it finished already) and returns its result, the dict of its
    `result.json`: the runner behind every study, for one run. `callbacks`:
    Keras callbacks added to its `fit`, to observe it (they are not part of the
    run's config, so they must not change what it computes). The folder is a
    study's: more seeds
    of the same experiment may train into it, and `kgen report` reads it."""
    from kgen.studies import runner

    return runner.run_experiment(experiment, out_dir, callbacks=callbacks, force=force, log=log)


def get(name):
    """The built-in study `name` as a `Study`; the error suggests close names."""
    check_choice("study", name, tuple(STUDIES))
    return study_from_dict(STUDIES[name], source=f"built-in study {name!r}")


__all__ = [
    "QUICK", "SCALINGS", "STUDIES", "Experiment", "Settings", "Study", "Variant", "get",
    "load_limited", "load_study_file", "names", "quick_settings", "resolve_variant", "run",
    "study_from_dict",
]
