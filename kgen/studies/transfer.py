"""The transfer comparison: from scratch vs linear probe vs fine-tune.

    settings = TransferSettings(dataset="folder:data/cifar10", target_images=1000)
    report = compare(settings, "runs/transfer")   # what `kgen transfer` runs

Two studies through the runner behind every study. `OUT/pretrain/`: the
backbone, the preset trained on a source task (other classes of the dataset,
or all of another dataset such as CIFAR-100) and saved as its run's
`model.keras`, unless a kgen `.keras` file is given. `OUT/target/`: the three
arms (`ARMS`) on the target task (few images of new classes) over seeds, with
the report every study has (mean ± std, the change against `scratch` and its
p-value). Both resume like any study, and a later command with other
pretraining settings is refused rather than given the wrong backbone. The
settings are Keras-free, so the CLI checks them before a backend starts.
"""

import dataclasses
from pathlib import Path

from kgen.validation import (
    check_choice,
    check_classes,
    check_int,
    check_keras_file,
    check_number,
    received,
)

DEFAULT_SOURCE_CLASSES = (0, 1, 2, 3, 4)
DEFAULT_TARGET_CLASSES = (5, 6, 7, 8, 9)
# The arms as `TrainConfig.transfer` values: the backbone's network from random
# weights, a new classifier on the frozen backbone, and the fine-tune.
ARMS = {"scratch": "none", "probe": "probe", "fine-tune": "fine-tune"}


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
        seeds: runs of each arm (initialization and order of the images; the
            target's training images are the same stratified subset in all).
        limit: training images of the source task carved from `dataset`
            (after its classes are taken; for quick runs).
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
            if getattr(self, name) is not None:
                object.__setattr__(self, name, check_classes(name, getattr(self, name)))
        if self.backbone is not None:
            object.__setattr__(self, "backbone", check_keras_file("backbone", self.backbone))
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


def compare(settings, out_dir, log=print):
    """Pretrains the backbone (unless `settings.backbone`) into
    `out_dir/pretrain/`, trains the three arms into `out_dir/target/`, and
    returns the target study's `kgen.studies.report.Report`."""
    import kgen.models
    from kgen.studies import Settings, Study, Variant, layout, runner
    from kgen.studies.files import read_json

    if not isinstance(settings, TransferSettings):
        raise TypeError(f"`settings` must be a TransferSettings. {received('settings', settings)}")
    out_dir = Path(out_dir)
    backbone_path = settings.backbone
    if backbone_path is None:
        pretraining = Settings(
            dataset=settings.source_dataset or settings.dataset,
            classes=(settings.source_classes or DEFAULT_SOURCE_CLASSES)
            if settings.carves_source else None,
            limit=settings.limit if settings.carves_source else None,
            epochs=settings.pretrain_epochs, batch_size=settings.pretrain_batch_size,
            width_scale=settings.width_scale, seeds=1, data_dir=settings.data_dir,
            save_model=True)
        source = Variant(name=settings.preset, preset=settings.preset,
                         summary=f"{settings.preset} pretrained on the source task")
        log(f"== pretraining the backbone: {out_dir / 'pretrain'}")
        runner.execute(Study(name="pretrain", variants=(source,), title="Pretraining"),
                       pretraining, out_dir / "pretrain", log=log)
        run_dir = layout.run_dir(out_dir / "pretrain", source.name, 0)
        backbone_path = run_dir / runner.MODEL_FILE
        if read_json(run_dir / "result.json")["status"] != "completed":
            raise ValueError(f"The pretraining diverged ({run_dir}): there is no backbone to "
                             "transfer. Lower its learning rate or change the preset. "
                             f"Received: preset={settings.preset!r}")
        if not backbone_path.exists():
            raise ValueError(f"{out_dir / 'pretrain'} holds a finished pretraining without its "
                             f"model file ({backbone_path.name}); nothing was changed: choose "
                             f"another --out. Received: out={str(out_dir)!r}")
    backbone = kgen.models.load_model(backbone_path, compile=False)
    if not isinstance(backbone, kgen.models.Classifier):
        raise ValueError("`backbone` must be a kgen CNN (built by kgen.models and saved as "
                         f".keras). Received: backbone={str(backbone_path)!r}")
    preset = backbone.preset or settings.preset
    # The backbone's network as the preset plus overrides: the scratch arm
    # trains exactly it, and the runner checks the transfer arms' against it.
    base = kgen.models.get(preset).model.to_dict()
    overrides = {name: value for name, value in backbone.model_config.to_dict().items()
                 if base.get(name) != value}
    target = Settings(
        dataset=settings.dataset,
        classes=settings.target_classes or (DEFAULT_TARGET_CLASSES if settings.carves_source
                                            else None),
        limit=settings.target_images, epochs=settings.epochs, batch_size=settings.batch_size,
        seeds=settings.seeds, data_dir=settings.data_dir, backbone=str(backbone_path))
    arms = tuple(Variant(name=arm, preset=preset, model=overrides,
                         train={} if transfer == "none" else {"transfer": transfer},
                         summary=ARM_SUMMARIES[arm])
                 for arm, transfer in ARMS.items())
    study = Study(name="transfer", variants=arms, compare="first",
                  title="Transfer: from scratch, a linear probe and a fine-tune",
                  description=f"The backbone `{backbone_path}` ({preset}) on the target task: "
                              "trained from scratch, as a linear probe, and fine-tuned.")
    log(f"== the target task: {out_dir / 'target'}")
    return runner.execute(study, target, out_dir / "target", log=log)


ARM_SUMMARIES = {
    "scratch": "the backbone's network from random weights",
    "probe": "a new classifier on the frozen backbone (a linear probe)",
    "fine-tune": "the new classifier on the frozen backbone for half the epochs, then all of "
                 "it at a tenth of the learning rate",
}
