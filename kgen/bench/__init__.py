"""`kgen bench`: training throughput of a preset on each Keras backend, against plain PyTorch.

    kgen bench --preset resnet9 --width 16 --batch 256 --steps 40 \\
        --backends tensorflow,jax,torch --precision float32 --json bench.json
    python -m kgen.bench ...   # the same, without the kgen CLI

Every backend trains in its own Python process (`KERAS_BACKEND` is chosen before
Keras is imported, and one backend's threads and memory never touch another's),
through `kgen.training.fit` on random uint8 images, for a warm-up (compilation,
autotuning, worker start-up) and then `steps` timed steps cut into windows; the
steady rate is the median over the windows. In the same run, the plain-PyTorch
reference in `kgen/bench/torch_reference.py` trains the same network with the
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

The modules: `config` (what is measured, the options), `parent` (one child
process per backend and round, the medians), `worker` (the child: one
backend), `torch_reference` (the plain-PyTorch loop), `machine` (CPU, memory,
matmul rate), `table` (the printed table).
"""

from kgen.bench.config import (
    BACKENDS,
    RANDOM_MEAN,
    RANDOM_STD,
    BenchConfig,
    add_arguments,
    config_from_args,
    preset_configs,
    random_dataset,
    random_images_dataset,
)
from kgen.bench.machine import machine_info, measure_matmul_gflops, measure_matmul_rates
from kgen.bench.parent import (
    combine_rounds,
    main,
    measure_reference,
    run,
    run_backend_child,
    run_from_args,
    run_reference_child,
)
from kgen.bench.table import format_table
from kgen.bench.worker import forward_flops, measure_backend

__all__ = [
    "BACKENDS", "RANDOM_MEAN", "RANDOM_STD", "BenchConfig", "add_arguments", "combine_rounds",
    "config_from_args", "format_table", "forward_flops", "machine_info", "main",
    "measure_backend", "measure_reference", "measure_matmul_gflops", "measure_matmul_rates", "preset_configs",
    "random_dataset", "random_images_dataset", "run", "run_backend_child", "run_from_args", "run_reference_child",
]
