"""The one error type for a refused business rule, shared by every app."""

from __future__ import annotations


class ApplicationError(Exception):
    """A business rule refused the request; ``field`` names the input at fault, if any."""

    def __init__(self, message: str, *, field: str | None = None, code: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code
