"""`kgen`: run the ladder and the studies, rebuild reports, list what exists.

    kgen ladder --quick --out runs/ladder
    kgen study normalization --seeds 5 --backend jax
    kgen study --file my_study.toml
    kgen train ladder-5 --set l2=1e-4 --epochs 20
    kgen transfer --dataset folder:data/cifar10 --target-images 1000
    kgen report runs/ladder
    kgen list

Keras reads `KERAS_BACKEND` once, when it is first imported, so this module
imports neither Keras nor `kgen.models` at import time: `--backend` is applied
first and the training modules are imported after it. `kgen list`, `kgen
report` and every `--help` import no backend at all.
"""

import argparse
import math
import os
import sys
from pathlib import Path

import kgen
import kgen.backend
from kgen.precision import PRECISIONS
from kgen.studies.settings import QUICK
from kgen.validation import received

BACKENDS = kgen.backend.BACKENDS
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class UsageError(ValueError):
    """Bad input on the command line."""


class _Parser(argparse.ArgumentParser):
    """argparse with its errors on one line (`kgen: error: ...`), exit code 2."""

    def error(self, message):
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def main(argv=None):
    """Entry point of the `kgen` console script; returns the exit code.

    The one error handler: bad input (a ValueError or TypeError, which kgen's
    checks raise before anything is written) exits 2 with one line on stderr,
    `kgen: error: ...`; a file the system refuses (OSError) exits 1 the same way.
    KGEN_TRACEBACK=1 re-raises instead, for a bug report.
    """
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)

    def parse_and_run():
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return EXIT_USAGE
        return args.handler(args)

    return handling_errors(parse_and_run)


def run_recipe(study, argv=None, description=None, defaults=None):
    """The command line of a recipe script: `kgen study`'s run options for
    `study` (a `kgen.studies.Study`, or one `Variant`), through the same runner;
    returns the exit code. `defaults` are the recipe's own defaults for those
    options, by their argparse names (`{"seeds": 5, "flip_tta": True}`); the
    command line still wins.

        if __name__ == "__main__":
            sys.exit(kgen.cli.run_recipe(Variant(name="ladder-2", preset="ladder-1",
                                                 model={"normalization": "batch"})))
    """
    study = _as_study(study)
    parser = _recipe_parser(study, description, defaults)
    argv = sys.argv[1:] if argv is None else list(argv)
    return handling_errors(lambda: _run_study(parser.parse_args(argv), study))


def recipe_settings(study, argv=None, defaults=None):
    """The `kgen.studies.Settings` that `run_recipe(study, argv, defaults=...)`
    would run with, with the backend it names started: for a recipe that
    plans its run from the data or the machine before calling `run_recipe`.
    Bad options raise `ValueError` (wrap the caller in `handling_errors`)."""
    study = _as_study(study)
    argv = sys.argv[1:] if argv is None else list(argv)
    args = _recipe_parser(study, defaults=defaults).parse_args(argv)
    _select_backend(args.backend, args.verbose)
    return _settings(args)


def _as_study(study):
    from kgen.studies import Study, Variant

    if isinstance(study, Variant):
        return Study(name=study.name, variants=(study,), title=study.name)
    return study


def _recipe_parser(study, description=None, defaults=None):
    script = Path(sys.argv[0]).name
    parser = _Parser(prog=f"python {script}", description=description or study.title)
    _add_run_options(parser, default_out=f"runs/recipes/{study.name}")
    if defaults:
        unknown = sorted(set(defaults) - set(vars(parser.parse_args([]))))
        if unknown:
            raise ValueError(f"`defaults` names no run option: {unknown}. "
                             f"Received: defaults={defaults!r}")
        parser.set_defaults(**defaults)
    return parser


def handling_errors(function):
    """`function()`'s return value (an exit code), with the CLI's handling of
    errors: bad input is one line on stderr and exit code 2 (see `main`);
    Ctrl-C says how to resume."""
    # TensorFlow's C++ start-up messages hide the progress lines.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        return function()
    except KeyboardInterrupt:
        print("\nkgen: interrupted. Run the same command again to resume: finished runs are "
              "kept and the unfinished one continues from its last completed epoch.",
              file=sys.stderr, flush=True)
        return EXIT_INTERRUPTED
    except (ValueError, TypeError, OSError, RecursionError) as error:
        if os.environ.get("KGEN_TRACEBACK"):
            raise
        print(f"kgen: error: {_one_line(error)}", file=sys.stderr, flush=True)
        return EXIT_FAILURE if isinstance(error, OSError) else EXIT_USAGE


