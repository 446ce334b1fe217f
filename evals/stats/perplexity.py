"""Corpus perplexity with a bootstrap interval over examples: exp(total negative log-likelihood / total
tokens), the figure language-model evaluations report, rather than a mean of per-example perplexities
(which long and short references would weigh alike)."""

from __future__ import annotations

import numpy as np

from evals.stats.bootstrap import BootstrapResult, bootstrap_ci


def corpus_perplexity(logprobs: object, tokens: object, *, confidence: float = 0.95, n_resamples: int = 10_000,
                      seed: int | None = 0) -> BootstrapResult:
    """`logprobs[i]`: example i's summed log-likelihood (<= 0); `tokens[i]`: how many tokens it covers.
    Examples are resampled whole, so the interval reflects which texts were drawn."""
    lp, n = np.asarray(logprobs, dtype=float), np.asarray(tokens, dtype=float)
    if lp.shape != n.shape or lp.ndim != 1 or not len(lp):
        raise ValueError(f"logprobs and tokens: one value per example each, got shapes {lp.shape} and {n.shape}")
    if (n < 1).any() or (lp > 0).any():
        raise ValueError("every example covers at least one token with a log-likelihood <= 0")

    def perplexity(index: np.ndarray, axis: int = -1) -> np.ndarray:  # resampled example indices
        picked = index.astype(int)
        return np.exp(-lp[picked].sum(axis=axis) / n[picked].sum(axis=axis))

    return bootstrap_ci(np.arange(len(lp)), perplexity, confidence=confidence, n_resamples=n_resamples, seed=seed)
