"""``InstanceAssert``: assertions on one process instance, after Camunda Process Test.

Each assertion reads the current state from the database, returns ``self`` for chaining, and on
failure raises ``AssertionError`` describing what the instance is actually doing: its state,
active elements, incidents with their messages, open waits and root variables.
"""

from __future__ import annotations

from typing import Any

from processes.models import (
    ElementInstance,
    Incident,
    Job,
    MessageSubscription,
    Timer,
    UserTask,
    Variable,
)

MI_BODY = "MULTI_INSTANCE_BODY"
_UNSET: Any = object()


class InstanceAssert:
    """Assertions on the process instance ``key`` (always reading fresh state)."""

    def __init__(self, key: int) -> None:
        self.key = key

    def __repr__(self) -> str:
        return f"<InstanceAssert {self.key}>"

    # ------------------------------------------------------------------ reading
    @property
    def root(self) -> ElementInstance:
        return ElementInstance.objects.get(key=self.key)

    @property
    def state(self) -> str:
        return self.root.state

    @property
    def variables(self) -> dict[str, Any]:
        """The root scope's variables."""
        return dict(Variable.objects.filter(scope_key=self.key).values_list("name", "value"))

    def local_variables(self, element_id: str) -> dict[str, Any]:
        """Local variables of the active instance of ``element_id``."""
        scope = self.element_instance_key(element_id)
        return dict(Variable.objects.filter(scope_key=scope).values_list("name", "value"))

    def _active(self) -> list[ElementInstance]:
        return list(
            ElementInstance.objects.filter(
                process_instance_key=self.key, state=ElementInstance.ACTIVE
            )
            .exclude(key=self.key)
            .order_by("key")
        )

    def active_element_ids(self, *, leaves_only: bool = False) -> list[str]:
        """Ids of active element instances (sorted; repeated for several instances).

        ``leaves_only``: only those without active children (where tokens wait), and never a
        multi-instance body.
        """
        active = self._active()
        if leaves_only:
            parents = {ei.scope_key for ei in active}
            active = [ei for ei in active if ei.key not in parents and ei.element_type != MI_BODY]
        return sorted(ei.element_id for ei in active)

    def element_instance_key(self, element_id: str) -> int:
        """The key of the (first) active instance of ``element_id``."""
        for ei in self._active():
            if ei.element_id == element_id and ei.element_type != MI_BODY:
                return ei.key
        self._fail(f"Expected element '{element_id}' to be active, but it is not")
        raise AssertionError  # unreachable

    def passed_count(self, element_id: str) -> int:
        return (
            ElementInstance.objects.filter(
                process_instance_key=self.key,
                element_id=element_id,
                state=ElementInstance.COMPLETED,
            )
            .exclude(element_type=MI_BODY)
            .count()
        )

    def incidents(self, *, active: bool = True) -> list[Incident]:
        query = Incident.objects.filter(process_instance_key=self.key)
        if active:
            query = query.filter(state=Incident.ACTIVE)
        return list(query.order_by("key"))

    def jobs(self, job_type: str | None = None) -> list[Job]:
        query = Job.objects.filter(process_instance_key=self.key)
        if job_type is not None:
            query = query.filter(type=job_type)
        return list(query.order_by("key"))

    def user_tasks(self, element_id: str | None = None) -> list[UserTask]:
        query = UserTask.objects.filter(process_instance_key=self.key)
        if element_id is not None:
            query = query.filter(element_id=element_id)
        return list(query.order_by("key"))

    # ------------------------------------------------------------------ state
    def is_active(self) -> InstanceAssert:
        return self._expect_state(ElementInstance.ACTIVE)

    def is_completed(self) -> InstanceAssert:
        return self._expect_state(ElementInstance.COMPLETED)

    def is_terminated(self) -> InstanceAssert:
        return self._expect_state(ElementInstance.TERMINATED)

    def _expect_state(self, expected: str) -> InstanceAssert:
        if self.state != expected:
            self._fail(f"Expected the process instance to be {expected}, but it is {self.state}")
        return self

    # ------------------------------------------------------------------ elements
    def has_passed(self, element_id: str, times: int | None = None) -> InstanceAssert:
        """``element_id`` completed at least once (or exactly ``times`` times)."""
        count = self.passed_count(element_id)
        if (times is None and count == 0) or (times is not None and count != times):
            wanted = "at least once" if times is None else f"{times} time(s)"
            self._fail(f"Expected '{element_id}' to be passed {wanted}, but it was passed {count}")
        return self

    def has_not_passed(self, *element_ids: str) -> InstanceAssert:
        passed = [e for e in element_ids if self.passed_count(e)]
        if passed:
            self._fail(f"Expected {passed} not to be passed, but they were")
        return self

    def is_waiting_at(self, *element_ids: str, exactly: bool = True) -> InstanceAssert:
        """Tokens wait exactly at ``element_ids`` (active elements without active children).

        ``exactly=False``: each of ``element_ids`` is active (containers count), others may be.
        """
        if exactly:
            actual = sorted(set(self.active_element_ids(leaves_only=True)))
            if actual != sorted(set(element_ids)):
                self._fail(f"Expected to wait exactly at {sorted(set(element_ids))}")
        else:
            self.has_active_elements(*element_ids)
        return self

    def is_not_waiting_at(self, *element_ids: str) -> InstanceAssert:
        active = set(self.active_element_ids())
        found = [e for e in element_ids if e in active]
        if found:
            self._fail(f"Expected not to wait at {found}")
        return self

    def has_active_elements(self, *element_ids: str) -> InstanceAssert:
        active = set(self.active_element_ids())
        missing = [e for e in element_ids if e not in active]
        if missing:
            self._fail(f"Expected {missing} to be active")
        return self

    def has_no_active_elements(self) -> InstanceAssert:
        if self._active():
            self._fail("Expected no active elements")
        return self

    # ------------------------------------------------------------------ variables
    def has_variables(self, **expected: Any) -> InstanceAssert:
        """The root scope holds these variables with these values."""
        actual = self.variables
        wrong = {
            name: actual.get(name, "<missing>")
            for name, value in expected.items()
            if name not in actual or not _same(actual[name], value)
        }
        if wrong:
            self._fail(f"Expected root variables {expected}, but found {wrong}")
        return self

    def has_variable(self, name: str, value: Any = _UNSET) -> InstanceAssert:
        actual = self.variables
        if name not in actual:
            self._fail(f"Expected root variable '{name}' to exist")
        if value is not _UNSET and not _same(actual[name], value):
            self._fail(f"Expected root variable {name}={value!r}, but it is {actual[name]!r}")
        return self

    def has_no_variable(self, *names: str) -> InstanceAssert:
        present = [n for n in names if n in self.variables]
        if present:
            self._fail(f"Expected no root variables {present}")
        return self

    # ------------------------------------------------------------------ incidents
    def has_incident(
        self,
        error_type: str | None = None,
        element_id: str | None = None,
        *,
        message_contains: str | None = None,
    ) -> InstanceAssert:
        """An active incident matches the given type, element and message part."""
        for incident in self.incidents():
            if error_type is not None and incident.error_type != error_type:
                continue
            if element_id is not None and incident.element_id != element_id:
                continue
            if message_contains is not None and message_contains not in incident.error_message:
                continue
            return self
        self._fail(
            f"Expected an active incident (type={error_type}, element={element_id}, "
            f"message containing={message_contains!r})"
        )
        return self

    def has_no_incidents(self) -> InstanceAssert:
        if self.incidents():
            self._fail("Expected no active incidents")
        return self

    # ------------------------------------------------------------------ waits
    def is_waiting_for_message(
        self, name: str, correlation_key: str | None = None
    ) -> InstanceAssert:
        query = MessageSubscription.objects.filter(process_instance_key=self.key, message_name=name)
        if correlation_key is not None:
            query = query.filter(correlation_key=correlation_key)
        if not query.exists():
            self._fail(f"Expected a message subscription '{name}' (key={correlation_key!r})")
        return self

    def is_not_waiting_for_message(self, name: str) -> InstanceAssert:
        if MessageSubscription.objects.filter(
            process_instance_key=self.key, message_name=name
        ).exists():
            self._fail(f"Expected no message subscription '{name}'")
        return self

    def has_user_task(
        self,
        element_id: str,
        *,
        assignee: Any = _UNSET,
        candidate_groups: Any = _UNSET,
        candidate_users: Any = _UNSET,
        priority: Any = _UNSET,
        form_key: Any = _UNSET,
        due_date: Any = _UNSET,
    ) -> InstanceAssert:
        """An open user task of ``element_id`` with these properties (unspecified: any)."""
        tasks = [t for t in self.user_tasks(element_id) if t.state == UserTask.CREATED]
        if not tasks:
            self._fail(f"Expected an open user task '{element_id}'")
        task = tasks[0]
        expected = {
            "assignee": assignee,
            "candidate_groups": candidate_groups,
            "candidate_users": candidate_users,
            "priority": priority,
            "form_key": form_key,
            "due_date": due_date,
        }
        wrong = {
            field: getattr(task, field)
            for field, value in expected.items()
            if value is not _UNSET and getattr(task, field) != value
        }
        if wrong:
            wanted = {k: v for k, v in expected.items() if v is not _UNSET}
            self._fail(f"Expected user task '{element_id}' with {wanted}, but it has {wrong}")
        return self

    # ------------------------------------------------------------------ failure text
    def describe(self) -> str:
        """What the instance is doing now, for failure messages."""
        return describe_instance(self.key)

    def _fail(self, message: str) -> None:
        raise AssertionError(f"{message}.\n{self.describe()}")


