import keras
import numpy as np
import pytest

import kgen.data
import kgen.models
from kgen import precision, training
from kgen.models import TrainConfig

MIXED = ("mixed_bfloat16", "mixed_float16")


@pytest.fixture(scope="module")
def tiny_data():
    return kgen.data.load("synthetic", train_size=128, test_size=32, validation_split=0.25)


def small_model(data):
    return kgen.models.create("small-cnn", input_shape=data.input_shape,
                              num_classes=data.num_classes, mean=data.mean, std=data.std)


@pytest.mark.parametrize("name", precision.PRECISIONS)
def test_policy_applies_inside_and_restores_after(name, tiny_data):
    before = keras.config.dtype_policy().name
    with precision.policy(name):
        assert keras.config.dtype_policy().name == name
        model = small_model(tiny_data)
    assert keras.config.dtype_policy().name == before
    compute = "float32" if name == "float32" else name.removeprefix("mixed_")
    conv = model.get_layer("stage0_block0_unit0_conv")
    assert conv.compute_dtype == compute
    assert conv.kernel.dtype == "float32", "weights stay float32 under mixed precision"
    assert precision.model_precision(model) == name
    # The classifier is float32 whatever the policy: the loss sees float32 logits.
    logits = model(tiny_data.x_train[:4], training=False)
    assert keras.backend.standardize_dtype(logits.dtype) == "float32"


def test_policy_restores_after_an_error():
    before = keras.config.dtype_policy().name
    with pytest.raises(RuntimeError), precision.policy("mixed_bfloat16"):
        raise RuntimeError("boom")
    assert keras.config.dtype_policy().name == before


@pytest.mark.parametrize("name", MIXED)
def test_mixed_training_does_not_diverge(name, tiny_data):
    with precision.policy(name):
        model = small_model(tiny_data)
    train = TrainConfig(batch_size=32, epochs=4, learning_rate=3e-3)
    history = training.fit(model, tiny_data, train, verbose=0).history
    losses = history["loss"]
    assert np.all(np.isfinite(losses)), losses
    assert losses[-1] < losses[0], f"loss did not go down under {name}: {losses}"
    scaled = isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    assert scaled == (name == "mixed_float16"), "float16 needs loss scaling, bfloat16 does not"


def test_loss_scale_optimizer_only_for_float16():
    sgd = keras.optimizers.SGD(0.1)
    assert precision.loss_scale_optimizer(sgd, "float32") is sgd
    assert precision.loss_scale_optimizer(sgd, "mixed_bfloat16") is sgd
    wrapped = precision.loss_scale_optimizer(sgd, "mixed_float16")
    assert isinstance(wrapped, keras.optimizers.LossScaleOptimizer)
    assert precision.loss_scale_optimizer(wrapped, "mixed_float16") is wrapped


@pytest.mark.parametrize("bad", ["float16", "bf16", "mixed-bfloat16", None])
def test_unknown_precision_names_the_argument(bad):
    with pytest.raises(ValueError, match="precision"):
        precision.set_precision(bad)
