"""The one error type for a refused business rule, shared by every app."""

from __future__ import annotations


class ApplicationError(Exception):
    """A business rule refused the request; ``field`` names the input at fault, if any."""

    def __init__(self, message: str, *, field: str | None = None, code: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code


class NotYet(ApplicationError):
    """The action's precondition has not happened yet (a delivery before its shipment, a vendor
    answer before the payment): it may succeed later. The webhook inbox keeps such an event and
    acts on it again; an API answers 409."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message, field=field, code="not_yet")
