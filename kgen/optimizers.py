"""Optimizers by name, and the three ways to penalize large weights.

Three things are all called "weight decay" in the course and its sources; they
are different, and kgen names each:

- An L2 `kernel_regularizer` (`ModelConfig.l2 = lambda`) adds `lambda * ||W||^2`
  to the loss, so it adds `2 * lambda * W` to the gradient of each kernel, and
  Adam then rescales that term like any other gradient.
- `adam_coupled_decay` is PyTorch's `torch.optim.Adam(weight_decay=lambda)`, the
  course's optimizer: `lambda * W` is added to the gradient of every parameter
  before Adam's moments (so `l2 = lambda / 2` on kernels only is the same thing
  for those kernels).
- `adamw` is decoupled weight decay (Loshchilov and Hutter 2019, `torch.optim.AdamW`,
  `keras.optimizers.AdamW`): `W <- W - lr * lambda * W` besides the Adam step,
  untouched by Adam's scaling.
"""

import keras
from keras import ops

from kgen.config import OPTIMIZERS
from kgen.validation import check_bool, check_choice, check_float32, check_number, received

NAMES = OPTIMIZERS  # the names TrainConfig accepts, each made by `create`


@keras.saving.register_keras_serializable(package="kgen")
class AdamCoupledDecay(keras.optimizers.Adam):
    """PyTorch's `torch.optim.Adam`, weight decay included: `grad <- grad + decay * W`
    for every trainable variable before the moment estimates.

    Keras' own `weight_decay` argument is decoupled (AdamW's), which is why this is
    a class. Its step is also written out: Keras adds `epsilon` to `sqrt(v)` before
    bias correction, PyTorch after it, and the two differ by `sqrt(1 - beta_2**t)`
    (a factor of 30 on the first step), so the course's default `eps=1e-8` is
    only PyTorch's when it is placed PyTorch's way.
    """

    def __init__(self, learning_rate=0.001, coupled_weight_decay=0.0, epsilon=1e-8, **kwargs):
        if kwargs.get("amsgrad"):
            raise ValueError("`adam_coupled_decay` has no amsgrad variant. Received: amsgrad=True")
        check_learning_rate(learning_rate)
        epsilon = check_float32("epsilon", epsilon, minimum=0.0, min_inclusive=False)
        coupled_weight_decay = check_float32(
            "coupled_weight_decay", coupled_weight_decay, minimum=0.0
        )
        super().__init__(learning_rate=learning_rate, epsilon=epsilon, **kwargs)
        self.coupled_weight_decay = coupled_weight_decay

    def apply(self, grads, trainable_variables=None):
        variables = self._trainable_variables if trainable_variables is None else trainable_variables
        if self.coupled_weight_decay:
            grads = [
                None if grad is None
                else grad + ops.cast(self.coupled_weight_decay, grad.dtype) * ops.cast(var, grad.dtype)
                for grad, var in zip(grads, variables)
            ]
        return super().apply(grads, trainable_variables)

    def update_step(self, gradient, variable, learning_rate):
        # Adam's moments, read as Keras' own optimizers read theirs (private
        # attributes, read and never overridden); the PyTorch comparison in
        # tests/test_optimizers.py fails if a Keras release changes them.
        dtype = variable.dtype
        gradient = ops.cast(gradient, dtype)
        step = ops.cast(self.iterations + 1, dtype)
        first_correction = 1 - ops.power(ops.cast(self.beta_1, dtype), step)
        second_correction = 1 - ops.power(ops.cast(self.beta_2, dtype), step)
        m = self._momentums[self._get_variable_index(variable)]
        v = self._velocities[self._get_variable_index(variable)]
        self.assign_add(m, (gradient - m) * (1 - self.beta_1))
        self.assign_add(v, (ops.square(gradient) - v) * (1 - self.beta_2))
        denominator = ops.sqrt(v) / ops.sqrt(second_correction) + self.epsilon
        step_size = ops.cast(learning_rate, dtype) / first_correction
        self.assign_sub(variable, step_size * m / denominator)

    def get_config(self):
        return {**super().get_config(), "coupled_weight_decay": self.coupled_weight_decay}


def create(name, learning_rate, weight_decay=0.0, momentum=0.9, nesterov=True, **kwargs):
    """A Keras optimizer by kgen name: adam, adam_coupled_decay, adamw or sgd.

    `weight_decay` means what the name says it means (see the module docstring);
    plain `adam` takes none (use `ModelConfig.l2` or one of the others). SGD's
    momentum is Nesterov's unless `nesterov=False` (classical momentum, the
    course's `SGD(learning_rate=0.1, momentum=0.9)` and PyTorch's default).
    """
    check_choice("optimizer", name, NAMES)
    check_learning_rate(learning_rate)
    check_float32("weight_decay", weight_decay, minimum=0.0)
    check_number("momentum", momentum, minimum=0.0, maximum=1.0, max_inclusive=False)
    check_bool("nesterov", nesterov)
    if name == "adam":
        if weight_decay:
            raise ValueError(
                "`adam` takes no weight decay: use `adam_coupled_decay` (PyTorch's Adam), "
                f"`adamw` (decoupled) or an L2 regularizer. Received: weight_decay={weight_decay}"
            )
        return keras.optimizers.Adam(learning_rate, **kwargs)
    if name == "adam_coupled_decay":
        return AdamCoupledDecay(learning_rate, coupled_weight_decay=weight_decay, **kwargs)
    if name == "adamw":
        return keras.optimizers.AdamW(learning_rate, weight_decay=weight_decay, **kwargs)
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate, momentum=momentum, nesterov=nesterov and momentum > 0,
                                    weight_decay=weight_decay or None, **kwargs)
    raise ValueError(f"No optimizer is made for this name. {received('name', name)}")


def check_learning_rate(learning_rate):
    """A positive number finite in float32, or a Keras schedule or callable (which
    Keras accepts too; kgen's schedules check their numbers where they are made)."""
    if callable(learning_rate):
        return learning_rate
    return check_float32("learning_rate", learning_rate, minimum=0.0, min_inclusive=False)
