"""Train every variant of a study for every seed, resumably.

A run is one variant trained from scratch with one seed, in its own folder.
A run whose `result.json` exists is finished and skipped; an unfinished one
restarts from its last completed epoch (weights, optimizer and epoch from
`backup/`, history rows up to that epoch), so a study killed at any moment and
started again loses no run and counts none twice.
"""

import dataclasses
import hashlib
import json
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import keras
import numpy as np

import kgen
import kgen.backend
import kgen.config
import kgen.data
import kgen.models
import kgen.precision
import kgen.presets
import kgen.training
import kgen.transfer
from kgen.studies import executors, layout
from kgen.studies.data import fold_of, load_limited, with_label_noise
from kgen.studies.files import (
    read_csv,
    read_json,
    remove_partial_files,
    to_jsonable,
    write_csv,
    write_json,
)
from kgen.studies.spec import SCALINGS, course_figure, course_train_figure, resolve_variant
from kgen.validation import MAX_SEED, check_int, is_finite_number, received

HISTORY_COLUMNS = ("epoch", "accuracy", "loss", "val_accuracy", "val_loss", "learning_rate",
                   "seconds")
BACKUP_STATE = "state.json"
MODEL_FILE = "model.keras"  # with Settings.save_model
GRADIENT_NORMS_FILE = "gradient_norms.csv"
GRADIENT_COLUMNS = ("epoch", "depth", "layer", "norm")
GRADIENT_PROBE_IMAGES = 128


@dataclass(frozen=True)
class PlannedVariant:
    """A variant resolved against the registry: what each of its runs trains."""

    variant: object
    preset: object
    model: object
    train: object
    course: float | None
    course_train: float | None
    # For a variant with a `transfer`: `Settings.backbone`'s digest and image shape.
    backbone: dict | None = None

    def config(self, settings, data, seed, data_fingerprint=None):
        """Everything that defines one run, as JSON-ready data (config.json).

        Two runs are the same run only when their configs are equal, so it holds
        all that changes what a run computes: the variant, the settings, the
        backend (kernels and random streams differ between backends) and the
        dataset's content (`dataset_fingerprint`: a folder that gained two
        images is another dataset under the same name).
        """
        mean, std = input_statistics(self.variant.scaling, data)
        if data_fingerprint is None:
            data_fingerprint = dataset_fingerprint(data)
        return {
            "variant": self.variant.to_dict(),
            "backend": keras.backend.backend(),
            "preset": self.preset.name,
            "seed": seed,
            "model": self.model.to_dict(),
            "train": self.train.to_dict(),
            "scaling": self.variant.scaling,
            "input_mean": [float(m) for m in mean],
            "input_std": [float(s) for s in std],
            "dataset": {
                "name": data.name,
                "train": len(data.x_train),
                "val": len(data.x_val),
                "test": len(data.x_test),
                "classes": data.num_classes,
                "fingerprint": data_fingerprint,
            },
            "settings": settings.result_fields(),
            # Only a transfer run depends on the backbone (a scratch arm does not).
            **({"backbone": self.backbone} if self.backbone else {}),
        }


def plan(study, settings):
    """Resolves every variant: any bad preset, field or value is reported here,
    before the first run starts (and before the data is loaded: a batch size
    above `settings.limit` cannot fit the training split)."""
    compared = sorted({v.train["batch_size"] for v in study.variants if "batch_size" in v.train})
    if settings.batch_size is not None and len(compared) > 1:
        # Overriding would train every variant at one batch size while their
        # names and summaries still say they differ.
        raise ValueError(
            f"study {study.name!r} compares batch sizes (its variants set {compared}): a "
            "study-wide batch size (--batch-size, or --quick's) would give them all one. "
            "Run it without those options (--limit and --epochs make it short). "
            f"Received: batch_size={settings.batch_size}")
    planned, backbones = [], {}
    for variant in study.variants:
        preset, model, train = resolve_variant(variant)
        if isinstance(model, kgen.config.MLPConfig):
            check_mlp_variant(variant, preset, train, settings)
        else:
            model = dataclasses.replace(
                model, width_multiplier=model.width_multiplier * settings.width_scale
            )
        train_overrides = {}
        if settings.epochs is not None:
            train_overrides["epochs"] = settings.epochs
        if settings.batch_size is not None:
            train_overrides["batch_size"] = settings.batch_size
        try:
            train = dataclasses.replace(train, **train_overrides)
        except ValueError as error:  # e.g. --epochs 1 for a fine-tune
            raise ValueError(f"variant {variant.name!r}: {error}") from None
        if settings.limit is not None and train.batch_size > settings.limit:
            raise ValueError(
                f"variant {variant.name!r}: `batch_size` is larger than `limit`, the most "
                f"training images a run gets ({settings.limit}): lower the batch size "
                f"(--batch-size) or raise the limit (--limit). "
                f"Received: batch_size={train.batch_size}"
            )
        backbone = None
        if train.transfer != "none":
            backbone = transfer_backbone(variant, model, settings, backbones)
        planned.append(PlannedVariant(variant, preset, model, train, course_figure(variant, preset),
                                      course_train_figure(variant, preset), backbone))
    if settings.backbone is not None and not any(p.backbone for p in planned):
        # It would be recorded in the manifest and used by no run.
        raise ValueError("`backbone` is used by variants whose training has a `transfer` "
                         "('probe' or 'fine-tune'); this study has none (`kgen transfer` builds "
                         f"one). Received: backbone={settings.backbone!r}")
    return planned


