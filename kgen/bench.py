"""`kgen bench`: training throughput of a preset on each Keras backend, against plain PyTorch.

    kgen bench --preset resnet9 --width 16 --batch 256 --steps 40 \\
        --backends tensorflow,jax,torch --precision float32 --json bench.json
    python -m kgen.bench ...   # the same, without the kgen CLI

Every backend trains in its own Python process (`KERAS_BACKEND` is chosen before
Keras is imported, and one backend's threads and memory never touch another's),
through `kgen.training.fit` on random uint8 images, for a warm-up (compilation,
autotuning, worker start-up) and then `steps` timed steps cut into windows; the
steady rate is the median over the windows. In the same run, the plain-PyTorch
reference in `benchmarks/torch_reference.py` trains the same network with the
same batch, optimizer and augmentation the way the course writes it (per-sample
transforms in a `DataLoader` with 2 workers and a hand-written loop), so every
ratio compares figures measured minutes apart on the same machine. With
`--repeats R` the reference and the backends run in turn R times and the table
shows medians over the rounds: on a shared machine the load drifts.

Besides wall-clock images per second each process reports images per CPU-second
(how much work a step costs, which other processes on a shared machine disturb
much less than the wall clock) and its peak resident memory (`ru_maxrss` of the
child, read by the parent with `os.wait4`). The floor is the model's training
FLOPs per image (3 x forward: forward, input gradient, weight gradient) over the
float32 matmul rate measured with numpy at the start of the run.
"""

import argparse
import dataclasses
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kgen.precision import PRECISIONS
from kgen.validation import check_choice, check_int, received

BACKENDS = ("tensorflow", "jax", "torch")
JIT_CHOICES = ("auto", "true", "false")
# Random uint8 pixels are uniform on 0..255: mean 127.5 and std 73.9 in [0, 1] units.
RANDOM_MEAN = (0.5, 0.5, 0.5)
RANDOM_STD = (0.2887, 0.2887, 0.2887)
REFERENCE_SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "torch_reference.py"
MATMUL_SIZE = 4096


@dataclass(frozen=True)
class BenchConfig:
    """What `kgen bench` measures.

    Attributes:
        preset: a `kgen.models` preset name.
        width: the stem width (the first stage's width for presets without a
            stem); every width scales with it. `None` keeps the preset's.
            For `resnet9` (stem 64), `width=16` is `width_multiplier=0.25`.
        batch: images per step.
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
    def window_steps(self):
        return self.steps // self.windows

    @property
    def total_steps(self):
        return self.warmup_steps + self.window_steps * self.windows


def preset_configs(preset, width=None, batch=None):
    """The preset's `(ModelConfig, TrainConfig)` at stem `width` and `batch`."""
    from kgen import presets

    chosen = presets.get(preset)
    model_config, train_config = chosen.model, chosen.train
    if width is not None:
        base = model_config.stem_width or model_config.stages[0].width
        model_config = dataclasses.replace(model_config, width_multiplier=width / base)
    if batch is not None:
        train_config = dataclasses.replace(train_config, batch_size=batch)
    return model_config, train_config


def random_dataset(count, image_shape=(32, 32, 3), num_classes=10, seed=0):
    """Uniform random uint8 images and balanced labels: speed does not depend on content."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (count, *image_shape), dtype=np.uint8)
    labels = rng.permutation(np.arange(count) % num_classes).astype(np.int64)
    return images, labels


# === Command line ===


def add_arguments(parser):
    """Adds `kgen bench`'s options to an `argparse` parser."""
    defaults = BenchConfig.__dataclass_fields__
    parser.add_argument("--preset", default=defaults["preset"].default,
                        help="kgen.models preset (default: %(default)s)")
    parser.add_argument("--width", type=int, default=defaults["width"].default,
                        help="stem width; resnet9's full width is 64 (default: %(default)s)")
    parser.add_argument("--batch", type=int, default=defaults["batch"].default)
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
        preset=args.preset, width=args.width, batch=args.batch, steps=args.steps,
        warmup_steps=args.warmup_steps, windows=args.windows, backends=args.backends,
        precision=args.precision, jit_compile=args.jit_compile, devices=args.devices,
        repeats=args.repeats, reference=not args.no_reference,
        reference_workers=args.reference_workers, json_path=args.json_path,
        timeout=args.timeout,
    )


