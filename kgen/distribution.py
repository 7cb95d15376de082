"""Data-parallel training across devices with `keras.distribution.DataParallel` (JAX).

    with kgen.distribution.data_parallel("all"):   # or an int: the first N devices
        model = kgen.models.create("resnet9")
        kgen.training.fit(model, dataset, train_config)

Keras replicates the variables on every device and splits each global batch
along its first axis; gradients are averaged across devices inside the compiled
step, so `batch_size` stays the global batch. `keras.distribution` is
implemented for JAX only; on TensorFlow and PyTorch `data_parallel` refuses
anything but one device (see docs/performance.md for `tf.distribute` and
PyTorch DDP). On one host, the devices are the local accelerators, or simulated
CPU devices with `XLA_FLAGS=--xla_force_host_platform_device_count=N` set before
JAX is imported. For several hosts, call `initialize_multi_host(...)` (a thin
wrapper over `keras.distribution.initialize`, i.e. `jax.distributed.initialize`)
in every process first; `"all"` then spans the devices of every host.

BatchNormalization statistics are per device (each replica normalizes with the
mean and variance of its own shard of the batch), as with PyTorch DDP without
SyncBatchNorm, so a BN model does not train bit-for-bit like one device with
the same global batch; models without BN do, up to float rounding.
"""

import contextlib

from kgen.validation import received


def device_count(devices):
    """The number of devices `devices` (an int, a digit string or `"all"`) means here.

    Only JAX distributes across devices; on the other backends this is 1.
    """
    import keras

    if keras.backend.backend() != "jax":
        if str(devices) not in ("1", "all"):
            _check_devices(devices)
            raise ValueError(
                "keras.distribution (data-parallel training) is implemented for the JAX "
                f"backend only; this is {keras.backend.backend()!r}. {received('devices', devices)}"
            )
        return 1
    available = keras.distribution.list_devices()
    if str(devices) == "all":
        return len(available)
    count = _check_devices(devices)
    if count > len(available):
        raise ValueError(
            f"Asked for {count} devices but only {len(available)} are visible "
            f"({', '.join(available)}). {received('devices', devices)}"
        )
    return count


def _check_devices(devices):
    text = str(devices)
    if isinstance(devices, bool) or not (text == "all" or (text.isdigit() and int(text) >= 1)):
        raise ValueError(f'`devices` must be a positive integer or "all". {received("devices", devices)}')
    return text if text == "all" else int(text)


@contextlib.contextmanager
def data_parallel(devices=1):
    """Inside the block, Keras builds and trains models data-parallel over `devices`.

    `devices=1` (or `"1"`) does nothing, on every backend. The distribution is
    global Keras state; the previous one is restored on exit.
    """
    import keras

    _check_devices(devices)
    if str(devices) == "1":
        yield None
        return
    if keras.backend.backend() != "jax":
        raise ValueError(
            "keras.distribution (data-parallel training) is implemented for the JAX backend "
            f"only; this is {keras.backend.backend()!r}. {received('devices', devices)}"
        )
    count = device_count(devices)
    distribution = keras.distribution.DataParallel(
        devices=keras.distribution.list_devices()[:count]
    )
    previous = keras.distribution.distribution()
    keras.distribution.set_distribution(distribution)
    try:
        yield distribution
    finally:
        keras.distribution.set_distribution(previous)


def check_global_batch(batch_size, devices):
    """The global batch must split evenly across the devices."""
    count = device_count(devices)
    if batch_size % count:
        raise ValueError(
            f"The global batch ({batch_size}) must be divisible by the number of devices "
            f"({count}). {received('batch_size', batch_size)}"
        )
    return batch_size // count


def initialize_multi_host(coordinator_address=None, num_processes=None, process_id=None):
    """Joins a multi-host JAX job (`jax.distributed.initialize` via Keras).

    Call it in every process before building a model; with no arguments, JAX
    reads the cluster from the environment (Cloud TPU, SLURM, ...).
    """
    import keras

    keras.distribution.initialize(coordinator_address, num_processes, process_id)
