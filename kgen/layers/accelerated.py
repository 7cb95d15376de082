"""Keras' Conv2D, BatchNormalization and MaxPooling2D, faster where a backend allows.

Each class takes the same arguments, holds the same weights (a `.weights.h5`
file loads into either) and returns the same outputs as the Keras layer it
subclasses; where `kgen.layers.fast_paths` has a faster kernel for the current
backend and arguments, `call` uses it, and otherwise it is Keras' own `call`.
`tests/test_fast_layers.py` compares each with its Keras parent, outputs and
gradients, on every backend. The builder of every kgen model uses them.
"""

import keras
from keras import ops

from kgen.layers import fast_paths


@keras.saving.register_keras_serializable(package="kgen")
class Conv2D(keras.layers.Conv2D):
    """`keras.layers.Conv2D`; channels-last PyTorch convolution without layout copies."""

    def call(self, inputs):
        if self.data_format != "channels_last" or not fast_paths.on_torch(inputs):
            return super().call(inputs)
        outputs = fast_paths.torch_conv2d(
            inputs, ops.convert_to_tensor(self.kernel), self.strides, self.padding,
            self.dilation_rate, self.groups,
        )
        if self.use_bias:
            outputs = outputs + ops.convert_to_tensor(self.bias)
        if self.activation is not None:
            return self.activation(outputs)
        return outputs


@keras.saving.register_keras_serializable(package="kgen")
class BatchNormalization(keras.layers.BatchNormalization):
    """`keras.layers.BatchNormalization`; PyTorch's fused kernel on PyTorch, and on
    JAX, when training, `fast_paths.jax_batch_norm` (faster channel sums)."""

    def call(self, inputs, training=None, mask=None):
        channels_last = self.axis in (-1, len(inputs.shape) - 1)
        on_torch = fast_paths.on_torch(inputs)
        if (mask is not None or self.renorm or self.synchronized or not channels_last
                or not (on_torch or keras.backend.backend() == "jax")):
            return super().call(inputs, training=training, mask=mask)
        # As Keras: statistics in at least float32 (16-bit inputs would overflow).
        dtype = keras.backend.result_type(inputs.dtype, "float32")
        inputs = ops.cast(inputs, dtype)
        gamma = ops.cast(self.gamma, dtype) if self.scale else None
        beta = ops.cast(self.beta, dtype) if self.center else None
        mean = ops.cast(self.moving_mean, dtype)
        variance = ops.cast(self.moving_variance, dtype)
        # As Keras: batch statistics (and a moving-average update) only when training.
        use_batch_statistics = training and self.trainable
        if on_torch and use_batch_statistics:
            outputs, batch_mean, batch_variance = fast_paths.torch_batch_norm(
                inputs, gamma, beta, self.epsilon
            )
        elif on_torch:
            outputs = fast_paths.torch_batch_norm(inputs, gamma, beta, self.epsilon, mean, variance)
        elif use_batch_statistics:
            outputs, batch_mean, batch_variance = fast_paths.jax_batch_norm(
                inputs, gamma, beta, self.epsilon
            )
        else:
            outputs = ops.batch_normalization(inputs, mean, variance, axis=-1,
                                              offset=beta, scale=gamma, epsilon=self.epsilon)
        if use_batch_statistics:
            self.moving_mean.assign(mean * self.momentum + batch_mean * (1.0 - self.momentum))
            self.moving_variance.assign(
                variance * self.momentum + batch_variance * (1.0 - self.momentum)
            )
        return ops.cast(outputs, self.compute_dtype)


@keras.saving.register_keras_serializable(package="kgen")
class MaxPooling2D(keras.layers.MaxPooling2D):
    """`keras.layers.MaxPooling2D`; PyTorch's channels-last pool on PyTorch, and a
    max of strided slices on JAX for non-overlapping windows (see `fast_paths`)."""

    def call(self, inputs):
        if self.data_format != "channels_last" or self.padding != "valid":
            return super().call(inputs)
        if fast_paths.on_torch(inputs):
            return fast_paths.torch_max_pool(inputs, self.pool_size, self.strides)
        if keras.backend.backend() == "jax" and tuple(self.strides) == tuple(self.pool_size):
            return fast_paths.window_max_pool(inputs, self.pool_size)
        return super().call(inputs)
