"""What `kgen bench` measures (`BenchConfig`, its command-line options) and
the inputs it measures with (a preset's configs at a width, random images).

Keras-free: the CLI builds `kgen bench`'s parser without importing a backend,
and the plain-PyTorch reference imports this module, never Keras.
"""

import argparse
from dataclasses import dataclass

import numpy as np

from kgen.precision import PRECISIONS
from kgen.validation import check_choice, check_int, received

BACKENDS = ("tensorflow", "jax", "torch")
JIT_CHOICES = ("auto", "true", "false")
# Random uint8 pixels are uniform on 0..255: mean 127.5 and std 73.9 in [0, 1] units.
RANDOM_MEAN = (0.5, 0.5, 0.5)
RANDOM_STD = (0.2887, 0.2887, 0.2887)


@dataclass(frozen=True)
class BenchConfig:
    """What `kgen bench` measures.

    Attributes:
        preset: a `kgen.models` preset name.
        width: the stem width (the first stage's width for presets without a
            stem); every width scales with it. `None` keeps the preset's.
            For `resnet9` (stem 64), `width=16` is `width_multiplier=0.25`.
        batch: images per step.
        image_size: the random images' height and width (32: CIFAR's; 224
            for the ImageNet-sized `vgg16`).
        steps: timed steps after the warm-up, cut into `windows` windows.
        warmup_steps: steps before timing starts (compilation happens here).
        windows: timed windows; the steady rate is their median.
        backends: Keras backends to measure, each in its own process.
        precision: one of `kgen.precision.PRECISIONS`.
        jit_compile: `"auto"` (kgen's per-backend default), `"true"` or `"false"`.
        devices: data-parallel devices for JAX (`kgen.distribution`): an int or "all".
        repeats: rounds of (reference, backends); figures are medians over rounds.
        reference: also measure the plain-PyTorch reference.
        reference_workers: `DataLoader` workers of the reference.
        json_path: where to write the results as JSON (`None`: nowhere).
        timeout: seconds allowed to each child process.
    """

    preset: str = "resnet9"
    width: int | None = 16
    batch: int = 256
    image_size: int = 32
    steps: int = 40
    warmup_steps: int = 5
    windows: int = 4
    backends: tuple = BACKENDS
    precision: str = "float32"
    jit_compile: str = "auto"
    devices: str = "1"
    repeats: int = 1
    reference: bool = True
    reference_workers: int = 2
    json_path: str | None = None
    timeout: int = 1800

    def __post_init__(self):
        from kgen import presets

        check_choice("preset", self.preset, tuple(presets.names()))
        if self.width is not None:
            check_int("width", self.width, minimum=1)
        check_int("batch", self.batch, minimum=1)
        check_int("image_size", self.image_size, minimum=1)
        check_int("steps", self.steps, minimum=1)
        check_int("warmup_steps", self.warmup_steps, minimum=1)
        check_int("windows", self.windows, minimum=1)
        if self.steps < self.windows:
            raise ValueError(
                f"`steps` must be at least `windows` ({self.windows}). {received('steps', self.steps)}"
            )
        backends = self.backends
        if isinstance(backends, str):
            backends = tuple(b.strip() for b in backends.split(",") if b.strip())
        if not backends:
            raise ValueError(f"`backends` must name at least one backend. {received('backends', self.backends)}")
        for backend in backends:
            check_choice("backends", backend, BACKENDS)
        if len(set(backends)) != len(backends):
            raise ValueError(f"`backends` repeats a backend. {received('backends', self.backends)}")
        object.__setattr__(self, "backends", tuple(backends))
        check_choice("precision", self.precision, PRECISIONS)
        check_choice("jit_compile", str(self.jit_compile).lower(), JIT_CHOICES)
        object.__setattr__(self, "jit_compile", str(self.jit_compile).lower())
        devices = str(self.devices)
        if devices != "all" and not (devices.isdigit() and int(devices) >= 1):
            raise ValueError(f'`devices` must be a positive integer or "all". {received("devices", self.devices)}')
        if devices != "1" and self.backends != ("jax",):
            raise ValueError(
                "Data-parallel training (`devices` other than 1) is measured on JAX only: "
                f"pass backends=jax. {received('devices', self.devices)}"
            )
        object.__setattr__(self, "devices", devices)
        check_int("repeats", self.repeats, minimum=1)
        check_int("reference_workers", self.reference_workers, minimum=0)
        check_int("timeout", self.timeout, minimum=1)

    @property
    def image_shape(self):
        return (self.image_size, self.image_size, 3)

    @property
    def window_steps(self):
        return self.steps // self.windows

    @property
    def total_steps(self):
        return self.warmup_steps + self.window_steps * self.windows


