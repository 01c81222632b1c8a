"""The ``gateway_protocol.Gateway`` service over the embedded engine, and the server around it.

Each RPC runs one engine command (``processes.engine.service``) in a thread of the server's pool,
as the REST API does. Rejections map to the status codes of Zeebe's gateway: ``NOT_FOUND``,
``INVALID_ARGUMENT``, ``ALREADY_EXISTS``, ``FAILED_PRECONDITION`` (Zeebe's ``INVALID_STATE``);
more commands in flight than ``max_in_flight`` are refused with ``RESOURCE_EXHAUSTED``, as Zeebe's
back-pressure does. ``ActivateJobs`` long-polls: an empty answer waits up to ``requestTimeout``
(Zeebe's default of 10 s when 0, not at all when negative) and is woken when a job of a
requested type becomes activatable: at once for jobs this process's engine creates, at the end
of a retry back-off or an activation timeout, and, for jobs created by other processes on the
same database, at the next re-check (``recheck_s``). ``StreamActivatedJobs`` pushes jobs the same
way until the client goes away.

Authentication: with a ``token``, every call must carry ``authorization: Bearer <token>``
metadata (else ``UNAUTHENTICATED``). The server binds to 127.0.0.1 unless told otherwise.
Reference: https://docs.camunda.io/docs/apis-tools/zeebe-api/gateway-service/
"""

from __future__ import annotations

import datetime as dt
import functools
import hmac
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent import futures
from typing import Any

import grpc
from django.db import close_old_connections, connection
from django.db.models import Min
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from pyzeebe.proto import gateway_pb2 as pb
from pyzeebe.proto import gateway_pb2_grpc as pb_grpc

from processes import jobs as job_registry
from processes.engine import clock, service
from processes.engine.runtime import DEFAULT_TENANT, Rejection
from processes.models import ElementInstance, Job, Variable

from .bell import Bell

logger = logging.getLogger(__name__)

GATEWAY_VERSION = "8.8.0"
DEFAULT_LONG_POLL_MS = 10_000  # Zeebe's gateway default for requestTimeout 0
MAX_LONG_POLL_MS = 300_000
DEFAULT_RESULT_TIMEOUT_MS = 10_000  # CreateProcessInstanceWithResult with requestTimeout 0
STREAM_BATCH = 32

STATUS_OF_REJECTION = {
    "NOT_FOUND": grpc.StatusCode.NOT_FOUND,
    "INVALID_ARGUMENT": grpc.StatusCode.INVALID_ARGUMENT,
    "ALREADY_EXISTS": grpc.StatusCode.ALREADY_EXISTS,
    "INVALID_STATE": grpc.StatusCode.FAILED_PRECONDITION,
    "UNAUTHORIZED": grpc.StatusCode.PERMISSION_DENIED,
    "FORBIDDEN": grpc.StatusCode.PERMISSION_DENIED,
    "PROCESSING_ERROR": grpc.StatusCode.INTERNAL,
    "EXCEEDED_BATCH_RECORD_SIZE": grpc.StatusCode.INVALID_ARGUMENT,
}


