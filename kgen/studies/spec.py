"""A study is data: named variants, each a preset plus overrides.

    study = study_from_dict({"name": "my-study", "variants": [
        {"name": "base", "preset": "small-cnn"},
        {"name": "group", "preset": "small-cnn", "model": {"normalization": "group"}},
    ]})

Parsing checks the shape of the data (names, types, keys); `resolve_variant`
checks presets and fields against the preset registry and the configs. Neither
imports Keras.
"""

import dataclasses
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from kgen.validation import check_choice, check_number, received

# How the model maps pixels before the first convolution: the `mean` and `std`
# passed to `kgen.models.create`, in [0, 1] units.
SCALINGS = {
    "standardize": None,  # the training set's per-channel mean and std
    "unit": (0.0, 1.0),  # x / 255: pixels in [0, 1]
    "symmetric": (0.5, 0.5),  # (x / 255 - 0.5) / 0.5: pixels in [-1, 1]
}
COMPARES = ("previous", "first")
VARIANT_KEYS = ("name", "preset", "summary", "model", "train", "scaling", "compare_to", "course")
STUDY_KEYS = ("name", "title", "description", "course_note", "compare", "variants")
_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")
# A study is a few kilobytes of names and overrides (the largest built-in,
# "training", is 4 KB as JSON). The cap is checked before parsing: a parser holds
# the whole document and more in memory, and a 10 MB file is a mistake (a
# dataset or a log saved under the wrong name), not a study.
MAX_STUDY_FILE_BYTES = 2**20
# Every variant is trained (times the seeds) and gets a folder and a report row;
# no study needs more, and a generated list that does is better split.
MAX_VARIANTS = 256
# study > variants > variant > model > augmentation > erasing > scale is 7 levels;
# anything far deeper is not a study, and deep data makes Python recurse when it
# is compared, copied or shown.
MAX_DEPTH = 32
# Names become folder names: most file systems allow 255 bytes a name.
MAX_NAME_LENGTH = 100


@dataclass(frozen=True)
class Variant:
    """One arm of a study.

    Attributes:
        name: unique within the study; also its folder name.
        preset: a `kgen.models` preset name.
        summary: one line on what the variant changes.
        model: `ModelConfig` field overrides; an `augmentation` dict is merged
            into the preset's augmentation rather than replacing it.
        train: `TrainConfig` field overrides.
        scaling: `"standardize"`, `"unit"` ([0, 1]) or `"symmetric"` ([-1, 1]).
        compare_to: the variant whose validation accuracy this one's change
            is measured against; `None` takes the study's `compare` rule.
        course: the course's accuracy for this variant, in percent, if any.
    """

    name: str
    preset: str
    summary: str = ""
    model: dict = field(default_factory=dict)
    train: dict = field(default_factory=dict)
    scaling: str = "standardize"
    compare_to: str | None = None
    course: float | None = None

    def to_dict(self):
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Study:
    """Named variants trained under the same settings and compared.

    Attributes:
        name: the study's name (`kgen study NAME`).
        title: a heading for the report.
        description: what the study asks, a paragraph of Markdown.
        course_note: what the course figures are (metric and dataset).
        compare: `"previous"` (each variant against the one before it, as on a
            ladder) or `"first"` (every variant against the first).
        variants: tuple of `Variant`.
    """

    name: str
    variants: tuple
    title: str = ""
    description: str = ""
    course_note: str = ""
    compare: str = "previous"

    def reference_of(self, index):
        """The index of the variant that variant `index` is compared with, or None."""
        variant = self.variants[index]
        if variant.compare_to is not None:
            return [v.name for v in self.variants].index(variant.compare_to)
        if index == 0:
            return None
        return index - 1 if self.compare == "previous" else 0

    def select(self, only):
        """A copy holding the variants at `only` (indices), in study order."""
        return dataclasses.replace(self, variants=tuple(self.variants[i] for i in sorted(only)))

    def to_dict(self):
        return {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "course_note": self.course_note,
            "compare": self.compare,
            "variants": [v.to_dict() for v in self.variants],
        }


