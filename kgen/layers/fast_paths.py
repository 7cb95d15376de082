"""Backend-specific fast paths: the one module in kgen that calls torch directly.

Keras' generic ops are correct on every backend, but for three layers of every
kgen CNN they cost far more than they need to on the CPU (measured on 2 cores;
no GPU was available to measure there) (docs/performance.md,
"Backend fast paths", has the profiles and the figures):

- **PyTorch.** Keras' PyTorch backend transposes every channels-last activation
  to channels-first and copies it before each convolution and max pool, and back
  after; BatchNormalization is built from a dozen elementary ops. Here the
  channels-last batch is handed to PyTorch as a permuted *view*, which PyTorch
  treats as its own channels-last memory format (no copy), and BatchNormalization
  is PyTorch's fused kernel. ResNet-9 width 16 train step without augmentation:
  620-640 -> 1,180-1,260 images/s on 2 CPU cores.
- **JAX on the CPU.** XLA:CPU lowers the gradient of `reduce_window` max (Keras'
  `MaxPooling2D`) into a reduce-window that carries four int32 index arrays per
  element plus a scatter; a non-overlapping max pool written as a reshape and a
  max has the same forward and a cheap gradient. And its YNNPACK convolution
  fusions run the weight-gradient convolutions of small CNNs several times slower
  than its default (Eigen) convolutions: `configure_xla_cpu()` turns them off.
  Together: 466-517 -> 697-823 images/s. Batch statistics on a 2D view of the
  batch (`channel_moments`) add about 10%.
- **TensorFlow** needs none: its oneDNN kernels are already the fastest here,
  and the reshape max pool was slower on it (1,147 vs 808 images/s).

Each function returns the layer's output exactly as Keras computes it (ties of
the max pool aside, see `reshape_max_pool`); `tests/test_fast_layers.py` pins
every path against Keras' own layer on every backend.
"""

import os

import keras
from keras import ops

# Turns off XLA:CPU's YNNPACK fusions (the flag's empty value overrides the
# built-in list); XLA then uses its default convolution and dot kernels.
XLA_CPU_FLAG = "--xla_cpu_experimental_ynn_fusion_type="


def configure_xla_cpu(environ=os.environ):
    """Add `XLA_CPU_FLAG` to `XLA_FLAGS` when the Keras backend is JAX.

    XLA reads `XLA_FLAGS` when JAX starts its first backend, which in a Keras
    program is the first tensor created, so this runs when `kgen.layers` is
    imported: after that it has no effect on a running JAX. A value the user set
    for the same flag is kept. The flag applies to CPU compilation only.
    Returns whether the flag was added.
    """
    if keras.backend.backend() != "jax":
        return False
    flags = environ.get("XLA_FLAGS", "")
    if XLA_CPU_FLAG.split("=")[0] in flags:
        return False
    environ["XLA_FLAGS"] = f"{flags} {XLA_CPU_FLAG}".strip()
    return True


def on_torch(x):
    """Whether `x` is a real (not symbolic) tensor of Keras' PyTorch backend."""
    return keras.backend.backend() == "torch" and not x.is_meta


def reshape_max_pool(x, pool_size):
    """Non-overlapping channels-last max pool as a reshape and a max.

    Same forward as `MaxPooling2D(pool_size)` with `padding="valid"` (trailing
    rows and columns that do not fill a window are dropped, as there). The
    gradient differs only where a window holds tied maxima: reduce-window's
    gradient goes to one of them, this one's is split among them. In a kgen CNN
    ties are the zeros of a ReLU, whose gradient is zero either way.
    """
    pool_height, pool_width = pool_size
    _, height, width, channels = x.shape
    out_height, out_width = height // pool_height, width // pool_width
    x = x[:, : out_height * pool_height, : out_width * pool_width, :]
    x = ops.reshape(x, (-1, out_height, pool_height, out_width, pool_width, channels))
    return ops.max(x, axis=(2, 4))


def channel_moments(x):
    """Mean and biased variance over every axis but the last, as Keras' `moments`
    on JAX computes them (the mean, then the mean squared deviation), but over
    the batch flattened to `(-1, channels)`: XLA:CPU compiles these reductions
    and their gradients faster than `jnp.var` over axes (0, 1, 2) of the 4D
    batch (ResNet-9 width 16 train step: 640-660 -> 785 images/s)."""
    x = ops.reshape(x, (-1, x.shape[-1]))
    mean = ops.mean(x, axis=0)
    return mean, ops.mean(ops.square(x - mean), axis=0)


# --- PyTorch. Keras stores a channels-last batch as a contiguous NHWC tensor;
# permute(0, 3, 1, 2) gives the NCHW view in PyTorch's channels_last memory
# format, which its CPU kernels (oneDNN convolution, batch norm, max pool) take
# without copying, and permute(0, 2, 3, 1) of their channels_last output is a
# contiguous NHWC tensor again.


def _nchw(x):
    return x.permute(0, 3, 1, 2)


def _nhwc(x):
    return x.permute(0, 2, 3, 1)


def same_padding(size, kernel, stride, dilation):
    """(before, after) padding of `padding="same"` along one axis, as in Keras:
    the total is split with the extra pixel after (TensorFlow's convention)."""
    effective_kernel = (kernel - 1) * dilation + 1
    out_size = -(-size // stride)
    total = max((out_size - 1) * stride + effective_kernel - size, 0)
    return total // 2, total - total // 2


def torch_conv2d(x, kernel, strides, padding, dilation_rate, groups):
    """Keras' channels-last `conv` with an `(kh, kw, in / groups, out)` kernel."""
    import torch.nn.functional as F

    if padding == "same":
        pads = [same_padding(x.shape[axis + 1], kernel.shape[axis], strides[axis],
                             dilation_rate[axis]) for axis in (0, 1)]
        if all(before == after for before, after in pads):
            padding = tuple(before for before, _ in pads)
        else:
            (top, bottom), (left, right) = pads
            x = F.pad(x, (0, 0, left, right, top, bottom))
            padding = 0
    else:
        padding = 0
    outputs = F.conv2d(_nchw(x), kernel.permute(3, 2, 0, 1), stride=strides,
                       padding=padding, dilation=dilation_rate, groups=groups)
    return _nhwc(outputs)


def torch_batch_norm(x, gamma, beta, epsilon, moving_mean=None, moving_variance=None):
    """Batch normalization over the last axis with PyTorch's fused kernel.

    With moving statistics: inference, returns the output. Without: training,
    returns the output and the batch's mean and biased variance (what Keras'
    `moments` gives and its moving averages use; PyTorch's own running
    variance would be the unbiased one).
    """
    import torch

    channels_first = x.movedim(-1, 1)
    if moving_mean is not None:
        outputs = torch.nn.functional.batch_norm(
            channels_first, moving_mean, moving_variance, gamma, beta, False, 0.0, epsilon
        )
        return outputs.movedim(1, -1)
    outputs, mean, inverse_std = torch.native_batch_norm(
        channels_first, gamma, beta, None, None, True, 0.0, epsilon
    )
    # native_batch_norm returns 1 / sqrt(var + eps) for its backward pass.
    variance = inverse_std.detach().pow(-2) - epsilon
    return outputs.movedim(1, -1), mean.detach(), variance


def torch_max_pool(x, pool_size, strides):
    import torch.nn.functional as F

    return _nhwc(F.max_pool2d(_nchw(x), pool_size, strides))
