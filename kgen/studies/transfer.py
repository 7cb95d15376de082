"""The transfer comparison: from scratch vs linear probe vs fine-tune.

    settings = TransferSettings(dataset="folder:data/cifar10", target_images=1000)
    result = compare(settings, "runs/transfer")   # what `kgen transfer` runs

A backbone is pretrained on a source task (other classes of the dataset, or
another dataset such as CIFAR-100) or given as a kgen `.keras` file, then the
target task (few images of new classes) is trained three ways per seed with
`kgen.transfer`'s API. The settings are Keras-free, so the CLI checks them
before a backend starts.

Not a study of the runner: a fine-tune is two `fit` calls with a recompile in
between (freezing changes what the optimizer trains), and a runner run is one
`fit` that resumes from its per-epoch backup; the comparison is short (its
arms train on 1,000 images), so it restarts instead of resuming.
"""

import dataclasses
import math
from pathlib import Path

from kgen.validation import check_choice, check_int, check_number, check_sequence, received

ARMS = ("scratch", "probe", "fine-tune")
BACKBONE_FILE = "backbone.keras"
# What the pretrained backbone in an output folder was trained from: a second
# run reuses it only when these agree (else it would silently transfer another network).
BACKBONE_RECORD = "backbone.json"
DEFAULT_SOURCE_CLASSES = (0, 1, 2, 3, 4)
DEFAULT_TARGET_CLASSES = (5, 6, 7, 8, 9)


@dataclasses.dataclass(frozen=True)
class TransferSettings:
    """What `compare` trains; checked when made, before any file is written.

    Attributes:
        dataset: the target's dataset (a `kgen.data` name or `folder:PATH`).
        target_classes: the target task's classes of `dataset` (indices); None:
            5-9 when the source is carved from `dataset`, else all of them.
        target_images: training images of the target task (a stratified subset
            per seed).
        source_classes: the classes of `dataset` the backbone is pretrained on
            (None: 0-4); not with `source_dataset` or `backbone`.
        source_dataset: pretrain on all classes of this dataset instead
            (`"cifar100"` where its archive is present).
        backbone: a kgen `.keras` file to transfer from instead of pretraining.
        preset, width_scale, pretrain_epochs, pretrain_batch_size: the
            pretrained network (the preset's batch size when None).
        epochs, batch_size: of each arm on the target task; the fine-tune
            trains the head alone for half the epochs, then all of it at a
            tenth of the learning rate.
        seeds: target subsets and initializations, one run of each arm per seed.
        limit: training images loaded from `dataset` (for quick runs).
    """

    dataset: str = "synthetic"
    target_classes: tuple | None = None
    target_images: int = 1000
    source_classes: tuple | None = None
    source_dataset: str | None = None
    backbone: str | None = None
    preset: str = "ladder-2"
    width_scale: float = 0.5
    pretrain_epochs: int = 10
    pretrain_batch_size: int | None = None
    epochs: int = 10
    batch_size: int = 64
    seeds: int = 3
    limit: int | None = None
    data_dir: str | None = None

    def __post_init__(self):
        from kgen.data import check_dataset_name
        from kgen.presets import names as preset_names

        check_dataset_name(self.dataset)
        if self.source_dataset is not None:
            check_dataset_name(self.source_dataset)
        for name in ("target_images", "pretrain_epochs", "batch_size", "seeds"):
            check_int(name, getattr(self, name), minimum=1)
        check_int("epochs", self.epochs, minimum=2)  # the fine-tune has two phases
        for name in ("pretrain_batch_size", "limit"):
            if getattr(self, name) is not None:
                check_int(name, getattr(self, name), minimum=1)
        check_number("width_scale", self.width_scale, minimum=0.0, min_inclusive=False)
        check_choice("preset", self.preset, tuple(preset_names()))
        sources = [name for name in ("source_classes", "source_dataset", "backbone")
                   if getattr(self, name) is not None]
        if len(sources) > 1:
            raise ValueError("Give one source of the backbone: `source_classes` (carved from "
                             "the dataset), `source_dataset` or `backbone`. Received: "
                             + ", ".join(f"{name}={getattr(self, name)!r}" for name in sources))
        for name in ("source_classes", "target_classes"):
            value = getattr(self, name)
            if value is not None:
                classes = tuple(check_int(name, c, minimum=0) for c in check_sequence(name, value))
                if len(set(classes)) < 2 or len(set(classes)) != len(classes):
                    raise ValueError(f"`{name}` must name two or more distinct classes. "
                                     f"{received(name, value)}")
                object.__setattr__(self, name, classes)
        if self.backbone is not None:
            if not str(self.backbone).endswith(".keras") or not Path(self.backbone).is_file():
                raise ValueError("`backbone` must be an existing kgen `.keras` file. "
                                 f"{received('backbone', self.backbone)}")
            object.__setattr__(self, "backbone", str(self.backbone))
        if self.carves_source:
            source = self.source_classes or DEFAULT_SOURCE_CLASSES
            target = self.target_classes or DEFAULT_TARGET_CLASSES
            if set(source) & set(target):
                raise ValueError("The source and target classes must differ. Received: "
                                 f"source_classes={list(source)}, target_classes={list(target)}")

    @property
    def carves_source(self):
        """Whether the backbone is pretrained on other classes of `dataset`."""
        return self.source_dataset is None and self.backbone is None

    def to_dict(self):
        return dataclasses.asdict(self)


