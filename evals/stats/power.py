"""How many examples a comparison needs, what it can detect, pass@k, multiple-comparison corrections,
and the noise floor of a metric."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, Sequence

import numpy as np
from scipy import optimize, stats


def pass_at_k(n: int, c: int, k: int) -> float:
    """The unbiased pass@k of Chen et al. (2021): 1 - C(n-c, k) / C(n, k), from n samples of which c pass."""
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"need 0 <= c <= n and 1 <= k <= n, got n={n}, c={c}, k={k}")
    if n - c < k:
        return 1.0
    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))  # the ratio as a stable product


def _check_rate(p: float, delta: float, alpha: float, power: float) -> None:
    if not 0 < p < 1:
        raise ValueError(f"p: a rate in (0, 1), got {p}")
    if delta == 0 or not 0 < p + delta < 1:
        raise ValueError(f"delta: non-zero with p + delta in (0, 1), got p={p}, delta={delta}")
    if not 0 < alpha < 1 or not 0 < power < 1:
        raise ValueError(f"alpha and power must be in (0, 1), got alpha={alpha}, power={power}")


def _n_for(p: float, delta: float, alpha: float, power: float, paired: bool, discordance: float | None) -> float:
    z_a, z_b = stats.norm.ppf(1 - alpha / 2), stats.norm.ppf(power)
    q = p + delta
    if paired:
        # McNemar (Connor 1987): psi is the share of examples on which the two systems disagree
        psi = p * (1 - q) + q * (1 - p) if discordance is None else discordance
        if not abs(delta) <= psi <= 1:
            raise ValueError(f"discordance: must be in [|delta|, 1], got {psi}")
        return (z_a * math.sqrt(psi) + z_b * math.sqrt(psi - delta**2)) ** 2 / delta**2
    mean = (p + q) / 2
    return (z_a * math.sqrt(2 * mean * (1 - mean)) + z_b * math.sqrt(p * (1 - p) + q * (1 - q))) ** 2 / delta**2


def sample_size(p: float, delta: float, *, alpha: float = 0.05, power: float = 0.8, paired: bool = False,
                discordance: float | None = None,
                method: Literal["normal", "rule_of_thumb"] = "normal") -> int:
    """Examples needed (per system) to detect a change of `delta` from a rate `p`.

    `normal`: the two-sided normal-approximation test of two proportions, or with `paired`
    McNemar's test, where `discordance` is the expected share of examples the systems disagree on
    (default: as if their errors were independent, the least favourable case).
    `rule_of_thumb`: 4 p (1 - p) / delta², the examples for a 95% interval of half-width delta.
    """
    _check_rate(p, delta, alpha, power)
    if method == "rule_of_thumb":
        return math.ceil(4 * p * (1 - p) / delta**2)
    if method != "normal":
        raise ValueError(f"method: 'normal' or 'rule_of_thumb', got {method!r}")
    return math.ceil(_n_for(p, delta, alpha, power, paired, discordance))


def min_detectable_effect(n: int, p: float, *, alpha: float = 0.05, power: float = 0.8, paired: bool = False,
                          discordance: float | None = None) -> float:
    """The smallest improvement over `p` that `n` examples detect with this power (the inverse of sample_size)."""
    if n < 1:
        raise ValueError(f"n: at least one example, got {n}")
    _check_rate(p, min(1e-9, (1 - p) / 2), alpha, power)
    if paired and discordance is not None:
        hi = discordance
    else:
        hi = 1 - p - 1e-12
    if _n_for(p, hi, alpha, power, paired, discordance) > n:
        return float("nan")  # not even the largest possible change is detectable with n examples
    return float(optimize.brentq(lambda d: _n_for(p, d, alpha, power, paired, discordance) - n, 1e-9, hi, xtol=1e-12))


def bonferroni(pvalues: Sequence[float]) -> np.ndarray:
    """Adjusted p-values: each times the number of tests, capped at 1."""
    p = np.asarray(pvalues, dtype=float)
    return np.minimum(1.0, p * p.size)


def holm(pvalues: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjusted p-values (uniformly more powerful than Bonferroni, same guarantee)."""
    p = np.asarray(pvalues, dtype=float)
    order = np.argsort(p)
    stepped = np.maximum.accumulate(p[order] * (p.size - np.arange(p.size)))
    out = np.empty_like(p)
    out[order] = np.minimum(1.0, stepped)
    return out


@dataclass(frozen=True)
class NoiseFloor:
    run_sd: float  # spread of the metric from run to run of an unchanged model
    delta_sd: float  # spread of the difference between two such runs: sqrt(2) * run_sd
    floor: float  # 2 * delta_sd: a change smaller than this is indistinguishable from noise
    n_runs: int


def noise_floor(metric_per_run: Sequence[float]) -> NoiseFloor:
    """From the metric of repeated runs of the same model and set: twice the SD of a run-to-run delta."""
    m = np.asarray(metric_per_run, dtype=float)
    if m.ndim != 1 or m.size < 2:
        raise ValueError("need the metric of at least two runs of the unchanged model")
    run_sd = float(m.std(ddof=1))
    return NoiseFloor(run_sd, math.sqrt(2) * run_sd, 2 * math.sqrt(2) * run_sd, m.size)