def _one_line(error):
    if isinstance(error, OSError) and error.strerror:
        where = f": {error.filename!r}" if error.filename else ""
        return f"{error.strerror}{where}"
    return " ".join(str(error).split()) or type(error).__name__


def build_parser():
    parser = _Parser(
        prog="kgen",
        description="Run kgen's generalization ladder and ablation studies on any Keras "
                    "backend, and report train accuracy, validation accuracy and their gap "
                    "per variant, with the spread over seeds.",
        epilog="Run `kgen COMMAND --help` for a command's options.\n"
               "Documentation: docs/getting-started.md, docs/studies.md",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"kgen {kgen.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    ladder = commands.add_parser(
        "ladder", help="train the ten ladder rungs (ladder-0 ... ladder-9) and report",
        description="Train the ten cumulative rungs of the ladder (presets ladder-0 ... "
                    "ladder-9), each from scratch, and write a report with train accuracy, "
                    "validation accuracy and their gap per rung.",
    )
    _add_run_options(ladder, default_out="runs/ladder")
    ladder.set_defaults(handler=_ladder)

    study = commands.add_parser(
        "study", help="run a built-in study or one from a TOML/JSON file",
        description="Run a study: a list of named variants (a preset plus overrides). "
                    "Built-in: ladder, normalization, overfitting, training (`kgen list`). "
                    "Your own: --file my_study.toml (format: docs/studies.md).",
    )
    study.add_argument("name", nargs="?", help="a built-in study (see `kgen list`)")
    study.add_argument("--file", metavar="FILE",
                       help="a study in a .toml or .json file instead of a built-in name")
    _add_run_options(study, default_out="runs/STUDY")
    study.set_defaults(handler=_study)

    train = commands.add_parser(
        "train", help="train one preset (a one-variant study) and report",
        description="Train one preset, optionally with field overrides, with the same "
                    "files, resumption and report as a study.",
    )
    train.add_argument("preset", help="a preset name (see `kgen list`)")
    train.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                       dest="overrides",
                       help="override a ModelConfig, Augmentation or TrainConfig field (an "
                            "MLP preset's: MLPConfig or TrainConfig), e.g. "
                            "--set l2=1e-4 --set normalization=group --set flip=random; "
                            "VALUE is read as JSON when it parses, else as a string "
                            "(repeatable)")
    _add_run_options(train, default_out="runs/train-PRESET")
    train.set_defaults(handler=_train)

    transfer = commands.add_parser(
        "transfer", help="from scratch vs linear probe vs fine-tune on a small target task",
        description="Pretrain a backbone (on other classes of the dataset, on another "
                    "dataset, or take a kgen .keras file), then train the target task three "
                    "ways for every seed: from scratch, as a linear probe on the frozen "
                    "backbone, and fine-tuned (head first, then all of it at a tenth of the "
                    "learning rate); each through the study runner, with its report "
                    "(OUT/pretrain/, OUT/target/; docs/transfer.md).",
    )
    add_transfer_options(transfer)
    transfer.set_defaults(handler=run_transfer)

    report = commands.add_parser(
        "report", help="rebuild a study's report from its files (no training, no Keras)",
        description="Rebuild results.csv, results.json, report.md and the plots of a study "
                    "folder from its study.json and run files alone.",
    )
    report.add_argument("dir", help="the study's output folder (its --out)")
    report.set_defaults(handler=_report)

    listing = commands.add_parser(
        "list", help="list presets, studies and datasets (imports no backend)",
        description="List the model presets, the built-in studies and the datasets.",
    )
    listing.set_defaults(handler=_list)

    # kgen.bench.config is Keras-free, like everything the parser needs.
    from kgen.bench import config as bench_config

    bench = commands.add_parser(
        "bench", help="training throughput of a preset on each backend, against plain PyTorch",
        description="Time a preset's training on each Keras backend, each in its own "
                    "process, against a plain-PyTorch loop measured in the same run "
                    "(docs/performance.md). The same as `python -m kgen.bench`.",
    )
    bench_config.add_arguments(bench)
    bench.set_defaults(handler=_bench)
    return parser