def study_from_dict(data, source="study"):
    """A `Study` from plain data (a TOML table or JSON object); clear errors."""
    if not isinstance(data, dict):
        raise ValueError(f"{source}: a study must be a table/object. {received('study', data)}")
    depth = _nesting_depth(data, MAX_DEPTH)
    if depth > MAX_DEPTH:
        raise ValueError(
            f"{source}: the study data is nested more than {MAX_DEPTH} levels deep; a study "
            f"needs 7 at most (variants > variant > model > augmentation > erasing > scale). "
            f"Received: depth>{MAX_DEPTH}"
        )
    _check_keys(data, STUDY_KEYS, f"{source}: study field")
    name = _check_name(data.get("name"), f"{source}: study name", "name")
    variants_data = data.get("variants")
    if not isinstance(variants_data, list) or not variants_data:
        raise ValueError(
            f"{source}: a study needs a non-empty list `variants` ([[variants]] in TOML). "
            f"{received('variants', variants_data)}"
        )
    if len(variants_data) > MAX_VARIANTS:
        raise ValueError(
            f"{source}: a study may have at most {MAX_VARIANTS} variants; split it into "
            f"several studies. Received: len(variants)={len(variants_data)}"
        )
    variants = tuple(
        _variant_from_dict(item, f"{source}: variant {index}")
        for index, item in enumerate(variants_data)
    )
    names = [v.name for v in variants]
    for index, variant_name in enumerate(names):
        if variant_name in names[:index]:
            raise ValueError(f"{source}: variant names must be unique. Received: name={variant_name!r}")
    for variant in variants:
        if variant.compare_to is not None:
            check_choice(f"{source}: variant {variant.name!r} compare_to", variant.compare_to,
                         tuple(n for n in names if n != variant.name))
    compare = data.get("compare", "previous")
    check_choice(f"{source}: compare", compare, COMPARES)
    texts = {}
    for key in ("title", "description", "course_note"):
        value = data.get(key, "")
        if not isinstance(value, str):
            raise ValueError(f"{source}: `{key}` must be a string. {received(key, value)}")
        texts[key] = value
    return Study(name=name, variants=variants, compare=compare, **texts)


def load_study_file(path):
    """Reads a study from a `.toml` or `.json` file (tomllib/json only, no code runs)."""
    path = Path(path)
    if path.suffix not in (".toml", ".json"):
        raise ValueError(f"A study file must end in .toml or .json. Received: file={str(path)!r}")
    try:
        # One byte past the cap is enough to know it is too big, whatever the file
        # is (a device or a pipe has no size to check first).
        with path.open("rb") as file:
            raw = file.read(MAX_STUDY_FILE_BYTES + 1)
    except OSError as error:
        raise ValueError(f"Cannot read the study file: {error.strerror}. "
                         f"Received: file={str(path)!r}") from None
    if len(raw) > MAX_STUDY_FILE_BYTES:
        raise ValueError(
            f"{path.name} is larger than {MAX_STUDY_FILE_BYTES // 2**20} MiB, too large for a "
            f"study file (a study is names and overrides, a few KB). Received: file={str(path)!r}"
        )
    try:
        if path.suffix == ".toml":
            try:
                import tomllib
            except ModuleNotFoundError:  # Python 3.10
                tomllib = None
            if tomllib is None:
                raise ValueError("Reading TOML needs Python 3.11 or newer; use a .json file.")
            data = tomllib.loads(raw.decode("utf-8"))
        else:
            data = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise ValueError(f"{path.name} is not valid {path.suffix[1:].upper()}: {error}. "
                         f"Received: file={str(path)!r}") from None
    except RecursionError:
        # json and tomllib parse nested arrays and tables recursively.
        raise ValueError(f"{path.name} is nested too deeply to parse; a study is nested "
                         f"{MAX_DEPTH} levels at most. Received: file={str(path)!r}") from None
    return study_from_dict(data, source=path.name)