def check_mlp_variant(variant, preset, train, settings):
    """Refuses what an MLP on feature vectors cannot do: the image-only
    settings and choices, each named."""
    where = f"variant {variant.name!r} (the MLP preset {preset.name!r})"
    if settings.width_scale != 1.0:
        raise ValueError(f"{where}: `width_scale` scales the CNN presets' widths, and an MLP "
                         "has none (set its `hidden_units`; --quick sets width_scale 0.25, "
                         "so pass --width-scale 1 with it). "
                         f"Received: width_scale={settings.width_scale}")
    if settings.flip_tta:
        raise ValueError(f"{where}: `flip_tta` mirrors images, and an MLP takes feature "
                         f"vectors. Received: flip_tta={settings.flip_tta}")
    if train.transfer != "none":
        raise ValueError(f"{where}: `transfer` starts from a kgen CNN backbone; an MLP trains "
                         f"from scratch. Received: transfer={train.transfer!r}")
    if variant.scaling != "standardize":
        # "unit" and "symmetric" are pixel scalings ([0, 1], [-1, 1]).
        raise ValueError(f"{where}: an MLP standardizes its features with their own "
                         "statistics; the other scalings are for pixels. "
                         f"Received: scaling={variant.scaling!r}")


def transfer_backbone(variant, model, settings, checked):
    """`{"sha256", "image_shape"}` of the backbone a `transfer` variant starts from,
    after checking that there is one and that it is the variant's network
    (so the study's from-scratch arm, the same preset and overrides without
    `transfer`, trains the same network from random weights). `checked`
    caches the loaded configs by path."""
    from kgen.data.storage import file_digest

    name = variant.name
    if settings.backbone is None:
        raise ValueError(f"variant {name!r} starts from a pretrained backbone (transfer="
                         f"{variant.train.get('transfer')!r}): give one (--backbone FILE, "
                         "Settings.backbone). Received: backbone=None")
    if settings.gradient_norms or settings.precision != "float32":
        raise ValueError(f"variant {name!r}: a transfer run trains the backbone as it was saved "
                         "(float32) and in two fits; --gradient-norms and --precision are not "
                         f"available with it. Received: gradient_norms={settings.gradient_norms}, "
                         f"precision={settings.precision!r}")
    if settings.backbone not in checked:
        try:
            loaded = kgen.models.load_model(settings.backbone, compile=False)
        except ValueError as error:
            raise ValueError(f"`backbone` cannot be loaded: {error}") from None
        if not isinstance(loaded, kgen.models.Classifier):
            raise ValueError("`backbone` must be a kgen CNN (built by kgen.models and saved as "
                             f".keras). Received: backbone={settings.backbone!r}")
        checked[settings.backbone] = (loaded.model_config, tuple(loaded.image_shape),
                                      file_digest(settings.backbone, "sha256"))
        keras.backend.clear_session()
    backbone_config, image_shape, digest = checked[settings.backbone]
    if backbone_config != model:
        differences = [f"{field}={getattr(backbone_config, field)!r}, not "
                       f"{getattr(model, field)!r}" for field in model.to_dict()
                       if getattr(backbone_config, field) != getattr(model, field)]
        raise ValueError(f"variant {name!r}: the backbone is another network than the "
                         f"variant's ({'; '.join(differences)}); give the variant the backbone's "
                         f"preset and overrides (and --width-scale). "
                         f"Received: backbone={settings.backbone!r}")
    # The file's content is the run's identity, not its path (the study's
    # manifest keeps the path): a moved folder still resumes.
    return {"sha256": digest, "image_shape": list(image_shape)}


