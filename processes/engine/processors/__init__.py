"""Element processors: one per ``ElementKind``, registered in one explicit table.

As Zeebe's ``BpmnElementProcessors``: the run looks the processor of an element up here and calls
its life-cycle steps (``base.Processor``). A kind missing from ``PROCESSORS`` cannot run; the
parser rejects such elements at deployment.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from processes.engine import expressions as ex
from processes.engine.bpmn import ElementKind

from .base import PassThrough, Processor
from .containers import CallActivity, SubProcess
from .events import BoundaryEvent, EndEvent, IntermediateCatchEvent, IntermediateThrowEvent
from .gateways import EventBasedGateway, ExclusiveGateway, InclusiveGateway, ParallelGateway
from .tasks import JobWorkerTask, ReceiveTask, ScriptTask, UserTask

if TYPE_CHECKING:
    from processes.engine.bpmn import Element

_pass_through = PassThrough()
_job_worker = JobWorkerTask()

PROCESSORS: dict[ElementKind, Processor] = {
    ElementKind.START_EVENT: _pass_through,
    ElementKind.END_EVENT: EndEvent(),
    ElementKind.INTERMEDIATE_CATCH_EVENT: IntermediateCatchEvent(),
    ElementKind.INTERMEDIATE_THROW_EVENT: IntermediateThrowEvent(),
    ElementKind.BOUNDARY_EVENT: BoundaryEvent(),
    ElementKind.SERVICE_TASK: _job_worker,
    ElementKind.SEND_TASK: _job_worker,
    ElementKind.BUSINESS_RULE_TASK: _job_worker,
    ElementKind.SCRIPT_TASK: ScriptTask(),
    ElementKind.USER_TASK: UserTask(),
    ElementKind.RECEIVE_TASK: ReceiveTask(),
    ElementKind.MANUAL_TASK: _pass_through,
    ElementKind.TASK: _pass_through,
    ElementKind.EXCLUSIVE_GATEWAY: ExclusiveGateway(),
    ElementKind.PARALLEL_GATEWAY: ParallelGateway(),
    ElementKind.INCLUSIVE_GATEWAY: InclusiveGateway(),
    ElementKind.EVENT_BASED_GATEWAY: EventBasedGateway(),
    ElementKind.SUB_PROCESS: SubProcess(),
    ElementKind.CALL_ACTIVITY: CallActivity(),
}


class _Unsupported(Processor):
    def on_activate(self, run: object, el: Element, ei: object) -> None:
        raise ex.ExpressionFailure(f"Element kind '{el.kind}' is not supported", "UNKNOWN")


_UNSUPPORTED = _Unsupported()


def processor_of(el: Element) -> Processor:
    """The processor of ``el``'s kind."""
    return PROCESSORS.get(el.kind, _UNSUPPORTED)


__all__ = ["PROCESSORS", "Processor", "processor_of"]
