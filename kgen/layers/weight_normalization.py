"""Weight normalization (Salimans and Kingma 2016) for Conv2D and Dense."""

import keras
from keras import ops

from kgen.layers.base import every_layer
from kgen.validation import check_float32


@keras.saving.register_keras_serializable(package="kgen")
class WeightNormalization(keras.layers.Wrapper):
    """Reparametrize a layer's kernel as `w = g * v / ||v||`, one `g` per output unit.

    `v` is the wrapped layer's own kernel; `g` starts at `||v||` so the wrapped
    layer computes exactly what it did before wrapping. Keras 3 has no such
    wrapper (TensorFlow Addons', which had one, is discontinued).

    The norm is taken over all kernel axes but the last (the output units), as
    in the paper. The data-dependent initialization of the paper is
    `kgen.layers.initialize_weight_normalization(model, images)`: it needs a
    forward pass with real data, which is done once, eagerly, before training.

    Args:
        layer: a `keras.layers.Conv2D` or `keras.layers.Dense`.
        epsilon: added to the norm to avoid division by zero.
    """

    def __init__(self, layer, epsilon=1e-6, **kwargs):
        if not isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense)):
            raise TypeError(
                "WeightNormalization wraps keras.layers.Conv2D or keras.layers.Dense. "
                f"Received: layer={layer!r}"
            )
        epsilon = check_float32("epsilon", epsilon, minimum=0.0, min_inclusive=False)
        super().__init__(layer, **kwargs)
        self.epsilon = epsilon

    def build(self, input_shape):
        if not self.layer.built:
            self.layer.build(input_shape)
        kernel = self.layer.kernel
        self.reduction_axes = tuple(range(len(kernel.shape) - 1))
        initial_norm = ops.sqrt(ops.sum(ops.square(kernel), axis=self.reduction_axes))
        self.g = self.add_weight(
            name="g",
            shape=(kernel.shape[-1],),
            initializer=keras.initializers.Constant(ops.convert_to_numpy(initial_norm)),
            trainable=True,
        )
        self.built = True

    def normalized_kernel(self):
        kernel = self.layer.kernel
        norm = ops.sqrt(ops.sum(ops.square(kernel), axis=self.reduction_axes) + self.epsilon)
        return kernel * (ops.cast(self.g, kernel.dtype) / norm)

    def pre_activation(self, inputs):
        """The wrapped layer's output before its activation."""
        layer = self.layer
        kernel = ops.cast(self.normalized_kernel(), self.compute_dtype)
        inputs = ops.cast(inputs, self.compute_dtype)
        if isinstance(layer, keras.layers.Conv2D):
            outputs = ops.conv(
                inputs,
                kernel,
                strides=layer.strides,
                padding=layer.padding,
                data_format=layer.data_format,
                dilation_rate=layer.dilation_rate,
            )
        else:
            outputs = ops.matmul(inputs, kernel)
        if layer.use_bias:
            outputs = outputs + ops.cast(layer.bias, self.compute_dtype)
        return outputs

    def call(self, inputs):
        return self.layer.activation(self.pre_activation(inputs))

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        # Keras' Wrapper.from_config pops "layer" from the dict it is given: a
        # caller's config (one reused for a second copy) must stay whole.
        return super().from_config(dict(config), custom_objects=custom_objects)


def initialize_weight_normalization(model, images, epsilon=1e-6):
    """Data-dependent init of every `WeightNormalization` layer in a functional model.

    Following Salimans and Kingma (sec. 3), each wrapped layer, in order, gets
    `g = 1 / std(t)` and `bias = -mean(t) / std(t)` where `t = v.x / ||v||` is its
    pre-activation output on `images` with `g = 1`, so that every unit starts
    with zero mean and unit variance on that batch.

    The forward passes run in inference mode, where a
    `MeanOnlyBatchNormalization` subtracts its moving mean: each one met on the
    way, in order, gets the mean of its input on `images` as its moving mean
    first, so the layers after it are initialized on centered features, as
    training will give them.
    """
    from kgen.layers.mean_only_batch_normalization import MeanOnlyBatchNormalization

    epsilon = check_float32("epsilon", epsilon, minimum=0.0, min_inclusive=False)
    initialized = [layer for layer in every_layer(model)
                   if isinstance(layer, (WeightNormalization, MeanOnlyBatchNormalization))]
    for layer in initialized:
        feature_model = keras.Model(model.inputs, layer.input)
        features = feature_model(images, training=False)
        if isinstance(layer, MeanOnlyBatchNormalization):
            values = ops.convert_to_numpy(ops.cast(features, "float32"))
            layer.moving_mean.assign(values.mean(axis=tuple(range(values.ndim - 1))))
            continue
        layer.g.assign(ops.ones(layer.g.shape))
        t = ops.convert_to_numpy(layer.pre_activation(features))
        if layer.layer.use_bias:
            t = t - ops.convert_to_numpy(layer.layer.bias)
        axes = tuple(range(t.ndim - 1))
        mean, std = t.mean(axis=axes), t.std(axis=axes) + epsilon
        layer.g.assign(1.0 / std)
        if layer.layer.use_bias:
            layer.layer.bias.assign(-mean / std)
