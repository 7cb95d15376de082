"""Transfer learning (`kgen.transfer`): a new head on a trained backbone,
freezing with BatchNorm in inference mode, the two-phase fine-tune, class
subsets for source and target tasks, and keras.applications weights from disk."""

import keras
import numpy as np
import pytest

import kgen.models
import kgen.training
from kgen import transfer
from kgen.models import ModelConfig, Stage, TrainConfig, build_cnn
from kgen.models.builder import HEAD_POOLING
from kgen.studies.data import load_limited

CONFIG = ModelConfig(stages=(Stage(4, convs=1), Stage(8, convs=1)), normalization="batch",
                     head_units=(16,))


def values(variables):
    return [keras.ops.convert_to_numpy(v).copy() for v in variables]


def test_the_pooling_layer_names_are_the_builders():
    assert {pooling().name for pooling in HEAD_POOLING.values()} == set(transfer.POOLING_LAYERS)


def test_a_new_head_shares_the_backbone_and_starts_at_chance():
    source = build_cnn(CONFIG, num_classes=10)
    model = transfer.with_new_head(source, 3)
    assert model.output_shape == (None, 3)
    # The backbone's variables are the source model's own, not copies; its head is gone.
    source_ids = {id(v) for v in source.variables}
    new = [v for v in model.variables if id(v) not in source_ids]
    assert {v.path.split("/")[0] for v in new} == {transfer.CLASSIFIER}
    assert "head0_dense" not in [layer.name for layer in model.layers]
    logits = keras.ops.convert_to_numpy(model(np.zeros((2, 32, 32, 3), "uint8")))
    np.testing.assert_array_equal(logits, 0.0)


def test_a_frozen_backbone_keeps_its_weights_and_batchnorm_statistics():
    data = load_limited("synthetic", limit=64, eval_limit=8)
    model = transfer.with_new_head(build_cnn(CONFIG, num_classes=10), 10)
    transfer.set_backbone_trainable(model, False)
    assert [w.path for w in model.trainable_weights] == [
        f"{transfer.CLASSIFIER}/kernel", f"{transfer.CLASSIFIER}/bias"]
    backbone = [v for v in model.variables if not v.path.startswith(transfer.CLASSIFIER)]
    before = values(backbone)
    kgen.training.fit(model, data, TrainConfig(batch_size=32), epochs=1, verbose=0)
    # Moving statistics included: a frozen BatchNorm runs in inference mode.
    for old, new in zip(before, values(backbone), strict=True):
        np.testing.assert_array_equal(old, new)
    assert np.any(keras.ops.convert_to_numpy(model.get_layer(transfer.CLASSIFIER).kernel) != 0)


def test_top_stages_unfreeze_only_the_last_stages():
    model = transfer.with_new_head(build_cnn(CONFIG, num_classes=10), 4)
    transfer.set_backbone_trainable(model, True, top_stages=1)
    trainable = {w.path.split("/")[0] for w in model.trainable_weights}
    assert trainable == {"stage1_block0_unit0_conv", "stage1_block0_unit0_batchnorm",
                         transfer.CLASSIFIER}
    with pytest.raises(ValueError, match="Received: top_stages=3"):
        transfer.set_backbone_trainable(model, True, top_stages=3)


def test_fine_tune_trains_the_head_then_the_whole_network():
    data = load_limited("synthetic", limit=64, eval_limit=8)
    model = transfer.with_new_head(build_cnn(CONFIG, num_classes=10), 10)
    first_conv = model.get_layer("stage0_block0_unit0_conv").kernel
    before = keras.ops.convert_to_numpy(first_conv).copy()
    probe = transfer.fine_tune(model, data, TrainConfig(batch_size=32), head_epochs=2)
    assert len(probe.head["loss"]) == 2 and probe.full == {}
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(first_conv), before)
    result = transfer.fine_tune(model, data, TrainConfig(batch_size=32, learning_rate=1e-2),
                                head_epochs=1, full_epochs=2, learning_rate_factor=0.1)
    assert len(result.full["loss"]) == 2
    assert result.full["learning_rate"][0] == pytest.approx(1e-3)
    assert not np.array_equal(keras.ops.convert_to_numpy(first_conv), before)


