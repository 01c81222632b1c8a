"""The port on a Camunda 8 (Zeebe) cluster, through pyzeebe's gRPC client.

Only this module imports pyzeebe. The gRPC channel is created on first use, on a private event
loop thread, so the synchronous port can be called from Django views, handlers and tasks.

This adapter is not exercised against a real broker here: its tests mock pyzeebe's client at
the gRPC boundary (the gateway stub) and check the requests it sends and the answers it maps.
User tasks are Camunda 8 user tasks, which the gRPC gateway does not serve (they belong to the
REST API): those three calls raise ``NotImplementedError`` until a REST client is added.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from processes.adapters import DeployedDefinition, bpmn_files, looks_like_xml


class ZeebeAdapter:
    """A pyzeebe ``ZeebeClient`` on a lazily created channel and its own event loop."""

    def __init__(self, address: str) -> None:
        self.address = address
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: Any = None

    def _run(self, coroutine_factory: Any) -> Any:
        loop, client = self._ensure()
        future = asyncio.run_coroutine_threadsafe(coroutine_factory(client), loop)
        return future.result()

    def _ensure(self) -> tuple[asyncio.AbstractEventLoop, Any]:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="zeebe-client", daemon=True).start()
                self._loop = loop

                async def make_client() -> Any:
                    from pyzeebe import ZeebeClient, create_insecure_channel

                    return ZeebeClient(create_insecure_channel(grpc_address=self.address))

                self._client = asyncio.run_coroutine_threadsafe(make_client(), loop).result()
            return self._loop, self._client

    def close(self) -> None:
        with self._lock:
            if self._loop is not None:
                self._loop.call_soon_threadsafe(self._loop.stop)
            self._loop, self._client = None, None

    # ------------------------------------------------------------------ port
    def deploy_paths(self, paths: list[Path]) -> list[DeployedDefinition]:
        response = self._run(lambda client: client.deploy_resource(*[str(p) for p in paths]))
        return [
            DeployedDefinition(p.bpmn_process_id, int(p.version), int(p.process_definition_key))
            for p in response.deployments
            if hasattr(p, "bpmn_process_id")
        ]

    def start(self, process_id: str, variables: dict[str, Any], version: int | None) -> int:
        response = self._run(
            lambda client: client.run_process(
                process_id, variables=variables, version=-1 if version is None else version
            )
        )
        return int(response.process_instance_key)

    def publish_message(
        self,
        name: str,
        correlation_key: str,
        variables: dict[str, Any],
        ttl_ms: int,
        message_id: str | None,
    ) -> int:
        response = self._run(
            lambda client: client.publish_message(
                name,
                correlation_key,
                variables=variables,
                time_to_live_in_milliseconds=ttl_ms,
                message_id=message_id,
            )
        )
        return int(response.key)

    def cancel(self, process_instance_key: int) -> None:
        self._run(lambda client: client.cancel_process_instance(int(process_instance_key)))


_adapter: ZeebeAdapter | None = None
_adapter_lock = threading.Lock()


def adapter() -> ZeebeAdapter:
    global _adapter
    with _adapter_lock:
        if _adapter is None:
            from django.conf import settings

            _adapter = ZeebeAdapter(settings.ZEEBE_ADDRESS)
        return _adapter


def deploy(resource: str | bytes | Path, name: str | None = None) -> list[DeployedDefinition]:
    """Deploy a BPMN file (or XML, through a temporary file named ``name``)."""
    if isinstance(resource, Path) or not looks_like_xml(resource):
        path = Path(resource if not isinstance(resource, bytes) else resource.decode())
        return adapter().deploy_paths([path])
    import tempfile

    data = resource.encode() if isinstance(resource, str) else resource
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / (name or "process.bpmn")
        path.write_bytes(data)
        return adapter().deploy_paths([path])


def deploy_all() -> list[DeployedDefinition]:
    files = bpmn_files()
    return adapter().deploy_paths(files) if files else []


def start(
    process_id: str,
    variables: dict[str, Any] | None = None,
    business_key: str | None = None,
    version: int | None = None,
) -> int:
    """Start an instance; Zeebe has no business key, so it travels as the ``businessKey``
    variable."""
    variables = dict(variables or {})
    if business_key:
        variables.setdefault("businessKey", business_key)
    return adapter().start(process_id, variables, version)


def publish_message(
    name: str,
    correlation_key: str,
    variables: dict[str, Any] | None = None,
    ttl_ms: int = 0,
    message_id: str | None = None,
) -> int:
    return adapter().publish_message(name, correlation_key, variables or {}, ttl_ms, message_id)


def cancel(process_instance_key: int) -> None:
    adapter().cancel(process_instance_key)


def _no_user_tasks(*_args: Any, **_kwargs: Any) -> None:
    raise NotImplementedError(
        "Camunda 8 user tasks are served by the REST API, not by the gRPC gateway"
    )


complete_user_task = _no_user_tasks
assign_user_task = _no_user_tasks
unassign_user_task = _no_user_tasks
