import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import pytest

from kgen import distribution

ROOT = Path(__file__).resolve().parents[1]

# Runs in a fresh process: XLA reads the simulated device count when JAX starts.
DATA_PARALLEL_BODY = textwrap.dedent("""
    import json, sys
    import keras
    import numpy as np
    import kgen.data
    from kgen import distribution, training
    from kgen.models import ModelConfig, Stage, TrainConfig, build_cnn

    data = kgen.data.load("synthetic", train_size=256, test_size=16, validation_split=0.0)
    # No BatchNorm (per-device statistics), no dropout, no random augmentation:
    # with the same seed, one device and four must compute the same steps.
    config = ModelConfig(stages=(Stage(8, convs=1), Stage(16, convs=1)), head="avg",
                         head_units=())
    train = TrainConfig(optimizer="sgd", learning_rate=0.05, batch_size=64, epochs=2)

    def trained(devices):
        keras.utils.set_random_seed(0)
        with distribution.data_parallel(devices) as chosen:
            model = build_cnn(config, data.input_shape, data.num_classes,
                              mean=data.mean, std=data.std)
            history = training.fit(model, data, train, verbose=0)
            kernel = model.get_layer("stage0_block0_unit0_conv").kernel
            placed_on = len(kernel.value.sharding.device_set)
        return [np.asarray(w) for w in model.get_weights()], history.history["loss"], chosen, placed_on

    single, single_loss, none, single_devices = trained(1)
    parallel, parallel_loss, chosen, parallel_devices = trained(4)
    print(json.dumps({
        "devices": len(keras.distribution.list_devices()),
        "distribution": type(chosen).__name__,
        "none_for_one_device": none is None,
        "max_weight_difference": max(float(np.max(np.abs(a - b))) for a, b in zip(single, parallel)),
        "max_weight": max(float(np.max(np.abs(a))) for a in single),
        "single_loss": single_loss, "parallel_loss": parallel_loss,
        "kernel_devices": [single_devices, parallel_devices],
    }))
""")


@pytest.mark.skipif(keras.backend.backend() != "jax", reason="keras.distribution is JAX-only")
def test_data_parallel_matches_one_device_on_simulated_cpus():
    env = dict(os.environ, KERAS_BACKEND="jax",
               XLA_FLAGS="--xla_force_host_platform_device_count=4",
               PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p))
    completed = subprocess.run([sys.executable, "-c", DATA_PARALLEL_BODY], env=env,
                               capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stderr[-3000:]
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    assert result["devices"] == 4
    assert result["distribution"] == "DataParallel" and result["none_for_one_device"]
    assert result["kernel_devices"] == [1, 4], "the weights are replicated on the 4 devices"
    # Same global batch, same seed: the same training, up to float summation order.
    assert result["max_weight_difference"] < 1e-4 * max(1.0, result["max_weight"]), result
    for one, four in zip(result["single_loss"], result["parallel_loss"]):
        assert abs(one - four) < 1e-4 * max(1.0, abs(one))


def test_one_device_is_a_no_op_on_every_backend():
    before = keras.distribution.distribution() if keras.backend.backend() == "jax" else None
    with distribution.data_parallel(1) as chosen:
        assert chosen is None
    with distribution.data_parallel("1") as chosen:
        assert chosen is None
    if keras.backend.backend() == "jax":
        assert keras.distribution.distribution() is before


@pytest.mark.skipif(keras.backend.backend() == "jax", reason="JAX supports keras.distribution")
def test_other_backends_refuse_several_devices():
    with pytest.raises(ValueError, match="JAX"), distribution.data_parallel(2):
        pass


@pytest.mark.parametrize("bad", [0, -1, "two", "", 1.5, True])
def test_bad_device_counts_name_the_argument(bad):
    with pytest.raises(ValueError, match="devices"), distribution.data_parallel(bad):
        pass


def test_more_devices_than_visible_is_refused():
    with pytest.raises(ValueError, match="devices"):
        distribution.device_count(10_000)
    assert distribution.device_count("all") >= 1
