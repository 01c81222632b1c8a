"""The engine port (``processes.port``) on the embedded engine, and its Zeebe adapter: pyzeebe's
gRPC gateway mocked (there is no broker in the test environment), and the REST v2 reads and user
task commands against this project's own Camunda-compatible ``/v2`` API on a live server."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from unittest import mock

import pytest
from django.db import connection, transaction

from processes import port
from processes.engine import service
from processes.models import ElementInstance, Incident, Job, UserTask, Variable
from tests.processes.workers.conftest import tasks_in_row

USER_TASK_XML = tasks_in_row("wt-port-ut", []).replace(
    '<bpmn:endEvent id="end"><bpmn:incoming>f0</bpmn:incoming></bpmn:endEvent>',
    '<bpmn:userTask id="review"><bpmn:extensionElements><zeebe:userTask />'
    "</bpmn:extensionElements><bpmn:incoming>f0</bpmn:incoming>"
    "<bpmn:outgoing>f9</bpmn:outgoing></bpmn:userTask>"
    '<bpmn:endEvent id="end"><bpmn:incoming>f9</bpmn:incoming></bpmn:endEvent>'
    '<bpmn:sequenceFlow id="f9" sourceRef="review" targetRef="end" />',
)
USER_TASK_XML = USER_TASK_XML.replace(
    'id="f0" sourceRef="start" targetRef="end"', 'id="f0" sourceRef="start" targetRef="review"'
)


def test_importing_the_bpmn_parser_does_not_import_django():
    code = "import sys, processes.engine.bpmn; sys.exit('django' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_port_on_the_embedded_engine(db, django_user_model):
    user = django_user_model.objects.create(username="support1")
    [deployed] = port.deploy(USER_TASK_XML)
    assert (deployed.process_id, deployed.version) == ("wt-port-ut", 1)
    assert port.deploy(USER_TASK_XML)[0].version == 1  # unchanged: same version
    key = port.start("wt-port-ut", {"orderId": 3}, business_key="SO-3")
    task = UserTask.objects.get(process_instance_key=key)
    port.assign_user_task(task.key, "support1")
    port.unassign_user_task(task.key)
    port.complete_user_task(task.key, {"ok": True}, user)
    root = ElementInstance.objects.get(key=key)
    assert (root.state, root.business_key) == (ElementInstance.COMPLETED, "SO-3")
    assert UserTask.objects.get(key=task.key).completed_by == "support1"
    other = port.start("wt-port-ut", {})
    port.cancel(other)
    assert ElementInstance.objects.get(key=other).state == ElementInstance.TERMINATED
    assert port.publish_message("nobody-waits", "SO-3", {"x": 1}, ttl_ms=1000) > 0


def _variables(process_instance_key: int) -> dict:
    rows = Variable.objects.filter(scope_key=process_instance_key)
    return {row.name: row.value for row in rows}


def test_start_many_starts_each_in_order_in_one_command(db, django_assert_num_queries):
    port.deploy(USER_TASK_XML)
    port.start("wt-port-ut", {})  # the definition's cache is warm, as in a running process
    many = [({"orderId": n}, f"SO-{n}") for n in range(1, 9)]
    # As the renewal opening calls it, inside the caller's transaction: on PostgreSQL one
    # savepoint and its release in all (the engine's own statements bypass Django's cursor
    # there; one start each would take a savepoint of its own).
    counted = (
        django_assert_num_queries(2)
        if connection.vendor == "postgresql"
        else contextlib.nullcontext()
    )
    with transaction.atomic(), counted:
        keys = port.start_many("wt-port-ut", [*many, (None, None)])
    assert len(set(keys)) == 9
    roots = {root.key: root for root in ElementInstance.objects.filter(key__in=keys)}
    assert [roots[key].business_key for key in keys] == [f"SO-{n}" for n in range(1, 9)] + [""]
    assert [_variables(key).get("orderId") for key in keys] == [*range(1, 9), None]
    assert UserTask.objects.filter(process_instance_key__in=keys).count() == 9
    assert port.start_many("wt-port-ut", []) == []


def test_start_many_announces_the_created_jobs_once(db, django_capture_on_commit_callbacks):
    port.deploy(tasks_in_row("wt-port-many", ["many-a"]))
    notified: list[dict[int, str]] = []
    service.JOB_KEYS_CREATED_LISTENERS.append(notified.append)
    try:
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            keys = port.start_many("wt-port-many", [({}, f"B-{n}") for n in range(4)])
            assert notified == []  # not before the commit
        assert len(callbacks) == 1
    finally:
        service.JOB_KEYS_CREATED_LISTENERS.remove(notified.append)
    [announced] = notified
    jobs = dict(Job.objects.filter(process_instance_key__in=keys).values_list("key", "type"))
    assert announced == jobs and len(jobs) == 4


def test_start_many_is_all_or_nothing(db):
    port.deploy(USER_TASK_XML)
    with pytest.raises(port.PortError) as refused:
        port.start_many("no-such-process", [({}, "A")])
    assert refused.value.rejection_type == "NOT_FOUND"
    with pytest.raises(RuntimeError), transaction.atomic():
        port.start_many("wt-port-ut", [({}, "A"), ({}, "B")])
        raise RuntimeError("the caller's transaction fails after the starts")
    assert not ElementInstance.objects.filter(business_key__in=["A", "B"]).exists()
    # Every start's variables are checked before the first one runs.
    with pytest.raises(port.PortError) as refused:
        port.start_many("wt-port-ut", [({"ok": 1}, "C"), ("not an object", "D")])  # type: ignore[list-item]
    assert refused.value.rejection_type == "INVALID_ARGUMENT"
    assert not ElementInstance.objects.filter(business_key__in=["C", "D"]).exists()


def test_the_engine_package_is_no_longer_the_port():
    import processes.engine

    assert not hasattr(processes.engine, "start")


def test_composable_queries_stay_one_sql_query(db, django_assert_num_queries):
    # given: one instance waiting at the user task, one finished
    port.deploy(USER_TASK_XML)
    waiting = port.start("wt-port-ut", {})
    done = port.start("wt-port-ut", {})
    task = UserTask.objects.get(process_instance_key=done)
    port.complete_user_task(task.key, {}, "support1")
    # when: the composable query filters another queryset
    keys = port.instances_waiting_at("review", "wt-port-ut")
    roots = ElementInstance.objects.filter(element_type="PROCESS", key__in=keys)
    # then: one query, the waiting instance only
    with django_assert_num_queries(1):
        assert list(roots.values_list("key", flat=True)) == [waiting]
    assert list(port.instances_waiting_at("review", "another-process")) == []
    assert list(port.instances_with_open_incident()) == []


def test_who_completed_a_user_task(db):
    port.deploy(USER_TASK_XML)
    key = port.start("wt-port-ut", {})
    assert port.user_task_completed_by(process_instance_key=key, element_id="review") == ""
    task = UserTask.objects.get(process_instance_key=key)
    port.complete_user_task(task.key, {}, "manager2")
    assert port.user_task_completed_by(process_instance_key=key, element_id="review") == "manager2"


def test_refused_commands_raise_port_error(db):
    port.deploy(USER_TASK_XML)
    key = port.start("wt-port-ut", {})
    task = UserTask.objects.get(process_instance_key=key)
    port.assign_user_task(task.key, "ann")
    with pytest.raises(port.PortError) as refused:
        port.assign_user_task(task.key, "bob", allow_override=False)
    assert refused.value.rejection_type == "INVALID_STATE"
    port.complete_user_task(task.key, {}, "ann")
    with pytest.raises(port.PortError) as refused:
        port.complete_user_task(task.key, {}, "ann")
    assert refused.value.rejection_type == "INVALID_STATE"
    with pytest.raises(port.PortError) as refused:
        port.start("no-such-process", {})
    assert refused.value.rejection_type == "NOT_FOUND"


def test_task_queries(db):
    port.deploy(USER_TASK_XML)
    first, second = port.start("wt-port-ut", {}), port.start("wt-port-ut", {})
    task = UserTask.objects.get(process_instance_key=first)
    UserTask.objects.filter(process_instance_key=second).update(candidate_groups=["support"])
    port.assign_user_task(task.key, "ann")
    ann, support = port.Audience("ann"), port.Audience("bob", ("support",))
    mine = port.user_tasks(port.TaskQuery(assignee="ann"))
    assert [t.process_instance_key for t in mine.items] == [first] and mine.total == 1
    offered = port.TaskQuery(assignee="", offered_to=support)
    assert [t.process_instance_key for t in port.user_tasks(offered).items] == [second]
    assert port.count_user_tasks(port.TaskQuery(actionable_by=ann)) == 1
    assert port.count_user_tasks(port.TaskQuery(visible_to=support)) == 1
    assert port.count_user_tasks(port.TaskQuery()) == 2
    pages = port.user_task_pages(port.TaskQuery(sort="created_asc"))
    assert pages.count() == 2 and [t.process_instance_key for t in pages[0:1]] == [first]


# ---------------------------------------------------------------------------------- Zeebe
@pytest.fixture
def gateway(settings):
    """pyzeebe's client on a mocked gRPC gateway stub; yields the stub."""
    from pyzeebe.proto import gateway_pb2

    from processes.adapters import zeebe

    settings.PROCESS_ENGINE = "zeebe"
    settings.ZEEBE_ADDRESS = "zeebe.invalid:26500"
    stub = mock.MagicMock()
    stub.CreateProcessInstance = mock.AsyncMock(
        return_value=gateway_pb2.CreateProcessInstanceResponse(
            processDefinitionKey=11, bpmnProcessId="order", version=2, processInstanceKey=42
        )
    )
    stub.PublishMessage = mock.AsyncMock(return_value=gateway_pb2.PublishMessageResponse(key=77))
    stub.CancelProcessInstance = mock.AsyncMock(
        return_value=gateway_pb2.CancelProcessInstanceResponse()
    )
    stub.DeployResource = mock.AsyncMock(
        return_value=gateway_pb2.DeployResourceResponse(
            key=5,
            deployments=[
                gateway_pb2.Deployment(
                    process=gateway_pb2.ProcessMetadata(
                        bpmnProcessId="order", version=3, processDefinitionKey=99
                    )
                )
            ],
        )
    )
    with mock.patch("pyzeebe.grpc_internals.zeebe_adapter_base.GatewayStub", return_value=stub):
        zeebe._adapter = None
        try:
            yield stub
        finally:
            if zeebe._adapter is not None:
                zeebe._adapter.close()
            zeebe._adapter = None


