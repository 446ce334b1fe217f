"""Reading an online A/B comparison before it ends (08 §14.2–14.3, 09 §11.3). Peeking at a fixed-horizon
test after every batch inflates its false alarms several times over. The mixture sequential probability
ratio test (mSPRT) gives an always-valid p-value and a confidence sequence that may be read after every
observation. The Bayesian read-out gives the probability that B beats A and the expected loss of
choosing either, from Beta-Binomial posteriors."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import integrate
from scipy.special import betaln
from scipy.stats import beta as beta_dist


@dataclass(frozen=True)
class SequentialResult:
    difference: float  # mean(b) - mean(a) at the last look
    pvalue: float  # always valid: the smallest over every look so far
    low: float  # the confidence sequence at the last look (it covers the difference at every look at once)
    high: float
    n: int  # observations per arm at the last look
    stopped_at: int | None  # the first look (observations per arm) at which the p-value reached alpha
    alpha: float


def msprt(a: object, b: object, *, alpha: float = 0.05, tau: float = 0.1,
          looks: object | None = None) -> SequentialResult:
    """The mSPRT of mean(b) = mean(a) for two arms observed in step (a[i] and b[i] arriving together),
    with a normal mixture N(0, tau^2) over the difference and the pooled plug-in variance (Johari,
    Pekelis and Walsh, 2017). `tau` is the size of difference the test is most sensitive to, in the
    outcome's units (0.1: ten points of a rate). `looks`: the observations per arm at which it is read
    (default: after every one)."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.ndim != 1 or x.shape != y.shape or x.size < 2:
        raise ValueError(f"a and b must be 1-D, of one length, at least 2; got shapes {x.shape} and {y.shape}")
    if not 0 < alpha < 1 or tau <= 0:
        raise ValueError(f"alpha must be in (0, 1) and tau positive; got {alpha} and {tau}")
    at = np.arange(1, x.size + 1) if looks is None else np.asarray(looks, dtype=int)
    if at.ndim != 1 or at.size == 0 or at.min() < 1 or at.max() > x.size or np.any(np.diff(at) <= 0):
        raise ValueError(f"looks must increase, from 1 to {x.size}")
    sum_x, sum_y = np.cumsum(x)[at - 1], np.cumsum(y)[at - 1]
    sq = np.cumsum(x * x + y * y)[at - 1]
    diff = (sum_y - sum_x) / at
    pooled = (sq - (sum_x + sum_y) ** 2 / (2 * at)) / np.maximum(2 * at - 1, 1)  # one variance, as under H0
    v = np.maximum(2 * pooled / at, 1e-12)  # the variance of the difference of the two means
    t2 = tau ** 2
    log_ratio = 0.5 * np.log(v / (v + t2)) + t2 * diff ** 2 / (2 * v * (v + t2))
    pvalues = np.minimum.accumulate(np.minimum(1.0, np.exp(-log_ratio)))
    half = np.sqrt(2 * v * (v + t2) / t2 * (np.log(1 / alpha) + 0.5 * np.log((v + t2) / v)))
    stopped = np.flatnonzero(pvalues <= alpha)
    return SequentialResult(float(diff[-1]), float(pvalues[-1]), float(diff[-1] - half[-1]),
                            float(diff[-1] + half[-1]), int(at[-1]), int(at[stopped[0]]) if stopped.size else None,
                            alpha)


@dataclass(frozen=True)
class BayesianAB:
    mean_a: float  # posterior means of each arm's rate
    mean_b: float
    prob_b_better: float  # P(rate_b > rate_a | data)
    loss_choosing_b: float  # E[max(rate_a - rate_b, 0)]: what choosing B costs, on average, if A is better
    loss_choosing_a: float  # E[max(rate_b - rate_a, 0)]
    interval_a: tuple[float, float]  # central credible intervals of each rate
    interval_b: tuple[float, float]


def beta_binomial_ab(successes_a: int, n_a: int, successes_b: int, n_b: int, *,
                     prior: tuple[float, float] = (1.0, 1.0), credibility: float = 0.95) -> BayesianAB:
    """Beta(prior) priors updated by each arm's successes of n: the probability that B's rate is higher
    and the expected loss of each choice, exactly (a closed-form sum for whole-number posteriors,
    quadrature otherwise), and each rate's credible interval."""
    a, b = (_posterior(k, n, prior, arm) for k, n, arm in ((successes_a, n_a, "a"), (successes_b, n_b, "b")))
    p_b = prob_greater(b.args, a.args)
    loss_b = a.mean() * prob_greater(_plus(a), b.args) - b.mean() * prob_greater(a.args, _plus(b))  # E[(A-B) 1{A>B}]
    loss_a = b.mean() * prob_greater(_plus(b), a.args) - a.mean() * prob_greater(b.args, _plus(a))
    tail = (1 - credibility) / 2
    return BayesianAB(float(a.mean()), float(b.mean()), p_b, max(float(loss_b), 0.0), max(float(loss_a), 0.0),
                      tuple(float(q) for q in a.ppf([tail, 1 - tail])),
                      tuple(float(q) for q in b.ppf([tail, 1 - tail])))


def prob_greater(x: tuple[float, float], y: tuple[float, float]) -> float:
    """P(X > Y) for independent X ~ Beta(*x) and Y ~ Beta(*y)."""
    (ax, bx), (ay, by) = x, y
    if float(ax).is_integer():  # Evan Miller's closed form: a sum of ax terms
        i = np.arange(int(ax))
        terms = np.exp(betaln(ay + i, by + bx) - np.log(bx + i) - betaln(1 + i, bx) - betaln(ay, by))
        return float(min(max(terms.sum(), 0.0), 1.0))
    fx, fy = beta_dist(ax, bx), beta_dist(ay, by)
    return float(integrate.quad(lambda t: fx.pdf(t) * fy.cdf(t), 0, 1, limit=200, epsabs=1e-12)[0])


def _posterior(successes: int, n: int, prior: tuple[float, float], arm: str):
    if not 0 <= successes <= n:
        raise ValueError(f"arm {arm}: successes must be between 0 and n; got {successes} of {n}")
    if min(prior) <= 0:
        raise ValueError(f"prior: both Beta parameters must be positive; got {prior}")
    return beta_dist(prior[0] + successes, prior[1] + n - successes)


def _plus(d) -> tuple[float, float]:
    """Beta(a + 1, b)'s parameters: t times Beta(a, b)'s density is its mean times this one's, so
    E[X 1{X > Y}] = E[X] P(X+ > Y)."""
    a, b = d.args
    return a + 1, b