def bench_variant(config):
    """The study variant `kgen bench` times: `config.preset` at its stem
    `config.width` and batch `config.batch`."""
    from kgen.studies.spec import Variant

    return Variant(name=f"bench-{config.preset}", preset=config.preset,
                   **_overrides(config.preset, config.width, config.batch))


def preset_configs(preset, width=None, batch=None):
    """The preset's `(ModelConfig, TrainConfig)` at stem `width` and `batch`,
    resolved as a study variant is (`kgen.studies.spec.resolve_variant`)."""
    from kgen.studies.spec import Variant, resolve_variant

    _, model_config, train_config = resolve_variant(
        Variant(name=f"bench-{preset}", preset=preset, **_overrides(preset, width, batch)))
    return model_config, train_config


def _overrides(preset, width, batch):
    from kgen import presets

    model = {}
    if width is not None:
        # The bench states a width in channels of the first layer: a multiplier of it.
        base = presets.get(preset).model
        model["width_multiplier"] = width / (base.stem_width or base.stages[0].width)
    return {"model": model, "train": {} if batch is None else {"batch_size": batch}}


def random_dataset(count, image_shape=(32, 32, 3), num_classes=10, seed=0):
    """Uniform random uint8 images and balanced labels: speed does not depend on content."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (count, *image_shape), dtype=np.uint8)
    labels = rng.permutation(np.arange(count) % num_classes).astype(np.int64)
    return images, labels


def random_images_dataset(train_count, held_out_count=0, image_shape=(32, 32, 3)):
    """A `kgen.data.Dataset` of random images (`random_dataset`) to time training
    on: `train_count` training images (seed 0, the plain-PyTorch reference's
    pixels) and `held_out_count` validation and as many test images (seed 1)."""
    from kgen.data import Dataset

    images, labels = random_dataset(train_count, image_shape)
    held_out, held_out_labels = random_dataset(2 * held_out_count, image_shape, seed=1)
    return Dataset(
        name="random", x_train=images, y_train=labels,
        x_val=held_out[:held_out_count], y_val=held_out_labels[:held_out_count],
        x_test=held_out[held_out_count:], y_test=held_out_labels[held_out_count:],
        class_names=tuple(str(i) for i in range(10)),
        mean=np.asarray(RANDOM_MEAN, "float32"), std=np.asarray(RANDOM_STD, "float32"),
    )


def add_arguments(parser):
    """Adds `kgen bench`'s options to an `argparse` parser."""
    defaults = BenchConfig.__dataclass_fields__
    parser.add_argument("--preset", default=defaults["preset"].default,
                        help="kgen.models preset (default: %(default)s)")
    parser.add_argument("--width", type=int, default=defaults["width"].default,
                        help="stem width; resnet9's full width is 64 (default: %(default)s)")
    parser.add_argument("--batch", type=int, default=defaults["batch"].default)
    parser.add_argument("--image-size", type=int, default=defaults["image_size"].default,
                        help="height and width of the images (default: %(default)s)")
    parser.add_argument("--steps", type=int, default=defaults["steps"].default,
                        help="timed steps after the warm-up (default: %(default)s)")
    parser.add_argument("--warmup-steps", type=int, default=defaults["warmup_steps"].default)
    parser.add_argument("--windows", type=int, default=defaults["windows"].default,
                        help="timed windows; images/s is their median (default: %(default)s)")
    parser.add_argument("--backends", default=",".join(BACKENDS),
                        help="comma-separated (default: %(default)s)")
    parser.add_argument("--precision", default="float32", help=" | ".join(PRECISIONS))
    parser.add_argument("--jit-compile", default="auto", help=" | ".join(JIT_CHOICES))
    parser.add_argument("--devices", default="1",
                        help='data-parallel devices on JAX: N or "all" (default: 1)')
    parser.add_argument("--repeats", type=int, default=1,
                        help="rounds of reference + backends; medians are reported")
    parser.add_argument("--no-reference", action="store_true",
                        help="skip the plain-PyTorch reference")
    parser.add_argument("--reference-workers", type=int, default=2)
    parser.add_argument("--json", dest="json_path", default=None, help="write results here")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per child process")
    # Internal: a child process measuring one backend.
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--worker-result", default=None, help=argparse.SUPPRESS)
    return parser


def config_from_args(args):
    return BenchConfig(
        preset=args.preset, width=args.width, batch=args.batch, image_size=args.image_size,
        steps=args.steps,
        warmup_steps=args.warmup_steps, windows=args.windows, backends=args.backends,
        precision=args.precision, jit_compile=args.jit_compile, devices=args.devices,
        repeats=args.repeats, reference=not args.no_reference,
        reference_workers=args.reference_workers, json_path=args.json_path,
        timeout=args.timeout,
    )
