"""What the commands that read production traffic share: `--since AGE` as an instant, and the captured
requests since then, their read recorded in the audit log."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from evals.errors import EvalInputError, UsageError

if TYPE_CHECKING:
    import pandas as pd

    from evals.store.store import Store


def since_flag(age: str) -> datetime:
    """`--since AGE` as the instant that long ago (naive UTC, as the store keeps times)."""
    from datetime import timedelta

    from evals.durations import parse_duration
    from evals.store.store import now

    try:
        return now() - timedelta(seconds=parse_duration(age))
    except ValueError as e:
        raise UsageError(f"--since: {e}") from None


def captured_requests_since(store: Store, db: Path, age: str, actor: str) -> pd.DataFrame:
    """Production requests with their input captured in the last `age`, their read in the audit log
    before anything uses them; none at all is an error naming the store."""
    from evals.store.production import captured_requests
    from evals.store.retention import record_content_read

    requests = captured_requests(store, since_flag(age))
    if requests.empty:
        raise EvalInputError(f"no production request with captured input in the last {age}", file=db)
    record_content_read(store, actor, f"since {age}", len(requests))
    return requests