class Refused(Exception):
    """A request refused before it reached the engine."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def invalid(message: str) -> Refused:
    return Refused(grpc.StatusCode.INVALID_ARGUMENT, message)


def parse_variables(text: str, what: str = "variables") -> dict[str, Any]:
    """A JSON document of variables as Zeebe takes it: empty means none; else a JSON object."""
    if not text or not text.strip():
        return {}
    try:
        value = json.loads(text)
    except ValueError as error:
        raise invalid(
            f"Expected to parse {what} as a JSON document, but it is not valid JSON: {error}"
        ) from None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise invalid(
            f"Expected document to be a root level object, but was '{type(value).__name__}'"
        )
    return value


def epoch_ms(value: dt.datetime | None) -> int:
    return int(value.timestamp() * 1000) if value is not None else -1


# ---------------------------------------------------------------------------------- servicer
class GatewayServicer(pb_grpc.GatewayServicer):
    def __init__(
        self,
        bell: Bell,
        *,
        host: str = "127.0.0.1",
        port: int = 26500,
        max_in_flight: int = 64,
        recheck_s: float = 2.0,
    ) -> None:
        self.bell = bell
        self.host, self.port = host, port
        self.recheck_s = recheck_s
        self._in_flight = threading.BoundedSemaphore(max_in_flight)

    # ------------------------------------------------------------------ plumbing
    def _command(self, context: grpc.ServicerContext, run: Callable[[], Any]) -> Any:
        """Run one engine command: back-pressure, a fresh connection, errors as statuses."""
        if not self._in_flight.acquire(blocking=False):
            context.abort(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                "Expected to handle gRPC request, but the gateway has too many requests in "
                "flight; retry later",
            )
        code: grpc.StatusCode | None = None
        message = ""
        try:
            close_old_connections()
            with job_registry.engine_guard():
                return run()
        except Rejection as rejection:
            code = STATUS_OF_REJECTION.get(rejection.rejection_type, grpc.StatusCode.UNKNOWN)
            message = rejection.detail
        except Refused as refused:
            code, message = refused.code, refused.message
        except Exception as error:  # a bug or a database failure: INTERNAL, logged here
            logger.exception("Gateway command failed")
            connection.close()
            code, message = grpc.StatusCode.INTERNAL, f"Unexpected error: {error}"
        finally:
            # As Django does when a request finishes: a pooled connection goes back to the pool
            # (else an idle gateway thread would hold one until its next command, and more
            # threads than the pool has connections would starve it).
            close_old_connections()
            self._in_flight.release()
            self.bell.ring()
        context.abort(code, message)  # raises

    # ------------------------------------------------------------------ cluster
    def Topology(self, request: pb.TopologyRequest, context: grpc.ServicerContext) -> Any:
        partition = pb.Partition(
            partitionId=1,
            role=pb.Partition.PartitionBrokerRole.LEADER,
            health=pb.Partition.PartitionBrokerHealth.HEALTHY,
        )
        broker = pb.BrokerInfo(
            nodeId=0,
            host=self.host,
            port=self.port,
            partitions=[partition],
            version=GATEWAY_VERSION,
        )
        return pb.TopologyResponse(
            brokers=[broker],
            clusterSize=1,
            partitionsCount=1,
            replicationFactor=1,
            gatewayVersion=GATEWAY_VERSION,
        )

    # ------------------------------------------------------------------ deployments
    def DeployResource(self, request: pb.DeployResourceRequest, context: Any) -> Any:
        def run() -> Any:
            tenant = request.tenantId or DEFAULT_TENANT
            resources = []
            for resource in request.resources:
                if not resource.name.lower().endswith((".bpmn", ".xml")):
                    raise invalid(
                        f"Expected to deploy new resources, but encountered the following "
                        f"errors:\n'{resource.name}': only BPMN resources (.bpmn, .xml) can be "
                        "deployed to this engine"
                    )
                resources.append((resource.name, bytes(resource.content)))
            key, deployed = service.deploy(resources, tenant_id=tenant)
            return pb.DeployResourceResponse(
                key=key,
                tenantId=tenant,
                deployments=[
                    pb.Deployment(
                        process=pb.ProcessMetadata(
                            bpmnProcessId=item.definition.bpmn_process_id,
                            version=item.definition.version,
                            processDefinitionKey=item.definition.key,
                            resourceName=item.definition.resource_name,
                            tenantId=item.definition.tenant_id,
                        )
                    )
                    for item in deployed
                ],
            )

        return self._command(context, run)

    # ------------------------------------------------------------------ instances
    def _create(self, request: pb.CreateProcessInstanceRequest) -> ElementInstance:
        if request.startInstructions:
            raise invalid("Start instructions are not supported by this gateway")
        if not request.processDefinitionKey and not request.bpmnProcessId:
            raise invalid(
                "Expected to create a process instance, but neither a process definition key "
                "nor a BPMN process id was given"
            )
        return service.create_instance(
            process_id=request.bpmnProcessId or None,
            definition_key=request.processDefinitionKey or None,
            version=request.version if request.version > 0 else None,
            variables=parse_variables(request.variables),
            tenant_id=request.tenantId or DEFAULT_TENANT,
        )

    def _created(self, root: ElementInstance) -> dict[str, Any]:
        from processes.engine.definitions import definition_by_key

        definition = definition_by_key(root.definition_id)
        return {
            "processDefinitionKey": definition.key,
            "bpmnProcessId": definition.bpmn_process_id,
            "version": definition.version,
            "processInstanceKey": root.key,
            "tenantId": root.tenant_id,
        }

    def CreateProcessInstance(self, request: pb.CreateProcessInstanceRequest, context: Any) -> Any:
        def run() -> Any:
            return pb.CreateProcessInstanceResponse(**self._created(self._create(request)))

        return self._command(context, run)

    def CreateProcessInstanceWithResult(
        self, request: pb.CreateProcessInstanceWithResultRequest, context: Any
    ) -> Any:
        created = self._command(context, lambda: self._created(self._create(request.request)))
        key = created["processInstanceKey"]
        timeout_ms = request.requestTimeout or DEFAULT_RESULT_TIMEOUT_MS
        give_up = time.monotonic() + _capped(timeout_ms, context)
        while True:
            ticket = self.bell.ticket()
            close_old_connections()
            state = ElementInstance.objects.filter(key=key).values_list("state", flat=True).first()
            if state == ElementInstance.COMPLETED:
                break
            if state != ElementInstance.ACTIVE:
                context.abort(
                    grpc.StatusCode.FAILED_PRECONDITION,
                    f"Expected to wait for the result of process instance '{key}', but it was "
                    "terminated",
                )
            remaining = give_up - time.monotonic()
            if remaining <= 0 or self.bell.closed or not context.is_active():
                context.abort(
                    grpc.StatusCode.DEADLINE_EXCEEDED,
                    f"Expected to receive the result of process instance '{key}' within "
                    f"{timeout_ms} ms, but it did not complete in time",
                )
            self.bell.wait(ticket, min(remaining, self.recheck_s))
        rows = Variable.objects.filter(scope_key=key)
        if request.fetchVariables:
            rows = rows.filter(name__in=list(request.fetchVariables))
        variables = {name: value for name, value in rows.values_list("name", "value")}
        return pb.CreateProcessInstanceWithResultResponse(
            **created, variables=json.dumps(variables)
        )

    def CancelProcessInstance(self, request: pb.CancelProcessInstanceRequest, context: Any) -> Any:
        def run() -> Any:
            service.cancel_instance(request.processInstanceKey)
            return pb.CancelProcessInstanceResponse()

        return self._command(context, run)

    def SetVariables(self, request: pb.SetVariablesRequest, context: Any) -> Any:
        def run() -> Any:
            variables = parse_variables(request.variables)
            service.set_variables(request.elementInstanceKey, variables, local=request.local)
            from processes.engine.keys import KeyAllocator

            return pb.SetVariablesResponse(key=KeyAllocator().next())

        return self._command(context, run)

    # ------------------------------------------------------------------ messages
    def PublishMessage(self, request: pb.PublishMessageRequest, context: Any) -> Any:
        def run() -> Any:
            tenant = request.tenantId or DEFAULT_TENANT
            key, _instances = service.publish_message(
                request.name,
                request.correlationKey,
                variables=parse_variables(request.variables),
                ttl_ms=request.timeToLive,
                message_id=request.messageId,
                tenant_id=tenant,
            )
            return pb.PublishMessageResponse(key=key, tenantId=tenant)

        return self._command(context, run)

    # ------------------------------------------------------------------ jobs
    def _check_activation(self, job_type: str, timeout: int, max_jobs: int | None) -> None:
        if not job_type.strip():
            raise invalid("Expected to activate jobs, but no job type was given")
        if timeout < 1:
            raise invalid(
                f"Expected to activate jobs with a timeout greater than zero, but it was {timeout}"
            )
        if max_jobs is not None and max_jobs < 1:
            raise invalid(
                "Expected to activate jobs with maxJobsToActivate greater than zero, but it was "
                f"{max_jobs}"
            )

    def _activate(self, request: Any, max_jobs: int) -> list[Any]:
        found = service.activate_jobs(
            request.type,
            worker=request.worker or "default",
            timeout_ms=request.timeout,
            max_jobs=max_jobs,
            fetch_variables=list(request.fetchVariable) or None,
            tenant_ids=list(request.tenantIds) or None,
        )
        return [_activated_job(item) for item in found]

    def _wait_for_jobs(self, job_type: str, ticket: tuple[int, ...], limit: float) -> None:
        """Sleep until a job of ``job_type`` may be activatable, at most ``limit`` seconds."""
        wait = min(limit, self.recheck_s)
        now = clock.now()
        due = Job.objects.filter(type=job_type).aggregate(
            backoff=Min("activatable_at", filter=_activatable_later(now)),
            timeout=Min("deadline", filter=_activated()),
        )
        for at in (due["backoff"], due["timeout"]):
            if at is not None:
                wait = min(wait, max((at - now).total_seconds(), 0.0) + 0.01)
        close_old_connections()
        self.bell.wait(ticket, wait, [job_type])

    def ActivateJobs(self, request: pb.ActivateJobsRequest, context: Any) -> Iterator[Any]:
        if _invalid_activation(request):
            self._command(
                context,
                lambda: self._check_activation(
                    request.type, request.timeout, request.maxJobsToActivate
                ),
            )
        if request.requestTimeout < 0:
            wait_ms = 0
        else:
            wait_ms = request.requestTimeout or DEFAULT_LONG_POLL_MS
        give_up = time.monotonic() + _capped(wait_ms, context)
        while True:
            ticket = self.bell.ticket([request.type])
            found = self._command(
                context, lambda: self._activate(request, request.maxJobsToActivate)
            )
            if found:
                yield pb.ActivateJobsResponse(jobs=found)
                return
            remaining = give_up - time.monotonic()
            if remaining <= 0 or self.bell.closed or not context.is_active():
                yield pb.ActivateJobsResponse(jobs=[])
                return
            self._wait_for_jobs(request.type, ticket, remaining)

    def StreamActivatedJobs(
        self, request: pb.StreamActivatedJobsRequest, context: Any
    ) -> Iterator[Any]:
        if not request.type.strip() or request.timeout < 1:
            self._command(
                context, lambda: self._check_activation(request.type, request.timeout, None)
            )
        while context.is_active() and not self.bell.closed:
            ticket = self.bell.ticket([request.type])
            found = self._command(context, lambda: self._activate(request, STREAM_BATCH))
            yield from found
            if not found:
                self._wait_for_jobs(request.type, ticket, 60.0)

    def CompleteJob(self, request: pb.CompleteJobRequest, context: Any) -> Any:
        def run() -> Any:
            service.complete_job(request.jobKey, parse_variables(request.variables))
            return pb.CompleteJobResponse()

        return self._command(context, run)

    def FailJob(self, request: pb.FailJobRequest, context: Any) -> Any:
        def run() -> Any:
            job_type = Job.objects.filter(key=request.jobKey).values_list("type", flat=True)
            service.fail_job(
                request.jobKey,
                retries=request.retries,
                error_message=request.errorMessage,
                retry_backoff_ms=max(request.retryBackOff, 0),
                variables=parse_variables(request.variables),
            )
            if request.retries > 0:  # offered again at once or after the back-off
                self.bell.ring(list(job_type))
            return pb.FailJobResponse()

        return self._command(context, run)

    def ThrowError(self, request: pb.ThrowErrorRequest, context: Any) -> Any:
        def run() -> Any:
            if not request.errorCode:
                raise invalid("Expected to throw an error, but no error code was given")
            service.throw_job_error(
                request.jobKey,
                error_code=request.errorCode,
                error_message=request.errorMessage,
                variables=parse_variables(request.variables),
            )
            return pb.ThrowErrorResponse()

        return self._command(context, run)

    def UpdateJobRetries(self, request: pb.UpdateJobRetriesRequest, context: Any) -> Any:
        def run() -> Any:
            service.update_job(request.jobKey, retries=request.retries)
            return pb.UpdateJobRetriesResponse()

        return self._command(context, run)

    def UpdateJobTimeout(self, request: pb.UpdateJobTimeoutRequest, context: Any) -> Any:
        def run() -> Any:
            if request.timeout < 1:
                raise invalid(
                    "Expected to update the job timeout with a value greater than zero, but it "
                    f"was {request.timeout}"
                )
            service.update_job(request.jobKey, timeout_ms=request.timeout)
            return pb.UpdateJobTimeoutResponse()

        return self._command(context, run)

    # ------------------------------------------------------------------ incidents
    def ResolveIncident(self, request: pb.ResolveIncidentRequest, context: Any) -> Any:
        def run() -> Any:
            service.resolve_incident(request.incidentKey)
            return pb.ResolveIncidentResponse()

        return self._command(context, run)


def _invalid_activation(request: pb.ActivateJobsRequest) -> bool:
    return not request.type.strip() or request.timeout < 1 or request.maxJobsToActivate < 1


def _capped(timeout_ms: int, context: Any) -> float:
    """Seconds to wait: ``timeout_ms`` within our cap and before the client's own deadline."""
    seconds = min(max(timeout_ms, 0), MAX_LONG_POLL_MS) / 1000
    remaining = context.time_remaining()
    if remaining is not None:
        seconds = min(seconds, max(remaining - 0.5, 0.0))
    return seconds