def compare(settings, out_dir, log=print, command=None):
    """Trains the three arms (`ARMS`) on the target task for every seed and
    returns the result (also written to `out_dir/results.json`, with `command`).

    - scratch: the backbone's network from random weights;
    - probe: the pretrained backbone frozen, a new classifier trained on it;
    - fine-tune: the new classifier on the frozen backbone for half the
      epochs, then everything at a tenth of the learning rate (`fine_tune`).

    The backbone is `settings.backbone`, or pretrained here into
    `out_dir/backbone.keras` (on `source_classes` of the dataset, or on all of
    `source_dataset`) and reused by a later run with the same pretraining;
    a folder holding a backbone pretrained otherwise is refused.
    """
    import statistics

    import keras

    import kgen.backend
    from kgen import models, training
    from kgen.studies.data import load_limited
    from kgen.studies.files import read_json, write_json
    from kgen.studies.runner import git_commit
    from kgen.transfer import class_subset, fine_tune, with_new_head

    if not isinstance(settings, TransferSettings):
        raise TypeError(f"`settings` must be a TransferSettings. {received('settings', settings)}")
    out_dir = Path(out_dir)
    pretraining = _pretraining_record(settings)
    record_path = out_dir / BACKBONE_RECORD
    if settings.backbone is None and record_path.exists() and any(
            read_json(record_path).get(key) != value for key, value in pretraining.items()):
        raise ValueError(f"{out_dir / BACKBONE_FILE} was pretrained with other settings "
                         f"({record_path}); nothing was changed: choose another --out. "
                         f"Received: out={str(out_dir)!r}")
    data = load_limited(settings.dataset, limit=settings.limit, data_dir=settings.data_dir)
    target_classes = settings.target_classes or (
        DEFAULT_TARGET_CLASSES if settings.carves_source else tuple(range(data.num_classes)))
    for classes in (target_classes, settings.source_classes or ()):
        for c in classes:
            check_int("classes", c, minimum=0, maximum=data.num_classes - 1)

    backbone_path = Path(settings.backbone) if settings.backbone else out_dir / BACKBONE_FILE
    if backbone_path.exists():
        log(f"backbone: {backbone_path}" + ("" if settings.backbone else
                                              " (pretrained by an earlier run, same settings)"))
        backbone = models.load_model(backbone_path)
    else:
        source = (load_limited(settings.source_dataset, data_dir=settings.data_dir)
                  if settings.source_dataset else
                  class_subset(data, settings.source_classes or DEFAULT_SOURCE_CLASSES))
        log(f"pretraining {settings.preset} (width x{settings.width_scale}) on "
            f"{settings.source_dataset or settings.dataset}: {source.num_classes} classes, "
            f"{len(source.x_train)} training images, {settings.pretrain_epochs} epochs")
        preset = models.get(settings.preset)
        config = dataclasses.replace(
            preset.model, width_multiplier=preset.model.width_multiplier * settings.width_scale)
        kgen.backend.set_random_seed(0)
        backbone = models.build_cnn(config, source.input_shape, source.num_classes,
                                    mean=source.mean, std=source.std, preset=settings.preset)
        train = preset.train
        if settings.pretrain_batch_size:
            train = dataclasses.replace(train, batch_size=settings.pretrain_batch_size)
        training.fit(backbone, source, train, epochs=settings.pretrain_epochs, verbose=0)
        source_accuracy = training.evaluate(backbone, source.x_test, source.y_test)
        log(f"  source test accuracy {100 * source_accuracy:.1f}%")
        out_dir.mkdir(parents=True, exist_ok=True)
        backbone.save(backbone_path)
        write_json(record_path, {**pretraining, "source_test_accuracy": source_accuracy,
                                 "source_classes_names": list(source.class_names)})
    if tuple(backbone.input_shape[1:]) != tuple(data.input_shape):
        raise ValueError(f"The backbone takes images of shape {tuple(backbone.input_shape[1:])} "
                         f"and the dataset's are {tuple(data.input_shape)}. "
                         f"Received: dataset={settings.dataset!r}")
    if not isinstance(backbone, models.Classifier):
        raise ValueError("`backbone` must be a kgen CNN (`kgen.models.create` or `build_cnn`, "
                         "saved as .keras): the scratch arm rebuilds its network from its "
                         f"config. {received('backbone', str(backbone_path))}")

    preset_train = models.get(backbone.preset or settings.preset).train
    train = dataclasses.replace(preset_train, batch_size=settings.batch_size)
    accuracies = {arm: [] for arm in ARMS}
    for seed in range(settings.seeds):
        target = class_subset(data, target_classes, train_limit=settings.target_images, seed=seed)
        for arm in ARMS:
            keras.backend.clear_session()
            kgen.backend.set_random_seed(seed)
            if arm == "scratch":
                model = models.build_cnn(backbone.model_config, data.input_shape,
                                         target.num_classes, mean=target.mean, std=target.std,
                                         preset=backbone.preset)
                training.fit(model, target, train, epochs=settings.epochs, verbose=0)
            else:
                model = with_new_head(models.load_model(backbone_path), target.num_classes)
                head_epochs = settings.epochs if arm == "probe" else settings.epochs // 2
                fine_tune(model, target, train, head_epochs=head_epochs,
                          full_epochs=settings.epochs - head_epochs)
            accuracy = training.evaluate(model, target.x_test, target.y_test)
            accuracies[arm].append(accuracy)
            log(f"seed {seed}: {arm}: target test accuracy {100 * accuracy:.1f}%")

    test_images = len(target.x_test)
    arms = {arm: {"test_accuracy": values, "mean": statistics.mean(values),
                  "std": statistics.stdev(values) if len(values) > 1 else None}
            for arm, values in accuracies.items()}
    backbone_record = read_json(record_path) if record_path.exists() and not settings.backbone \
        else {}
    result = {
        "command": command,
        "commit": git_commit(),
        "backend": keras.backend.backend(),
        "versions": kgen.backend.versions(keras.backend.backend()),
        "backbone": str(backbone_path),
        "source_classes": backbone_record.get("source_classes_names", []),
        "source_test_accuracy": backbone_record.get("source_test_accuracy"),
        "target_classes": list(target.class_names),
        "target_test_images": test_images,
        "arms": arms,
        "settings": settings.to_dict(),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json(out_dir / "results.json", result)
    log(f"\ntarget: {', '.join(target.class_names)}: {settings.target_images} training images, "
        f"{test_images} test images; {settings.epochs} epochs per arm, {settings.seeds} "
        f"seed{'s' if settings.seeds > 1 else ''}")
    log("| arm | test accuracy % (mean ± std over seeds) |")
    log("|---|---:|")
    for arm, figures in arms.items():
        spread = f" ± {100 * figures['std']:.1f}" if figures["std"] is not None else ""
        log(f"| {arm} | {100 * figures['mean']:.1f}{spread} |")
    log(f"(one accuracy's binomial standard error on {test_images} images: at most "
        f"±{100 * math.sqrt(0.25 / test_images):.1f} points)")
    return result


def _pretraining_record(settings):
    """The settings a pretrained backbone depends on (`BACKBONE_RECORD`)."""
    import keras

    fields = ("dataset", "source_classes", "source_dataset", "preset", "width_scale",
              "pretrain_epochs", "pretrain_batch_size", "limit")
    record = {name: getattr(settings, name) for name in fields}
    if settings.carves_source:
        record["source_classes"] = list(settings.source_classes or DEFAULT_SOURCE_CLASSES)
    return {**record, "backend": keras.backend.backend()}
