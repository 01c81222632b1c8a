"""The gateway's protocol at the gRPC level: status codes, long polling, streaming, auth."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from django.db import connection
from pyzeebe.proto import gateway_pb2 as pb
from pyzeebe.proto import gateway_pb2_grpc

from processes.engine import service
from processes.grpc.server import GatewayServer
from processes.models import ElementInstance, Incident, Job, Variable

from .conftest import service_process

pytestmark = pytest.mark.django_db(transaction=True)


def deploy(stub: Any, name: str, xml: str) -> Any:
    resource = pb.Resource(name=name, content=xml.encode())
    return stub.DeployResource(pb.DeployResourceRequest(resources=[resource]))


def start(stub: Any, process_id: str, variables: dict[str, Any] | None = None) -> int:
    request = pb.CreateProcessInstanceRequest(
        bpmnProcessId=process_id, version=-1, variables=json.dumps(variables or {})
    )
    return stub.CreateProcessInstance(request).processInstanceKey


def activate(stub: Any, job_type: str = "work", request_timeout: int = -1, **extra: Any) -> list:
    request = pb.ActivateJobsRequest(
        type=job_type,
        worker="w",
        timeout=extra.pop("timeout", 30_000),
        maxJobsToActivate=extra.pop("maxJobsToActivate", 10),
        requestTimeout=request_timeout,
        **extra,
    )
    return [job for response in stub.ActivateJobs(request, timeout=30) for job in response.jobs]


def code_of(call: Any) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as caught:
        call()
    return caught.value.code()


def later(seconds: float, action: Any) -> threading.Thread:
    def run() -> None:
        try:
            time.sleep(seconds)
            action()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


# ---------------------------------------------------------------------------- status codes
def test_rejections_carry_zeebes_status_codes(stub: Any) -> None:
    deploy(stub, "work.bpmn", service_process(retries=1))
    key = start(stub, "work")
    [job] = activate(stub)
    unknown_process = pb.CreateProcessInstanceRequest(bpmnProcessId="nope", version=-1)
    assert code_of(lambda: stub.CreateProcessInstance(unknown_process)) == grpc.StatusCode.NOT_FOUND
    assert (
        code_of(lambda: stub.CompleteJob(pb.CompleteJobRequest(jobKey=job.key + 999_999)))
        == grpc.StatusCode.NOT_FOUND
    )
    bad_json = pb.CompleteJobRequest(jobKey=job.key, variables="{not json")
    assert code_of(lambda: stub.CompleteJob(bad_json)) == grpc.StatusCode.INVALID_ARGUMENT
    not_object = pb.CompleteJobRequest(jobKey=job.key, variables="[1, 2]")
    assert code_of(lambda: stub.CompleteJob(not_object)) == grpc.StatusCode.INVALID_ARGUMENT
    assert code_of(lambda: activate(stub, maxJobsToActivate=0)) == grpc.StatusCode.INVALID_ARGUMENT
    assert code_of(lambda: activate(stub, job_type=" ")) == grpc.StatusCode.INVALID_ARGUMENT
    no_retries = pb.UpdateJobRetriesRequest(jobKey=job.key, retries=0)
    assert code_of(lambda: stub.UpdateJobRetries(no_retries)) == grpc.StatusCode.INVALID_ARGUMENT
    # failing the job at its last retry raises an incident; the failed job cannot be completed
    stub.FailJob(pb.FailJobRequest(jobKey=job.key, retries=0, errorMessage="down"))
    completing = pb.CompleteJobRequest(jobKey=job.key)
    assert code_of(lambda: stub.CompleteJob(completing)) == grpc.StatusCode.FAILED_PRECONDITION
    incident = Incident.objects.get(process_instance_key=key)
    resolve = pb.ResolveIncidentRequest(incidentKey=incident.key)
    assert code_of(lambda: stub.ResolveIncident(resolve)) == grpc.StatusCode.FAILED_PRECONDITION
    # updating the retries first lets the incident be resolved and the job run again
    stub.UpdateJobRetries(pb.UpdateJobRetriesRequest(jobKey=job.key, retries=2))
    stub.ResolveIncident(resolve)
    [again] = activate(stub)
    assert (again.key, again.retries) == (job.key, 2)
    stub.CompleteJob(pb.CompleteJobRequest(jobKey=job.key, variables='{"done": true}'))
    assert ElementInstance.objects.get(key=key).state == ElementInstance.COMPLETED
    assert code_of(lambda: stub.ResolveIncident(resolve)) == grpc.StatusCode.NOT_FOUND


def test_duplicate_message_id_is_already_exists(stub: Any) -> None:
    message = pb.PublishMessageRequest(
        name="paid", correlationKey="o-1", timeToLive=60_000, messageId="m-1"
    )
    assert stub.PublishMessage(message).key > 0
    assert code_of(lambda: stub.PublishMessage(message)) == grpc.StatusCode.ALREADY_EXISTS


def test_cancel_unknown_instance_is_not_found_and_a_bad_model_invalid(stub: Any) -> None:
    cancel = pb.CancelProcessInstanceRequest(processInstanceKey=12345)
    assert code_of(lambda: stub.CancelProcessInstance(cancel)) == grpc.StatusCode.NOT_FOUND
    broken = service_process().replace('targetRef="end"', 'targetRef="nowhere"')
    assert code_of(lambda: deploy(stub, "broken.bpmn", broken)) == grpc.StatusCode.INVALID_ARGUMENT
    assert code_of(lambda: deploy(stub, "form.form", "{}")) == grpc.StatusCode.INVALID_ARGUMENT


def test_too_many_requests_in_flight_is_resource_exhausted(transactional_db: None) -> None:
    with GatewayServer("127.0.0.1:0", max_in_flight=1) as server:
        channel = grpc.insecure_channel(server.target)
        stub = gateway_pb2_grpc.GatewayStub(channel)
        deploy(stub, "work.bpmn", service_process())
        held = threading.Event()
        release = threading.Event()
        original = service.create_instance

        def slow_create(**kwargs: Any) -> Any:
            held.set()
            release.wait(10)
            return original(**kwargs)

        service.create_instance = slow_create  # type: ignore[assignment]
        try:
            first = threading.Thread(target=lambda: start(stub, "work"))
            first.start()
            assert held.wait(10)
            assert code_of(lambda: start(stub, "work")) == grpc.StatusCode.RESOURCE_EXHAUSTED
            release.set()
            first.join(10)
        finally:
            service.create_instance = original  # type: ignore[assignment]
            channel.close()
        assert ElementInstance.objects.filter(element_type="PROCESS").count() == 1


# ---------------------------------------------------------------------------- long polling
def test_empty_activation_waits_for_the_request_timeout(stub: Any) -> None:
    deploy(stub, "work.bpmn", service_process())
    started = time.monotonic()
    assert activate(stub, request_timeout=700) == []
    assert 0.65 <= time.monotonic() - started < 5
    started = time.monotonic()
    assert activate(stub, request_timeout=-1) == []  # negative: no long polling
    assert time.monotonic() - started < 0.5


def test_long_poll_is_woken_by_a_new_job_not_by_polling(transactional_db: None) -> None:
    # a re-check interval far beyond the test: only the wake-up can answer in time
    with GatewayServer("127.0.0.1:0", recheck_s=60) as server:
        channel = grpc.insecure_channel(server.target)
        stub = gateway_pb2_grpc.GatewayStub(channel)
        try:
            deploy(stub, "work.bpmn", service_process())
            assert activate(stub, request_timeout=-1) == []
            thread = later(0.4, lambda: start(stub, "work"))
            started = time.monotonic()
            jobs = activate(stub, request_timeout=20_000)
            elapsed = time.monotonic() - started
            thread.join()
        finally:
            channel.close()
    assert len(jobs) == 1
    assert 0.35 <= elapsed < 3


def test_long_poll_is_woken_when_a_retry_back_off_ends(stub: Any) -> None:
    deploy(stub, "work.bpmn", service_process())
    start(stub, "work")
    [job] = activate(stub)
    stub.FailJob(pb.FailJobRequest(jobKey=job.key, retries=2, retryBackOff=800))
    started = time.monotonic()
    [again] = activate(stub, request_timeout=10_000)
    elapsed = time.monotonic() - started
    assert again.key == job.key and again.retries == 2
    assert 0.7 <= elapsed < 3


def test_long_poll_hands_out_a_job_whose_activation_timed_out(stub: Any) -> None:
    deploy(stub, "work.bpmn", service_process())
    start(stub, "work")
    [job] = activate(stub, timeout=600)
    started = time.monotonic()
    [again] = activate(stub, request_timeout=10_000)
    assert again.key == job.key
    assert time.monotonic() - started < 3


# ---------------------------------------------------------------------------- streaming
def test_stream_pushes_jobs_as_they_are_created(stub: Any) -> None:
    deploy(stub, "work.bpmn", service_process())
    start(stub, "work")
    request = pb.StreamActivatedJobsRequest(type="work", worker="streamer", timeout=30_000)
    stream = stub.StreamActivatedJobs(request, timeout=30)
    received: list[Any] = []
    try:
        received.append(next(stream))  # the job that existed before
        thread = later(0.3, lambda: start(stub, "work"))
        received.append(next(stream))  # the one created while the stream is open
        thread.join()
    finally:
        stream.cancel()
    assert len({job.key for job in received}) == 2
    assert Job.objects.filter(state=Job.ACTIVATED, worker="streamer").count() == 2


# ---------------------------------------------------------------------------- other commands
def test_set_variables_update_timeout_and_throw_error(stub: Any) -> None:
    deploy(stub, "work.bpmn", service_process())
    key = start(stub, "work", {"a": 1})
    stub.SetVariables(pb.SetVariablesRequest(elementInstanceKey=key, variables='{"b": 2}'))
    assert dict(Variable.objects.filter(scope_key=key).values_list("name", "value")) == {
        "a": 1,
        "b": 2,
    }
    [job] = activate(stub, timeout=1_000)
    before = Job.objects.get(key=job.key).deadline
    stub.UpdateJobTimeout(pb.UpdateJobTimeoutRequest(jobKey=job.key, timeout=600_000))
    assert (Job.objects.get(key=job.key).deadline - before).total_seconds() > 500
    stub.ThrowError(pb.ThrowErrorRequest(jobKey=job.key, errorCode="NOBODY_CATCHES"))
    incident = Incident.objects.get(process_instance_key=key)
    assert incident.error_type == "UNHANDLED_ERROR_EVENT"


def test_create_with_result_returns_the_variables(stub: Any) -> None:
    deploy(stub, "work.bpmn", service_process())

    def complete_when_there() -> None:
        for job in activate(stub, request_timeout=5_000):
            stub.CompleteJob(pb.CompleteJobRequest(jobKey=job.key, variables='{"b": 2}'))

    thread = later(0.1, complete_when_there)
    request = pb.CreateProcessInstanceWithResultRequest(
        request=pb.CreateProcessInstanceRequest(bpmnProcessId="work", variables='{"a": 1}'),
        requestTimeout=10_000,
        fetchVariables=["b"],
    )
    response = stub.CreateProcessInstanceWithResult(request, timeout=20)
    thread.join()
    assert json.loads(response.variables) == {"b": 2}
    assert response.bpmnProcessId == "work" and response.version == 1
    slow = pb.CreateProcessInstanceWithResultRequest(
        request=pb.CreateProcessInstanceRequest(bpmnProcessId="work"), requestTimeout=300
    )
    code = code_of(lambda: stub.CreateProcessInstanceWithResult(slow, timeout=20))
    assert code == grpc.StatusCode.DEADLINE_EXCEEDED


# ---------------------------------------------------------------------------- auth
@pytest.fixture
def guarded(transactional_db: None) -> Iterator[GatewayServer]:
    with GatewayServer("127.0.0.1:0", token="s3cret") as server:
        yield server


def test_a_token_is_required_when_configured(guarded: GatewayServer) -> None:
    channel = grpc.insecure_channel(guarded.target)
    stub = gateway_pb2_grpc.GatewayStub(channel)
    try:
        assert code_of(lambda: stub.Topology(pb.TopologyRequest())) == (
            grpc.StatusCode.UNAUTHENTICATED
        )
        wrong = [("authorization", "Bearer nope")]
        assert code_of(lambda: stub.Topology(pb.TopologyRequest(), metadata=wrong)) == (
            grpc.StatusCode.UNAUTHENTICATED
        )
        assert code_of(lambda: activate(stub)) == grpc.StatusCode.UNAUTHENTICATED
        right = [("authorization", "Bearer s3cret")]
        assert stub.Topology(pb.TopologyRequest(), metadata=right).clusterSize == 1
    finally:
        channel.close()


def test_binds_to_localhost_by_default() -> None:
    assert GatewayServer().address.startswith("127.0.0.1:")
