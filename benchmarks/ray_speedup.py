"""The same study with the sequential runner and with `--executor ray`, timed.

    python benchmarks/ray_speedup.py [--out runs/ray-speedup] [--backend torch]

Runs `kgen study normalization` (six variants, one seed) on a subset of the
synthetic data, first with the default local executor (one run after another,
each using every core), then as Ray tasks with one CPU each (as many at once
as the machine has cores), into separate folders; prints the wall times, the
speed-up, the plain-PyTorch reference of `kgen bench` measured before and
after (the machine's speed that hour), and writes a JSON beside the runs.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from kgen.bench import BenchConfig, machine_info, run_reference_child

# Runs of about 15-25 s each on two cores: long enough that Ray's start-up (a few
# seconds, counted in its time) does not decide the comparison, as it did with
# runs of 2 s (4 epochs of 2,000 images at half width: Ray 0.73x, 2026-12-05).
STUDY = ["study", "normalization", "--epochs", "5", "--width-scale", "1.0", "--batch-size",
         "64", "--limit", "10000", "--seeds", "1"]


def timed_study(executor, out_dir, backend):
    command = [sys.executable, "-m", "kgen", *STUDY, "--backend", backend,
               "--executor", executor, "--out", str(out_dir)]
    start = time.perf_counter()
    completed = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    (out_dir.parent / f"{executor}.log").write_text(completed.stdout + completed.stderr)
    if completed.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{completed.stderr[-2000:]}")
    return {"command": " ".join(["kgen", *command[3:]]), "seconds": seconds}


def reference_speed():
    measured = run_reference_child(BenchConfig(steps=40, warmup_steps=5))
    return measured.get("images_per_second")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/ray-speedup")
    parser.add_argument("--backend", default="torch")
    args = parser.parse_args(argv)
    root = Path(args.out)
    if root.exists() and any(root.iterdir()):
        raise SystemExit(f"{root} is not empty: the timings need fresh folders")
    root.mkdir(parents=True, exist_ok=True)
    machine = machine_info()
    before = reference_speed()
    local = timed_study("local", root / "local", args.backend)
    ray = timed_study("ray", root / "ray", args.backend)
    after = reference_speed()
    report = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": {**machine, "load_after": [round(x, 2) for x in os.getloadavg()]},
        "backend": args.backend,
        "reference_images_per_second": [before, after],
        "local": local, "ray": ray,
        "speedup": local["seconds"] / ray["seconds"],
    }
    (root / "ray_speedup.json").write_text(json.dumps(report, indent=2))
    print(f"local (sequential): {local['seconds']:.0f} s; ray ({machine['cpu_count']} tasks "
          f"at once, 1 CPU each): {ray['seconds']:.0f} s; speed-up {report['speedup']:.2f}x; "
          f"reference {before:.0f} / {after:.0f} images/s before / after")
    return report


if __name__ == "__main__":
    main()