def test_class_subset_relabels_a_task_carved_from_a_dataset():
    data = load_limited("synthetic", limit=200, eval_limit=50)
    target = transfer.class_subset(data, [7, 2, 5], train_limit=30)
    assert target.class_names == tuple(data.class_names[c] for c in (7, 2, 5))
    assert len(target.x_train) == 30 and sorted(set(target.y_train.tolist())) == [0, 1, 2]
    for split in ("val", "test"):
        original = getattr(data, f"y_{split}")
        kept = original[np.isin(original, [7, 2, 5])]
        expected = np.array([{7: 0, 2: 1, 5: 2}[c] for c in kept])
        np.testing.assert_array_equal(getattr(target, f"y_{split}"), expected)
    with pytest.raises(ValueError, match="distinct"):
        transfer.class_subset(data, [1, 1])


def test_an_application_loads_its_weights_from_a_file(tmp_path):
    # What a user with a downloaded notop weights file does, offline: here the
    # file holds random weights saved a moment ago.
    backbone = keras.applications.MobileNetV2(include_top=False, weights=None,
                                              input_shape=(32, 32, 3), pooling="avg")
    path = tmp_path / "mobilenet_v2_notop.weights.h5"
    backbone.save_weights(path)
    model = transfer.application_model("MobileNetV2", 3, input_shape=(32, 32, 3),
                                       weights=str(path))
    loaded = model.get_layer(backbone.name)
    for theirs, ours in zip(values(backbone.weights), values(loaded.weights), strict=True):
        np.testing.assert_array_equal(theirs, ours)
    transfer.set_backbone_trainable(model, False)
    assert {w.path.split("/")[0] for w in model.trainable_weights} == {transfer.CLASSIFIER}
    # No Lambda layer: the model saves and loads in safe mode.
    model.save(tmp_path / "model.keras")
    restored = kgen.models.load_model(tmp_path / "model.keras")
    images = np.random.default_rng(0).integers(0, 256, (2, 32, 32, 3), dtype="uint8")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(restored(images)),
                               keras.ops.convert_to_numpy(model(images)), rtol=1e-5, atol=1e-5)


def test_transfer_recipe_compares_the_three_arms_through_the_runner(tmp_path, capsys):
    import hashlib
    import importlib.util
    import json
    from pathlib import Path

    from kgen.studies import layout

    path = Path(__file__).resolve().parents[1] / "recipes" / "teaching" / "transfer.py"
    spec = importlib.util.spec_from_file_location("transfer_recipe", path)
    recipe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(recipe)
    argv = ["--dataset", "synthetic", "--limit", "300", "--target-images", "40",
            "--pretrain-epochs", "1", "--pretrain-batch-size", "32", "--epochs", "2",
            "--seeds", "2", "--width-scale", "0.125", "--batch-size", "16", "--out", str(tmp_path)]
    assert recipe.main(argv) == 0
    printed = capsys.readouterr().out
    results = json.loads((tmp_path / "target" / "results.json").read_text())
    assert [v["variant"] for v in results["variants"]] == ["scratch", "probe", "fine-tune"]
    assert all(v["test_accuracy"]["n"] == 2 for v in results["variants"])
    assert all(f"| {arm} |" in printed for arm in ("scratch", "probe", "fine-tune"))
    # The backbone is the pretraining run's model, on classes 0-4; the arms train on 5-9.
    pretrain = layout.run_dir(tmp_path / "pretrain", "ladder-2", 0)
    assert json.loads((pretrain / "config.json").read_text())["settings"]["classes"] == [
        0, 1, 2, 3, 4]
    probe = json.loads((layout.run_dir(tmp_path / "target", "probe", 0) / "config.json")
                       .read_text())
    assert probe["settings"]["classes"] == [5, 6, 7, 8, 9]
    manifest = json.loads((tmp_path / "target" / "study.json").read_text())
    assert manifest["settings"]["backbone"] == str(pretrain / "model.keras")
    assert probe["backbone"]["sha256"] == hashlib.sha256(
        (pretrain / "model.keras").read_bytes()).hexdigest()
    # Again: nothing retrained. Other pretraining settings: refused, nothing changed.
    assert recipe.main(argv) == 0
    assert capsys.readouterr().out.count("finished already") == 7
    backbone = (pretrain / "model.keras").read_bytes()
    assert recipe.main([*argv[:-2], "--pretrain-epochs", "2", "--out", str(tmp_path)]) == 2
    assert "holds another study" in capsys.readouterr().err
    assert (pretrain / "model.keras").read_bytes() == backbone
    assert recipe.main([*argv[:-2], "--source-classes", "0,1,5", "--out", str(tmp_path)]) == 2
    assert "source and target classes must differ" in capsys.readouterr().err


