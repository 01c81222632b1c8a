"""The ``processes.engine`` port on the embedded engine, and its Zeebe adapter with pyzeebe's
gRPC gateway mocked (there is no broker in the test environment)."""

from __future__ import annotations

import subprocess
import sys
from unittest import mock

import pytest

from processes import engine
from processes.models import ElementInstance, UserTask
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
    [deployed] = engine.deploy(USER_TASK_XML)
    assert (deployed.process_id, deployed.version) == ("wt-port-ut", 1)
    assert engine.deploy(USER_TASK_XML)[0].version == 1  # unchanged: same version
    key = engine.start("wt-port-ut", {"orderId": 3}, business_key="SO-3")
    task = UserTask.objects.get(process_instance_key=key)
    engine.assign_user_task(task.key, "support1")
    engine.unassign_user_task(task.key)
    engine.complete_user_task(task.key, {"ok": True}, user)
    root = ElementInstance.objects.get(key=key)
    assert (root.state, root.business_key) == (ElementInstance.COMPLETED, "SO-3")
    assert UserTask.objects.get(key=task.key).completed_by == "support1"
    other = engine.start("wt-port-ut", {})
    engine.cancel(other)
    assert ElementInstance.objects.get(key=other).state == ElementInstance.TERMINATED
    assert engine.publish_message("nobody-waits", "SO-3", {"x": 1}, ttl_ms=1000) > 0


def test_unknown_port_name_is_an_attribute_error():
    with pytest.raises(AttributeError):
        engine.not_a_port_function  # noqa: B018


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
    key = engine.start("order", {"orderId": 1}, business_key="SO-1", version=2)
    assert key == 42
    request = gateway.CreateProcessInstance.await_args.args[0]
    assert (request.bpmnProcessId, request.version) == ("order", 2)
    assert '"businessKey": "SO-1"' in request.variables
    assert '"orderId": 1' in request.variables


def test_zeebe_publish_and_cancel(gateway):
    assert engine.publish_message("paid", "SO-1", {"amount": 5}, ttl_ms=1000, message_id="m1") == 77
    request = gateway.PublishMessage.await_args.args[0]
    assert (request.name, request.correlationKey, request.timeToLive, request.messageId) == (
        "paid",
        "SO-1",
        1000,
        "m1",
    )
    engine.cancel(42)
    assert gateway.CancelProcessInstance.await_args.args[0].processInstanceKey == 42


def test_zeebe_deploy_maps_the_deployed_processes(gateway):
    [deployed] = engine.deploy(tasks_in_row("order", ["charge"]))
    assert (deployed.process_id, deployed.version, deployed.key) == ("order", 3, 99)
    request = gateway.DeployResource.await_args.args[0]
    assert request.resources[0].name == "process.bpmn"


def test_zeebe_user_tasks_are_not_served_by_grpc(gateway):
    with pytest.raises(NotImplementedError):
        engine.complete_user_task(1, {}, None)
