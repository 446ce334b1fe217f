"""An online experiment's outcomes from the store: for each of two variants (the `variant` attribution
label), its production events in arrival order, each good or bad by an SLO's event source (a 5xx answer,
a late first token)."""

from __future__ import annotations

from datetime import datetime

import numpy as np

from evals.store.slo_events import EventSource
from evals.store.store import Store


def variant_outcomes(store: Store, source: EventSource, variants: tuple[str, str], since: datetime) -> list[np.ndarray]:
    """Per variant, 1 for each bad event and 0 for each good one, oldest first (ended after `since`)."""
    sql = (f"SELECT variant, ({source.bad})::INTEGER FROM {source.table} WHERE {source.where} "
           f"AND variant IN ($va, $vb) AND {source.time} > $since ORDER BY {source.time}")
    with store.read() as con:
        rows = con.execute(sql, {**source.params, "va": variants[0], "vb": variants[1], "since": since}).fetchall()
    return [np.array([bad for v, bad in rows if v == variant], dtype=float) for variant in variants]
