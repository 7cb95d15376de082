import argparse
import dataclasses
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from kgen import bench
from kgen.models import ModelConfig, Stage, build_cnn

REPOSITORY = Path(__file__).resolve().parents[1]
TINY = {"preset": "small-cnn", "width": 4, "batch": 8, "steps": 2, "warmup_steps": 1,
        "windows": 2}


def parse(argv):
    return bench.config_from_args(bench.add_arguments(argparse.ArgumentParser()).parse_args(argv))


def test_arguments_round_trip_into_a_config():
    config = parse(["--preset", "resnet9", "--width", "16", "--batch", "256", "--steps", "40",
                    "--backends", "jax,torch", "--precision", "mixed_bfloat16",
                    "--json", "out.json"])
    assert config.backends == ("jax", "torch")
    assert config.precision == "mixed_bfloat16"
    assert config.json_path == "out.json"
    assert config.window_steps == 10 and config.total_steps == 45


@pytest.mark.parametrize("argv, name", [
    (["--backends", "tf"], "backends"),
    (["--backends", "jax,jax"], "backends"),
    (["--backends", ""], "backends"),
    (["--precision", "float16"], "precision"),
    (["--preset", "resnet-9"], "preset"),
    (["--width", "0"], "width"),
    (["--batch", "0"], "batch"),
    (["--steps", "2", "--windows", "4"], "steps"),
    (["--jit-compile", "maybe"], "jit_compile"),
    (["--devices", "0", "--backends", "jax"], "devices"),
    (["--devices", "2", "--backends", "torch"], "devices"),
    (["--repeats", "0"], "repeats"),
    (["--image-size", "0"], "image_size"),
])
def test_bad_arguments_raise_value_error_naming_them(argv, name):
    with pytest.raises(ValueError, match=name):
        parse(argv)


def test_width_is_the_stem_width():
    model_config, train_config = bench.preset_configs("resnet9", width=16, batch=128)
    assert model_config.width_multiplier == 0.25
    assert model_config.scaled_width(model_config.stem_width) == 16
    assert train_config.batch_size == 128


def test_forward_flops_counts_convolutions_and_dense_layers():
    config = ModelConfig(stages=(Stage(4, convs=1),), head="avg", head_units=())
    model = build_cnn(config, input_shape=(8, 8, 3), num_classes=5)
    conv = 2 * 8 * 8 * 4 * (3 * 3 * 3)  # 8x8 outputs, 4 channels, a 3x3x3 kernel each
    dense = 2 * 4 * 5
    assert bench.forward_flops(model) == conv + dense


def test_resnet9_width16_flops():
    model = build_cnn(bench.preset_configs("resnet9", width=16)[0])
    # stem 3->16 @32x32, 16->32 @32x32, 2x 32->32 @16x16, 32->64 @16x16, 64->128 @8x8,
    # 2x 128->128 @4x4 (3x3 kernels), classifier 128->10.
    convs = [(32, 3, 16), (32, 16, 32), (16, 32, 32), (16, 32, 32), (16, 32, 64), (8, 64, 128),
             (4, 128, 128), (4, 128, 128)]
    expected = sum(2 * size * size * cout * 9 * cin for size, cin, cout in convs) + 2 * 128 * 10
    assert bench.forward_flops(model) == expected


def test_measure_backend_in_process():
    config = bench.BenchConfig(**TINY, backends=(keras.backend.backend(),), reference=False)
    result = bench.measure_backend(config, keras.backend.backend())
    assert result["images_per_second"] > 0
    assert len(result["window_images_per_second"]) == 2
    assert result["warmup_seconds"] > 0
    assert 0 < result["cpu_seconds_per_image"] < 10
    assert np.isfinite(result["final_loss"])
    assert result["flops_per_image"] > 0
    assert "keras" in result["versions"]


def test_image_size_reaches_the_worker_and_the_reference(monkeypatch):
    config = parse(["--preset", "small-cnn", "--width", "4", "--batch", "8", "--image-size",
                    "40", "--backends", keras.backend.backend()])
    assert config.image_shape == (40, 40, 3)
    assert "--image-size 40" in " ".join(bench.parent._config_argv(config))
    from kgen.studies import runner

    shapes = []

    def recording_run_one(planned, settings, data, **options):
        shapes.append(data.input_shape)
        return run_one(planned, settings, data, **options)

    run_one = runner.run_one
    monkeypatch.setattr(runner, "run_one", recording_run_one)
    tiny = bench.BenchConfig(**TINY, image_size=40, backends=(keras.backend.backend(),),
                             reference=False)
    result = bench.measure_backend(tiny, keras.backend.backend())
    assert shapes == [(40, 40, 3)]
    small = bench.measure_backend(bench.BenchConfig(**TINY, backends=tiny.backends,
                                                    reference=False), keras.backend.backend())
    assert result["flops_per_image"] > small["flops_per_image"]


