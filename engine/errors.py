"""The errors the engine raises for bad input: each names what was wrong, so callers print one line."""


class EngineError(Exception):
    """Base of every error caused by the user's input rather than by a bug."""


class ModelFileError(EngineError):
    """The model file or folder is missing, truncated or corrupt."""


class UnsupportedModelError(EngineError):
    """The model is well-formed but uses an architecture or tensor type the engine does not run."""


class InvalidRequestError(EngineError):
    """A generation request has an invalid field (sampling values, empty prompt)."""

    def __init__(self, message: str, *, field: str | None = None, detail: str | None = None) -> None:
        super().__init__(message)
        self.field = field  # the request field at fault, so a CLI can name its flag and a server its param
        self.detail = detail or message

    @classmethod
    def for_field(cls, field: str, detail: str) -> "InvalidRequestError":
        return cls(f"{field}: {detail}", field=field, detail=detail)


class ContextLengthError(InvalidRequestError):
    """The prompt does not fit in the model's context window."""
