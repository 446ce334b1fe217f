"""Errors for bad eval input: each names the file, line and field, so the CLI prints one line and exits 2."""

from __future__ import annotations

from pathlib import Path


class EvalInputError(Exception):
    """A golden set, suite, labels file or stored run that cannot be used as given."""

    def __init__(self, detail: str, *, file: str | Path | None = None, line: int | None = None,
                 field: str | None = None) -> None:
        self.file, self.line, self.field, self.detail = file, line, field, detail
        where = ":".join(str(x) for x in (file, line) if x is not None)
        super().__init__(": ".join(x for x in (where, field, detail) if x))