def test_the_bench_times_a_study_run_of_the_resolved_preset(monkeypatch):
    from kgen.studies import runner

    runs = []

    def recording_run_one(planned, settings, data, **options):
        runs.append((planned, settings, data, options))
        return run_one(planned, settings, data, **options)

    run_one = runner.run_one
    monkeypatch.setattr(runner, "run_one", recording_run_one)
    config = bench.BenchConfig(**TINY, backends=(keras.backend.backend(),), reference=False,
                               jit_compile="false")
    result = bench.measure_backend(config, keras.backend.backend())
    (planned, settings, data, options), = runs
    model_config, train_config = bench.preset_configs("small-cnn", width=4, batch=8)
    # One epoch of the timed steps: kgen.training.fit sizes the schedule to it.
    assert (planned.model, planned.train) == (model_config,
                                              dataclasses.replace(train_config, epochs=1))
    assert len(data.x_train) == 8 * config.total_steps
    assert options["jit_compile"] is False and result["jit_compile"] is False


def test_measure_backend_refuses_another_backend():
    other = next(b for b in bench.BACKENDS if b != keras.backend.backend())
    config = bench.BenchConfig(**TINY, backends=(other,), reference=False)
    with pytest.raises(ValueError, match="backend"):
        bench.measure_backend(config, other)


def fake_results():
    config = bench.BenchConfig(**TINY, backends=("jax", "torch"))
    entry = {"images_per_second": 100.0, "warmup_seconds": 2.0, "peak_rss_mb": 500.0,
             "cpu_seconds_per_image": 0.01, "jit_compile": True, "flops_per_image": 10**6,
             "versions": {"keras": "3"}}
    rounds = [{"reference": {"images_per_second": 50.0, "warmup_seconds": 1.0,
                             "peak_rss_mb": 300.0, "worker_peak_rss_mb": 100.0,
                             "cpu_seconds_per_image": 0.02},
               "jax": dict(entry), "torch": {"error": "exit status 1"}},
              {"reference": {"images_per_second": 70.0, "cpu_seconds_per_image": 0.02},
               "jax": dict(entry, images_per_second=300.0), "torch": {"error": "exit status 1"}}]
    machine = {"cpu": "test", "cpu_count": 2, "matmul_gflops": 100.0, "load_before": [0, 0, 0]}
    return bench.combine_rounds(config, rounds, machine)


def test_rounds_combine_into_medians_and_ratios():
    results = fake_results()
    jax_entry, torch_entry = results["results"]
    assert jax_entry["images_per_second"] == 200.0  # median of 100 and 300
    assert results["reference"]["images_per_second"] == 60.0
    assert jax_entry["ratio_to_reference"] == pytest.approx(200 / 60)
    assert torch_entry["error"]
    assert results["floor"]["images_per_second_bound"] == pytest.approx(100e9 / 3e6)
    json.dumps(results)  # the JSON file holds exactly this


def test_table_lists_reference_backends_and_floor():
    table = bench.format_table(fake_results())
    assert "plain PyTorch" in table and "| jax | jax.jit (XLA) |" in table
    assert "| torch | failed" in table
    assert "Floor:" in table and "3.00" not in table.split("Floor")[0].split("jax")[0]


def test_matmul_rate_is_positive():
    assert bench.measure_matmul_gflops(size=128, repeats=2) > 0