def _activatable_later(now: dt.datetime) -> Any:
    from django.db.models import Q

    return Q(state=Job.ACTIVATABLE, activatable_at__gt=now)


def _activated() -> Any:
    from django.db.models import Q

    return Q(state=Job.ACTIVATED, deadline__isnull=False)


def _activated_job(item: service.ActivatedJob) -> Any:
    job, definition = item.job, item.definition
    return pb.ActivatedJob(
        key=job.key,
        type=job.type,
        processInstanceKey=job.process_instance_key,
        bpmnProcessId=definition.bpmn_process_id,
        processDefinitionVersion=definition.version,
        processDefinitionKey=definition.key,
        elementId=job.element_id,
        elementInstanceKey=job.element_instance_key,
        customHeaders=json.dumps({k: str(v) for k, v in (job.custom_headers or {}).items()}),
        worker=job.worker,
        retries=job.retries,
        deadline=epoch_ms(job.deadline),
        variables=json.dumps(item.variables),
        tenantId=job.tenant_id,
    )


# ---------------------------------------------------------------------------------- auth
class TokenInterceptor(grpc.ServerInterceptor):
    """Refuse calls without ``authorization: Bearer <token>`` (health checks included)."""

    def __init__(self, token: str) -> None:
        self._expected = f"Bearer {token}".encode()

        def refuse(request: Any, context: grpc.ServicerContext) -> Any:
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "Expected a valid bearer token")

        self._refusal = grpc.unary_unary_rpc_method_handler(refuse)
        self._stream_refusal = grpc.unary_stream_rpc_method_handler(refuse)

    def intercept_service(self, continuation: Any, details: Any) -> Any:
        sent = dict(details.invocation_metadata or ()).get("authorization", "")
        sent_bytes = sent.encode() if isinstance(sent, str) else bytes(sent)
        if hmac.compare_digest(sent_bytes, self._expected):
            return continuation(details)
        handler = continuation(details)
        if handler is not None and handler.response_streaming:
            return self._stream_refusal
        return self._refusal


