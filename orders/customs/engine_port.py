"""The process engine port, under its new name when it exists (``processes.port``)."""

from __future__ import annotations

try:  # pragma: no cover - whichever name the port has
    from processes import port as engine  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover
    from processes import engine

__all__ = ["engine"]
