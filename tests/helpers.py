"""Checks every kgen layer and model gets, in the spirit of keras-hub's TestCase."""

import os

import keras
import numpy as np


def random_images(batch=4, height=32, width=32, channels=3, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (batch, height, width, channels),
                                                dtype=np.uint8)


def run_layer_test(layer_class, init_kwargs, input_data, expect_identity_at_inference=True):
    """Config round trip, symbolic and eager call, identity at inference, and a
    compiled fit step through a model that holds the layer."""
    layer = layer_class(**init_kwargs)
    config = layer.get_config()
    clone = layer_class.from_config(config)
    assert clone.get_config() == config, "get_config/from_config does not round trip"

    symbolic = layer(keras.KerasTensor(input_data.shape, dtype="float32"))
    assert tuple(symbolic.shape) == tuple(layer.compute_output_shape(input_data.shape))

    eager = keras.ops.convert_to_numpy(layer(input_data, training=True))
    assert eager.shape == tuple(symbolic.shape)
    assert np.all(np.isfinite(eager))
    if expect_identity_at_inference:
        inferred = keras.ops.convert_to_numpy(layer(input_data, training=False))
        np.testing.assert_array_equal(inferred, input_data.astype(inferred.dtype))

    inputs = keras.Input(input_data.shape[1:])
    outputs = keras.layers.Dense(3)(keras.layers.Flatten()(layer_class(**init_kwargs)(inputs)))
    model = keras.Model(inputs, outputs)
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  jit_compile="auto")
    history = model.fit(input_data, np.zeros(len(input_data)), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    return layer


def randomize_classifier(model, seed=0):
    """Random weights for a kgen model's zero-initialized classifier, so that its
    logits depend on every layer before it (an untrained model's are all zero)."""
    classifier = model.get_layer("classifier")
    classifier.kernel.assign(np.random.default_rng(seed).normal(
        scale=0.1, size=classifier.kernel.shape).astype("float32"))
    return model


def run_model_saving_test(model, input_data, tmp_path):
    """`.keras` save and load give the same outputs (inference mode), which must
    not be all zero (a zero classifier would hide every other layer)."""
    if any(layer.name == "classifier" for layer in model.layers):
        randomize_classifier(model)
    expected = keras.ops.convert_to_numpy(model(input_data, training=False))
    assert np.abs(expected).max() > 1e-4, "all-zero outputs compare nothing"
    path = os.path.join(tmp_path, "model.keras")
    model.save(path)
    restored = keras.saving.load_model(path)
    assert type(restored) is type(model), f"{type(model).__name__} came back as {type(restored).__name__}"
    actual = keras.ops.convert_to_numpy(restored(input_data, training=False))
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-5)
    return restored


def fit_one_step(model, images, labels, optimizer="adam"):
    """One compiled training step; returns the loss, which must be finite."""
    model.compile(optimizer, keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(images, labels, batch_size=len(images), epochs=1, verbose=0)
    loss = history.history["loss"][0]
    assert np.isfinite(loss), f"loss is {loss}"
    return loss
