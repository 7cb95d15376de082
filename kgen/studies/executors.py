"""Where the runs of a study execute: one after another in this process (the
default), or as Ray tasks on the cores, GPUs and machines of a Ray cluster.

The runs of a study are independent, and each writes only its own folder with
the atomic layout of `kgen.studies.layout`, so they can run anywhere that sees
the output folder. On Ray each (variant, seed) is one task with its own
resources; a task whose worker dies is retried by Ray, and the retry resumes the
run from its last completed epoch (the run's backup), so nothing is lost or
counted twice. The dataset is put in Ray's object store once and shared.
"""

import os
import time

from kgen.backend import VERBOSE_VARIABLE
from kgen.validation import check_choice, check_int, check_number, received

EXECUTORS = ("local", "ray")
# Ray retries a task whose worker process died (killed, out of memory, node
# lost) this many times; each retry resumes the run from its backup.
RAY_TASK_RETRIES = 3


def check_tensorboard():
    """`keras.callbacks.TensorBoard` writes with `tf.summary`, on any backend:
    refuses `tensorboard=True` without the packages, before anything is written."""
    import importlib.util

    missing = [name for name in ("tensorflow", "tensorboard")
               if importlib.util.find_spec(name) is None]
    if missing:
        raise ValueError(f"--tensorboard needs the {' and '.join(missing)} "
                         f"package{'s' if len(missing) > 1 else ''} (pip install "
                         f"{' '.join(missing)}). Received: tensorboard=True")


def thread_limits(cpus):
    """Environment variables that keep one run to `cpus` threads, so runs
    sharing a machine do not oversubscribe its cores: OpenMP (PyTorch, oneDNN),
    TensorFlow's thread pools, and for one CPU, XLA's (JAX; XLA has no flag for
    a pool of another size)."""
    threads = str(cpus)
    limits = {"OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads,
              "TF_NUM_INTRAOP_THREADS": threads, "TF_NUM_INTEROP_THREADS": threads}
    if cpus == 1:
        flags = os.environ.get("XLA_FLAGS", "")
        limits["XLA_FLAGS"] = (f"{flags} --xla_cpu_multi_thread_eigen=false "
                               "intra_op_parallelism_threads=1").strip()
    return limits


def check_executor(executor, address=None, cpus_per_run=1, gpus_per_run=0):
    check_choice("executor", executor, EXECUTORS)
    if executor == "local" and address is not None:
        raise ValueError("`address` names the Ray cluster of `executor='ray'`. "
                         f"{received('address', address)}")
    check_int("cpus_per_run", cpus_per_run, minimum=1, maximum=4096)
    check_number("gpus_per_run", gpus_per_run, minimum=0.0, maximum=64.0)
    if executor == "ray":
        _import_ray()


def run_on_ray(tasks, settings, data, out_dir, run_dir, log=print, force=False,
               data_fingerprint=None, address=None, cpus_per_run=1, gpus_per_run=0):
    """Runs every `(PlannedVariant, seed)` of `tasks` as a Ray task; returns
    their result dicts in the order of `tasks`.

    `address`: a running cluster (`ray start --head` prints it; "auto" finds
    the local one); None starts a private instance on this machine's cores.
    Each task asks Ray for `cpus_per_run` CPUs and `gpus_per_run` GPUs.
    """
    import keras  # here, not at import: the CLI checks options before choosing the backend

    ray = _import_ray()
    environment = {"KERAS_BACKEND": keras.backend.backend(), **thread_limits(cpus_per_run),
                   "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2")}
    if os.environ.get(VERBOSE_VARIABLE):
        environment[VERBOSE_VARIABLE] = os.environ[VERBOSE_VARIABLE]
    # Every line of every run reaches the log, uncoloured: Ray otherwise folds
    # lines that look alike ("[repeated 3x across cluster]").
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    os.environ.setdefault("RAY_COLOR_PREFIX", "0")
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(address=address, runtime_env={"env_vars": environment},
                 include_dashboard=False, logging_level="warning")
    try:
        train = ray.remote(max_retries=RAY_TASK_RETRIES, num_cpus=cpus_per_run,
                           num_gpus=gpus_per_run)(train_one_run)
        shared_data = ray.put(data)
        pending = {}
        for index, (planned_variant, seed) in enumerate(tasks):
            directory = run_dir(out_dir, planned_variant.variant.name, seed)
            reference = train.remote(planned_variant, settings, shared_data, seed,
                                     str(directory), force, data_fingerprint)
            pending[reference] = index
        log(f"{len(tasks)} runs sent to Ray ({ray.cluster_resources().get('CPU', 0):.0f} CPUs, "
            f"{ray.cluster_resources().get('GPU', 0):.0f} GPUs in the cluster; "
            f"{cpus_per_run} CPU and {gpus_per_run} GPU per run)")
        results = [None] * len(tasks)
        start = time.monotonic()
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            index = pending.pop(done[0])
            results[index] = ray.get(done[0])  # a run's error is raised here, as its own type
            planned_variant, seed = tasks[index]
            log(f"run {len(tasks) - len(pending)}/{len(tasks)} finished: "
                f"{planned_variant.variant.name} seed {seed} "
                f"({progress(time.monotonic() - start, len(tasks) - len(pending), len(tasks))})")
        return results
    finally:
        if started_here:
            ray.shutdown()


def train_one_run(planned_variant, settings, data, seed, directory, force, data_fingerprint):
    """One run, in a Ray worker (`kgen.studies.runner.run_one`); its log lines
    reach the driver through Ray, prefixed with the worker's pid."""
    import kgen.backend

    kgen.backend.start()  # quietly, before the runner imports Keras
    from kgen.studies import runner

    return runner.run_one(planned_variant, settings, data, seed, directory, force=force,
                          data_fingerprint=data_fingerprint,
                          log=lambda line: print(line, flush=True))


def progress(elapsed, done, total):
    """"elapsed 3m12s, about 10m left" from the average time of the runs done."""
    text = f"elapsed {_duration(elapsed)}"
    if 0 < done < total:
        text += f", about {_duration(elapsed / done * (total - done))} left"
    return text


def _duration(seconds):
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def _import_ray():
    try:
        import ray
    except ImportError:
        raise ValueError("`executor='ray'` needs Ray: pip install 'kgen[ray]'. "
                         "Received: executor='ray'") from None
    return ray