def execute(study, settings, out_dir, only=None, force=False, executor="local", address=None,
            cpus_per_run=1, gpus_per_run=0, reference=False, log=print, header=(), seeds=None,
            callbacks=()):
    """Trains (or resumes) every run of `study` under `settings` into `out_dir`
    and writes its report; returns the `kgen.studies.report.Report`.

    The one path from a study to its files, behind `kgen ladder|study|train`,
    the recipes and `kgen.studies.run`: everything that can be checked is
    checked before the first file is written (variants, the output folder and
    every run in it, the data, each model's build), then the folder's lock is
    held while the runs train (here, or on Ray: `executor`) and the report is
    written. `only`: indices of the variants to train (all by default); the
    report lists the others as not run. `reference`: measure the plain-PyTorch
    reference's speed (`kgen.bench.measure_reference`) before and after the
    runs, into the folder's reference.json and the report, so the runs' wall
    times can be scaled to another machine. `header` lines are logged after
    the plan is known. `seeds`: the seeds to train (`range(settings.seeds)` by
    default). `callbacks`: Keras callbacks added to every run's `fit` (in this
    process: not with `executor="ray"`). They must observe only: they are not
    part of a run's config, so a callback that changed training (a schedule,
    weight edits) would leave runs that a later study counts as the same runs.
    """
    from kgen.studies import report

    out_dir = Path(out_dir)
    executors.check_executor(executor, address, cpus_per_run, gpus_per_run)
    callbacks = check_callbacks(callbacks, executor)
    seeds = list(range(settings.seeds)) if seeds is None else check_seeds(seeds)
    selected = study if only is None else study.select(only)
    planned = plan(selected, settings)
    layout.check_output_folder(out_dir, study, settings, force=force)
    data = load_dataset(settings)
    check_builds(planned, data, settings)  # first: an MLP given images fails here
    check_batch_sizes(planned, data)
    fingerprint = dataset_fingerprint(data)
    check_runs([(p, seed) for p in planned for seed in seeds], settings, data, out_dir,
               force=force, data_fingerprint=fingerprint)
    variants, runs = len(selected.variants), len(selected.variants) * len(seeds)
    log(f"kgen {kgen.__version__}: study {study.name!r}, {variants} variant"
        f"{'s' if variants > 1 else ''} x {len(seeds)} seed{'s' if len(seeds) > 1 else ''} = "
        f"{runs} run{'s' if runs > 1 else ''}, backend {keras.backend.backend()}, "
        f"keras {keras.__version__}")
    for line in header:
        log(line)
    log("settings: " + ", ".join(f"{k}={v}" for k, v in settings.to_dict().items()
                                 if v is not None and k != "seeds"))
    log(f"data: {data.summary()}")
    if data.skipped_files:
        log(f"  --skip-bad left out {len(data.skipped_files)} unreadable image"
            f"{'s' if len(data.skipped_files) > 1 else ''}: "
            + ", ".join(map(str, data.skipped_files[:5]))
            + (", ..." if len(data.skipped_files) > 5 else ""))
    log(f"output: {out_dir}")
    with layout.locked(out_dir):
        layout.write_manifest(out_dir, study, settings, seeds)
        references = [measure_reference("before", log)] if reference else []
        run_study(selected, planned, settings, data, out_dir, seeds, log=log, force=force,
                  data_fingerprint=fingerprint, executor=executor, address=address,
                  cpus_per_run=cpus_per_run, gpus_per_run=gpus_per_run, callbacks=callbacks)
        if reference:
            references.append(measure_reference("after", log))
            layout.record_references(out_dir, references)
        return report.write_report(out_dir)


def run_experiment(experiment, out_dir, callbacks=(), force=False, log=print):
    """Trains (or resumes, or skips when finished) one `Experiment` into
    `out_dir` as a study of its one variant, and returns the run's result
    (the dict of its `result.json`). `kgen.studies.run` is this function."""
    from kgen.studies.experiment import Experiment

    if not isinstance(experiment, Experiment):
        raise TypeError("`experiment` must be a kgen.studies.Experiment. "
                        f"{received('experiment', experiment)}")
    execute(experiment.study, experiment.settings, out_dir, force=force, log=log,
            seeds=[experiment.seed], callbacks=callbacks)
    return read_json(layout.run_dir(out_dir, experiment.variant.name, experiment.seed)
                     / "result.json")


def check_seeds(seeds):
    """`seeds` as a list of distinct seeds (at least one)."""
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, (list, tuple, range)):
        raise TypeError(f"`seeds` must be a list of seeds. {received('seeds', seeds)}")
    checked = [check_int("seeds", seed, minimum=0, maximum=MAX_SEED) for seed in seeds]
    if not checked or len(set(checked)) != len(checked):
        raise ValueError(f"`seeds` must be one or more distinct seeds. {received('seeds', seeds)}")
    return checked


def check_callbacks(callbacks, executor):
    """`callbacks` as a tuple of Keras callbacks; they run in this process, so
    not with the Ray executor."""
    if isinstance(callbacks, keras.callbacks.Callback) or not isinstance(callbacks, (list, tuple)):
        raise TypeError("`callbacks` must be a list of keras.callbacks.Callback. "
                        f"{received('callbacks', callbacks)}")
    for callback in callbacks:
        if not isinstance(callback, keras.callbacks.Callback):
            raise TypeError("Every entry of `callbacks` must be a keras.callbacks.Callback. "
                            f"{received('callbacks', callbacks)}")
    if callbacks and executor != "local":
        raise ValueError("`callbacks` run in this process; the Ray executor trains in other "
                         f"processes. Received: executor={executor!r}, callbacks={callbacks!r}")
    return tuple(callbacks)


def measure_reference(when, log=print):
    """`kgen.bench.measure_reference()`, labelled `when` ("before" or "after"
    the runs), and logged."""
    from kgen.bench import measure_reference as measure

    figure = {"when": when, **measure()}
    if "error" in figure:
        log(f"plain-PyTorch reference ({when} the runs): not measured ({figure['error']})")
    else:
        log(f"plain-PyTorch reference ({when} the runs): "
            f"{figure['images_per_second']:.0f} images/s")
    return figure


def check_batch_sizes(planned, data):
    """Every variant's batch size fits the training split of `data`."""
    for planned_variant in planned:
        try:
            kgen.training.check_batch_size(planned_variant.train.batch_size, len(data.x_train))
        except ValueError as error:
            raise ValueError(f"variant {planned_variant.variant.name!r}: {error}") from None


