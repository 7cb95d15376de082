"""Mean-only batch normalization (Salimans and Kingma 2016, sec. 2.2)."""

import keras
from keras import ops

from kgen.validation import check_number


@keras.saving.register_keras_serializable(package="kgen")
class MeanOnlyBatchNormalization(keras.layers.Layer):
    """Subtracts each channel's batch mean and adds a learned shift: batch
    normalization without the division by the standard deviation.

    Weight normalization's companion in the paper: weight normalization fixes
    the scale of each unit's pre-activation through its kernel, so only the
    mean is left to normalize, and the mean alone adds far less batch noise than
    the full normalization does. In training the batch mean (over every axis
    but the last) is subtracted and a moving average of it is kept; at
    inference the moving average is subtracted. Keras' `BatchNormalization`
    always divides by the standard deviation (its `scale=False` only drops
    gamma), so this is a layer of its own, on `keras.ops`.

    Args:
        momentum: the moving average's weight on its previous value (kgen's
            BatchNorm momentum, PyTorch's 0.1 the other way round).
        center: learn a shift `beta` added after the mean is subtracted.
    """

    def __init__(self, momentum=0.9, center=True, **kwargs):
        super().__init__(**kwargs)
        self.momentum = check_number("momentum", momentum, minimum=0.0, maximum=1.0,
                                     max_inclusive=False)
        if not isinstance(center, bool):
            raise TypeError(f"`center` must be True or False. Received: center={center!r}")
        self.center = center
        self.supports_masking = True

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is None:
            raise ValueError(f"The last axis (channels) must be known. "
                             f"Received: input_shape={input_shape}")
        # autocast=False, as Keras' BatchNorm: under a mixed policy the variables
        # are read in float32, not rounded to the compute dtype at every update.
        self.beta = self.add_weight(name="beta", shape=(channels,), initializer="zeros",
                                    trainable=True, autocast=False) if self.center else None
        self.moving_mean = self.add_weight(name="moving_mean", shape=(channels,),
                                           initializer="zeros", trainable=False, autocast=False)

    def call(self, inputs, training=False):
        # Statistics in float32 under a mixed-precision policy, as Keras' BatchNorm.
        values = ops.cast(inputs, "float32")
        moving_mean = self.moving_mean
        if training:
            mean = ops.mean(values, axis=tuple(range(len(inputs.shape) - 1)))
            self.moving_mean.assign(self.momentum * moving_mean + (1.0 - self.momentum) * mean)
        else:
            mean = moving_mean
        outputs = values - mean
        if self.center:
            outputs = outputs + self.beta
        return ops.cast(outputs, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "center": self.center}