def resolve_variant(variant):
    """`(preset, model_config, train_config)` for `variant`; errors name the field.

    The one resolver of a preset plus overrides (studies, recipes, `kgen train`,
    `kgen bench`); Keras-free, like the configs and presets it reads.
    """
    from kgen import presets
    from kgen.config import (
        Augmentation,
        MLPConfig,
        ModelConfig,
        Stage,
        TrainConfig,
        replace_fields,
    )

    where = f"variant {variant.name!r}"
    for key in ("model", "train"):
        # A Variant made in Python skips the checks of `study_from_dict`.
        if not isinstance(getattr(variant, key), dict):
            raise TypeError(f"{where}: `{key}` must be a dict of field overrides. "
                            f"{received(key, getattr(variant, key))}")
    try:
        check_choice("preset", variant.preset, (*presets.names(), *presets.MLP_PRESETS))
    except ValueError as error:
        raise ValueError(f"{where}: {error}") from None
    if variant.preset in presets.MLP_PRESETS:  # an MLP, on feature vectors
        preset = presets.get_mlp(variant.preset)
        try:
            _check_fields(variant.model, MLPConfig, "model field")
            model = replace_fields(preset.model, variant.model, "model field")
            _check_fields(variant.train, TrainConfig, "train field")
            train = replace_fields(preset.train, variant.train, "train field")
        except (ValueError, TypeError) as error:
            raise type(error)(f"{where}: {error}") from None
        return preset, model, train
    try:
        preset = presets.get(variant.preset)
    except ValueError as error:
        raise ValueError(f"{where}: {error}") from None
    overrides = dict(variant.model)
    try:
        augmentation = overrides.pop("augmentation", None)
        _check_fields(overrides, ModelConfig, "model field")
        if "stages" in overrides:
            overrides["stages"] = _stages(overrides["stages"], Stage)
        model = replace_fields(preset.model, overrides, "model field")
        if augmentation is not None:
            if not isinstance(augmentation, dict):
                raise TypeError(f"`augmentation` must be a table of fields. "
                                f"{received('augmentation', augmentation)}")
            _check_fields(augmentation, Augmentation, "augmentation field")
            model = dataclasses.replace(
                model, augmentation=dataclasses.replace(model.augmentation, **augmentation)
            )
        _check_fields(variant.train, TrainConfig, "train field")
        train = replace_fields(preset.train, variant.train, "train field")
    except (ValueError, TypeError) as error:
        raise type(error)(f"{where}: {error}") from None
    return preset, model, train


def course_figure(variant, preset):
    """The course's accuracy in percent for `variant`: its own, or the preset's
    when the variant trains the preset unchanged."""
    if variant.course is not None:
        return variant.course
    unchanged = not variant.model and not variant.train and variant.scaling == "standardize"
    if unchanged and preset.course_val_accuracy is not None:
        return round(100 * preset.course_val_accuracy, 2)
    return None


def course_train_figure(variant, preset):
    """The course's train accuracy in percent, where it gives one: the preset's,
    when the variant trains the preset unchanged (the ladder's rungs 5-9)."""
    unchanged = not variant.model and not variant.train and variant.scaling == "standardize"
    if unchanged and preset.course_train_accuracy is not None:
        return round(100 * preset.course_train_accuracy, 2)
    return None


def _variant_from_dict(data, where):
    if not isinstance(data, dict):
        raise ValueError(f"{where}: a variant must be a table/object. Received: variant={data!r}")
    _check_keys(data, VARIANT_KEYS, f"{where}: variant field")
    name = _check_name(data.get("name"), f"{where}: name", "name")
    where = f"variant {name!r}"
    preset = data.get("preset")
    if not isinstance(preset, str) or not preset:
        raise ValueError(f"{where}: `preset` must name a kgen preset. {received('preset', preset)}")
    for key in ("model", "train"):
        if not isinstance(data.get(key, {}), dict):
            raise ValueError(f"{where}: `{key}` must be a table of field overrides. "
                             f"{received(key, data[key])}")
    scaling = data.get("scaling", "standardize")
    check_choice(f"{where}: scaling", scaling, tuple(SCALINGS))
    compare_to = data.get("compare_to")
    if compare_to is not None and not isinstance(compare_to, str):
        raise ValueError(f"{where}: `compare_to` must be a variant name. "
                         f"{received('compare_to', compare_to)}")
    course = data.get("course")
    if course is not None:
        try:
            course = check_number("course", course, minimum=0.0, maximum=100.0)
        except (TypeError, ValueError) as error:
            raise type(error)(f"{where}: {error}") from None
    summary = data.get("summary", "")
    if not isinstance(summary, str):
        raise ValueError(f"{where}: `summary` must be a string. {received('summary', summary)}")
    return Variant(name=name, preset=preset, summary=summary, model=dict(data.get("model", {})),
                   train=dict(data.get("train", {})), scaling=scaling, compare_to=compare_to,
                   course=course)


def _check_keys(data, allowed, what):
    for key in data:
        check_choice(what, key, allowed)


