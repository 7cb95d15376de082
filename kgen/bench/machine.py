"""The machine a benchmark ran on, and its float32 matmul rate (the floor)."""

import os
import platform
import time
from pathlib import Path

import numpy as np

MATMUL_SIZE = 4096

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
