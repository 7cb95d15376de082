"""Backend-specific fast paths: the one place where kgen's layers call torch or jax directly.

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
  element plus a scatter; `window_max_pool` has the same forward and a cheap,
  written-out gradient. Its YNNPACK convolution fusions run the weight-gradient
  convolutions of small CNNs several times slower than its default (Eigen)
  convolutions: `kgen.backend.configure_xla_cpu()` turns them off (the entry
  points call it before JAX starts). And it compiles channel
  sums over a long axis (batch norm's statistics and their gradients) into
  reduce-windows that cannot fuse their producer: `jax_batch_norm` does all
  four with `channel_sum`. From 466-517 images/s with Keras' layers to 906-970
  (the machine drifts by 10-20%; the A/B figures are in docs/performance.md).
- **TensorFlow** needs none: its oneDNN kernels are already the fastest here,
  and a reshape max pool was slower on it (1,147 vs 808 images/s).

Each function returns the layer's output as Keras computes it, up to the order
of float sums (and the max pool's gradient at ties, see `window_max_pool`);
`tests/test_fast_layers.py` pins every path against Keras' own layer on every
backend. The JAX paths define their gradients with `jax.custom_vjp`, so they
support reverse-mode autodiff (what training uses) but not `jax.jvp`.
"""

import functools
import math

import keras
from keras import ops


def on_torch(x):
    """Whether `x` is a real (not symbolic) tensor of Keras' PyTorch backend."""
    return keras.backend.backend() == "torch" and not x.is_meta


def window_max_pool(x, pool_size):
    """Non-overlapping channels-last max pool from strided slices, for JAX.

    Same forward as `MaxPooling2D(pool_size)` with `padding="valid"` (trailing
    rows and columns that do not fill a window are dropped, as there): the
    elementwise maximum of the window's `pool_height * pool_width` strided
    slices, which XLA:CPU fuses with the batch norm and ReLU before it. Its
    gradient is written out too (autodiff would scatter into each slice): the
    output gradient goes to the window's maxima, split evenly where several tie.
    Keras' gives all of it to one of the tied; in a kgen CNN ties are the zeros
    of a ReLU, whose gradient is zero either way.
    """
    if isinstance(pool_size, int):
        pool_size = (pool_size, pool_size)
    return _window_max_pool_with_gradient()(x, tuple(pool_size))


def _window_slices(x, pool_size):
    pool_height, pool_width = pool_size
    out_height, out_width = x.shape[1] // pool_height, x.shape[2] // pool_width
    return [x[:, row: out_height * pool_height: pool_height, col: out_width * pool_width: pool_width]
            for row in range(pool_height) for col in range(pool_width)]


@functools.cache
def _window_max_pool_with_gradient():
    import jax

    @functools.partial(jax.custom_vjp, nondiff_argnums=(1,))
    def max_pool(x, pool_size):
        return functools.reduce(ops.maximum, _window_slices(x, pool_size))

    def forward(x, pool_size):
        outputs = max_pool(x, pool_size)
        return outputs, (x, outputs)

    def backward(pool_size, residuals, d_outputs):
        x, outputs = residuals
        pool_height, pool_width = pool_size
        batch, out_height, out_width, channels = outputs.shape
        # Ties counted on the slices (elementwise): a sum over the reshaped
        # windows below would be the strided reduce this path avoids.
        ties = sum(ops.cast(ops.equal(window, outputs), outputs.dtype)
                   for window in _window_slices(x, pool_size))
        share = (d_outputs / ties)[:, :, None, :, None, :]
        cropped = x[:, : out_height * pool_height, : out_width * pool_width]
        windows = ops.reshape(cropped, (batch, out_height, pool_height, out_width, pool_width,
                                        channels))
        is_max = ops.equal(windows, outputs[:, :, None, :, None, :])
        d_cropped = ops.reshape(ops.where(is_max, share, 0.0), cropped.shape)
        # Rows and columns the windows did not cover get no gradient.
        d_x = ops.pad(d_cropped, [(0, 0), (0, x.shape[1] - cropped.shape[1]),
                                  (0, x.shape[2] - cropped.shape[2]), (0, 0)])
        return (d_x,)

    max_pool.defvjp(forward, backward)
    return max_pool


