"""Camunda user tasks (the engine's own task list).

User tasks: https://docs.camunda.io/docs/components/modeler/bpmn/user-tasks/
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from processes.engine import expressions as ex
from processes.engine import timers as timer_math
from processes.engine.bpmn import Element
from processes.models import (
    ElementInstance,
    UserTask,
)

if TYPE_CHECKING:
    from processes.engine.behaviours.run import Run


class UserTaskBehaviour:
    """Camunda user tasks (the engine's own task list)."""

    def create_user_task(self: Run, el: Element, ei: ElementInstance) -> None:
        props = el.user_task
        assert props is not None, "a user task always has its properties"
        context = self.visible(ei.key)
        assignee = ""
        if props.assignee:
            value = ex.evaluate(props.assignee, context)
            if value is not None and not isinstance(value, str):
                raise ex.ExpressionFailure(
                    f"Expected result of the expression '{props.assignee}' to be 'STRING', "
                    f"but was '{ex.type_name(value)}'."
                )
            assignee = value or ""
        priority = 50
        if props.priority:
            priority = ex.evaluate_int(props.priority, context)
            if not 0 <= priority <= 100:
                raise ex.ExpressionFailure(
                    f"Expected priority to be in the range [0,100], but was '{priority}'."
                )
        task = UserTask(
            key=self.ctx.keys.next(),
            process_instance_key=self.root.key,
            element_instance_key=ei.key,
            definition_id=self.definition.key,
            element_id=el.id,
            name=el.name or el.id,
            state=UserTask.CREATED,
            assignee=assignee,
            candidate_groups=ex.evaluate_strings(props.candidate_groups, context),
            candidate_users=ex.evaluate_strings(props.candidate_users, context),
            due_date=self.task_date(props.due_date, context),
            follow_up_date=self.task_date(props.follow_up_date, context),
            form_key=props.form_key or props.form_id or "",
            priority=priority,
            custom_headers=dict(el.headers),
            created_at=self.now,
            tenant_id=self.root.tenant_id,
        )
        self.new_tasks.append(task)
        self.add_wait(ei, "task")
        self.record("USER_TASK", "CREATED", task.key, el.id, detail={"name": task.name})
        if assignee:
            self.record("USER_TASK", "ASSIGNED", task.key, el.id, detail={"assignee": assignee})

    @staticmethod
    def task_date(raw: str | None, context: dict[str, Any]) -> dt.datetime | None:
        if not raw:
            return None
        value = ex.evaluate(raw, context)
        if value is None or value == "":
            return None
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            return value
        if isinstance(value, str):
            try:
                return timer_math.parse_datetime(value)
            except ValueError:
                pass
        raise ex.ExpressionFailure(
            f"Expected result of the expression '{raw}' to be a date and time with offset or "
            f"zone, but was '{value}'."
        )