def run_from_args(args):
    """Runs `kgen bench` for parsed arguments; returns the exit status.

    Bad arguments raise `ValueError` naming the argument (the CLI exits 2).
    """
    config = config_from_args(args)
    if args.worker:
        result = measure_backend(config, args.worker)
        Path(args.worker_result).write_text(json.dumps(result))
        return 0
    results = run(config, log=print)
    print(format_table(results))
    if config.json_path:
        print(f"Wrote {config.json_path}")
    failed = [r for r in results["results"] if r.get("error")]
    return 1 if failed else 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m kgen.bench", description=__doc__.splitlines()[0])
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run_from_args(args)
    except (ValueError, TypeError) as error:
        parser.print_usage(sys.stderr)
        print(f"error: {error}", file=sys.stderr)
        return 2


# === The parent: one child per backend and round ===


def run(config, log=None):
    """Measures every backend (and the reference) of `config`; returns the results dict."""
    log = log or (lambda *_: None)
    machine = machine_info()
    log(f"Machine: {machine['cpu']}, {machine['cpu_count']} CPUs, load {machine['load_before']}")
    machine["matmul_gflops_by_library"] = measure_matmul_rates()
    machine["matmul_gflops"] = max(machine["matmul_gflops_by_library"].values())
    rates = ", ".join(f"{k} {v:.1f}" for k, v in machine["matmul_gflops_by_library"].items())
    log(f"float32 matmul ({MATMUL_SIZE}^3), GFLOP/s: {rates}")
    rounds = []
    for index in range(config.repeats):
        measured = {}
        if config.reference:
            log(f"[round {index + 1}/{config.repeats}] reference (plain PyTorch) ...")
            measured["reference"] = run_reference_child(config)
        for backend in config.backends:
            log(f"[round {index + 1}/{config.repeats}] {backend} ...")
            measured[backend] = run_backend_child(config, backend)
            if measured[backend].get("error"):
                log(f"  {backend} failed: {measured[backend]['error']}")
        rounds.append(measured)
    machine["load_after"] = [round(x, 2) for x in os.getloadavg()]
    results = combine_rounds(config, rounds, machine)
    if config.json_path:
        Path(config.json_path).parent.mkdir(parents=True, exist_ok=True)
        Path(config.json_path).write_text(json.dumps(results, indent=2))
    return results


def combine_rounds(config, rounds, machine):
    """Median figures over the rounds; the per-round figures stay in `rounds`."""

    def median_of(entries, key):
        values = [e[key] for e in entries if e.get(key) is not None]
        return statistics.median(values) if values else None

    def combined(name):
        entries = [r[name] for r in rounds if name in r and not r[name].get("error")]
        errors = [r[name]["error"] for r in rounds if name in r and r[name].get("error")]
        if not entries:
            return {"error": errors[0] if errors else "not run"}
        keys = ("images_per_second", "warmup_seconds", "peak_rss_mb", "cpu_seconds_per_image",
                "cpu_utilization", "final_loss", "worker_peak_rss_mb")
        summary = {key: median_of(entries, key) for key in keys if entries[0].get(key) is not None}
        for key in ("jit_compile", "flops_per_image", "versions", "devices", "precision"):
            if key in entries[0]:
                summary[key] = entries[0][key]
        summary["rounds"] = [e["images_per_second"] for e in entries]
        return summary

    reference = combined("reference") if config.reference else None
    results = []
    for backend in config.backends:
        entry = {"backend": backend, **combined(backend)}
        if reference and reference.get("images_per_second") and entry.get("images_per_second"):
            entry["ratio_to_reference"] = entry["images_per_second"] / reference["images_per_second"]
        results.append(entry)
    flops = next((r["flops_per_image"] for r in results if r.get("flops_per_image")), None)
    floor = None
    if flops:
        # Training costs about 3 forward passes: forward, input gradient, weight gradient.
        floor = {
            "forward_flops_per_image": flops,
            "training_flops_per_image": 3 * flops,
            "matmul_gflops": machine["matmul_gflops"],
            "images_per_second_bound": machine["matmul_gflops"] * 1e9 / (3 * flops),
        }
    versions = {"python": platform.python_version(), "numpy": np.__version__}
    for entry in [*results, reference or {}]:
        versions.update(entry.pop("versions", {}) or {})
    return {
        "config": {**dataclasses.asdict(config), "backends": list(config.backends)},
        "results": results,
        "reference": reference,
        "floor": floor,
        "machine": machine,
        "versions": versions,
        "rounds": rounds,
        "date": time.strftime("%Y-%m-%d"),
    }