def test_kgen_transfer_takes_a_backbone_file(tmp_path, capsys):
    import json

    import kgen.cli

    # A kgen .keras model of the user's: the scratch arm trains its network.
    backbone = kgen.models.create("small-cnn", width_multiplier=0.25, num_classes=10)
    backbone.save(tmp_path / "mine.keras")
    out = tmp_path / "out"
    argv = ["transfer", "--dataset", "synthetic", "--limit", "200", "--backbone",
            str(tmp_path / "mine.keras"), "--target-classes", "0,1,2", "--target-images", "30",
            "--epochs", "2", "--seeds", "1", "--batch-size", "16", "--out", str(out)]
    assert kgen.cli.main(argv) == 0
    assert not (out / "pretrain").exists()
    config = json.loads((out / "target" / "runs" / "scratch" / "seed-0" / "config.json")
                        .read_text())
    assert config["model"]["width_multiplier"] == 0.25 and config["dataset"]["classes"] == 3
    assert "| probe |" in capsys.readouterr().out


@pytest.mark.parametrize("argv, named", [
    (["--target-classes", "1,1"], "target_classes"),
    (["--target-classes", "a,b"], "class indices"),
    (["--source-classes", "0,1", "--source-dataset", "cifar100"], "not allowed with"),
    (["--backbone", "missing.keras"], "backbone"),
    (["--epochs", "1"], "epochs"),
    (["--preset", "ladder-22"], "preset"),
])
def test_kgen_transfer_refuses_bad_input_before_writing(argv, named, tmp_path, capsys):
    import kgen.cli

    out = tmp_path / "out"
    assert kgen.cli.main(["transfer", *argv, "--out", str(out)]) == 2
    assert named in capsys.readouterr().err
    assert not out.exists()


def test_kgen_transfer_pretrains_on_another_dataset(tmp_path, monkeypatch, capsys):
    # The course's pretraining on CIFAR-100: a tiny archive in its published
    # layout where the loader looks (its md5 made the expected one), then the
    # arms on all ten synthetic classes.
    import json

    import kgen.cli
    from kgen.data import cifar
    from tests.data_helpers import cifar100_python_files, md5_of, random_images, write_tar_gz

    fine = np.tile(np.arange(10), 20)  # 20 images of 10 of the 100 classes
    train = (random_images(200, seed=1), fine, fine // 5)
    test = (random_images(20, seed=2), fine[:20], fine[:20] // 5)
    archive = write_tar_gz(tmp_path / "cifar-100-python.tar.gz", "cifar-100-python",
                           cifar100_python_files(train, test,
                                                 [f"fine_{i}" for i in range(100)],
                                                 [f"coarse_{i}" for i in range(20)]))
    monkeypatch.setitem(cifar.ARCHIVE_MD5, archive.name, md5_of(archive))
    out = tmp_path / "out"
    assert kgen.cli.main([
        "transfer", "--dataset", "synthetic", "--source-dataset", "cifar100", "--data-dir",
        str(tmp_path), "--pretrain-epochs", "1", "--pretrain-batch-size", "32",
        "--width-scale", "0.125", "--target-images", "40", "--epochs", "2", "--seeds", "1",
        "--batch-size", "16", "--out", str(out)]) == 0
    pretrain = json.loads((out / "pretrain" / "runs" / "ladder-2" / "seed-0" / "config.json")
                          .read_text())
    assert pretrain["dataset"]["name"] == "cifar100" and pretrain["dataset"]["classes"] == 100
    assert "classes" not in pretrain["settings"]  # all of them
    target = json.loads((out / "target" / "runs" / "probe" / "seed-0" / "config.json")
                        .read_text())
    assert target["dataset"]["name"] == "synthetic" and target["dataset"]["classes"] == 10
    assert "| fine-tune |" in capsys.readouterr().out