def _add_run_options(parser, default_out):
    group = parser.add_argument_group("run options")
    group.add_argument("--backend", choices=BACKENDS,
                       help="Keras backend, set as KERAS_BACKEND before Keras is imported "
                            "(default: $KERAS_BACKEND, else Keras' default, tensorflow)")
    group.add_argument("--dataset", default="synthetic",
                       help="a kgen.data dataset: synthetic (embedded, no download), cifar10, "
                            "cifar100, mnist, fashion_mnist, or folder:PATH "
                            "(default: synthetic)")
    group.add_argument("--epochs", type=_positive_int,
                       help="epochs per run (default: each preset's own, e.g. 50 on the "
                            f"ladder; {QUICK['epochs']} with --quick)")
    group.add_argument("--seeds", type=_positive_int,
                       help="runs per variant, with seeds 0..N-1; the report gives mean ± std "
                            "and tests changes against the seed-to-seed noise "
                            f"(default: 3; {QUICK['seeds']} with --quick)")
    group.add_argument("--only", metavar="LIST",
                       help="run only these variants: indices and ranges like 0-3,5, or "
                            "variant names, comma-separated (default: all)")
    group.add_argument("--out", metavar="DIR",
                       help=f"output folder; run the same command again to resume an "
                            f"interrupted study (default: {default_out})")
    group.add_argument("--quick", action="store_true",
                       help="minutes-long settings for a CPU: "
                            + ", ".join(f"{k}={v}" for k, v in QUICK.items())
                            + " (printed at start; any explicit option wins)")
    group.add_argument("--gradient-norms", action="store_true",
                       help="record each kernel's gradient norm on a probe batch before "
                            "training and after every epoch (gradient_norms.csv per run, a "
                            "figure in the report): where the gradient vanishes")
    group.add_argument("--tensorboard", action="store_true",
                       help="also write TensorBoard logs to each run's tensorboard/ folder "
                            "(needs the tensorflow and tensorboard packages)")
    group.add_argument("--force", action="store_true",
                       help="use --out even if it holds another study or other settings, "
                            "and retrain (deleting them) the runs in it whose configuration "
                            "differs (backend, dataset content, variant, settings); without "
                            "it no run is ever deleted")
    group.add_argument("--executor", choices=("local", "ray"), default="local",
                       help="where the runs train: one after another in this process "
                            "(default), or as Ray tasks, each with its own resources "
                            "(needs kgen[ray]; docs/studies.md)")
    group.add_argument("--address", metavar="ADDR",
                       help="with --executor ray: the cluster to use (`ray start --head` "
                            "prints it; 'auto' finds a local one); default: a private "
                            "instance on this machine")
    group.add_argument("--cpus-per-run", type=_positive_int, default=1, metavar="N",
                       help="with --executor ray: CPUs each run asks for (its thread "
                            "limit too; default 1)")
    group.add_argument("--gpus-per-run", type=_non_negative_float, default=0.0, metavar="G",
                       help="with --executor ray: GPUs each run asks for (fractions "
                            "share one; default 0)")
    group.add_argument("--verbose", action="store_true",
                       help="show the backend's start-up messages (TensorFlow's oneDNN and "
                            "CUDA notices, C++ log lines), which kgen hides by default")
    group.add_argument("--width-scale", type=_positive_float,
                       help="multiply every variant's width_multiplier by this "
                            f"(default: 1; {QUICK['width_scale']} with --quick)")
    group.add_argument("--batch-size", type=_positive_int,
                       help="batch size for every variant (default: each preset's own; "
                            f"{QUICK['batch_size']} with --quick)")
    group.add_argument("--train-size", type=_positive_int,
                       help="images the synthetic dataset generates for train+validation "
                            f"(default: 10000; {QUICK['train_size']} with --quick)")
    group.add_argument("--data-seed", type=_non_negative_int, metavar="N",
                       help="which draw of the synthetic dataset: another seed gives "
                            "other images in every split (default: 0)")
    group.add_argument("--limit", type=_positive_int, metavar="N",
                       help="train on N training images only: a seeded subset with every "
                            "class in its proportion (default: all)")
    group.add_argument("--validation-split", type=_fraction, metavar="F",
                       help="fraction of each class of the train split held out for "
                            f"validation (default: 0.1; {QUICK['validation_split']} with --quick)")
    group.add_argument("--label-noise", type=_fraction, metavar="F",
                       help="replace this fraction of the training labels with another class "
                            "(seeded, the same in every run; validation and test stay clean)")
    group.add_argument("--folds", type=_positive_int, metavar="K",
                       help="k-fold cross-validation: K runs per variant, run i validating on "
                            "fold i of the training images and training on the others "
                            "(--seeds defaults to K; --validation-split is not used)")
    group.add_argument("--image-size", type=_positive_int, metavar="N",
                       help="resize a folder: dataset's images to N x N pixels "
                            "(default: their own size when they all agree)")
    group.add_argument("--precision", choices=PRECISIONS,
                       help="the dtype policy every model is built under: float32, or 16-bit "
                            "compute with float32 weights (kgen.precision; default: float32)")
    group.add_argument("--test-seed", type=_non_negative_int, metavar="N",
                       help="which test split of a folder: dataset without a test folder: "
                            "another seed scores images the default split (0) never held, "
                            "for settings chosen by scoring that split (default: 0)")
    group.add_argument("--flip-tta", action=argparse.BooleanOptionalAction, default=False,
                       help="also score the test split with test-time flip averaging "
                            "(airbench's TTA; a column of its own in the report)")
    group.add_argument("--reference", action=argparse.BooleanOptionalAction, default=False,
                       help="measure the plain-PyTorch reference's speed (kgen bench's) "
                            "before and after the runs, so the report's times can be scaled "
                            "to another machine (needs PyTorch; about 30 s each)")
    group.add_argument("--skip-bad", action="store_true",
                       help="leave out a folder: dataset's unreadable images (listed) "
                            "instead of stopping (default: stop, naming them)")
    group.add_argument("--data-dir", metavar="DIR",
                       help="where dataset archives are looked for (default: $KGEN_DATA, "
                            "else ~/.keras/datasets)")
    group.add_argument("--classes", type=_class_list, metavar="LIST",
                       help="train and score on these classes of the dataset only, e.g. "
                            "5,6,7,8,9 (relabelled 0..k-1): a task carved from a dataset")
    group.add_argument("--backbone", metavar="FILE",
                       help="a kgen .keras model that variants with a `transfer` training "
                            "field start from (docs/transfer.md)")
    group.add_argument("--save-model", action="store_true",
                       help="also save each run's trained model as model.keras in its folder")
    # For tests: evaluate on N validation and test images only (stratified subsets).
    group.add_argument("--eval-limit", type=_positive_int, metavar="N",
                       help="score on a stratified N of the validation and test images only "
                            "(smoke runs; the report states the sizes used)")


