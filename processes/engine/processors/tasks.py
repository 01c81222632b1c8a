"""Task processors: job workers, scripts, user tasks and receive tasks.

https://docs.camunda.io/docs/components/modeler/bpmn/tasks/
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from processes.engine import expressions as ex
from processes.engine.behaviours.jobs import USER_TASK_JOB_TYPE

from .base import Processor

if TYPE_CHECKING:
    from processes.engine.behaviours.run import Run
    from processes.engine.bpmn import Element
    from processes.models import ElementInstance


class JobWorkerTask(Processor):
    """Service, send and business rule tasks (and script tasks without ``zeebe:script``): the
    instance waits for its job. https://docs.camunda.io/docs/components/modeler/bpmn/service-tasks/
    """

    def on_activate(self, run: Run, el: Element, ei: ElementInstance) -> None:
        run.open_boundaries(el, ei)
        run.create_job(el, ei)
        run.activated(el, ei)


class ScriptTask(JobWorkerTask):
    """A FEEL script evaluated by the engine (``zeebe:script``), else a job like a service task.
    https://docs.camunda.io/docs/components/modeler/bpmn/script-tasks/
    """

    def on_activate(self, run: Run, el: Element, ei: ElementInstance) -> None:
        if el.script is None:
            super().on_activate(run, el, ei)
            return
        run.open_boundaries(el, ei)
        run.activated(el, ei)
        script = el.script.expression  # stored as written, normally "=..."
        script = script if ex.is_expression(script) else "=" + script
        value = ex.to_variable(ex.evaluate(script, run.visible(ei.key)))
        payload = {el.script.result_variable: value} if el.script.result_variable else None
        run.complete(ei, payload)


class UserTask(Processor):
    """A Camunda user task, or (without ``zeebe:userTask``) a job of type
    ``io.camunda.zeebe:userTask``. https://docs.camunda.io/docs/components/modeler/bpmn/user-tasks/
    """

    def on_activate(self, run: Run, el: Element, ei: ElementInstance) -> None:
        run.open_boundaries(el, ei)
        if el.user_task is not None and el.user_task.job_worker:
            run.create_job(
                el, ei, job_type=USER_TASK_JOB_TYPE, headers=run.user_task_headers(el, ei)
            )
        else:
            run.create_user_task(el, ei)
        run.activated(el, ei)


class ReceiveTask(Processor):
    """Waits for a message. https://docs.camunda.io/docs/components/modeler/bpmn/receive-tasks/"""

    def on_activate(self, run: Run, el: Element, ei: ElementInstance) -> None:
        run.open_boundaries(el, ei)
        run.open_message_subscription(el, ei, el, interrupting=True)
        run.activated(el, ei)
