"""Incoming W3C traceparent headers: valid ones are kept as sent, invalid ones ignored as the spec says."""

from __future__ import annotations

import pytest

from telemetry.trace_context import valid_traceparent

VALID = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_a_valid_traceparent_is_kept() -> None:
    assert valid_traceparent(VALID) == VALID


@pytest.mark.parametrize("header", [
    None, "", "garbage", "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  # all-zero trace id
    "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  # all-zero parent id
    "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",  # trace id one digit short
    "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  # version ff is forbidden
])
def test_an_invalid_traceparent_is_ignored(header) -> None:
    assert valid_traceparent(header) is None