def _check_name(value, what, key):
    if not isinstance(value, str) or not _NAME_PATTERN.match(value):
        raise ValueError(
            f"{what} must be letters, digits and . _ + - (it becomes a folder name). "
            f"{received(key, value)}"
        )
    if len(value) > MAX_NAME_LENGTH:
        raise ValueError(f"{what} must be at most {MAX_NAME_LENGTH} characters (it becomes a "
                         f"folder name). {received(key, value)}")
    return value


def _nesting_depth(data, limit):
    """How deeply lists and dicts nest in `data`, counted without recursion and
    up to `limit + 1` (deeper is all the caller needs to know)."""
    deepest, pending = 0, [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if not isinstance(value, (dict, list, tuple)):
            continue
        deepest = max(deepest, depth)
        if deepest > limit:
            break
        children = value.values() if isinstance(value, dict) else value
        pending.extend((child, depth + 1) for child in children)
    return deepest


def _check_fields(overrides, config_class, what):
    names = tuple(f.name for f in dataclasses.fields(config_class))
    for key in overrides:
        check_choice(what, key, names)


def _stages(stages, stage_class):
    if not isinstance(stages, (list, tuple)):
        raise TypeError(f"`stages` must be a non-empty list of stage tables. "
                        f"{received('stages', stages)}")
    if not stages:
        raise ValueError(f"`stages` must be a non-empty list of stage tables. "
                         f"{received('stages', stages)}")
    result = []
    for stage in stages:
        if isinstance(stage, stage_class):
            result.append(stage)
            continue
        if not isinstance(stage, dict):
            raise TypeError(f"Each stage must be a table like {{width = 32}}. "
                            f"{received('stage', stage)}")
        _check_fields(stage, stage_class, "stage field")
        if "width" not in stage:
            raise ValueError(f"Each stage needs a `width`. {received('stage', stage)}")
        result.append(stage_class(**stage))
    return tuple(result)


def variant_indices(text, names):
    """Indices into `names` (a study's variant names) from `"0-3,5"` or
    `"relu,gelu"` or a mix (`kgen study --only`), sorted."""
    indices = set()
    for part in text.split(","):
        part = part.strip()
        match = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if match:
            first = int(match.group(1))
            last = int(match.group(2)) if match.group(2) is not None else first
            if first > last or last >= len(names):
                raise ValueError(
                    f"--only: {part!r} is not a range within 0-{len(names) - 1} "
                    f"(the study has {len(names)} variants). {received('only', text)}"
                )
            indices.update(range(first, last + 1))
        elif part in names:
            indices.add(names.index(part))
        else:
            try:
                check_choice("variant", part, tuple(names))
            except ValueError as error:
                raise ValueError(f"--only: {error} Use indices (0-3,5) or names. "
                                 f"{received('only', text)}") from None
    return sorted(indices)


def variant_from_assignments(preset, assignments):
    """A `Variant` named after `preset` from `FIELD=VALUE` strings (`kgen train
    --set`): each field goes to the model, its augmentation or the training
    config by name; VALUE is read as JSON when it parses, else as a string."""
    from kgen import presets
    from kgen.config import Augmentation, MLPConfig, ModelConfig, TrainConfig

    check_choice("preset", preset, (*presets.names(), *presets.MLP_PRESETS))
    if preset in presets.MLP_PRESETS:
        model_fields, augmentation_fields = [f.name for f in dataclasses.fields(MLPConfig)], []
    else:
        model_fields = [f.name for f in dataclasses.fields(ModelConfig)]
        augmentation_fields = [f.name for f in dataclasses.fields(Augmentation)]
    train_fields = [f.name for f in dataclasses.fields(TrainConfig)]
    model, augmentation, train = {}, {}, {}
    for item in assignments:
        name, separator, text = item.partition("=")
        name = name.strip()
        if not separator or not name:
            raise ValueError(f"--set takes FIELD=VALUE. {received('set', item)}")
        try:
            value = json.loads(text)
        except ValueError:
            value = text
        if name in model_fields:
            model[name] = value
        elif name in augmentation_fields:
            augmentation[name] = value
        elif name in train_fields:
            train[name] = value
        else:
            check_choice("--set field", name, (*model_fields, *augmentation_fields, *train_fields))
    if augmentation:
        model["augmentation"] = augmentation
    return Variant(name=preset, preset=preset, model=model, train=train)