def _child_env(backend=None):
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    env["PYTHONUNBUFFERED"] = "1"
    if backend:
        env["KERAS_BACKEND"] = backend
    # The repository root, so a child finds kgen even when it is not installed.
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env


def _run_child(command, env, timeout):
    """Runs `command`; returns (exit status, peak RSS in MiB, output tail)."""
    with tempfile.TemporaryFile() as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                process.kill()
                pid, status, usage = os.wait4(process.pid, 0)
                break
            time.sleep(0.2)
        process.returncode = os.waitstatus_to_exitcode(status)
        output.seek(0)
        text = output.read().decode(errors="replace")
    return process.returncode, usage.ru_maxrss / 1024, text[-4000:]


def run_backend_child(config, backend):
    with tempfile.TemporaryDirectory() as folder:
        result_path = Path(folder) / "result.json"
        command = [sys.executable, "-m", "kgen.bench", *_config_argv(config),
                   "--backends", backend, "--worker", backend,
                   "--worker-result", str(result_path)]
        status, peak_rss, output = _run_child(command, _child_env(backend), config.timeout)
        if status != 0 or not result_path.exists():
            return {"error": f"exit status {status}: {output.strip().splitlines()[-1:]}",
                    "output": output}
        result = json.loads(result_path.read_text())
    result["peak_rss_mb"] = peak_rss
    return result


def run_reference_child(config):
    if not REFERENCE_SCRIPT.exists():
        return {"error": f"{REFERENCE_SCRIPT} not found (it ships with the repository)"}
    model_config, train_config = preset_configs(config.preset, config.width, config.batch)
    spec = {
        "model": dataclasses.asdict(model_config),
        "train": dataclasses.asdict(train_config),
        "mean": RANDOM_MEAN, "std": RANDOM_STD,
        "batch": config.batch, "warmup_steps": config.warmup_steps,
        "steps": config.window_steps * config.windows, "windows": config.windows,
        "workers": config.reference_workers,
    }
    command = [sys.executable, str(REFERENCE_SCRIPT), "--spec", json.dumps(spec)]
    status, peak_rss, output = _run_child(command, _child_env(), config.timeout)
    lines = [line for line in output.strip().splitlines() if line.startswith("{")]
    if status != 0 or not lines:
        return {"error": f"exit status {status}: {output.strip().splitlines()[-1:]}", "output": output}
    result = json.loads(lines[-1])
    result["peak_rss_mb"] = peak_rss
    return result


def _config_argv(config):
    argv = ["--preset", config.preset, "--batch", str(config.batch), "--steps", str(config.steps),
            "--warmup-steps", str(config.warmup_steps), "--windows", str(config.windows),
            "--precision", config.precision, "--jit-compile", config.jit_compile,
            "--devices", config.devices]
    if config.width is not None:
        argv += ["--width", str(config.width)]
    return argv


# === The child: one backend ===