def check_builds(planned, data, settings):
    """Builds every variant's model for `data` once (no training), so a config
    that cannot build fails before the first run."""
    for planned_variant in planned:
        try:
            build_model(planned_variant, data, settings, name="check")
        except (ValueError, TypeError) as error:
            raise type(error)(f"variant {planned_variant.variant.name!r}: {error}") from None
        keras.backend.clear_session()


def build_model(planned_variant, data, settings, mean=None, std=None, name=None):
    """The run's model: the variant's network from its initialization, or for
    a `transfer` variant the backbone with a new classifier for `data`'s
    classes (the backbone keeps the input statistics it was trained with)."""
    name = name or kgen.models.model_name(planned_variant.variant.name)
    is_mlp = isinstance(planned_variant.model, kgen.config.MLPConfig)
    if is_mlp != (len(data.input_shape) == 1):
        takes, holds, hint = (
            ("feature vectors (for example --dataset two-moons)", "images", "") if is_mlp else
            ("images", "feature vectors",
             f": train an MLP preset ({', '.join(kgen.presets.MLP_PRESETS)}) on it"))
        raise ValueError(f"variant {planned_variant.variant.name!r}: the preset "
                         f"{planned_variant.preset.name!r} takes {takes}, and {data.name!r} "
                         f"holds {holds} of shape {tuple(data.input_shape)}{hint}. "
                         f"Received: dataset={data.name!r}")
    if is_mlp:
        return kgen.models.build_mlp(planned_variant.model, data.input_shape[0],
                                     data.num_classes, mean=mean, std=std, name=name,
                                     preset=planned_variant.preset.name)
    if planned_variant.backbone is None:
        return kgen.models.build_cnn(planned_variant.model, data.input_shape, data.num_classes,
                                     mean=mean, std=std, name=name,
                                     preset=planned_variant.preset.name)
    if tuple(planned_variant.backbone["image_shape"]) != tuple(data.input_shape):
        raise ValueError(f"the backbone takes images of shape "
                         f"{tuple(planned_variant.backbone['image_shape'])} and the dataset's are "
                         f"{tuple(data.input_shape)}. "
                         f"Received: backbone={settings.backbone!r}")
    from kgen.data.storage import file_digest

    # The file the study checked, not one put in its place since (or another
    # node's copy under the same path).
    if file_digest(settings.backbone, "sha256") != planned_variant.backbone["sha256"]:
        raise ValueError("the backbone file changed since the study checked it. "
                         f"Received: backbone={settings.backbone!r}")
    backbone = kgen.models.load_model(settings.backbone, compile=False)
    return kgen.transfer.with_new_head(backbone, data.num_classes, name=name)


class Phase(NamedTuple):
    """One `fit` of a run: epochs `start` to `end`, with the backbone frozen
    (`backbone_trainable=False`), unfrozen (True) or no backbone (None)."""

    start: int
    end: int
    backbone_trainable: bool | None
    train: object


def training_phases(train):
    """The fits a run trains in (`Phase`): one fit of everything, a probe's
    one fit with the backbone frozen, or a fine-tune's head-only fit and then
    the fit of all of it at `fine_tune_learning_rate_factor` times the rate (a
    change of `trainable` needs a recompile, so its optimizer and schedule
    start afresh, as in `kgen.transfer.fine_tune`)."""
    if train.transfer == "none":
        return [Phase(0, train.epochs, None, train)]
    if train.transfer == "probe":
        return [Phase(0, train.epochs, False, train)]
    if train.transfer == "fine-tune":
        lower = dataclasses.replace(
            train, learning_rate=train.learning_rate * train.fine_tune_learning_rate_factor)
        return [Phase(0, train.frozen_epochs, False, train),
                Phase(train.frozen_epochs, train.epochs, True, lower)]
    raise ValueError(f"unknown transfer {train.transfer!r}")


def load_dataset(settings):
    """The study's dataset (`kgen.studies.data.load_limited` with its settings);
    with `folds`, without a validation split (each run takes its fold:
    `data_for_run`)."""
    validation_split = 0.0 if settings.folds else settings.validation_split
    data = load_limited(settings.dataset, limit=settings.limit, eval_limit=settings.eval_limit,
                        train_size=settings.train_size,
                        validation_split=validation_split, data_dir=settings.data_dir,
                        image_size=settings.image_size, data_seed=settings.data_seed,
                        test_seed=settings.test_seed, skip_bad=settings.skip_bad,
                        classes=settings.classes)
    return with_label_noise(data, settings.label_noise) if settings.label_noise else data


def data_for_run(data, settings, seed):
    """The splits run `seed` trains and validates on: the study's data, or with
    `settings.folds` its fold `seed` (`kgen.studies.data.fold_of`)."""
    return fold_of(data, settings.folds, seed) if settings.folds else data


def dataset_fingerprint(data):
    """A digest of every image and label of every split, in order (0.15 s for
    60,000 CIFAR-sized images on the two-core development machine)."""
    digest = hashlib.blake2b(digest_size=16)
    for split in ("train", "val", "test"):
        for array in (getattr(data, f"x_{split}"), getattr(data, f"y_{split}")):
            array = np.ascontiguousarray(array)
            digest.update(f"{split}:{array.dtype.str}:{array.shape}".encode())
            if array.size:  # an empty split (no validation) has no bytes to view
                digest.update(memoryview(array).cast("B"))
    return digest.hexdigest()


