"""pyzeebe's ZeebeClient and ZeebeWorker, unchanged, against the embedded engine's gateway."""

import asyncio
from pathlib import Path
from typing import Any

import pytest
from pyzeebe import (
    Job,
    JobController,
    ZeebeClient,
    ZeebeWorker,
    create_insecure_channel,
)
from pyzeebe.errors import (
    BusinessError,
    ProcessDefinitionNotFoundError,
    ProcessInstanceNotFoundError,
)

from processes.grpc.server import GatewayServer
from processes.models import ElementInstance, Incident, Record
from processes.models import Job as JobRow

from .conftest import message_process, run_async, service_process
from .models import charge_process

pytestmark = pytest.mark.django_db(transaction=True)


def write(tmp_path: Path, name: str, xml: str) -> str:
    path = tmp_path / name
    path.write_text(xml)
    return str(path)


def state_of(key: int) -> str | None:
    return ElementInstance.objects.filter(key=key).values_list("state", flat=True).first()


def test_topology_and_health(gateway: GatewayServer) -> None:
    async def scenario() -> Any:
        client = ZeebeClient(create_insecure_channel(grpc_address=gateway.target))
        return await client.topology(), await client.healthcheck()

    topology, health = run_async(scenario)
    assert topology.cluster_size == 1 and topology.partitions_count == 1
    assert topology.brokers[0].partitions[0].role.name == "LEADER"
    assert topology.brokers[0].port == gateway.port
    assert health.status == 1  # grpc.health.v1 SERVING


def test_worker_completes_jobs_and_result_comes_back(gateway: GatewayServer, tmp_path) -> None:
    seen: list[dict[str, Any]] = []

    async def scenario() -> Any:
        channel = create_insecure_channel(grpc_address=gateway.target)
        client = ZeebeClient(channel)
        worker = ZeebeWorker(channel, name="test-worker")

        @worker.task(task_type="work", timeout_ms=30_000)
        async def work(job: Job, amount: int) -> dict[str, Any]:
            seen.append({"headers": dict(job.custom_headers), "worker": job.worker})
            return {"doubled": amount * 2}

        deployed = await client.deploy_resource(write(tmp_path, "work.bpmn", service_process()))
        running = asyncio.create_task(worker.work())
        try:
            result = await client.run_process_with_result(
                "work", variables={"amount": 21}, timeout=10_000
            )
        finally:
            await worker.stop()
            running.cancel()
        return deployed, result

    deployed, result = run_async(scenario)
    process = deployed.deployments[0]
    assert (process.bpmn_process_id, process.version) == ("work", 1)
    assert result.variables == {"amount": 21, "doubled": 42}
    assert state_of(result.process_instance_key) == ElementInstance.COMPLETED
    assert seen == [{"headers": {"carrier": "dhl"}, "worker": "test-worker"}]


def test_failures_use_retries_then_raise_an_incident(gateway: GatewayServer, tmp_path) -> None:
    attempts: list[int] = []

    async def scenario() -> int:
        channel = create_insecure_channel(grpc_address=gateway.target)
        client = ZeebeClient(channel)
        worker = ZeebeWorker(channel)

        @worker.task(task_type="work", timeout_ms=30_000)
        async def work(job: Job) -> dict[str, Any]:
            attempts.append(job.retries)
            raise RuntimeError("carrier down")

        await client.deploy_resource(write(tmp_path, "work.bpmn", service_process(retries=2)))
        key = (await client.run_process("work")).process_instance_key
        running = asyncio.create_task(worker.work())
        try:
            for _ in range(200):
                if await asyncio.to_thread(_has_incident, key):
                    break
                await asyncio.sleep(0.05)
        finally:
            await worker.stop()
            running.cancel()
        return key

    key = run_async(scenario)
    assert attempts == [2, 1]
    incident = Incident.objects.get(process_instance_key=key)
    assert incident.state == Incident.ACTIVE
    assert incident.error_type == "JOB_NO_RETRIES"
    assert "carrier down" in incident.error_message


def _has_incident(key: int) -> bool:
    from django.db import connection

    try:
        return Incident.objects.filter(process_instance_key=key).exists()
    finally:
        connection.close()


