"""The port on the embedded engine: thin calls into ``processes.engine.service``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from processes.adapters import DeployedDefinition, bpmn_files, looks_like_xml


def _actor(user: Any) -> str:
    if user is None:
        return ""
    if isinstance(user, str):
        return user
    return str(getattr(user, "username", "") or "")


def deploy(resource: str | bytes | Path, name: str | None = None) -> list[DeployedDefinition]:
    """Deploy BPMN XML or a file path; an unchanged resource keeps its version."""
    from processes.engine import service

    if isinstance(resource, Path) or not looks_like_xml(resource):
        path = Path(resource if not isinstance(resource, bytes) else resource.decode())
        items = [(name or path.name, path.read_bytes())]
    else:
        items = [(name or "process.bpmn", resource)]
    _key, deployed = service.deploy(items)
    return [
        DeployedDefinition(d.definition.bpmn_process_id, d.definition.version, d.definition.key)
        for d in deployed
    ]


def deploy_all() -> list[DeployedDefinition]:
    """Deploy every file of ``processes/bpmn`` in one atomic deployment."""
    from processes.engine import service

    files = bpmn_files()
    if not files:
        return []
    _key, deployed = service.deploy([(f.name, f.read_bytes()) for f in files])
    return [
        DeployedDefinition(d.definition.bpmn_process_id, d.definition.version, d.definition.key)
        for d in deployed
    ]


def start(
    process_id: str,
    variables: dict[str, Any] | None = None,
    business_key: str | None = None,
    version: int | None = None,
) -> int:
    from processes.engine import service

    root = service.create_instance(
        process_id=process_id,
        variables=variables or {},
        business_key=business_key or "",
        version=version,
    )
    return int(root.key)


def publish_message(
    name: str,
    correlation_key: str,
    variables: dict[str, Any] | None = None,
    ttl_ms: int = 0,
    message_id: str | None = None,
) -> int:
    from processes.engine import service

    key, _instances = service.publish_message(
        name, correlation_key, variables=variables, ttl_ms=ttl_ms, message_id=message_id or ""
    )
    return int(key)


def cancel(process_instance_key: int) -> None:
    from processes.engine import service

    service.cancel_instance(int(process_instance_key))


def complete_user_task(task_key: int, variables: dict[str, Any] | None, user: Any) -> None:
    from processes.engine import service

    service.complete_user_task(int(task_key), variables or {}, actor=_actor(user))


def assign_user_task(task_key: int, assignee: str, user: Any = None) -> None:
    from processes.engine import service

    service.assign_user_task(int(task_key), assignee, actor=_actor(user))


def unassign_user_task(task_key: int, user: Any = None) -> None:
    from processes.engine import service

    service.unassign_user_task(int(task_key), actor=_actor(user))