def measure_backend(config, backend):
    """Trains `config.preset` on the current Keras backend; returns its figures.

    Runs in a child whose `KERAS_BACKEND` the parent set to `backend`.
    """
    import keras

    from kgen import distribution, precision, training
    from kgen.data import Dataset
    from kgen.models import build_cnn

    if keras.backend.backend() != backend:
        raise ValueError(
            f"The worker runs Keras on {keras.backend.backend()!r}: set KERAS_BACKEND. "
            f"{received('backend', backend)}"
        )
    model_config, train_config = preset_configs(config.preset, config.width, config.batch)
    images, labels = random_dataset(config.batch * config.total_steps)
    empty = images[:0]
    dataset = Dataset(
        name="random", x_train=images, y_train=labels, x_val=empty, y_val=labels[:0],
        x_test=empty, y_test=labels[:0], class_names=tuple(str(i) for i in range(10)),
        mean=np.asarray(RANDOM_MEAN, "float32"), std=np.asarray(RANDOM_STD, "float32"),
    )
    timer = _window_timer(config)
    jit_compile = {"auto": "auto", "true": True, "false": False}[config.jit_compile]
    with precision.policy(config.precision), distribution.data_parallel(config.devices):
        model = build_cnn(model_config, mean=RANDOM_MEAN, std=RANDOM_STD)
        training.fit(model, dataset, train_config, epochs=1, callbacks=[timer], verbose=0,
                     jit_compile=jit_compile)
    result = timer.summary()
    result.update({
        "jit_compile": bool(model.jit_compile),
        "precision": config.precision,
        "devices": distribution.device_count(config.devices) if config.devices != "1" else 1,
        "flops_per_image": forward_flops(model),
        "versions": _backend_versions(backend),
    })
    return result


def _window_timer(config):
    import keras

    class WindowTimer(keras.callbacks.Callback):
        """Marks the wall and CPU clocks at the end of the warm-up and of each window.

        Reading the loss forces the step to finish on backends that dispatch
        asynchronously (JAX), so a window holds exactly its steps.
        """

        def __init__(self):
            super().__init__()
            self.marks = []
            self.final_loss = None

        def on_train_begin(self, logs=None):
            self.start = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            step = batch + 1
            after_warmup = step - config.warmup_steps
            if after_warmup >= 0 and after_warmup % config.window_steps == 0:
                self.final_loss = float(keras.ops.convert_to_numpy(logs["loss"]))
                self.marks.append((time.perf_counter(), time.process_time()))

        def summary(self):
            marks = self.marks
            rates = [config.batch * config.window_steps / (b[0] - a[0])
                     for a, b in zip(marks, marks[1:])]
            cpu = sum(b[1] - a[1] for a, b in zip(marks, marks[1:]))
            wall = marks[-1][0] - marks[0][0]
            return {
                "images_per_second": statistics.median(rates),
                "window_images_per_second": rates,
                "warmup_seconds": marks[0][0] - self.start,
                "cpu_seconds_per_image": cpu / (config.batch * config.window_steps * len(rates)),
                "cpu_utilization": cpu / wall,
                "final_loss": self.final_loss,
            }

    return WindowTimer()


def forward_flops(model):
    """Multiply-adds x 2 of the model's convolutions and dense layers, per image."""
    import keras

    flops = 0
    for layer in model._flatten_layers(include_self=False):
        if isinstance(layer, keras.layers.Conv2D):
            height, width, channels = layer.output.shape[1:]
            kernel = layer.kernel.shape
            flops += 2 * height * width * channels * kernel[0] * kernel[1] * kernel[2]
        elif isinstance(layer, keras.layers.Dense):
            flops += 2 * layer.kernel.shape[0] * layer.kernel.shape[1]
    return int(flops)


def _backend_versions(backend):
    import keras

    versions = {"keras": keras.__version__}
    if backend == "tensorflow":
        import tensorflow

        versions["tensorflow"] = tensorflow.__version__
    elif backend == "jax":
        import jax
        import jaxlib

        versions.update(jax=jax.__version__, jaxlib=jaxlib.__version__)
    else:
        import torch

        versions["torch"] = torch.__version__
    return versions


# === Machine ===


