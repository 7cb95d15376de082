"""Two-dimensional toy datasets, generated: the decision-boundary pictures."""

import numpy as np

from kgen.validation import check_int, check_number, check_seed


def two_moons(n, noise=0.2, seed=0):
    """`(x, y)`: `n` points of two interleaved half circles (float32, shape
    `(n, 2)`) with Gaussian noise of standard deviation `noise`, and their
    classes (int32, 0 or 1; half of the points each, the odd one in class 0).
    The same `seed` gives the same points."""
    n = check_int("n", n, minimum=2)
    noise = check_number("noise", noise, minimum=0.0)
    rng = np.random.default_rng(check_seed("seed", seed))
    upper, lower = n - n // 2, n // 2
    angles = rng.uniform(0.0, np.pi, size=n)
    x = np.empty((n, 2))
    x[:upper, 0], x[:upper, 1] = np.cos(angles[:upper]), np.sin(angles[:upper])
    x[upper:, 0] = 1.0 - np.cos(angles[upper:])
    x[upper:, 1] = 0.5 - np.sin(angles[upper:])
    x += rng.normal(scale=noise, size=x.shape)
    y = np.concatenate([np.zeros(upper, "int32"), np.ones(lower, "int32")])
    order = rng.permutation(n)
    return x[order].astype("float32"), y[order]