def add_transfer_options(parser, default_dataset="synthetic", default_out="runs/transfer"):
    """`kgen transfer`'s options on `parser` (its recipe has the same)."""
    from kgen.studies.transfer import TransferSettings

    defaults = TransferSettings()
    parser.add_argument("--backend", choices=BACKENDS,
                        help="Keras backend (default: $KERAS_BACKEND, else tensorflow)")
    parser.add_argument("--dataset", default=default_dataset,
                        help=f"the target task's dataset (default: {default_dataset})")
    parser.add_argument("--target-classes", type=_class_list, metavar="LIST",
                        help="the target task's classes, e.g. 5,6,7,8,9 (default: 5-9 when "
                             "the source is carved from the dataset, else all)")
    parser.add_argument("--target-images", type=_positive_int, default=defaults.target_images,
                        metavar="N", help="training images of the target task (default: "
                                          f"{defaults.target_images})")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--source-classes", type=_class_list, metavar="LIST",
                        help="pretrain on these classes of the dataset (default: 0,1,2,3,4)")
    source.add_argument("--source-dataset", metavar="NAME",
                        help="pretrain on all classes of this dataset instead (e.g. cifar100)")
    source.add_argument("--backbone", metavar="FILE",
                        help="a kgen .keras model to transfer from instead of pretraining")
    parser.add_argument("--preset", default=defaults.preset,
                        help=f"the pretrained network (default: {defaults.preset})")
    parser.add_argument("--width-scale", type=_positive_float, default=defaults.width_scale,
                        help=f"of the preset's widths (default: {defaults.width_scale})")
    parser.add_argument("--pretrain-epochs", type=_positive_int,
                        default=defaults.pretrain_epochs, metavar="N")
    parser.add_argument("--pretrain-batch-size", type=_positive_int, metavar="N",
                        help="of the pretraining (default: the preset's)")
    parser.add_argument("--epochs", type=_positive_int, default=defaults.epochs, metavar="N",
                        help="of each arm (at least 2; the fine-tune trains the head for "
                             f"half of them; default: {defaults.epochs})")
    parser.add_argument("--batch-size", type=_positive_int, default=defaults.batch_size,
                        metavar="N", help=f"of each arm (default: {defaults.batch_size})")
    parser.add_argument("--seeds", type=_positive_int, default=defaults.seeds, metavar="N")
    parser.add_argument("--limit", type=_positive_int, metavar="N",
                        help="training images loaded from the dataset (default: all)")
    parser.add_argument("--data-dir", metavar="DIR",
                        help="where dataset archives are looked for (default: $KGEN_DATA, "
                             "else ~/.keras/datasets)")
    parser.add_argument("--out", default=default_out, metavar="DIR",
                        help="the pretraining study goes to OUT/pretrain (its run's model.keras "
                             "is the backbone) and the arms to OUT/target; the same command "
                             f"again resumes or reuses them (default: {default_out})")
    parser.add_argument("--verbose", action="store_true",
                        help="show the backend's start-up messages")