def machine_info():
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gib = None
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        memory_gib = round(pages / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        pass
    return {
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "memory_gib": memory_gib,
        "platform": platform.platform(),
        "load_before": [round(x, 2) for x in os.getloadavg()],
    }


def measure_matmul_gflops(size=MATMUL_SIZE, repeats=5):
    """Best float32 GEMM rate (GFLOP/s, all cores) of numpy and, if installed,
    PyTorch: the machine's practical compute ceiling for the floor."""
    return max(measure_matmul_rates(size, repeats).values())


def measure_matmul_rates(size=MATMUL_SIZE, repeats=5):
    """`{library: GFLOP/s}`: best of `repeats` `size`-cubed float32 matmuls each."""
    rng = np.random.default_rng(0)
    a = rng.random((size, size), dtype=np.float32)
    b = rng.random((size, size), dtype=np.float32)
    multiplications = {"numpy": lambda: a @ b}
    try:
        import torch

        torch_a, torch_b = torch.from_numpy(a), torch.from_numpy(b)
        multiplications["torch"] = lambda: torch_a @ torch_b
    except ImportError:
        pass
    rates = {}
    for library, multiply in multiplications.items():
        multiply()
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            multiply()
            best = min(best, time.perf_counter() - start)
        rates[library] = 2 * size**3 / best / 1e9
    return rates


# === Report ===


def format_table(results):
    """The results as a Markdown table (what `kgen bench` prints)."""
    config = results["config"]
    rows = [
        "| backend | compiled | warm-up s | images/s | x reference | images/CPU-s | peak RSS MB |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]

    def number(value, digits=0):
        return "-" if value is None else f"{value:,.{digits}f}"

    reference = results.get("reference")
    if reference:
        if reference.get("error"):
            rows.append(f"| plain PyTorch (reference) | failed: {reference['error'][:60]} | | | | | |")
        else:
            cpu = reference.get("cpu_seconds_per_image")
            memory = reference.get("peak_rss_mb")
            workers = reference.get("worker_peak_rss_mb")
            memory_text = number(memory) + (f" + {config['reference_workers']} x {number(workers)}"
                                            if workers and config["reference_workers"] else "")
            rows.append(
                f"| plain PyTorch, {config['reference_workers']} workers (reference) | eager | "
                f"{number(reference.get('warmup_seconds'), 1)} | "
                f"{number(reference['images_per_second'])} | 1.00 | "
                f"{number(1 / cpu if cpu else None)} | {memory_text} |"
            )
    for entry in results["results"]:
        if entry.get("error"):
            rows.append(f"| {entry['backend']} | failed: {entry['error'][:60]} | | | | | |")
            continue
        cpu = entry.get("cpu_seconds_per_image")
        compiled = _compiled_name(entry["backend"], entry.get("jit_compile"))
        rows.append(
            f"| {entry['backend']} | {compiled} | {number(entry.get('warmup_seconds'), 1)} | "
            f"{number(entry.get('images_per_second'))} | "
            f"{number(entry.get('ratio_to_reference'), 2)} | "
            f"{number(1 / cpu if cpu else None)} | {number(entry.get('peak_rss_mb'))} |"
        )
    floor = results.get("floor")
    lines = [
        f"{config['preset']} width {config['width']}, batch {config['batch']}, "
        f"{config['precision']}, {config['steps']} timed steps in {config['windows']} windows "
        f"after {config['warmup_steps']} warm-up steps, median of {config['repeats']} round(s)",
        "",
        *rows,
    ]
    if floor:
        lines += [
            "",
            f"Floor: {floor['training_flops_per_image'] / 1e6:,.1f} MFLOP per training image "
            f"(3 x {floor['forward_flops_per_image'] / 1e6:,.1f} forward) at "
            f"{floor['matmul_gflops']:.1f} GFLOP/s (best float32 matmul of numpy/torch "
            f"here): {floor['images_per_second_bound']:,.0f} images/s if every FLOP ran "
            f"at that rate.",
        ]
    machine = results["machine"]
    lines.append(
        f"Machine: {machine['cpu']}, {machine['cpu_count']} CPUs; load average "
        f"{machine['load_before']} before, {machine.get('load_after')} after."
    )
    return "\n".join(lines)


def _compiled_name(backend, jit_compile):
    if not jit_compile:
        return "eager" if backend == "torch" else "graph (no XLA)"
    return {"tensorflow": "XLA", "jax": "jax.jit (XLA)", "torch": "torch.compile"}[backend]


if __name__ == "__main__":
    sys.exit(main())
