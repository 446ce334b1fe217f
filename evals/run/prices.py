"""`--prices FILE`: a price table, read before anything loads and checked to price every model a command
will call before anything is generated (a price missed halfway through would leave a run half costed)."""

from __future__ import annotations

from pathlib import Path

from evals.errors import EvalInputError
from evals.yaml_input import load_yaml_model
from telemetry.prices import PriceTable, UnpricedModelError


def load_prices(path: str | Path) -> PriceTable:
    return load_yaml_model(path, PriceTable, what="price table")[0]


def check_priced(table: PriceTable | None, path: str | Path | None, *models: str) -> None:
    """`table` (read from `path`, or stored with a run) prices each of `models`."""
    if table is None:
        return
    try:
        table.require(*models)
    except UnpricedModelError as e:
        raise EvalInputError(str(e), file=path, field="models") from None