def transfer_settings(args):
    """The `kgen.transfer.TransferSettings` of `kgen transfer`'s parsed options."""
    from kgen.studies.transfer import TransferSettings

    return TransferSettings(
        dataset=args.dataset, target_classes=args.target_classes,
        target_images=args.target_images, source_classes=args.source_classes,
        source_dataset=args.source_dataset, backbone=args.backbone, preset=args.preset,
        width_scale=args.width_scale, pretrain_epochs=args.pretrain_epochs,
        pretrain_batch_size=args.pretrain_batch_size, epochs=args.epochs,
        batch_size=args.batch_size, seeds=args.seeds, limit=args.limit, data_dir=args.data_dir)


def run_transfer(args):
    """`kgen transfer` (and its recipe): the settings are checked before the
    backend starts; prints the target study's table."""
    settings = transfer_settings(args)
    _select_backend(args.backend, args.verbose)
    from kgen.studies.transfer import compare

    _print_summary(compare(settings, args.out))
    return 0


def _class_list(text):
    try:
        classes = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected class indices separated by commas, e.g. 5,6,7; got {text!r}") from None
    return classes


def _number_type(kind, description, minimum, strict=False, below=None):
    """An argparse type: `kind(text)` at or above `minimum` (above, if
    `strict`) and under `below`, finite; else a one-line error saying what it
    must be."""
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            value = None
        fits = (value is not None and math.isfinite(value)
                and (value > minimum if strict else value >= minimum)
                and (below is None or value < below))
        if not fits:
            raise argparse.ArgumentTypeError(f"must be {description}. Received: {text!r}")
        return value

    return parse


_positive_int = _number_type(int, "an integer >= 1", 1)
_non_negative_int = _number_type(int, "an integer >= 0", 0)
_positive_float = _number_type(float, "a number > 0", 0.0, strict=True)
_non_negative_float = _number_type(float, "a number >= 0", 0.0)
_fraction = _number_type(float, "a number in [0, 1)", 0.0, below=1.0)


# === Commands ===


def _ladder(args):
    import kgen.studies

    return _run_study(args, kgen.studies.get("ladder"))


def _study(args):
    import kgen.studies

    if (args.name is None) == (args.file is None):
        raise UsageError("give a study name or --file FILE, not both and not neither. "
                         f"{received('name', args.name)}, {received('file', args.file)}")
    if args.file is not None:
        study = kgen.studies.load_study_file(args.file)
    else:
        study = kgen.studies.get(args.name)
    return _run_study(args, study)


def _train(args):
    from kgen.studies import Study
    from kgen.studies.spec import variant_from_assignments

    variant = variant_from_assignments(args.preset, args.overrides)
    study = Study(name=f"train-{args.preset}", variants=(variant,),
                  title=f"Training {args.preset}")
    return _run_study(args, study)


def _report(args):
    from kgen.studies import report

    directory = Path(args.dir)
    if not directory.is_dir():
        raise UsageError(f"no such folder. {received('dir', args.dir)}")
    written = report.write_report(directory)
    _print_summary(written)
    for path in written.paths:
        print(f"wrote {path}")
    return 0


