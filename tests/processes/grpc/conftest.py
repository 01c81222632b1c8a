"""A live Zeebe gRPC gateway over the test database, and clients for it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

import grpc
import pytest
from pyzeebe.proto import gateway_pb2_grpc

from processes.grpc.server import GatewayServer
from processes.testing import reset_caches
from tests.processes.api.conftest import (  # noqa: F401
    api,
    api_user,
    bpmn,
    flows,
    message_process,
    service_process,
)

__all__ = ["bpmn", "flows", "message_process", "run_async", "service_process"]

T = TypeVar("T")


@pytest.fixture
def gateway(transactional_db: None) -> Iterator[GatewayServer]:
    """A gateway on a free port of 127.0.0.1 (its threads see the committed test data)."""
    reset_caches()
    server = GatewayServer("127.0.0.1:0", recheck_s=0.5).start()
    yield server
    server.stop(grace=0.5)
    reset_caches()


@pytest.fixture
def stub(gateway: GatewayServer) -> Iterator[gateway_pb2_grpc.GatewayStub]:
    """A plain synchronous stub, to look at gRPC status codes as Zeebe clients see them."""
    channel = grpc.insecure_channel(gateway.target)
    yield gateway_pb2_grpc.GatewayStub(channel)
    channel.close()


def run_async(factory: Callable[[], Coroutine[Any, Any, T]], timeout: float = 60) -> T:
    """Run a pyzeebe scenario on a loop of its own."""

    async def bounded() -> T:
        return await asyncio.wait_for(factory(), timeout)

    return asyncio.run(bounded())
