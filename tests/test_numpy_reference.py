"""The course's NumPy Dropout and BatchNorm (`kgen.numpy_reference`) against
the layers kgen trains with, on the same inputs: values and gradients, and the
backward pass's intermediate terms against autodiff of the forward formulas."""

import keras
import numpy as np
import pytest

from kgen.layers import BatchNormalization
from kgen.numpy_reference import Dropout, batch_norm_backward, batch_norm_forward
from tests.helpers import value_and_gradients

RNG = np.random.default_rng(0)
EPSILON = 1e-5


@pytest.mark.parametrize("rate", [0.2, 0.5])
def test_keras_dropout_is_the_courses_inverted_dropout(rate):
    # Inputs away from zero, so the output's zeros are exactly the dropped units.
    x = RNG.uniform(0.5, 2.0, size=(64, 32)).astype("float32")
    upstream = RNG.normal(size=x.shape).astype("float32")
    layer = keras.layers.Dropout(rate, seed=1)

    def loss(inputs):
        outputs = layer(inputs, training=True)
        return keras.ops.sum(outputs * keras.ops.convert_to_tensor(upstream)), outputs

    outputs, (gradient,) = value_and_gradients(loss, x)
    mask = outputs / x
    keep = 1.0 - rate
    # The mask is 0 or 1 / keep, kept at the rate asked for (binomial, 4 sigma).
    np.testing.assert_allclose(mask[mask != 0], 1.0 / keep, rtol=1e-5)
    kept = np.mean(mask != 0)
    assert abs(kept - keep) < 4 * np.sqrt(keep * rate / x.size)
    # The NumPy class with the same mask gives the same output and gradient.
    reference = Dropout(keep=keep)
    np.testing.assert_allclose(reference.forward(x, mask=mask), outputs, rtol=1e-6)
    np.testing.assert_allclose(reference.backward(upstream), gradient, rtol=1e-5, atol=1e-6)
    # Inference: the identity in both.
    np.testing.assert_array_equal(reference.forward(x, training=False), x)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(x, training=False)), x)


def test_numpy_dropout_keeps_the_expected_value():
    x = np.ones((200_000,))
    outputs = Dropout(keep=0.8).forward(x, rng=np.random.default_rng(0))
    assert abs(outputs.mean() - 1.0) < 4 * np.sqrt(0.2 / 0.8 / x.size)


@pytest.mark.parametrize("shape", [(16, 5), (4, 3, 3, 6)])
def test_batch_norm_values_and_gradients_equal_the_courses_formulas(shape):
    x = (RNG.normal(size=shape) * 3.0 + 1.5).astype("float32")
    gamma = RNG.uniform(0.5, 1.5, size=shape[-1]).astype("float32")
    beta = RNG.normal(size=shape[-1]).astype("float32")
    upstream = RNG.normal(size=shape).astype("float32")
    layer = BatchNormalization(epsilon=EPSILON)
    layer.build(shape)

    def loss(inputs, scale, center):
        # The layer's own training-mode call, its gamma and beta given as inputs.
        outputs, _ = layer.stateless_call([scale, center], [v.value for v in
                                                           layer.non_trainable_variables],
                                          inputs, training=True)
        return keras.ops.sum(outputs * keras.ops.convert_to_tensor(upstream)), outputs

    assert [v.path.split("/")[-1] for v in layer.trainable_variables] == ["gamma", "beta"]
    outputs, (d_x, d_gamma, d_beta) = value_and_gradients(loss, x, gamma, beta)
    y, cache = batch_norm_forward(x.astype("float64"), gamma, beta, EPSILON)
    reference = batch_norm_backward(upstream.astype("float64"), cache)
    np.testing.assert_allclose(outputs, y, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(d_x, reference["x"], rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(d_gamma, reference["gamma"], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(d_beta, reference["beta"], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shape", [(16, 5), (4, 3, 3, 6)])
def test_the_step_by_step_terms_equal_autodiff_of_the_forward_formulas(shape):
    # dL/d(sigma^2) and dL/d(mu) are the gradients of L(x_hat(x, mu, sigma^2)) with
    # mu and sigma^2 as inputs of their own: autodiff on exactly that graph.
    x = (RNG.normal(size=shape) * 2.0 - 0.5).astype("float32")
    gamma = RNG.uniform(0.5, 1.5, size=shape[-1]).astype("float32")
    beta = RNG.normal(size=shape[-1]).astype("float32")
    upstream = RNG.normal(size=shape).astype("float32")
    _, cache = batch_norm_forward(x.astype("float64"), gamma, beta, EPSILON)
    _, x_hat, mu, sigma2, _, _ = cache
    reference = batch_norm_backward(upstream.astype("float64"), cache)
    x, gamma, beta, upstream = map(keras.ops.convert_to_tensor, (x, gamma, beta, upstream))

    def loss_of_x_hat(normalized):
        return keras.ops.sum((gamma * normalized + beta) * upstream), normalized

    _, (d_x_hat,) = value_and_gradients(loss_of_x_hat, x_hat)
    np.testing.assert_allclose(d_x_hat, reference["x_hat"], rtol=1e-5, atol=1e-6)

    def loss_of_statistics(mean, variance):
        normalized = (x - mean) / keras.ops.sqrt(variance + EPSILON)
        return keras.ops.sum((gamma * normalized + beta) * upstream), normalized

    # dL/dmu here is the direct term only (sigma^2 held fixed); the course's dL/dmu
    # adds the path through sigma^2, whose derivative in mu is mean(-2 (x - mu)),
    # zero at the batch mean: the two agree there.
    _, (d_mu, d_sigma2) = value_and_gradients(loss_of_statistics, mu, sigma2)
    np.testing.assert_allclose(d_sigma2, reference["sigma2"], rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(d_mu, reference["mu"], rtol=1e-3, atol=1e-4)


def test_dropout_keep_is_checked():
    with pytest.raises(ValueError, match="Received: keep=0"):
        Dropout(keep=0)
