"""L2 regularizer, coupled weight decay (PyTorch's Adam) and decoupled (AdamW):
each one's effect on the update, and equality with PyTorch where claimed."""

import keras
import numpy as np
import pytest

from kgen import optimizers
from kgen.losses import SparseCategoricalCrossentropy

RNG = np.random.default_rng(0)
W0 = RNG.normal(size=(4, 3)).astype("float32")
GRADS = [RNG.normal(size=(4, 3)).astype("float32") for _ in range(5)]


def run(optimizer, grads=GRADS):
    variable = keras.Variable(W0.copy())
    for grad in grads:
        optimizer.apply([keras.ops.convert_to_tensor(grad)], [variable])
    return keras.ops.convert_to_numpy(variable)


def test_l2_regularizer_adds_two_lambda_w_to_the_gradient():
    # With zero inputs the data loss does not depend on the kernel, so one SGD step
    # moves the kernel by -lr * d(lambda * ||W||^2)/dW = -lr * 2 * lambda * W.
    l2, lr = 0.05, 0.1
    inputs = keras.Input((4,))
    dense = keras.layers.Dense(3, use_bias=False, kernel_regularizer=keras.regularizers.L2(l2))
    model = keras.Model(inputs, dense(inputs))
    dense.kernel.assign(W0)
    model.compile(keras.optimizers.SGD(lr), SparseCategoricalCrossentropy())
    model.fit(np.zeros((8, 4), "float32"), np.zeros(8), batch_size=8, epochs=1, verbose=0)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(dense.kernel), W0 - lr * 2 * l2 * W0,
                               rtol=1e-5)


def test_coupled_decay_is_adam_on_gradient_plus_lambda_w():
    decay = 0.1
    coupled = optimizers.create("adam_coupled_decay", 0.01, weight_decay=decay)
    got = run(coupled)
    # The same thing by hand: plain Adam fed grad + decay * W at each step.
    reference = keras.optimizers.Adam(0.01)
    variable = keras.Variable(W0.copy())
    for grad in GRADS:
        w = keras.ops.convert_to_numpy(variable)
        reference.apply([keras.ops.convert_to_tensor(grad + decay * w)], [variable])
    np.testing.assert_allclose(got, keras.ops.convert_to_numpy(variable), rtol=1e-5, atol=1e-6)
    assert not np.allclose(got, run(keras.optimizers.Adam(0.01)), atol=1e-4)


def test_adamw_decay_is_decoupled_from_the_adam_step():
    decay, lr = 0.1, 0.01
    adamw = run(optimizers.create("adamw", lr, weight_decay=decay), GRADS[:1])
    adam = run(keras.optimizers.Adam(lr), GRADS[:1])
    # One step: W - lr * decay * W, then the Adam step (which ignores the decay).
    np.testing.assert_allclose(adamw, adam - lr * decay * W0, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name, torch_name", [("adam_coupled_decay", "Adam"), ("adamw", "AdamW")])
def test_equals_pytorch(name, torch_name):
    torch = pytest.importorskip("torch")
    parameter = torch.nn.Parameter(torch.tensor(W0.copy()))
    torch_optimizer = getattr(torch.optim, torch_name)([parameter], lr=0.01, weight_decay=0.1,
                                                       eps=1e-7)
    for grad in GRADS:
        parameter.grad = torch.tensor(grad)
        torch_optimizer.step()
    got = run(optimizers.create(name, 0.01, weight_decay=0.1, epsilon=1e-7))
    np.testing.assert_allclose(got, parameter.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_optimizer_bad_input():
    with pytest.raises(ValueError, match="optimizer"):
        optimizers.create("adamm", 0.1)
    with pytest.raises(ValueError, match="weight_decay"):
        optimizers.create("adam", 0.1, weight_decay=0.01)
    with pytest.raises(ValueError, match="weight_decay"):
        optimizers.create("adamw", 0.1, weight_decay=-1.0)


def test_label_smoothing_loss():
    logits = keras.ops.convert_to_tensor(RNG.normal(size=(6, 5)).astype("float32"))
    labels = np.array([0, 1, 2, 3, 4, 0])
    smooth = SparseCategoricalCrossentropy(label_smoothing=0.2)(labels, logits)
    one_hot = keras.ops.one_hot(labels, 5)
    expected = keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.2)(one_hot, logits)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(smooth), keras.ops.convert_to_numpy(expected),
                               rtol=1e-6)


