"""Seed-to-seed statistics for study reports, in the standard library only.

A change between two variants is flagged as significant only when Welch's
two-sided t-test on their per-seed values gives p < `ALPHA`. Welch's test does
not assume equal variances; the Student-t CDF comes from the regularized
incomplete beta function, evaluated with Lentz's continued fraction
(Numerical Recipes, section 6.4), since scipy is not a dependency.
"""

import math
from dataclasses import dataclass

ALPHA = 0.05
TEST_DESCRIPTION = (
    "Welch's two-sided t-test on the per-seed validation accuracies of the two variants, "
    f"significant at p < {ALPHA}; with one seed per variant there is no noise estimate "
    "and no change is flagged."
)


def mean_std(values):
    """Mean and sample standard deviation (n - 1); std is None for n < 2."""
    values = [float(v) for v in values]
    if not values:
        return None, None
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, None
    variance = sum((v - mean) ** 2 for v in values) / (len(values) - 1)
    return mean, math.sqrt(variance)


def regularized_incomplete_beta(a, b, x):
    """I_x(a, b) for a, b > 0 and 0 <= x <= 1."""
    if not (a > 0 and b > 0):
        raise ValueError(f"`a` and `b` must be positive. Received: a={a}, b={b}")
    if not 0.0 <= x <= 1.0:
        raise ValueError(f"`x` must lie in [0, 1]. Received: x={x}")
    if x in (0.0, 1.0):
        return x
    log_front = (math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
                 + a * math.log(x) + b * math.log1p(-x))
    # The continued fraction converges fast for x < (a + 1) / (a + b + 2);
    # otherwise use the symmetry I_x(a, b) = 1 - I_{1-x}(b, a).
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _beta_continued_fraction(a, b, x) / a
    return 1.0 - math.exp(log_front) * _beta_continued_fraction(b, a, 1.0 - x) / b


def _beta_continued_fraction(a, b, x, max_iterations=300, epsilon=3e-16):
    tiny = 1e-300
    c = 1.0
    d = 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    result = d
    for m in range(1, max_iterations + 1):
        m2 = 2 * m
        for numerator in (
            m * (b - m) * x / ((a + m2 - 1.0) * (a + m2)),
            -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1.0)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            delta = c * d
            result *= delta
        if abs(delta - 1.0) < epsilon:
            break
    return result


def student_t_cdf(t, df):
    """P(T <= t) for Student's t with `df` (real, > 0) degrees of freedom."""
    if df <= 0:
        raise ValueError(f"`df` must be positive. Received: df={df}")
    if math.isinf(t):
        return 1.0 if t > 0 else 0.0
    tail = 0.5 * regularized_incomplete_beta(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t > 0 else tail


@dataclass(frozen=True)
class Comparison:
    """The change of a variant's mean against its reference.

    `p_value` and `significant` are None when either side has a single seed.
    """

    difference: float
    t: float | None
    df: float | None
    p_value: float | None
    significant: bool | None


def welch_t_test(values, reference):
    """Welch's two-sided t-test of `mean(values) - mean(reference)`."""
    n1, n2 = len(values), len(reference)
    if n1 == 0 or n2 == 0:
        raise ValueError(f"Both samples need values. Received: sizes=({n1}, {n2})")
    mean1, std1 = mean_std(values)
    mean2, std2 = mean_std(reference)
    difference = mean1 - mean2
    if std1 is None or std2 is None:
        return Comparison(difference, None, None, None, None)
    v1, v2 = std1 * std1 / n1, std2 * std2 / n2
    if v1 + v2 == 0.0:
        # No spread at all (e.g. fully deterministic runs): any difference is exact.
        p_value = 0.0 if difference != 0.0 else 1.0
        return Comparison(difference, None, None, p_value, difference != 0.0)
    t = difference / math.sqrt(v1 + v2)
    # Welch-Satterthwaite; a zero-variance side contributes nothing.
    df = (v1 + v2) ** 2 / (
        (v1 * v1 / (n1 - 1) if v1 else 0.0) + (v2 * v2 / (n2 - 1) if v2 else 0.0)
    )
    p_value = 2.0 * student_t_cdf(-abs(t), df)
    return Comparison(difference, t, df, p_value, p_value < ALPHA)
