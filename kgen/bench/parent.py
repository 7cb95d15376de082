"""The parent process of `kgen bench`: one child process per backend and
round, the plain-PyTorch reference in its own, and the medians over rounds."""

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
from pathlib import Path

import numpy as np

import kgen
import kgen.backend
from kgen.bench.config import (
    RANDOM_MEAN,
    RANDOM_STD,
    BenchConfig,
    add_arguments,
    config_from_args,
    preset_configs,
)
from kgen.bench.machine import MATMUL_SIZE, machine_info, measure_matmul_rates
from kgen.bench.table import format_table
from kgen.bench.worker import measure_backend


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
        kgen.backend.configure_xla_cpu(env, backend)
    # The folder holding this kgen (site-packages, or a checkout that is not
    # installed), so a child imports the same kgen as its parent.
    root = str(Path(kgen.__file__).resolve().parent.parent)
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
    model_config, train_config = preset_configs(config.preset, config.width, config.batch)
    spec = {
        "model": dataclasses.asdict(model_config),
        "train": dataclasses.asdict(train_config),
        "mean": RANDOM_MEAN, "std": RANDOM_STD,
        "batch": config.batch, "image_size": config.image_size,
        "warmup_steps": config.warmup_steps,
        "steps": config.window_steps * config.windows, "windows": config.windows,
        "workers": config.reference_workers,
    }
    command = [sys.executable, "-m", "kgen.bench.torch_reference", "--spec", json.dumps(spec)]
    status, peak_rss, output = _run_child(command, _child_env(), config.timeout)
    lines = [line for line in output.strip().splitlines() if line.startswith("{")]
    if status != 0 or not lines:
        return {"error": f"exit status {status}: {output.strip().splitlines()[-1:]}", "output": output}
    result = json.loads(lines[-1])
    result["peak_rss_mb"] = peak_rss
    return result


REFERENCE_LABEL = "kgen bench --preset resnet9 --width 16 --batch 256 --steps 40 (reference)"


def measure_reference():
    """Images/s of the plain-PyTorch reference (ResNet-9 at width 16, batch 256,
    a `DataLoader` with 2 workers), the yardstick that lets a reader scale a
    run's wall time to another machine: `{"images_per_second", "bench",
    "measured_at"}`, or `{"error", "bench", "measured_at"}` when it cannot run
    (without PyTorch, for one)."""
    measured = run_reference_child(BenchConfig(steps=40, warmup_steps=5))
    figure = {"bench": REFERENCE_LABEL, "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    if measured.get("error"):
        return {"error": measured["error"], **figure}
    return {"images_per_second": measured["images_per_second"], **figure}


def _config_argv(config):
    argv = ["--preset", config.preset, "--batch", str(config.batch),
            "--image-size", str(config.image_size), "--steps", str(config.steps),
            "--warmup-steps", str(config.warmup_steps), "--windows", str(config.windows),
            "--precision", config.precision, "--jit-compile", config.jit_compile,
            "--devices", config.devices]
    if config.width is not None:
        argv += ["--width", str(config.width)]
    return argv