def channel_sum(x):
    """Sum over every axis but the last (channels), in stages XLA:CPU compiles well.

    XLA:CPU turns a sum over a long axis into a tree of reduce-windows, which
    read the batch with a stride and cannot fuse the sum's producer (such as
    `dy * x_hat`), so the product is first written out in full. A sum over
    groups of 32 rows is short enough to escape that rewrite and fuses its
    producer; the 32x smaller partial sums are then summed as rows of about
    256 values. A channel sum of `x * y` over a (256, 32, 32, 32) batch:
    10.3 -> 3.2 ms on 2 CPU cores.
    """
    channels = x.shape[-1]
    rows = math.prod(x.shape[:-1])
    group = math.gcd(rows, 32)
    partial = ops.sum(ops.reshape(x, (-1, group, channels)), axis=1)
    width = math.gcd(rows // group, max(1, 256 // channels))
    partial = ops.sum(ops.reshape(partial, (-1, width * channels)), axis=0)
    return ops.sum(ops.reshape(partial, (width, channels)), axis=0)


def jax_batch_norm(x, gamma, beta, epsilon):
    """Training-mode batch normalization over the last axis, with its gradient
    written out, so that all four of its channel sums (two forward, two
    backward) are `channel_sum`s; autodiff of Keras' ops leaves the backward
    ones to XLA:CPU's slow reduce-windows.

    Returns the output, computed as Keras' `batch_normalization` computes it,
    and the batch's mean and biased variance, as Keras' `moments` (the mean,
    then the mean squared deviation). `gamma` and `beta` may be `None`.
    """
    channels = x.shape[-1]
    gamma = ops.ones((channels,), x.dtype) if gamma is None else gamma
    beta = ops.zeros((channels,), x.dtype) if beta is None else beta
    return _jax_batch_norm_with_gradient()(x, gamma, beta, epsilon)


@functools.cache
def _jax_batch_norm_with_gradient():
    import jax

    def statistics(x, epsilon):
        rows = math.prod(x.shape[:-1])
        mean = channel_sum(x) / rows
        variance = channel_sum(ops.square(x - mean)) / rows
        return mean, variance, ops.rsqrt(variance + epsilon)

    @functools.partial(jax.custom_vjp, nondiff_argnums=(3,))
    def batch_norm(x, gamma, beta, epsilon):
        return forward(x, gamma, beta, epsilon)[0]

    def forward(x, gamma, beta, epsilon):
        mean, variance, inverse_std = statistics(x, epsilon)
        scale = inverse_std * gamma
        outputs = x * scale + (beta - mean * scale)  # Keras' arithmetic.
        # Keep x, not x_hat: recomputing x_hat inside the backward fusions
        # measured a little faster (2 alternated pairs) than storing it.
        return (outputs, mean, variance), (x, mean, inverse_std, gamma)

    def backward(epsilon, residuals, cotangents):
        x, mean, inverse_std, gamma = residuals
        d_outputs, d_mean, d_variance = cotangents
        rows = math.prod(x.shape[:-1])
        x_hat = (x - mean) * inverse_std
        d_beta = channel_sum(d_outputs)
        d_gamma = channel_sum(d_outputs * x_hat)
        d_x = (gamma * inverse_std / rows) * (rows * d_outputs - d_beta - x_hat * d_gamma)
        # The mean and variance are outputs too (the moving averages use them).
        d_x = d_x + d_mean / rows + d_variance * (2.0 / rows) * (x - mean)
        return d_x, d_gamma, d_beta

    batch_norm.defvjp(forward, backward)
    return batch_norm


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
