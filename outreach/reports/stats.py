"""Difference of two proportions with a confidence interval: Newcombe's hybrid score method.

Why Newcombe (method 10 of Newcombe 1998, "Interval estimation for the difference between independent
proportions", Statistics in Medicine 17:873-890) rather than the textbook Wald interval
p1 - p2 ± z·sqrt(p1(1-p1)/n1 + p2(1-p2)/n2): outcome rates here are often small (a few percent) and
control groups small (5-10 % of a wave), where Wald's interval is too narrow and can leave [-1, 1].
Newcombe combines the two Wilson score intervals; it stays inside the bounds, behaves at 0 or n
successes, and matches Wald on large samples. The p-value is the usual pooled two-proportion z-test
(normal approximation), given as a reading aid next to the interval.
"""

from __future__ import annotations

from math import sqrt
from statistics import NormalDist

CONFIDENCE = 0.95


def _z(confidence: float) -> float:
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def wilson(hits: int, total: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The Wilson score interval of a proportion hits/total ((0, 1) when total is 0)."""
    if total == 0:
        return 0.0, 1.0
    z = _z(confidence)
    p = hits / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe(
    hits: int, total: int, reference_hits: int, reference_total: int, confidence: float = CONFIDENCE
) -> tuple[float, float, float]:
    """(difference, low, high) of rate(hits/total) - rate(reference), Newcombe hybrid score interval."""
    p1 = hits / total if total else 0.0
    p2 = reference_hits / reference_total if reference_total else 0.0
    low1, high1 = wilson(hits, total, confidence)
    low2, high2 = wilson(reference_hits, reference_total, confidence)
    difference = p1 - p2
    low = difference - sqrt((p1 - low1) ** 2 + (high2 - p2) ** 2)
    high = difference + sqrt((high1 - p1) ** 2 + (p2 - low2) ** 2)
    return difference, low, high


def two_proportion_p_value(hits: int, total: int, reference_hits: int, reference_total: int) -> float:
    """Two-sided p-value of the pooled z-test that both rates are equal (1.0 when it cannot be computed)."""
    if not total or not reference_total:
        return 1.0
    pooled = (hits + reference_hits) / (total + reference_total)
    spread = sqrt(pooled * (1 - pooled) * (1 / total + 1 / reference_total))
    if spread == 0:
        return 1.0
    z = (hits / total - reference_hits / reference_total) / spread
    return 2 * (1 - NormalDist().cdf(abs(z)))
