"""Mixed precision for kgen models, the same way on TensorFlow, JAX and PyTorch.

    with kgen.precision.policy("mixed_bfloat16"):
        model = kgen.models.create("resnet9")
    kgen.training.fit(model, dataset, train_config)

A Keras dtype policy is read when a layer is created, so the model must be built
inside `policy(...)` (or after `set_precision(...)`); compiling and training can
happen anywhere. Under a mixed policy layers compute in 16 bits and keep float32
weights; kgen's classifier (and logit scale) are float32 whatever the policy, so
the loss is computed on float32 logits. Under `"mixed_float16"`, Keras' `compile`
wraps the optimizer in a `keras.optimizers.LossScaleOptimizer` (dynamic loss
scaling: float16 gradients underflow without it); `loss_scale_optimizer` does the
same explicitly for custom loops. bfloat16 has float32's exponent range and
needs no loss scaling.
"""

import contextlib

from kgen.validation import check_choice

PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")


def check_precision(precision):
    return check_choice("precision", precision, PRECISIONS)


def set_precision(precision):
    """Sets Keras' global dtype policy to `precision`; returns the previous policy name."""
    import keras

    check_precision(precision)
    previous = keras.config.dtype_policy().name
    keras.config.set_dtype_policy(precision)
    return previous


@contextlib.contextmanager
def policy(precision):
    """Builds layers under `precision` inside the block, restoring the previous
    global policy on exit (also when the block raises)."""
    previous = set_precision(precision)
    try:
        yield
    finally:
        import keras

        keras.config.set_dtype_policy(previous)


def model_precision(model):
    """The policy name the model's layers were built with (`"float32"`, ...)."""
    return model.dtype_policy.name


def loss_scale_optimizer(optimizer, precision):
    """`optimizer` wrapped in a `LossScaleOptimizer` for `"mixed_float16"`,
    unchanged for the other precisions (or if it is already wrapped)."""
    import keras

    check_precision(precision)
    if precision != "mixed_float16" or isinstance(
        optimizer, keras.optimizers.LossScaleOptimizer
    ):
        return optimizer
    return keras.optimizers.LossScaleOptimizer(optimizer)