@pytest.mark.parametrize("steps", [1, 3])
def test_ladder_4_trains_like_the_courses_torch_adam(steps):
    # The course: torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=5e-4), default
    # eps. Here ladder-4's TrainConfig goes through kgen's own compile path, and a small
    # softmax classifier takes the same full-batch steps in both frameworks from the same
    # weights. Gradients of realistic size (~1e-2) make the epsilon placement visible.
    torch = pytest.importorskip("torch")
    import kgen.models
    from kgen.training import compile_model

    preset = kgen.models.get("ladder-4")
    assert preset.model.l2 == 0.0, "the decay would be applied twice"
    rng = np.random.default_rng(1)
    images = rng.normal(size=(16, 6)).astype("float32")
    labels = rng.integers(0, 3, 16)
    kernel = rng.normal(scale=0.3, size=(6, 3)).astype("float32")
    bias = rng.normal(scale=0.1, size=(3,)).astype("float32")

    inputs = keras.Input((6,))
    dense = keras.layers.Dense(3)
    model = keras.Model(inputs, dense(inputs))
    dense.kernel.assign(kernel)
    dense.bias.assign(bias)
    compile_model(model, preset.train, steps_per_epoch=1)
    model.fit(images, labels, batch_size=16, epochs=steps, shuffle=False, verbose=0)

    linear = torch.nn.Linear(6, 3)
    with torch.no_grad():
        linear.weight.copy_(torch.tensor(kernel.T))
        linear.bias.copy_(torch.tensor(bias))
    adam = torch.optim.Adam(linear.parameters(), lr=1e-3, weight_decay=5e-4)
    for _ in range(steps):
        adam.zero_grad()
        torch.nn.functional.cross_entropy(linear(torch.tensor(images)), torch.tensor(labels)).backward()
        adam.step()

    moved = keras.ops.convert_to_numpy(dense.kernel) - kernel
    np.testing.assert_allclose(moved, linear.weight.detach().numpy().T - kernel, rtol=1e-4,
                               atol=1e-8)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(dense.bias) - bias,
                               linear.bias.detach().numpy() - bias, rtol=1e-4, atol=1e-8)


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_momentum_equals_pytorch_classical_and_nesterov(nesterov):
    # The course's SGD(learning_rate=0.1, momentum=0.9) is classical momentum, which
    # is PyTorch's default; kgen's TrainConfig defaults to Nesterov's.
    torch = pytest.importorskip("torch")
    parameter = torch.nn.Parameter(torch.tensor(W0.copy()))
    torch_optimizer = torch.optim.SGD([parameter], lr=0.1, momentum=0.9, nesterov=nesterov)
    for grad in GRADS:
        parameter.grad = torch.tensor(grad)
        torch_optimizer.step()
    got = run(optimizers.create("sgd", 0.1, momentum=0.9, nesterov=nesterov))
    np.testing.assert_allclose(got, parameter.detach().numpy(), rtol=1e-5, atol=1e-6)
    other = run(optimizers.create("sgd", 0.1, momentum=0.9, nesterov=not nesterov))
    assert not np.allclose(got, other, atol=1e-3)


def test_train_config_nesterov_reaches_the_optimizer():
    from kgen.models import TrainConfig
    from kgen.training import compile_model

    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(3)(inputs))
    for nesterov in (False, True):
        compile_model(model, TrainConfig(optimizer="sgd", nesterov=nesterov), steps_per_epoch=1,
                      epochs=1)
        assert model.optimizer.nesterov is nesterov
    with pytest.raises(TypeError, match="Received: nesterov='no'"):
        TrainConfig(nesterov="no")