@pytest.mark.slow
def test_bench_runs_from_the_installed_package(tmp_path):
    # Outside the checkout (cwd elsewhere, no PYTHONPATH): under tox this is the
    # env's installed wheel, which must carry the reference and everything else.
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    where = subprocess.run([sys.executable, "-c", "import kgen.bench; print(kgen.bench.__file__)"],
                           capture_output=True, text=True, cwd=tmp_path, env=environment,
                           timeout=120)
    assert where.returncode == 0, where.stderr
    if os.environ.get("TOX_ENV_NAME"):
        # The env's own copy (site-packages, inside .tox), not the checkout's kgen/.
        imported = Path(where.stdout.strip()).resolve()
        assert REPOSITORY / "kgen" not in imported.parents, where.stdout
        assert "site-packages" in imported.parts, where.stdout
    path = tmp_path / "bench.json"
    with_reference = importlib.util.find_spec("torch") is not None
    argv = ["--preset", "small-cnn", "--width", "4", "--batch", "8", "--steps", "2",
            "--warmup-steps", "1", "--windows", "2", "--backends", keras.backend.backend(),
            "--json", str(path), *([] if with_reference else ["--no-reference"])]
    completed = subprocess.run([sys.executable, "-m", "kgen", "bench", *argv], cwd=tmp_path,
                               env=environment, capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert f"| {keras.backend.backend()} |" in completed.stdout
    results = json.loads(path.read_text())
    entry = results["results"][0]
    assert entry["backend"] == keras.backend.backend()
    assert entry["images_per_second"] > 0 and entry["peak_rss_mb"] > 50
    assert results["machine"]["matmul_gflops"] > 0
    if with_reference:
        assert results["reference"]["images_per_second"] > 0, results["reference"]
        assert entry["ratio_to_reference"] > 0


def test_cli_exits_2_on_a_bad_argument():
    completed = subprocess.run([sys.executable, "-m", "kgen.bench", "--backends", "tf"],
                               capture_output=True, text=True, timeout=300)
    assert completed.returncode == 2
    assert "backends" in completed.stderr


# === The plain-PyTorch reference's transforms (torchvision's algorithms) ===


@pytest.fixture
def reference():
    pytest.importorskip("torch")
    from kgen.bench import torch_reference

    return torch_reference


def test_reference_trains_on_images_of_the_asked_size(reference):
    spec = reference.spec_from_preset("small-cnn", 4, 8, 1, 2, 2, 0, image_size=40)
    assert spec["image_size"] == 40
    images, labels = bench.random_dataset(16, (40, 40, 3))
    model_config, train_config = reference.configs_from_spec(spec)
    result = reference.run(model_config, train_config, images, labels, spec["mean"],
                           spec["std"], 8, 1, 1, 1, workers=0)
    assert result["images_per_second"] > 0


def test_reference_crop_is_a_window_of_the_padded_image(reference):
    import torch

    image = torch.arange(5 * 6 * 2, dtype=torch.uint8).reshape(5, 6, 2)
    padded = np.pad(image.numpy(), [(2, 2), (2, 2), (0, 0)])
    seen = set()
    for seed in range(40):
        torch.manual_seed(seed)
        crop = reference.RandomCrop(5, padding=2)
        torch.manual_seed(seed)
        top = torch.randint(0, 5 + 4 - 5 + 1, size=(1,)).item()
        left = torch.randint(0, 6 + 4 - 5 + 1, size=(1,)).item()
        torch.manual_seed(seed)
        out = crop(image).numpy()
        np.testing.assert_array_equal(out, padded[top:top + 5, left:left + 5])
        seen.add((top, left))
    assert len(seen) > 5


def test_reference_erasing_follows_torchvision(reference):
    import torch

    erasing = reference.RandomErasing(p=1.0, scale=(0.0625, 0.0625), ratio=(1.0, 1.0), value=0)
    image = torch.ones(3, 32, 32)
    for seed in range(20):
        torch.manual_seed(seed)
        out = erasing(image)
        erased = (out == 0).all(dim=0)
        rows, cols = torch.nonzero(erased, as_tuple=True)
        # area 64 with ratio 1: an 8x8 box, every time, inside the image.
        assert erased.sum() == 64 and rows.max() - rows.min() == 7 and cols.max() - cols.min() == 7
    assert torch.equal(image, torch.ones(3, 32, 32)), "not in place"
    # A box that never fits leaves the image unchanged after 10 attempts.
    never = reference.RandomErasing(p=1.0, scale=(1.0, 1.0), ratio=(1.0, 1.0))
    assert torch.equal(never(image), image)


def test_reference_network_matches_the_kgen_parameter_count(reference):
    model_config, _ = bench.preset_configs("resnet9", width=16)
    spec = json.loads(json.dumps({"model": dataclasses.asdict(model_config), "train": {}}))
    net = reference.ReferenceNet(reference.ModelConfig.from_dict(spec["model"]))
    keras_model = build_cnn(model_config)
    torch_count = sum(p.numel() for p in net.parameters())
    # Keras counts BatchNorm's moving mean and variance as (non-trainable) weights.
    keras_trainable = sum(int(np.prod(w.shape)) for w in keras_model.trainable_weights)
    assert torch_count == keras_trainable


def test_reference_trains_a_few_steps(reference):
    model_config, train_config = bench.preset_configs("small-cnn", width=4, batch=8)
    spec = json.loads(json.dumps({"model": dataclasses.asdict(model_config),
                                  "train": dataclasses.asdict(train_config)}))
    images, labels = reference.random_dataset(8 * 5)
    result = reference.run(*reference.configs_from_spec(spec),
                           images, labels, bench.RANDOM_MEAN, bench.RANDOM_STD, batch_size=8,
                           warmup_steps=1, steps=4, windows=2, workers=0)
    assert result["images_per_second"] > 0 and np.isfinite(result["final_loss"])


@pytest.mark.parametrize("nesterov", [True, False])
def test_reference_sgd_follows_the_train_configs_momentum(reference, nesterov):
    import torch

    from kgen.models import TrainConfig

    optimizer = reference.create_optimizer([torch.nn.Parameter(torch.zeros(2))],
                                           TrainConfig(optimizer="sgd", nesterov=nesterov))
    assert optimizer.param_groups[0]["nesterov"] is nesterov


@pytest.mark.parametrize("fields, name", [
    ({"activation": "prelu"}, "activation"), ({"l1": 1e-4}, "l1"), ({"max_norm": 3.0}, "max_norm"),
    ({"stages": ({"width": 8, "kernel_size": 5},)}, "kernel_size"),
])
def test_reference_refuses_what_it_does_not_build(reference, fields, name):
    from kgen.models import ModelConfig

    with pytest.raises(ValueError, match=f"does not build {name}"):
        reference.ReferenceNet(ModelConfig(**fields))
