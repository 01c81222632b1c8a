"""Deployment validation as Zeebe's: every FEEL expression and ``=``-prefixed attribute is parsed
at deployment, and a resource with one that does not parse is refused, naming the element and
the expression (REST: a 400 problem; gRPC: INVALID_ARGUMENT)."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from pyzeebe.proto import gateway_pb2 as pb

from processes.engine import service
from processes.engine.runtime import Rejection
from processes.models import ProcessDefinition

from .conftest import bpmn, flows

pytestmark = pytest.mark.django_db(transaction=True)


def gateway_model(condition: str) -> str:
    return bpmn(
        "route",
        '<bpmn:startEvent id="start" />'
        '<bpmn:exclusiveGateway id="split" default="small" />'
        '<bpmn:endEvent id="big_end" /><bpmn:endEvent id="small_end" />'
        '<bpmn:sequenceFlow id="start_flow" sourceRef="start" targetRef="split" />'
        '<bpmn:sequenceFlow id="big" sourceRef="split" targetRef="big_end">'
        f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{condition}'
        "</bpmn:conditionExpression></bpmn:sequenceFlow>"
        '<bpmn:sequenceFlow id="small" sourceRef="split" targetRef="small_end" />',
    )


def service_with(extension: str) -> str:
    return bpmn(
        "svc",
        '<bpmn:startEvent id="start" />'
        '<bpmn:serviceTask id="pack"><bpmn:extensionElements>'
        f'<zeebe:taskDefinition type="pack" />{extension}'
        "</bpmn:extensionElements></bpmn:serviceTask>"
        '<bpmn:endEvent id="end" />' + flows(("start", "pack"), ("pack", "end")),
    )


def refusal(xml: str) -> str:
    with pytest.raises(Rejection) as refused:
        service.deploy([("model.bpmn", xml)])
    assert refused.value.rejection_type == "INVALID_ARGUMENT"
    return refused.value.message


def test_a_condition_that_does_not_parse_is_refused_over_rest(api: Any) -> None:
    response = api.deploy(("route.bpmn", gateway_model("=amount &gt;&gt; 3")))
    assert response.status_code == 400, response.content
    problem = response.json()
    assert problem["status"] == 400 and problem["title"] == "INVALID_ARGUMENT"
    assert "big" in problem["detail"] and "'=amount >> 3'" in problem["detail"]
    assert not ProcessDefinition.objects.exists()
    ok = api.deploy(("route.bpmn", gateway_model("=amount &gt; 3")))
    assert ok.status_code == 200, ok.content


def test_a_bad_expression_is_invalid_argument_over_grpc(stub: Any) -> None:
    resource = pb.Resource(name="route.bpmn", content=gateway_model("=amount &gt;&gt; 3").encode())
    with pytest.raises(grpc.RpcError) as refused:
        stub.DeployResource(pb.DeployResourceRequest(resources=[resource]))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "'=amount >> 3'" in refused.value.details()


@pytest.mark.parametrize(
    ("extension", "element", "expression"),
    [
        ('<zeebe:ioMapping><zeebe:input source="=a +" target="x" /></zeebe:ioMapping>', "pack",
         "=a +"),
        ('<zeebe:ioMapping><zeebe:output source="=total >> 1" target="y" /></zeebe:ioMapping>',
         "pack", "=total >> 1"),
        ('<zeebe:taskDefinition type="pack" retries="=[1," />', "pack", "=[1,"),
    ],
)  # fmt: skip
def test_expressions_of_mappings_and_task_definitions(extension, element, expression) -> None:
    message = refusal(service_with(extension))
    assert f"{element}: FEEL syntax error" in message and f"'{expression}'" in message


def test_any_equals_prefixed_zeebe_attribute_is_parsed() -> None:
    # zeebe:calledDecision is not run by this engine's models, but Zeebe parses its expressions
    message = refusal(
        service_with('<zeebe:properties><zeebe:property name="p" value="=not parsed" />'
                     "</zeebe:properties>"
                     '<zeebe:taskSchedule dueDate="=now() +" />')
    )  # fmt: skip
    assert "pack: FEEL syntax error in zeebe:taskSchedule attribute 'dueDate' '=now() +'" in (
        message
    )
    assert "=not parsed" not in message  # properties are plain text, never expressions


def test_message_names_and_error_codes_are_parsed_where_declared() -> None:
    xml = bpmn(
        "msg",
        '<bpmn:startEvent id="start" /><bpmn:endEvent id="end" />' + flows(("start", "end")),
        prefix='<bpmn:message id="m1" name="=&quot;paid&quot; +" />\n'
        '<bpmn:error id="e1" errorCode="=code &lt;&lt; 2" />\n',
    )
    message = refusal(xml)
    assert "m1: FEEL syntax error in message attribute 'name'" in message
    assert "e1: FEEL syntax error in error attribute 'errorCode' '=code << 2'" in message
