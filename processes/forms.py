"""Forms that complete user tasks, chosen by the task's form key.

Domain apps register theirs in a ``task_forms.py`` module (found on first use) with
``@task_form("vendor-sla-escalation")``. A form validates on the server and turns its cleaned
data into the variables the task completes with; business rules (four eyes, amounts) are
checked by services called from ``clean``.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.module_loading import autodiscover_modules

from .port import UserTask

TASK_FORMS: dict[str, type[TaskForm]] = {}
_discovered = False


class TaskForm(forms.Form):
    """Base class: subclasses define fields and ``variables()``."""

    title = "Complete task"
    template_name = "processes/forms/task_form.html"

    def __init__(
        self, *args: Any, task: UserTask, process_variables: dict[str, Any], user: Any, **kwargs
    ) -> None:
        super().__init__(*args, **kwargs)
        self.task = task
        self.process_variables = process_variables
        self.user = user

    def variables(self) -> dict[str, Any]:
        return {}

    def context(self) -> dict[str, Any]:
        """Extra facts shown above the form (amounts, scores, history)."""
        return {}

    def completion_refusal(self) -> str | None:
        """Why a business rule would refuse this user's completion, known before they submit
        (the page shows it above the form and disables the submit button); None when nothing
        refuses it. ``clean`` still checks the rule when the form is posted."""
        return None

    def after_complete(self) -> str | None:
        """Business actions the decision calls for, once the task is completed (services only).

        Returns a line for the user, or None.
        """
        return None


class CompleteTaskForm(TaskForm):
    """Used for a form key with no registered form: completion with an optional note."""

    note = forms.CharField(
        label="Note (optional)", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    def variables(self) -> dict[str, Any]:
        note = self.cleaned_data.get("note", "").strip()
        return {"taskNote": note} if note else {}


def task_form(form_key: str):
    """Register a form class for a user-task form key."""

    def register(cls: type[TaskForm]) -> type[TaskForm]:
        TASK_FORMS[form_key] = cls
        return cls

    return register


def form_class_for(task: UserTask) -> type[TaskForm]:
    global _discovered
    if not _discovered:
        autodiscover_modules("task_forms")
        _discovered = True
    return TASK_FORMS.get(task.form_key, CompleteTaskForm)
