"""Embedded process engine: BPMN model, timers and the interpreter that runs Zeebe semantics.

It is also the port domain apps use, whatever engine runs (``settings.PROCESS_ENGINE``)::

    from processes import engine
    engine.deploy(path_or_xml); engine.deploy_all()
    key = engine.start("order-fulfilment", {"orderId": 1}, business_key="SO-1")
    engine.publish_message("payment-received", "SO-1", {"amount": 10}, ttl_ms=60_000)
    engine.cancel(key)
    engine.complete_user_task(task_key, {"approved": True}, user)  # assign/unassign_user_task

The port is resolved lazily (module ``__getattr__``), so pure modules such as
``processes.engine.bpmn`` import without Django.
"""

from __future__ import annotations

from typing import Any

PORT = (
    "deploy",
    "deploy_all",
    "start",
    "publish_message",
    "cancel",
    "complete_user_task",
    "assign_user_task",
    "unassign_user_task",
)

__all__ = list(PORT)


def adapter_module() -> Any:
    """The adapter module of the configured engine."""
    from django.conf import settings

    if settings.PROCESS_ENGINE == "zeebe":
        from processes.adapters import zeebe

        return zeebe
    from processes.adapters import embedded

    return embedded


def __getattr__(name: str) -> Any:
    if name in PORT:
        return getattr(adapter_module(), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
