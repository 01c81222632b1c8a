"""The engine's command rejection (what Zeebe answers a refused command with)."""

from __future__ import annotations


class Rejection(Exception):
    """A command the engine refuses, as Zeebe rejects it (mapped to HTTP by the API)."""

    def __init__(self, rejection_type: str, intent: str, message: str) -> None:
        super().__init__(message)
        self.rejection_type = rejection_type  # NOT_FOUND, INVALID_STATE, INVALID_ARGUMENT, ...
        self.intent = intent
        self.message = message

    @property
    def detail(self) -> str:
        return f"Command '{self.intent}' rejected with code '{self.rejection_type}': {self.message}"
