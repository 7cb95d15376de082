"""Times `kgen.data.load("folder:PATH")` cold (no kgen cache) and cached.

Usage, from the repository root:

    python benchmarks/data_folder_load.py [--path ../shared/data/cifar10-jpeg/train]
                                          [--repeats 3]

Each repeat uses a fresh, empty cache directory for the cold load, then loads
again from the cache it just wrote. "Cold" means kgen decodes every image; the
operating system's file cache may still hold the JPEG bytes from earlier runs.
"""

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import PIL  # noqa: E402

import kgen.data  # noqa: E402

DEFAULT_PATH = "../shared/data/cifar10-jpeg/train"


def time_load(name, data_dir):
    start = time.perf_counter()
    data = kgen.data.load(name, data_dir=data_dir)
    return time.perf_counter() - start, data


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", default=DEFAULT_PATH, help="image folder (class sub-folders)")
    parser.add_argument("--repeats", type=int, default=3, help="cold+cached pairs to time")
    args = parser.parse_args()

    print(f"python {platform.python_version()}, numpy {np.__version__}, "
          f"pillow {PIL.__version__}, {os.cpu_count()} CPUs, {platform.platform()}")
    cold_times, cached_times = [], []
    for repeat in range(args.repeats):
        with tempfile.TemporaryDirectory() as cache_dir:
            cold, data = time_load(f"folder:{args.path}", cache_dir)
            cached, _ = time_load(f"folder:{args.path}", cache_dir)
        cold_times.append(cold)
        cached_times.append(cached)
        print(f"repeat {repeat + 1}: cold {cold:.2f} s, cached {cached:.2f} s")
    print(data.summary())
    for label, times in (("cold", cold_times), ("cached", cached_times)):
        spread = statistics.stdev(times) if len(times) > 1 else 0.0
        print(f"{label}: median {statistics.median(times):.2f} s "
              f"(min {min(times):.2f}, max {max(times):.2f}, sd {spread:.2f}, n={len(times)})")
    print(f"speed-up cached vs cold (medians): "
          f"{statistics.median(cold_times) / statistics.median(cached_times):.1f}x")


if __name__ == "__main__":
    main()
