"""Exceptions and warnings of the FEEL evaluator."""

from __future__ import annotations

from dataclasses import dataclass


class FeelError(Exception):
    """A FEEL expression could not be parsed (or, as a subclass, evaluated).

    ``position`` is the 0-based offset into ``expression``; ``line`` and ``column`` are 1-based.
    """

    def __init__(
        self,
        message: str,
        expression: str = "",
        position: int | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.expression = expression
        self.position = position
        self.line = line
        self.column = column


class FeelEvaluationError(FeelError):
    """An evaluation failure (Camunda raises an incident), e.g. a failed ``assert``."""


@dataclass(frozen=True, slots=True)
class Warning:
    """A suppressed failure: the evaluation went on with ``null``."""

    type: str
    message: str


class InvalidArguments(Exception):
    """Raised by built-ins for arguments they can't handle (becomes null plus a warning)."""