def test_business_error_is_caught_by_the_boundary_event(gateway: GatewayServer, tmp_path) -> None:
    async def scenario() -> Any:
        channel = create_insecure_channel(grpc_address=gateway.target)
        client = ZeebeClient(channel)
        worker = ZeebeWorker(channel)

        @worker.task(task_type="charge", timeout_ms=30_000)
        async def charge(job: Job) -> dict[str, Any]:
            raise BusinessError("DECLINED")

        await client.deploy_resource(write(tmp_path, "charge.bpmn", charge_process()))
        running = asyncio.create_task(worker.work())
        try:
            return await client.run_process_with_result("charge", timeout=10_000)
        finally:
            await worker.stop()
            running.cancel()

    result = run_async(scenario)
    ended = Record.objects.filter(
        process_instance_key=result.process_instance_key, intent="ELEMENT_COMPLETED"
    ).values_list("element_id", flat=True)
    assert "declined" in set(ended) and "paid" not in set(ended)
    job = JobRow.objects.get(process_instance_key=result.process_instance_key)
    assert job.state == JobRow.ERROR_THROWN


def test_publish_message_correlates_and_cancel_ends_an_instance(
    gateway: GatewayServer, tmp_path
) -> None:
    async def scenario() -> tuple[int, int, type[Exception] | None]:
        client = ZeebeClient(create_insecure_channel(grpc_address=gateway.target))
        await client.deploy_resource(
            write(tmp_path, "msg.bpmn", message_process(correlation_key="=orderId")),
            write(tmp_path, "work.bpmn", service_process()),
        )
        waiting = (await client.run_process("wait-msg", {"orderId": "o-7"})).process_instance_key
        await client.publish_message("paid", "o-7", {"paidAt": "now"})
        doomed = (await client.run_process("work")).process_instance_key
        await client.cancel_process_instance(doomed)
        again: type[Exception] | None = None
        try:
            await client.cancel_process_instance(doomed)
        except ProcessInstanceNotFoundError as error:
            again = type(error)
        return waiting, doomed, again

    waiting, doomed, again = run_async(scenario)
    assert state_of(waiting) == ElementInstance.COMPLETED
    assert state_of(doomed) == ElementInstance.TERMINATED
    assert again is ProcessInstanceNotFoundError


def test_unknown_process_is_reported_as_pyzeebe_expects(gateway: GatewayServer) -> None:
    async def scenario() -> None:
        client = ZeebeClient(create_insecure_channel(grpc_address=gateway.target))
        await client.run_process("nobody-deployed-this")

    with pytest.raises(ProcessDefinitionNotFoundError):
        run_async(scenario)


def test_exception_handler_can_leave_a_job_activated(gateway: GatewayServer, tmp_path) -> None:
    """The bridge's pattern: the handler raises a sentinel its exception handler ignores."""

    class Deferred(Exception):
        pass

    async def ignore(error: Exception, job: Job, controller: JobController) -> None:
        assert isinstance(error, Deferred)

    async def scenario() -> int:
        channel = create_insecure_channel(grpc_address=gateway.target)
        client = ZeebeClient(channel)
        worker = ZeebeWorker(channel)

        @worker.task(task_type="work", timeout_ms=60_000, exception_handler=ignore)
        async def work(job: Job) -> dict[str, Any]:
            raise Deferred

        await client.deploy_resource(write(tmp_path, "work.bpmn", service_process()))
        key = (await client.run_process("work")).process_instance_key
        running = asyncio.create_task(worker.work())
        try:
            for _ in range(200):
                if await asyncio.to_thread(_activated, key):
                    break
                await asyncio.sleep(0.05)
        finally:
            await worker.stop()
            running.cancel()
        return key

    key = run_async(scenario)
    job = JobRow.objects.get(process_instance_key=key)
    assert job.state == JobRow.ACTIVATED and job.retries == 3


def _activated(key: int) -> bool:
    from django.db import connection

    try:
        return JobRow.objects.filter(process_instance_key=key, state=JobRow.ACTIVATED).exists()
    finally:
        connection.close()


def test_the_zeebe_channel_carries_the_configured_token(transactional_db, settings) -> None:
    from processes.adapters.zeebe import make_channel

    settings.ZEEBE_TOKEN = "s3cret"
    with GatewayServer("127.0.0.1:0", token="s3cret") as server:

        async def scenario() -> Any:
            return await ZeebeClient(make_channel(server.target)).topology()

        assert run_async(scenario).cluster_size == 1
        settings.ZEEBE_TOKEN = "wrong"
        with pytest.raises(Exception, match=r"UNAUTHENTICATED|bearer token"):
            run_async(scenario)