def test_zeebe_start_sends_variables_and_business_key(gateway):
    key = port.start("order", {"orderId": 1}, business_key="SO-1", version=2)
    assert key == 42
    request = gateway.CreateProcessInstance.await_args.args[0]
    assert (request.bpmnProcessId, request.version) == ("order", 2)
    assert '"businessKey": "SO-1"' in request.variables
    assert '"orderId": 1' in request.variables


def test_zeebe_start_many_starts_each_through_the_live_gateway(transactional_db, settings):
    """On Camunda 8 each start is its own create call; here our gateway plays the cluster."""
    from processes.adapters import zeebe
    from processes.grpc.server import GatewayServer

    port.deploy(USER_TASK_XML)
    with GatewayServer("127.0.0.1:0") as server:
        settings.PROCESS_ENGINE = "zeebe"
        settings.ZEEBE_ADDRESS = server.target
        zeebe._adapter = None
        try:
            keys = port.start_many("wt-port-ut", [({"orderId": 1}, "SO-1"), (None, "SO-2")])
        finally:
            if zeebe._adapter is not None:
                zeebe._adapter.close()
            zeebe._adapter = None
    assert len(set(keys)) == 2
    assert [_variables(key).get("businessKey") for key in keys] == ["SO-1", "SO-2"]
    assert _variables(keys[0])["orderId"] == 1
    assert UserTask.objects.filter(process_instance_key__in=keys).count() == 2