def _list(args):
    # Keras-free modules only: listing takes a fraction of a second, with no
    # backend's start-up (tests/test_cli.py checks that none is imported).
    import kgen.data
    import kgen.presets
    import kgen.studies

    print("Presets (kgen train PRESET):")
    for name in kgen.presets.names():
        print(f"  {name:16} {kgen.presets.get(name).summary}")
    print("\nMLP presets (kgen train PRESET --dataset two-moons; feature vectors):")
    for name, preset in kgen.presets.MLP_PRESETS.items():
        print(f"  {name:16} {preset.summary}")
    print("\nStudies (kgen study NAME):")
    for name in kgen.studies.names():
        study = kgen.studies.get(name)
        print(f"  {name:16} {len(study.variants):2} variants: {study.title}")
    print("\nDatasets (--dataset):")
    for name in kgen.data.names():
        print(f"  {name}")
    print("  folder:PATH      images in PATH/<class>/<image> (see docs/datasets.md)")
    return 0


def _bench(args):
    from kgen.bench.parent import run_from_args

    return run_from_args(args)


# === Running a study ===


def _run_study(args, study):
    """Checks everything that can be checked (names, settings, the output
    folder and every run in it, the data, each model's build) before the first
    file is written; then holds the folder's lock while it trains and reports."""
    import kgen.data
    import kgen.studies
    from kgen.studies import executors, spec

    names = [v.name for v in study.variants]
    only = spec.variant_indices(args.only, names) if args.only else list(range(len(names)))
    settings = _settings(args)
    kgen.data.check_dataset_name(settings.dataset)
    if settings.tensorboard:
        executors.check_tensorboard()

    executors.check_executor(args.executor, args.address, args.cpus_per_run,
                             args.gpus_per_run)
    out_dir = Path(args.out or f"runs/{study.name}")

    _select_backend(args.backend, args.verbose)
    from kgen.studies import runner

    header = []
    if args.quick:
        header.append("quick settings (kgen.studies.QUICK): "
                      + ", ".join(f"{k}={v}" for k, v in kgen.studies.QUICK.items())
                      + "; explicit options win")
    report = runner.execute(study, settings, out_dir, only=only, force=args.force,
                            executor=args.executor, address=args.address,
                            cpus_per_run=args.cpus_per_run, gpus_per_run=args.gpus_per_run,
                            reference=args.reference, log=_log, header=header)
    _log("")
    _print_summary(report)
    _log(f"\nreport: {out_dir / 'report.md'} (plots: learning_curves.png, "
         f"accuracy_gap.png; rebuild with `kgen report {out_dir}`)")
    return 0


def _settings(args):
    from kgen.studies import Settings, quick_settings

    explicit = {
        "dataset": args.dataset,
        "epochs": args.epochs,
        "seeds": args.seeds,
        "width_scale": args.width_scale,
        "batch_size": args.batch_size,
        "train_size": args.train_size,
        "limit": args.limit,
        "eval_limit": args.eval_limit,
        "validation_split": args.validation_split,
        "image_size": args.image_size,
        "data_seed": args.data_seed,
        "data_dir": args.data_dir,
        "test_seed": args.test_seed,
        "skip_bad": args.skip_bad or None,
        "flip_tta": args.flip_tta or None,
        "precision": args.precision,
        "tensorboard": args.tensorboard,
        "gradient_norms": args.gradient_norms,
        "folds": args.folds,
        "label_noise": args.label_noise,
        "classes": args.classes,
        "backbone": args.backbone,
        "save_model": args.save_model or None,
    }
    if args.folds and args.seeds is None:
        explicit["seeds"] = args.folds  # one run per fold
    if args.quick:
        return quick_settings(**explicit)
    return Settings(**{k: v for k, v in explicit.items() if v is not None})


def _select_backend(backend, verbose=False):
    """Chooses the backend (`kgen.backend.choose`) and starts it, hiding its
    start-up messages unless `verbose` (which holds for the whole run, Ray
    workers included, through KGEN_VERBOSE)."""
    kgen.backend.choose(backend)
    if verbose:
        os.environ[kgen.backend.VERBOSE_VARIABLE] = "1"
    kgen.backend.start()


def _print_summary(report):
    """The report's table and, when some variants never left chance, the
    warning that changes how the table reads."""
    for line in report.table:
        print(line)
    if report.at_chance:
        print(f"\nStill at chance: {', '.join(report.at_chance)}. They had not started to "
              "learn in the epochs given, so their change says nothing about the trick; see "
              "report.md.")
    sys.stdout.flush()


def _log(message):
    print(message, flush=True)


if __name__ == "__main__":
    sys.exit(main())
