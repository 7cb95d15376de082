"""Per-layer gradient norms (`--gradient-norms`): the gradients are the
backend's, measuring them changes nothing the run computes, and the report
shows where they vanish."""

import keras
import numpy as np
import pytest

import kgen.backend
import kgen.studies
from kgen.callbacks import GradientNorms
from kgen.models import ModelConfig, Stage, build_cnn
from kgen.studies import Experiment, Settings, Variant, layout
from kgen.studies.files import read_csv, read_json
from tests.helpers import random_images

TINY = Settings(epochs=2, width_scale=0.25, batch_size=32, limit=64, eval_limit=8)


def test_loss_gradients_of_a_dense_softmax_are_the_closed_form():
    # Cross-entropy of softmax(x W): dL/dW = x^T (softmax - onehot) / n.
    rng = np.random.default_rng(0)
    x = rng.normal(size=(6, 4)).astype("float32")
    labels = np.array([0, 1, 2, 0, 1, 2])
    inputs = keras.Input((4,))
    dense = keras.layers.Dense(3, use_bias=False)
    model = keras.Model(inputs, dense(inputs))
    kernel = rng.normal(size=(4, 3)).astype("float32")
    dense.kernel.assign(kernel)
    (gradient,) = kgen.backend.loss_gradients(model, x, labels)
    logits = x @ kernel
    softmax = np.exp(logits - logits.max(1, keepdims=True))
    softmax /= softmax.sum(1, keepdims=True)
    expected = x.T @ (softmax - np.eye(3)[labels]) / len(x)
    np.testing.assert_allclose(gradient, expected, rtol=1e-4, atol=1e-6)


def test_loss_gradients_change_nothing_in_the_model():
    # Glorot: a He-initialized kgen model starts with a zero classifier, which
    # gives every layer before it a zero gradient.
    config = ModelConfig(stages=(Stage(4, convs=1, dropout=0.5),), normalization="batch",
                         head_units=(8,), head_dropout=0.5, initializer="glorot_uniform")
    model = build_cnn(config)
    images, labels = random_images(8), np.arange(8) % 10
    before = [keras.ops.convert_to_numpy(v).copy() for v in model.variables]
    gradients = kgen.backend.loss_gradients(model, images, labels)
    assert len(gradients) == len(model.trainable_variables)
    assert all(np.any(g != 0) for g, v in zip(gradients, model.trainable_variables)
               if v.name == "kernel")
    after = [keras.ops.convert_to_numpy(v) for v in model.variables]
    for old, new in zip(before, after, strict=True):
        np.testing.assert_array_equal(old, new)


def test_a_deep_sigmoid_network_has_vanishing_first_layer_gradients():
    # The lesson's explanation, at initialization: the first kernel's gradient
    # over the classifier's is orders of magnitude smaller with sigmoid.
    def ratio(activation):
        keras.utils.set_random_seed(0)
        model = build_cnn(ModelConfig(stages=tuple(Stage(8, convs=4) for _ in range(3)),
                                      activation=activation, head_units=(16,),
                                      initializer="glorot_uniform"))
        callback = GradientNorms(random_images(32), np.arange(32) % 10)
        callback.set_model(model)
        callback.on_train_begin()
        norms = [row["norm"] for row in callback.rows]
        assert [row["depth"] for row in callback.rows] == list(range(14))  # 12 convs, 2 dense
        return norms[0] / norms[-1]

    assert ratio("sigmoid") < 1e-3 * ratio("relu")


def test_recording_gradient_norms_changes_nothing_the_run_computes(tmp_path):
    variant = Variant(name="bn", preset="ladder-3")  # BatchNorm and dropout: state and randomness
    plain = kgen.studies.run(Experiment(variant, TINY), tmp_path / "plain", log=lambda _: None)
    recorded = kgen.studies.run(
        Experiment(variant, Settings(**{**TINY.to_dict(), "gradient_norms": True})),
        tmp_path / "recorded", log=lambda _: None)
    for key in ("train_accuracy", "val_accuracy", "test_accuracy", "test_loss"):
        assert plain[key] == recorded[key], key
    runs = [layout.run_dir(tmp_path / name, "bn", 0) for name in ("plain", "recorded")]
    histories = [read_csv(run / "history.csv") for run in runs]
    assert [r["loss"] for r in histories[0]] == [r["loss"] for r in histories[1]]
    assert not (runs[0] / "gradient_norms.csv").exists()
    rows = read_csv(runs[1] / "gradient_norms.csv")
    kernels = 1 + max(row["depth"] for row in rows)
    assert sorted({row["epoch"] for row in rows}) == [0, 1, 2]
    assert len(rows) == 3 * kernels
    # Before training only the zero-initialized classifier has a gradient; after
    # an epoch every kernel has one.
    assert [row["norm"] > 0 for row in rows if row["epoch"] == 0] == [False] * (kernels - 1) + [True]
    assert all(row["norm"] > 0 for row in rows if row["epoch"] > 0)
    report = (tmp_path / "recorded" / "report.md").read_text()
    assert "| bn | 8 |" in report  # 6 convs, the hidden dense layer, the classifier
    assert (tmp_path / "recorded" / "gradient_norms.png").read_bytes()[:4] == b"\x89PNG"
    assert not (tmp_path / "plain" / "gradient_norms.png").exists()
    assert read_json(tmp_path / "recorded" / "study.json")["settings"]["gradient_norms"] is True


def test_a_resumed_run_keeps_the_rows_of_the_epochs_its_backup_holds():
    callback = GradientNorms(None, None, initial_epoch=2,
                             rows=[{"epoch": e, "depth": 0, "layer": "a", "norm": 1.0}
                                   for e in range(4)])
    assert [row["epoch"] for row in callback.rows] == [0, 1, 2]


@pytest.mark.parametrize("value", ["yes", 1])
def test_the_setting_is_a_bool(value):
    with pytest.raises(TypeError, match="Received: gradient_norms="):
        Settings(gradient_norms=value)