# ---------------------------------------------------------------------------------- server
class GatewayServer:
    """The gRPC server, its wake-up bell and (optionally) a ticker that fires due timers.

    ``address`` is ``host:port``; port 0 picks a free one (see ``port`` after ``start()``).
    """

    def __init__(
        self,
        address: str = "127.0.0.1:26500",
        *,
        token: str = "",
        threads: int = 64,
        max_in_flight: int = 64,
        recheck_s: float = 2.0,
        ticker: bool = True,
        tick_interval: float = 0.5,
    ) -> None:
        self.address = address
        self.token = token
        self.threads = threads
        self.max_in_flight = max_in_flight
        self.recheck_s = recheck_s
        self.ticker = ticker
        self.tick_interval = tick_interval
        self.bell = Bell()
        self.port = 0
        self._server: grpc.Server | None = None
        self._stopping = threading.Event()
        self._ticker_thread: threading.Thread | None = None
        self._executor: futures.ThreadPoolExecutor | None = None
        self._listener: Callable[[set[str]], None] | None = None

    @property
    def target(self) -> str:
        host = self.address.rsplit(":", 1)[0]
        return f"{host}:{self.port}"

    def start(self) -> GatewayServer:
        host = self.address.rsplit(":", 1)[0]
        interceptors = [TokenInterceptor(self.token)] if self.token else []
        self._executor = futures.ThreadPoolExecutor(
            max_workers=self.threads, thread_name_prefix="gateway"
        )
        server = grpc.server(self._executor, interceptors=interceptors)
        # The stub's other methods (modify, migrate, DMN, signals...) answer UNIMPLEMENTED.
        servicer = GatewayServicer(  # type: ignore[abstract]
            self.bell,
            host=host,
            max_in_flight=self.max_in_flight,
            recheck_s=self.recheck_s,
        )
        pb_grpc.add_GatewayServicer_to_server(servicer, server)
        health_servicer = health.HealthServicer()
        health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
        health_servicer.set("gateway_protocol.Gateway", health_pb2.HealthCheckResponse.SERVING)
        health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
        self.port = server.add_insecure_port(self.address)
        if not self.port:
            raise OSError(f"Cannot bind the Zeebe gateway to {self.address}")
        servicer.port = self.port
        self._listener = functools.partial(_ring_for_types, self.bell)
        service.JOB_CREATED_LISTENERS.append(self._listener)
        server.start()
        self._server = server
        if self.ticker:
            self._ticker_thread = threading.Thread(
                target=self._tick_loop, name="gateway-ticker", daemon=True
            )
            self._ticker_thread.start()
        return self

    def stop(self, grace: float = 2.0) -> None:
        self._stopping.set()
        self.bell.close()
        if self._listener in service.JOB_CREATED_LISTENERS:
            service.JOB_CREATED_LISTENERS.remove(self._listener)
        if self._server is not None:
            self._server.stop(grace).wait(grace + 5)
            self._server = None
        if self._executor is not None:
            # gRPC's stop cancels the calls but not the threads running them: a command still
            # under way finishes (and commits or rolls back) before the gateway counts as stopped.
            executor, self._executor = self._executor, None
            waiter = threading.Thread(target=executor.shutdown, daemon=True)
            waiter.start()
            waiter.join(grace + 10)
        if self._ticker_thread is not None:
            self._ticker_thread.join(5)
            self._ticker_thread = None

    def wait(self) -> None:
        if self._server is not None:
            self._server.wait_for_termination()

    def __enter__(self) -> GatewayServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _tick_loop(self) -> None:
        """Fire due timers, expire messages, finish call-activity parents (as the workers' ticker
        does when the engine runs without Celery)."""
        last_expiry = 0.0
        try:
            while not self._stopping.wait(self.tick_interval):
                try:
                    close_old_connections()
                    with job_registry.engine_guard():
                        service.fire_due_timers()
                        if time.monotonic() - last_expiry >= 5.0:
                            last_expiry = time.monotonic()
                            service.expire_messages()
                            service.resume_completed_children()
                except Exception:
                    logger.exception("Gateway ticker failed; retrying")
                    connection.close()
        finally:
            connection.close()


def _ring_for_types(bell: Bell, types: set[str]) -> None:
    bell.ring(types)


def from_settings(**overrides: Any) -> GatewayServer:
    """A server configured by ``ZEEBE_GATEWAY_*`` settings (see ``config/settings.py``)."""
    from django.conf import settings

    options: dict[str, Any] = {
        "address": getattr(settings, "ZEEBE_GATEWAY_ADDRESS", "") or "127.0.0.1:26500",
        "token": getattr(settings, "ZEEBE_GATEWAY_TOKEN", ""),
    }
    options.update({k: v for k, v in overrides.items() if v is not None})
    return GatewayServer(**options)
