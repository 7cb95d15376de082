"""Studies: named lists of variants (a preset plus overrides), run for several
seeds and reported as tables and plots.

    kgen.studies.names()                      # built-in studies
    study = kgen.studies.get("normalization")
    study = kgen.studies.load_study_file("my_study.toml")

This package imports no Keras: `kgen.studies.runner` (which trains) does, and
`kgen.studies.report` rebuilds a report from files alone.
"""

from kgen.studies.builtin import STUDIES
from kgen.studies.data import load_limited
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


def get(name):
    """The built-in study `name` as a `Study`; the error suggests close names."""
    check_choice("study", name, tuple(STUDIES))
    return study_from_dict(STUDIES[name], source=f"built-in study {name!r}")


__all__ = [
    "QUICK", "SCALINGS", "STUDIES", "Settings", "Study", "Variant", "get", "load_limited",
    "load_study_file", "names", "quick_settings", "resolve_variant", "study_from_dict",
]
