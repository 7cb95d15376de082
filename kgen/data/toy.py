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


TWO_MOONS_CLASSES = ("upper moon", "lower moon")
TWO_MOONS_NOISE = 0.3  # wide enough that the classes overlap: an exact fit is an overfit


def load_two_moons(data_dir=None, train_size=100, test_size=2000, data_seed=0,
                   noise=TWO_MOONS_NOISE):
    """The `"two-moons"` dataset: `(x_train, y_train, x_test, y_test, class_names)`
    with float32 points of shape `(n, 2)`, drawn by `two_moons`.

    The decision-boundary lesson's data: few training points (`train_size`,
    before the validation split) with noise wide enough that the classes
    overlap, so a network that fits every point overfits, and many test points
    from the same distribution. `data_seed` fixes the points (train from seed
    `2 * data_seed`, test from `2 * data_seed + 1`); nothing is read from or
    written to `data_dir`.
    """
    data_seed = check_int("data_seed", data_seed, minimum=0)
    x_train, y_train = two_moons(check_int("train_size", train_size, minimum=2), noise,
                                 seed=2 * data_seed)
    x_test, y_test = two_moons(check_int("test_size", test_size, minimum=2), noise,
                               seed=2 * data_seed + 1)
    return x_train, y_train, x_test, y_test, TWO_MOONS_CLASSES