def test_zeebe_publish_and_cancel(gateway):
    assert port.publish_message("paid", "SO-1", {"amount": 5}, ttl_ms=1000, message_id="m1") == 77
    request = gateway.PublishMessage.await_args.args[0]
    assert (request.name, request.correlationKey, request.timeToLive, request.messageId) == (
        "paid",
        "SO-1",
        1000,
        "m1",
    )
    port.cancel(42)
    assert gateway.CancelProcessInstance.await_args.args[0].processInstanceKey == 42


def test_zeebe_deploy_maps_the_deployed_processes(gateway):
    [deployed] = port.deploy(tasks_in_row("order", ["charge"]))
    assert (deployed.process_id, deployed.version, deployed.key) == ("order", 3, 99)
    request = gateway.DeployResource.await_args.args[0]
    assert request.resources[0].name == "process.bpmn"


def test_zeebe_refusals_are_port_errors(gateway):
    from pyzeebe.errors import ProcessDefinitionNotFoundError

    gateway.CreateProcessInstance.side_effect = ProcessDefinitionNotFoundError(
        bpmn_process_id="order", version=-1
    )
    with pytest.raises(port.PortError) as refused:
        port.start("order", {})
    assert refused.value.rejection_type == "NOT_FOUND"


# ------------------------------------------------------------------ Zeebe over REST v2 (live)
SERVICE_XML = tasks_in_row("wt-port-svc", ["wt-port-never-handled"], retries=1)


@pytest.fixture
def camunda_rest(live_server, settings, django_user_model):
    """The Zeebe adapter's REST client pointed at this project's ``/v2`` API on a live server.

    State is made with the embedded engine first; the port then reads it as it would read a
    Camunda 8 cluster."""
    django_user_model.objects.create_superuser("rest-client", password="rest-secret")
    settings.CAMUNDA_REST_ADDRESS = f"{live_server.url}/v2"
    settings.CAMUNDA_REST_USERNAME = "rest-client"
    settings.CAMUNDA_REST_PASSWORD = "rest-secret"

    def on_zeebe() -> None:
        settings.PROCESS_ENGINE = "zeebe"

    return on_zeebe