def input_statistics(scaling, data):
    channels = data.input_shape[-1]
    if SCALINGS[scaling] is None:
        return list(map(float, data.mean)), list(map(float, data.std))
    mean, std = SCALINGS[scaling]
    return [mean] * channels, [std] * channels


def run_study(study, planned, settings, data, out_dir, seeds, log=print, force=False,
              data_fingerprint=None, executor="local", address=None, cpus_per_run=1,
              gpus_per_run=0, callbacks=()):
    """Runs every (variant, seed) not finished yet; returns the result dicts.

    Everything that can be checked is checked before the first file is
    written: batch sizes, the output folder (writable, with free space, not in
    use by another process) and every existing run folder (`check_runs`).
    Nothing finished is deleted unless `force`. `data_fingerprint` saves
    hashing the data again when the caller has (`dataset_fingerprint(data)`).
    `executor="ray"` runs them as Ray tasks (`kgen.studies.executors`), on the
    cluster at `address` or on a private instance on this machine.
    """
    out_dir = Path(out_dir)
    executors.check_executor(executor, address, cpus_per_run, gpus_per_run)
    callbacks = check_callbacks(callbacks, executor)
    check_batch_sizes(planned, data)
    layout.check_writable(out_dir)
    fingerprint = data_fingerprint or dataset_fingerprint(data)
    tasks = [(p, seed) for p in planned for seed in seeds]
    check_runs(tasks, settings, data, out_dir, force=force, data_fingerprint=fingerprint)
    with layout.locked(out_dir):
        remove_partial_files(out_dir)  # a report file a kill left half-written
        if executor == "ray":
            return executors.run_on_ray(tasks, settings, data, out_dir, layout.run_dir, log=log,
                                        force=force, data_fingerprint=fingerprint,
                                        address=address, cpus_per_run=cpus_per_run,
                                        gpus_per_run=gpus_per_run)
        results = []
        # The estimate of the time left counts the runs trained here: runs a
        # resumed study skips take no time and would make it far too short.
        unfinished = sum(result_stamp(out_dir, p, seed) is None for p, seed in tasks)
        trained, training_seconds = 0, 0.0
        for index, (planned_variant, seed) in enumerate(tasks, start=1):
            name = planned_variant.variant.name
            timing = ""
            if trained:
                timing = f" ({executors.progress(training_seconds, trained, unfinished)})"
            log(f"run {index}/{len(tasks)}: {name} seed {seed}{timing}")
            started, stamp = time.monotonic(), result_stamp(out_dir, planned_variant, seed)
            result = run_one(planned_variant, settings, data, seed,
                             layout.run_dir(out_dir, name, seed), log=log, force=force,
                             data_fingerprint=fingerprint, callbacks=callbacks)
            if result_stamp(out_dir, planned_variant, seed) != stamp:  # written: it trained
                trained += 1
                training_seconds += time.monotonic() - started
            results.append(result)
    return results


def result_stamp(out_dir, planned_variant, seed):
    """The run's result.json modification time in nanoseconds (None while the
    run is unfinished): a run that trains writes a new one, a skipped run not."""
    path = layout.run_dir(out_dir, planned_variant.variant.name, seed) / "result.json"
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return None


def check_runs(tasks, settings, data, out_dir, force=False, data_fingerprint=None):
    """Refuses, before anything is written, a study whose output folder holds a
    run of another configuration (another backend, dataset content, variant
    definition or setting) or a finished run whose `result.json` cannot be
    read. With `force` such runs are retrained instead (and their old files
    removed). `tasks` are `(PlannedVariant, seed)` pairs."""
    if force:
        return
    if data_fingerprint is None:
        data_fingerprint = dataset_fingerprint(data)
    problems = []
    for planned_variant, seed in tasks:
        directory = layout.run_dir(out_dir, planned_variant.variant.name, seed)
        config = planned_variant.config(settings, data_for_run(data, settings, seed), seed,
                                        data_fingerprint)
        problem = run_folder_problem(directory, config)
        if problem:
            problems.append(f"{directory}: {problem}")
    if problems:
        shown = "; ".join(problems[:3]) + (f"; and {len(problems) - 3} more"
                                           if len(problems) > 3 else "")
        raise ValueError(
            f"The output folder holds {len(problems)} run{'s' if len(problems) > 1 else ''} "
            f"that this study would have to discard ({shown}). Nothing was changed: choose "
            f"another --out, or pass --force to retrain them. Received: out={str(out_dir)!r}"
        )


def run_folder_problem(directory, config):
    """Why the run folder `directory` cannot be resumed or skipped as a run of
    `config` (None when it can, or does not exist)."""
    directory = Path(directory)
    config_path = directory / "config.json"
    if not config_path.exists():
        return None
    previous = _read_or_none(config_path)
    if previous is None:
        return "its config.json cannot be read"
    differences = config_differences(previous, json.loads(json.dumps(to_jsonable(config))))
    if differences:
        return "it holds a run with " + ", ".join(differences)
    result_path = directory / "result.json"
    if result_path.exists():
        result = _read_or_none(result_path)
        if not isinstance(result, dict) or "status" not in result:
            return "its result.json is damaged (cannot be read as a kgen result)"
    return None


