"""Checks every kgen layer and model gets, in the spirit of keras-hub's TestCase."""

import contextlib
import os

import keras
import numpy as np


def random_images(batch=4, height=32, width=32, channels=3, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (batch, height, width, channels),
                                                dtype=np.uint8)


def check_layer_contract(make_layer, input_data, tmp_path, identity_at_inference=True,
                         precision="mixed_bfloat16"):
    """What every kgen layer must do as a Keras layer, in one place (in the
    spirit of keras-hub's `run_layer_test`): a `get_config`/`from_config` round
    trip; a symbolic call whose shape is the eager call's and
    `compute_output_shape`'s; at inference the input unchanged when
    `identity_at_inference` (the augmentations); one compiled SGD step through a
    model holding it that changes every trainable weight (each receives a
    gradient); a `.keras` round trip of that model with the same outputs and the
    layer restored as its own class; and a call built under `precision` whose
    output is in that policy's compute dtype. `make_layer()` returns a new
    layer each time."""
    layer = make_layer()
    layer_class = type(layer)
    config = layer.get_config()
    assert layer_class.from_config(config).get_config() == config, \
        "get_config/from_config does not round trip"

    symbolic = layer(keras.KerasTensor(input_data.shape, dtype="float32"))
    assert tuple(symbolic.shape) == tuple(layer.compute_output_shape(input_data.shape))
    eager = keras.ops.convert_to_numpy(layer(input_data, training=True))
    assert eager.shape == tuple(symbolic.shape)
    assert np.all(np.isfinite(eager))
    if identity_at_inference:
        inferred = keras.ops.convert_to_numpy(layer(input_data, training=False))
        np.testing.assert_array_equal(inferred, input_data.astype(inferred.dtype))

    model = _model_around(make_layer(), input_data.shape[1:])
    check_every_weight_learns(model, input_data, np.arange(len(input_data)) % 3)
    restored = run_model_saving_test(model, input_data, tmp_path)
    restored_layers = [type(inner) for inner in restored.layers if isinstance(inner, layer_class)]
    assert restored_layers == [layer_class], f"{layer_class.__name__} came back as {restored_layers}"

    with precision_policy(precision):
        mixed = make_layer()
    output = mixed(keras.ops.convert_to_tensor(input_data, dtype=mixed.compute_dtype),
                   training=True)
    assert keras.backend.standardize_dtype(output.dtype) == mixed.compute_dtype
    assert np.all(np.isfinite(keras.ops.convert_to_numpy(keras.ops.cast(output, "float32"))))
    return layer


def _model_around(layer, input_shape):
    """[1x1 convolution or dense, the layer, flatten, dense]: the layer in front
    of it receives its input gradient, the one behind its output's."""
    inputs = keras.Input(input_shape)
    if len(input_shape) == 3:
        x = keras.layers.Conv2D(input_shape[-1], 1, name="front")(inputs)
    else:
        x = keras.layers.Dense(input_shape[-1], name="front")(inputs)
    x = keras.layers.Flatten()(layer(x))
    return keras.Model(inputs, keras.layers.Dense(3, name="behind")(x))


def check_every_weight_learns(model, images, labels):
    """One compiled SGD step changes every trainable weight of `model`: each
    one receives a non-zero gradient (a layer cut off from the loss would not)."""
    before = [keras.ops.convert_to_numpy(w).copy() for w in model.trainable_weights]
    loss = fit_one_step(model, images, labels, optimizer=keras.optimizers.SGD(0.1))
    unchanged = [w.path for w, old in zip(model.trainable_weights, before)
                 if np.array_equal(keras.ops.convert_to_numpy(w), old)]
    assert not unchanged, f"no gradient reached {unchanged}"
    return loss


@contextlib.contextmanager
def precision_policy(name):
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def check_model_contract(make_model, images, labels, tmp_path, precision="mixed_bfloat16"):
    """What every model kgen's builders make must do (uint8 `images` for the
    CNNs, float32 feature vectors for the MLPs): a symbolic call of any
    batch size giving one logit per class; one compiled SGD step that changes
    every trainable weight (the zero-initialized classifier randomized first, so
    the gradient reaches the layers before it); a `.keras` round trip with the
    same outputs and class; and, built under `precision`, float32 logits.
    `make_model()` returns a new model each time. Returns the restored model."""
    model = make_model()
    symbolic = model(keras.KerasTensor((None, *images.shape[1:]), dtype=str(images.dtype)))
    assert tuple(symbolic.shape) == (None, model.num_classes)
    randomize_classifier(model)
    check_every_weight_learns(model, images, labels)
    restored = run_model_saving_test(model, images, tmp_path)

    with precision_policy(precision):
        mixed = make_model()
    logits = mixed(images, training=True)
    assert keras.backend.standardize_dtype(logits.dtype) == "float32"
    assert np.all(np.isfinite(keras.ops.convert_to_numpy(logits)))
    return restored


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


def value_and_gradients(function, *arrays):
    """`function(*tensors)` returns `(loss, aux)`, a scalar and any tensor;
    returns `(aux, [dloss/darray for each array])` as NumPy, by the backend's
    own autodiff (Keras has no backend-neutral gradient of a function)."""
    backend = keras.backend.backend()
    arrays = [np.asarray(array, "float32") for array in arrays]
    if backend == "tensorflow":
        import tensorflow as tf

        tensors = [tf.constant(array) for array in arrays]
        with tf.GradientTape() as tape:
            tape.watch(tensors)
            loss, aux = function(*tensors)
        grads = tape.gradient(loss, tensors)
    elif backend == "jax":
        import jax

        grads, aux = jax.grad(function, argnums=tuple(range(len(arrays))), has_aux=True)(*arrays)
    elif backend == "torch":
        import torch

        tensors = [torch.tensor(array, requires_grad=True) for array in arrays]
        loss, aux = function(*tensors)
        loss.backward()
        grads = [tensor.grad for tensor in tensors]
        aux = aux.detach()
    else:
        raise ValueError(f"No autodiff here for backend {backend!r}")
    return (keras.ops.convert_to_numpy(aux),
            [keras.ops.convert_to_numpy(gradient) for gradient in grads])
