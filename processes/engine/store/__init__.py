"""The engine's storage layer: every read and write the commands and processors make.

``Store`` (``portable``) states each operation with the ORM and runs on every database Django
supports (SQLite is the ``make run`` default). ``PostgresStore`` (``postgres``) is the fast path:
prepared-shape statements, several statements per round trip and row locks that skip rows other
transactions hold (``processes.engine.sql`` builds them). ``get_store()`` chooses once per
process from the connection's vendor; commands take the store from there, never by asking the
vendor themselves.
"""

from __future__ import annotations

from .portable import ActiveRows, Store

_store: Store | None = None


def get_store() -> Store:
    """The store for the configured database (chosen on first use, then constant)."""
    global _store
    if _store is None:
        from processes.engine import sql

        if sql.vendor() == "postgresql":
            from .postgres import PostgresStore

            _store = PostgresStore()
        else:
            _store = Store()
    return _store


__all__ = ["ActiveRows", "Store", "get_store"]