def config_differences(old, new, prefix=""):
    """What differs between two run configs, in words ("backend 'tensorflow',
    not 'jax'"), for the error that refuses to mix them."""
    differences = []
    for key in sorted(set(old) | set(new)):
        before, after = old.get(key), new.get(key)
        name = prefix + key
        if before == after:
            continue
        if isinstance(before, dict) and isinstance(after, dict):
            differences += config_differences(before, after, prefix=f"{name}.")
        elif key == "fingerprint":
            differences.append("other images or labels in the dataset (its fingerprint differs)")
        elif isinstance(before, (dict, list)) or isinstance(after, (dict, list)):
            differences.append(f"another {name}")
        else:
            differences.append(f"{name} {before!r}, not {after!r}")
    return differences


def run_one(planned_variant, settings, data, seed, directory, log=print, force=False,
            data_fingerprint=None, callbacks=(), jit_compile="auto"):
    """Trains (or resumes, or skips) one run; returns its result dict.
    `callbacks` are added to `fit`'s, after kgen's journal and backup;
    `jit_compile` is `kgen.training.fit`'s (`kgen bench` compares them).

    A folder holding a run of another configuration, or a damaged result, is
    refused (`run_folder_problem`); with `force` it is replaced.
    """
    directory = Path(directory)
    if data_fingerprint is None:
        data_fingerprint = dataset_fingerprint(data)  # of the study's data, before the fold
    data = data_for_run(data, settings, seed)
    config = planned_variant.config(settings, data, seed, data_fingerprint)
    result_path = directory / "result.json"
    if directory.exists():
        problem = run_folder_problem(directory, config)
        if problem and not force:
            raise ValueError(f"{directory}: {problem}. Nothing was changed: pass --force "
                             f"(force=True) to retrain it. Received: directory={str(directory)!r}")
        remove_partial_files(directory)
        if problem:
            log(f"  {problem}; --force: retraining it from scratch")
            shutil.rmtree(directory)
        elif result_path.exists():
            result = read_json(result_path)
            log(f"  finished already ({result['status']}); skipped")
            return result
    write_json(directory / "config.json", config)

    backup_dir = directory / "backup"
    restored_epoch = read_backup_epoch(backup_dir)
    history_path = directory / "history.csv"
    rows = read_csv(history_path) if history_path.exists() else []
    rows = [row for row in rows if row["epoch"] < restored_epoch]
    if len(rows) != restored_epoch:
        # History and backup disagree (a file was removed by hand): start over.
        log(f"  history has {len(rows)} of {restored_epoch} restored epochs; starting afresh")
        shutil.rmtree(backup_dir, ignore_errors=True)
        restored_epoch, rows = 0, []
    write_csv(history_path, rows, HISTORY_COLUMNS)
    if restored_epoch:
        log(f"  resuming after epoch {restored_epoch} of {planned_variant.train.epochs}")

    started = time.perf_counter()
    kgen.backend.set_random_seed(seed)
    mean, std = input_statistics(planned_variant.variant.scaling, data)
    with kgen.precision.policy(settings.precision):
        model = build_model(planned_variant, data, settings, mean=mean, std=std)
    journal = HistoryJournal(history_path, rows, planned_variant.train.epochs, log)
    extra_callbacks = [keras.callbacks.TerminateOnNaN()]
    if settings.tensorboard:
        extra_callbacks.append(keras.callbacks.TensorBoard(log_dir=str(directory / "tensorboard")))
    if settings.gradient_norms:
        extra_callbacks.append(gradient_norms_callback(directory, data, restored_epoch))
    phases = training_phases(planned_variant.train)
    # The phases left; a run killed after its last epoch but before its result
    # still runs the last one for no epochs, which restores its weights.
    left = [phase for phase in phases if phase.end > restored_epoch] or phases[-1:]
    diverged = False
    for index, phase in enumerate(left):
        if phase.backbone_trainable is not None:
            kgen.transfer.set_backbone_trainable(model, phase.backbone_trainable)
        if index > 0 or restored_epoch == 0:
            restore = False  # nothing backed up, or the model holds the weights
        elif restored_epoch == phase.start:
            # Resumed where a phase begins: the backup holds the weights and the
            # previous phase's optimizer; this phase's optimizer starts afresh.
            restore_weights(model, backup_dir)
            restore = False
        else:
            restore = True  # weights and this phase's optimizer, from the backup
        kgen.training.fit(model, data, phase.train, epochs=phase.end,
                          callbacks=[journal, EpochBackup(backup_dir, restore=restore),
                                     *extra_callbacks, *callbacks],
                          verbose=0, jit_compile=jit_compile,
                          initial_epoch=max(restored_epoch, phase.start),
                          schedule_epochs=phase.end - phase.start,
                          data_dependent_init=planned_variant.backbone is None
                          and phase.start == 0)
        diverged = any(not is_finite_number(row.get("loss")) for row in journal.rows)
        if diverged:
            break

    rows = journal.rows
    test_scores = {}
    if not diverged:
        # The compiled loss, as for val_loss (label smoothing and L2 penalties included).
        test_scores = model.evaluate(data.x_test, data.y_test, verbose=0, return_dict=True,
                                     batch_size=kgen.training.EVAL_BATCH_SIZE)
        if settings.flip_tta:
            test_scores["accuracy_flip"] = kgen.training.evaluate(
                model, data.x_test, data.y_test, flip=True)
    result = make_result(planned_variant, settings, seed, rows, diverged,
                         test_scores.get("accuracy"), test_scores.get("loss"),
                         restored_epoch, time.perf_counter() - started,
                         test_accuracy_flip=test_scores.get("accuracy_flip"),
                         train_images=len(data.x_train),
                         weights=None if diverged else kgen.models.weight_statistics(model))
    if settings.save_model and not diverged:
        # Before result.json: a kill while saving leaves the run unfinished, so
        # it resumes and saves again; a finished run's model file is whole.
        model.save(directory / MODEL_FILE)
    write_json(result_path, result)
    shutil.rmtree(backup_dir, ignore_errors=True)
    keras.backend.clear_session()
    if diverged:
        log(f"  diverged: the loss became NaN or infinite in epoch "
            f"{result['diverged_at_epoch'] + 1}; training stopped and the run is recorded "
            f"as diverged (a learning rate too high?)")
    else:
        flip = (f" ({_percent(result['test_accuracy_flip'])} with flip TTA)"
                if settings.flip_tta else "")
        log(f"  completed: train {_percent(result['train_accuracy'])}, "
            f"val {_percent(result['val_accuracy'])}, test {_percent(result['test_accuracy'])}"
            f"{flip}")
    return result


