"""DropConnect (Wan et al. 2013): drop weights, not activations."""

import keras
from keras import ops

from kgen.validation import check_rate, check_seed


@keras.saving.register_keras_serializable(package="kgen")
class DropConnectDense(keras.layers.Dense):
    """A `Dense` layer whose kernel entries are dropped with probability `rate` in training.

    One mask is drawn per training step and shared by the batch (the usual
    practical form; the paper's per-example masks cost a kernel per example).
    Kept weights are scaled by `1 / (1 - rate)`, as Dropout scales kept units,
    so inference uses the plain kernel. The bias is never dropped.
    """

    def __init__(self, units, rate=0.5, seed=None, **kwargs):
        rate = check_rate("rate", rate)
        seed = check_seed("seed", seed)
        super().__init__(units, **kwargs)
        self.rate = rate
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=None):
        kernel = ops.convert_to_tensor(self.kernel)
        if training and self.rate > 0:
            keep = keras.random.uniform(ops.shape(kernel), seed=self.seed_generator) >= self.rate
            kernel = ops.where(keep, kernel / (1.0 - self.rate), ops.zeros_like(kernel))
        outputs = ops.matmul(inputs, ops.cast(kernel, self.compute_dtype))
        if self.use_bias:
            outputs = outputs + ops.cast(self.bias, self.compute_dtype)
        return self.activation(outputs)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}
