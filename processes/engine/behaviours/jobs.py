"""Jobs of service-like tasks and of job-based user tasks.

Jobs: https://docs.camunda.io/docs/components/concepts/job-workers/
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from processes.engine import expressions as ex
from processes.engine import sql
from processes.engine.bpmn import Element
from processes.models import (
    ElementInstance,
    Job,
)

if TYPE_CHECKING:
    from processes.engine.behaviours.run import Run

# A job-based user task (no ``zeebe:userTask``) is a job of this type.
USER_TASK_JOB_TYPE = "io.camunda.zeebe:userTask"


class JobBehaviour:
    """Jobs of service-like tasks and of job-based user tasks."""

    def create_job(
        self: Run,
        el: Element,
        ei: ElementInstance,
        *,
        job_type: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """The job of a task; ``job_type``/``headers`` override the task definition."""
        task = el.task
        retries_expr = (task.retries_expr if task is not None else "3") or "3"
        if job_type is None:
            assert task is not None, "the validator requires a task definition"
        dynamic = ex.is_expression(retries_expr) or (
            job_type is None and task is not None and ex.is_expression(task.type_expr)
        )
        context = self.visible(ei.key) if dynamic else {}  # static values need no variables
        if job_type is None and task is not None:
            job_type = ex.evaluate_string(task.type_expr, context).strip()
        if not job_type:
            raise ex.ExpressionFailure("Expected job type to be a non-empty string")
        retries = ex.evaluate_int(retries_expr, context)
        job = sql.build(
            Job,
            key=self.ctx.keys.next(),
            type=job_type,
            state=Job.ACTIVATABLE,
            process_instance_key=self.root.key,
            element_instance_key=ei.key,
            definition_id=self.definition.key,
            element_id=el.id,
            retries=retries,
            custom_headers=dict(el.headers) if headers is None else headers,
            created_at=self.now,
            activatable_at=self.now,
            tenant_id=self.root.tenant_id,
        )
        self.new_jobs.append(job)
        self.add_wait(ei, "job")
        self.record("JOB", "CREATED", job.key, el.id, detail={"type": job_type})

    def user_task_headers(self: Run, el: Element, ei: ElementInstance) -> dict[str, str]:
        """A job-based user task's job carries its properties as reserved headers.

        As Zeebe does: the custom headers plus ``io.camunda.zeebe:assignee``,
        ``candidateGroups``/``candidateUsers`` (JSON lists), ``dueDate``/``followUpDate``
        (ISO date-times) and ``formKey`` when set; expressions are evaluated now.
        """
        props = el.user_task
        assert props is not None, "a user task always has its properties"
        context = self.visible(ei.key)
        headers = dict(el.headers)
        prefix = "io.camunda.zeebe:"
        if props.assignee:
            value = ex.evaluate(props.assignee, context)
            if value is not None and not isinstance(value, str):
                raise ex.ExpressionFailure(
                    f"Expected result of the expression '{props.assignee}' to be 'STRING', "
                    f"but was '{ex.type_name(value)}'."
                )
            if value:
                headers[prefix + "assignee"] = value
        for name, raw in (
            ("candidateGroups", props.candidate_groups),
            ("candidateUsers", props.candidate_users),
        ):
            items = ex.evaluate_strings(raw, context)
            if items:
                headers[prefix + name] = json.dumps(items)
        for name, raw in (("dueDate", props.due_date), ("followUpDate", props.follow_up_date)):
            moment = self.task_date(raw, context)
            if moment is not None:
                headers[prefix + name] = moment.isoformat()
        if props.form_key:
            headers[prefix + "formKey"] = props.form_key
        return headers
