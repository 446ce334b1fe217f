"""Durations as people and Prometheus write them ('30d', '6h', '5m', '30s'): SLO windows, retention ages."""

from __future__ import annotations

import re

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: object) -> int:
    """Seconds; a ValueError saying what a duration looks like for anything else."""
    if isinstance(value, str) and (m := re.fullmatch(r"([1-9][0-9]*)([smhd])", value.strip())):
        return int(m[1]) * _UNITS[m[2]]
    raise ValueError(f"a duration such as 30d, 6h, 5m or 30s; got {value!r}")


def format_duration(seconds: int) -> str:
    for unit in ("d", "h", "m"):
        if seconds % _UNITS[unit] == 0:
            return f"{seconds // _UNITS[unit]}{unit}"
    return f"{seconds}s"
