"""Errors for bad eval input: each names the file, line and field, so the CLI prints one line and exits 2."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from engine.errors import EngineError


class UsageError(Exception):
    """A flag's value is wrong in a way argparse cannot see (names the flag)."""


class EvalInputError(Exception):
    """A golden set, suite, labels file or stored run that cannot be used as given."""

    def __init__(self, detail: str, *, file: str | Path | None = None, line: int | None = None,
                 field: str | None = None) -> None:
        if field is not None and not field.isprintable():  # a key with a newline or a control character in it
            field = repr(field)
        self.file, self.line, self.field, self.detail = file, line, field, detail
        where = ":".join(str(x) for x in (file, line) if x is not None)
        super().__init__(": ".join(x for x in (where, field, detail) if x))

    def in_file(self, file: str | Path) -> "EvalInputError":
        """The same complaint, placed in the file it is about (a check that ran on what was read from it)."""
        return EvalInputError(self.detail, file=file, line=self.line, field=self.field)

    @classmethod
    def from_yaml(cls, error: Exception, *, file: str | Path) -> "EvalInputError":
        """A YAML parser's complaint on one line: what is wrong, at the line where it noticed."""
        mark = getattr(error, "problem_mark", None)
        return cls(f"not valid YAML: {getattr(error, 'problem', None) or error}", file=file,
                   line=mark.line + 1 if mark else None)

    @classmethod
    def from_validation(cls, error: ValidationError, *, file: str | Path | None = None,
                        line: int | None = None) -> "EvalInputError":
        """Pydantic's first complaint, with the dotted path of the field it is about."""
        loc, detail = first_problem(error)
        return cls(detail, file=file, line=line, field=".".join(map(str, loc)) or None)


def first_problem(error: ValidationError) -> tuple[tuple[str | int, ...], str]:
    """Where pydantic's first complaint is, and what it says (without its "Value error, " prefix)."""
    err = error.errors()[0]
    return tuple(err["loc"]), err["msg"].removeprefix("Value error, ")


# what the CLI answers with exit 2 and one line, wherever it was raised (in a Ray actor too)
BAD_INPUT = (EngineError, EvalInputError, UsageError)