def _incident_in_new_instance() -> tuple[int, Incident]:
    key = port.start("wt-port-svc", {"amount": 1})
    [job] = service.activate_jobs("wt-port-never-handled", worker="test", max_jobs=1)
    service.fail_job(job.job.key, retries=0, error_message="carrier down")
    return key, Incident.objects.get(process_instance_key=key)


def test_zeebe_rest_user_tasks_and_task_reads(transactional_db, camunda_rest):
    # given: two instances waiting at the review task (made on the embedded engine)
    port.deploy(USER_TASK_XML)
    first, second = port.start("wt-port-ut", {"orderId": 1}), port.start("wt-port-ut", {})
    first_task = UserTask.objects.get(process_instance_key=first).key
    # when: the port runs on "Camunda 8"
    camunda_rest()
    assert port.adapter_module().__name__ == "processes.adapters.zeebe"
    # then: the composable query is a list of keys, the tasks read as dataclasses
    assert port.instances_waiting_at("review", "wt-port-ut") == sorted([first, second])
    task = port.user_task(first_task)
    assert (task.state, task.element_id, task.process_instance_key) == ("CREATED", "review", first)
    assert port.user_task(123456789) is None
    assert port.count_user_tasks(port.TaskQuery(state="CREATED")) == 2
    assert port.user_task_variables(task) == {"orderId": 1}
    # when: claimed and completed through the REST API
    port.assign_user_task(first_task, "ann", allow_override=False)
    with pytest.raises(port.PortError) as refused:
        port.assign_user_task(first_task, "bob", allow_override=False)
    assert refused.value.rejection_type == "INVALID_STATE"
    mine = port.user_tasks(port.TaskQuery(actionable_by=port.Audience("ann")))
    assert [t.key for t in mine.items] == [first_task]
    port.complete_user_task(first_task, {"ok": True}, "ann")
    # then: who decided is known from the engine, and the instance moved on
    assert port.user_task_completed_by(process_instance_key=first, element_id="review") == "ann"
    assert port.instances_waiting_at("review") == [second]
    instance = port.instance(first)
    assert (instance.state, instance.process_id) == ("COMPLETED", "wt-port-ut")
    assert {v.name: v.value for v in port.variables(first)} == {"orderId": 1, "ok": True}
    with pytest.raises(port.PortError) as refused:
        port.complete_user_task(first_task, {}, "ann")
    assert refused.value.rejection_type in ("INVALID_STATE", "NOT_FOUND")


def test_zeebe_rest_incidents_read_and_resolve(transactional_db, camunda_rest):
    # given: an instance whose only job failed with no retries left
    port.deploy(SERVICE_XML)
    key, row = _incident_in_new_instance()
    camunda_rest()
    # then: the incident reads through the port, and the composable query finds the instance
    assert port.instances_with_open_incident("wt-port-svc") == [key]
    found = port.incident(row.key)
    assert (found.error_type, found.error_message, found.job_key) == (
        "JOB_NO_RETRIES",
        "carrier down",
        row.job_key,
    )
    listed = port.incidents(process_id="wt-port-svc")
    assert listed.count() == 1 and [i.key for i in listed[0:25]] == [row.key]
    assert port.incident_groups() == [
        {"process_id": "wt-port-svc", "error_type": "JOB_NO_RETRIES", "n": 1}
    ]
    assert port.is_element_instance_active(found.element_instance_key)
    # when: resolved with new retries and a corrected variable
    port.resolve_incident(row.key, retries=2, variables={"amount": 5})
    # then: the incident is resolved, the job has retries again, the variable was set
    row.refresh_from_db()
    assert row.state == Incident.RESOLVED
    assert port.instances_with_open_incident() == []
    assert {v.name: v.value for v in port.variables(key)}["amount"] == 5
    from processes.models import Job

    assert Job.objects.get(key=row.job_key).retries == 2
    with pytest.raises(port.PortError) as refused:
        port.resolve_incident(987654321)
    assert refused.value.rejection_type == "NOT_FOUND"


def test_zeebe_rest_unreachable_is_a_port_error(settings):
    settings.PROCESS_ENGINE = "zeebe"
    settings.CAMUNDA_REST_ADDRESS = "http://127.0.0.1:9/v2"
    with pytest.raises(port.PortError) as refused:
        port.user_task(1)
    assert refused.value.rejection_type == "UNAVAILABLE"
