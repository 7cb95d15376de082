"""The course's NumPy Dropout and BatchNorm, as reference code.

The normalization-and-overfitting lesson writes both layers by hand in NumPy:
Dropout as a class with a random mask, BatchNorm as forward formulas and a
backward pass derived step by step through the chain rule. They are kept here,
in the course's form, so a reader can set them beside what kgen trains with
(Keras' `Dropout` and kgen's `BatchNormalization`, whose backend fast paths
write their own gradients): `tests/test_numpy_reference.py` feeds both the same
inputs and checks values and gradients, the intermediate dL/d(sigma^2) and
dL/d(mu) included. docs/tricks/numpy-reference.md walks through the formulas.

Not used for training: NumPy has no autodiff and no accelerator.
"""

import numpy as np

from kgen.validation import check_number


class Dropout:
    """Inverted dropout: at training time each unit is kept with probability
    `keep` and scaled by `1 / keep`, so the expected output equals the input
    and inference needs no rescaling (Srivastava et al. 2014, as implemented
    by every framework). Keras' `Dropout(rate)` is `Dropout(keep=1 - rate)`.
    """

    def __init__(self, keep=0.5):
        self.keep = check_number("keep", keep, minimum=0.0, maximum=1.0, min_inclusive=False)
        self.mask = None

    def forward(self, x, training=True, rng=None, mask=None):
        """`x * mask` in training (a new random mask unless `mask` is given:
        `(uniform < keep) / keep`), `x` at inference."""
        if not training:
            return x
        if mask is None:
            rng = np.random.default_rng() if rng is None else rng
            mask = (rng.random(x.shape) < self.keep) / self.keep
        self.mask = mask
        return x * mask

    def backward(self, upstream):
        """dL/dx: the upstream gradient through the same mask."""
        return upstream * self.mask


def batch_norm_forward(x, gamma, beta, epsilon=1e-5):
    """Training-mode batch normalization of `x` over every axis but the last
    (the batch, and height and width for images: one mean and variance per
    channel). Returns `(y, cache)`, the cache holding what backward needs.

        mu = mean(x)                      over the batch
        sigma2 = mean((x - mu)**2)        the biased variance, as in training
        x_hat = (x - mu) / sqrt(sigma2 + epsilon)
        y = gamma * x_hat + beta
    """
    axes = tuple(range(x.ndim - 1))
    mu = x.mean(axis=axes)
    sigma2 = ((x - mu) ** 2).mean(axis=axes)
    x_hat = (x - mu) / np.sqrt(sigma2 + epsilon)
    y = gamma * x_hat + beta
    return y, (x, x_hat, mu, sigma2, gamma, epsilon)


def batch_norm_backward(upstream, cache):
    """The backward pass through `batch_norm_forward`, step by step.

    With m values per channel and dy = `upstream`:

        dL/dx_hat   = dy * gamma
        dL/dsigma2  = sum(dL/dx_hat * (x - mu)) * -1/2 * (sigma2 + epsilon)**(-3/2)
        dL/dmu      = sum(dL/dx_hat * -1 / sqrt(sigma2 + epsilon))
                      + dL/dsigma2 * sum(-2 * (x - mu)) / m
        dL/dx       = dL/dx_hat / sqrt(sigma2 + epsilon)
                      + dL/dsigma2 * 2 * (x - mu) / m + dL/dmu / m
        dL/dgamma   = sum(dy * x_hat)
        dL/dbeta    = sum(dy)

    Returns a dict of all of them: "x", "gamma", "beta", and the intermediate
    "x_hat", "sigma2" and "mu".
    """
    x, x_hat, mu, sigma2, gamma, epsilon = cache
    axes = tuple(range(x.ndim - 1))
    m = x.size // x.shape[-1]
    d_x_hat = upstream * gamma
    d_sigma2 = np.sum(d_x_hat * (x - mu), axis=axes) * -0.5 * (sigma2 + epsilon) ** -1.5
    d_mu = (np.sum(d_x_hat * -1.0 / np.sqrt(sigma2 + epsilon), axis=axes)
            + d_sigma2 * np.sum(-2.0 * (x - mu), axis=axes) / m)
    d_x = d_x_hat / np.sqrt(sigma2 + epsilon) + d_sigma2 * 2.0 * (x - mu) / m + d_mu / m
    return {
        "x": d_x,
        "gamma": np.sum(upstream * x_hat, axis=axes),
        "beta": np.sum(upstream, axis=axes),
        "x_hat": d_x_hat,
        "sigma2": d_sigma2,
        "mu": d_mu,
    }
