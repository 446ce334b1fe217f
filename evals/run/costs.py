"""What one answer cost by the run's price table: tokens at the model's prices, or engine time at its
hourly price; an answer from the generation cache cost nothing (no call was made)."""

from __future__ import annotations

from evals.run.work import Completion
from telemetry.prices import PriceTable


def completion_cost(prices: PriceTable | None, model: str, c: Completion) -> float | None:
    """None without a price table (the store's NULL: not costed, which is not free)."""
    if prices is None:
        return None
    if c.cached:
        return 0.0
    return prices.price(model).cost(c.prompt_tokens or 0, c.completion_tokens or 0, cached_tokens=c.cached_tokens or 0,
                                    engine_s=c.engine_s)