def _same(actual: Any, expected: Any) -> bool:
    """JSON equality, where 1 == 1.0 but True != 1."""
    if isinstance(actual, bool) or isinstance(expected, bool):
        return type(actual) is type(expected) and actual == expected
    if isinstance(actual, list) and isinstance(expected, list | tuple):
        return len(actual) == len(expected) and all(map(_same, actual, expected))
    if isinstance(actual, dict) and isinstance(expected, dict):
        return actual.keys() == expected.keys() and all(
            _same(actual[k], expected[k]) for k in actual
        )
    return actual == expected


def describe_instance(key: int) -> str:
    root = ElementInstance.objects.filter(key=key).first()
    if root is None:
        return f"Process instance {key} does not exist."
    lines = [f"Process instance {key} ({root.element_id}) is {root.state}."]
    active = (
        ElementInstance.objects.filter(process_instance_key=key, state=ElementInstance.ACTIVE)
        .exclude(key=key)
        .order_by("key")
    )
    lines.append("  active elements:")
    lines += [
        f"    - {ei.element_id} [{ei.element_type}, {ei.lifecycle}]"
        + (" with incident" if ei.has_incident else "")
        for ei in active
    ] or ["    (none)"]
    joins = root.data.get("joins")
    if joins:
        lines.append(f"  tokens waiting at joins: {joins}")
    completed = (
        ElementInstance.objects.filter(process_instance_key=key, state=ElementInstance.COMPLETED)
        .exclude(key=key)
        .order_by("ended_at", "key")
        .values_list("element_id", flat=True)
    )
    lines.append(f"  passed: {list(completed) or '(none)'}")
    incidents = Incident.objects.filter(process_instance_key=key, state=Incident.ACTIVE)
    lines.append("  incidents:")
    lines += [f"    - {i.error_type} at {i.element_id}: {i.error_message}" for i in incidents] or [
        "    (none)"
    ]
    lines.append(describe_jobs(key))
    tasks = UserTask.objects.filter(process_instance_key=key, state=UserTask.CREATED)
    if tasks:
        lines.append(
            "  open user tasks: "
            + ", ".join(f"{t.element_id} (key {t.key}, assignee {t.assignee!r})" for t in tasks)
        )
    subs = MessageSubscription.objects.filter(process_instance_key=key)
    if subs:
        lines.append(
            "  message subscriptions: "
            + ", ".join(f"{s.message_name}[{s.correlation_key!r}] at {s.element_id}" for s in subs)
        )
    timers = Timer.objects.filter(process_instance_key=key)
    if timers:
        lines.append(
            "  timers: " + ", ".join(f"{t.element_id} due {t.due_at.isoformat()}" for t in timers)
        )
    variables = dict(Variable.objects.filter(scope_key=key).values_list("name", "value"))
    lines.append(f"  root variables: {variables}")
    return "\n".join(lines)


def describe_jobs(process_instance_key: int | None) -> str:
    query = Job.objects.filter(state__in=[Job.ACTIVATABLE, Job.ACTIVATED, Job.FAILED])
    if process_instance_key is not None:
        query = query.filter(process_instance_key=process_instance_key)
    jobs = [
        f"    - {j.type} at {j.element_id} [{j.state}, retries {j.retries}"
        + (f", activatable at {j.activatable_at.isoformat()}" if j.activatable_at else "")
        + (f", deadline {j.deadline.isoformat()}" if j.deadline else "")
        + "]"
        for j in query.order_by("key")
    ]
    return "  open jobs:\n" + ("\n".join(jobs) if jobs else "    (none)")