def gradient_norms_callback(directory, data, restored_epoch):
    """`kgen.callbacks.GradientNorms` on a fixed probe batch of the training
    split, writing gradient_norms.csv after each measurement (a resumed run
    keeps the rows of the epochs its backup holds)."""
    from kgen.callbacks import GradientNorms

    path = Path(directory) / GRADIENT_NORMS_FILE
    rows = read_csv(path) if path.exists() else []
    # The same images at every measurement and in every run of the study.
    probe = np.random.default_rng(0).permutation(len(data.x_train))[:GRADIENT_PROBE_IMAGES]
    probe.sort()
    return GradientNorms(data.x_train[probe], data.y_train[probe], initial_epoch=restored_epoch,
                         rows=rows, on_rows=lambda rows: write_csv(path, rows, GRADIENT_COLUMNS))


def make_result(planned_variant, settings, seed, rows, diverged, test_accuracy, test_loss,
                restored_epoch, wall_seconds, test_accuracy_flip=None, train_images=None,
                weights=None):
    train = planned_variant.train
    final = rows[-1] if rows else {}
    val_values = [row.get("val_accuracy") for row in rows]
    best_index = None
    if any(is_finite_number(v) for v in val_values):
        best_index = max((i for i, v in enumerate(val_values) if is_finite_number(v)),
                         key=lambda i: val_values[i])
    val_losses = [row.get("val_loss") for row in rows if is_finite_number(row.get("val_loss"))]
    stopped_early = len(rows) < train.epochs and not diverged
    # EarlyStopping restores the best weights, so the model's accuracies are
    # those of its best epoch; otherwise those of the last one.
    reported = rows[best_index] if (train.early_stopping_patience and best_index is not None) \
        else final
    train_accuracy, val_accuracy = reported.get("accuracy"), reported.get("val_accuracy")
    gap = None
    if is_finite_number(train_accuracy) and is_finite_number(val_accuracy):
        gap = train_accuracy - val_accuracy
    backend = keras.backend.backend()
    return {
        "status": "diverged" if diverged else "completed",
        "variant": planned_variant.variant.name,
        "preset": planned_variant.preset.name,
        "summary": describe(planned_variant.variant, planned_variant.preset),
        "seed": seed,
        "train_accuracy": train_accuracy,
        "val_accuracy": val_accuracy,
        "test_accuracy": test_accuracy,
        "test_loss": test_loss,
        "test_accuracy_flip": test_accuracy_flip,
        "gap": gap,
        "weights_epoch": reported.get("epoch"),
        "final": {k: final.get(k) for k in ("accuracy", "val_accuracy", "loss", "val_loss")},
        "best_val_accuracy": val_values[best_index] if best_index is not None else None,
        "best_epoch": rows[best_index]["epoch"] if best_index is not None else None,
        "best_val_loss": min(val_losses) if val_losses else None,
        "epochs_planned": train.epochs,
        "epochs_completed": len(rows),
        "stopped_early": stopped_early,
        "diverged_at_epoch": next((r["epoch"] for r in rows if not is_finite_number(r.get("loss"))), None),
        "resumed_from_epoch": restored_epoch,
        "train_seconds": sum(r.get("seconds") or 0.0 for r in rows),
        "train_images": train_images,
        # What the kernel penalties and constraints did (kgen.models.weight_statistics).
        "near_zero_weights": (weights or {}).get("near_zero_weights"),
        "max_unit_norm": (weights or {}).get("max_unit_norm"),
        "wall_seconds": wall_seconds,
        "backend": backend,
        "versions": kgen.backend.versions(backend),
        "dataset": settings.dataset,
        "course": planned_variant.course,
        "course_train": planned_variant.course_train,
        "git_commit": git_commit(),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def describe(variant, preset):
    """The variant's summary; else the preset's, with the overrides spelled out."""
    if variant.summary:
        return variant.summary
    overrides = {**variant.model, **variant.train}
    if variant.scaling != "standardize":
        overrides["scaling"] = variant.scaling
    if not overrides:
        return preset.summary
    return f"{preset.name} with " + ", ".join(
        f"{k}={json.dumps(to_jsonable(v), separators=(',', ':'))}" for k, v in overrides.items()
    )


class HistoryJournal(keras.callbacks.Callback):
    """Rewrites `history.csv` atomically after every epoch and prints one line
    per epoch. It must come before the backup in the callback list: a kill
    between the two then leaves a history row the backup does not cover, which
    the restart drops, never a backed-up epoch without its row."""

    def __init__(self, path, rows, epochs, log=print):
        super().__init__()
        self.path = Path(path)
        self.rows = list(rows)
        self.epochs = epochs
        self.log = log

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        row = {"epoch": epoch}
        for column in HISTORY_COLUMNS[1:]:
            value = logs.get(column)
            row[column] = None if value is None else float(value)
        self.rows = [r for r in self.rows if r["epoch"] < epoch] + [row]
        write_csv(self.path, self.rows, HISTORY_COLUMNS)
        self.log(
            f"  epoch {epoch + 1}/{self.epochs}: loss {_number(row['loss'])}, "
            f"accuracy {_percent(row['accuracy'])}, val_loss {_number(row['val_loss'])}, "
            f"val_accuracy {_percent(row['val_accuracy'])}, "
            f"lr {_number(row['learning_rate'], '.2e')}, {_number(row['seconds'], '.1f')}s"
        )


class EpochBackup(keras.callbacks.Callback):
    """Backs the model (weights and optimizer state) up after every epoch and
    restores the backup when training begins, so a killed run resumes from its
    last completed epoch.

    Not Keras' `BackupAndRestore`: it writes `latest.weights.h5` and then
    `training_metadata.json` in place, so a kill during either leaves a
    truncated file or weights one epoch ahead of the recorded epoch, and
    changing that means overriding its private methods. Here each epoch's
    weights go to their own file and a small state file naming them is
    replaced atomically afterwards: the state always points at complete
    weights of the epoch it names. The caller resumes the epoch count by
    passing `read_backup_epoch(backup_dir)` as `fit`'s `initial_epoch`.
    """

    def __init__(self, backup_dir, restore=True):
        super().__init__()
        self.backup_dir = Path(backup_dir)
        self.restore = restore  # False: the model holds the weights already

    def on_train_begin(self, logs=None):
        if not self.restore or not read_backup_epoch(self.backup_dir):
            return
        state = read_json(self.backup_dir / BACKUP_STATE)
        optimizer = self.model.optimizer
        if optimizer is not None and not optimizer.built:
            # The backup holds the optimizer's variables; they must exist to be filled.
            optimizer.build(self.model.trainable_variables)
        self.model.load_weights(self.backup_dir / state["weights"])

    def on_epoch_end(self, epoch, logs=None):
        completed = epoch + 1
        self.backup_dir.mkdir(parents=True, exist_ok=True)
        weights = f"epoch-{completed}.weights.h5"
        self.model.save_weights(self.backup_dir / weights, overwrite=True)
        write_json(self.backup_dir / BACKUP_STATE, {"epoch": completed, "weights": weights})
        for path in self.backup_dir.glob("epoch-*.weights.h5"):
            if path.name != weights:
                path.unlink()


def restore_weights(model, backup_dir):
    """Loads the backup's model weights into `model` before it is compiled:
    an uncompiled model has no optimizer, so the optimizer state in the file
    is not read (Keras' loader visits the model's own objects only)."""
    state = read_json(Path(backup_dir) / BACKUP_STATE)
    model.load_weights(Path(backup_dir) / state["weights"])


def read_backup_epoch(backup_dir):
    """The number of epochs the backup in `backup_dir` holds (0 if none)."""
    state = _read_or_none(Path(backup_dir) / BACKUP_STATE)
    if state is None or not (Path(backup_dir) / state["weights"]).exists():
        return 0
    return int(state["epoch"])


_GIT_COMMIT = []


def git_commit():
    """The commit of the kgen source tree, if it is a git checkout (else None)."""
    if not _GIT_COMMIT:
        try:
            output = subprocess.run(
                ["git", "rev-parse", "HEAD"], cwd=Path(kgen.__file__).parent,
                capture_output=True, text=True, timeout=10, check=True,
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            output = None
        _GIT_COMMIT.append(output or None)
    return _GIT_COMMIT[0]


def _read_or_none(path):
    try:
        return read_json(path)
    except (OSError, ValueError):
        return None


def _percent(value):
    return f"{100 * value:.1f}%" if is_finite_number(value) else "n/a"


def _number(value, spec=".4f"):
    return format(value, spec) if is_finite_number(value) else "nan" if value is not None else "n/a"
