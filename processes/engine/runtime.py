"""Token execution for one process instance: the core of the embedded engine.

An ``InstanceRun`` is one command applied to one process instance inside one transaction that
holds the instance's row lock. It loads the active element instances and the variables, moves
tokens in memory until every path waits (a job, a user task, a message, a timer, an incident or
a join), then writes everything it changed in bulk. Section numbers (§) refer to the Zeebe
semantics digest in the shared reference.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.db import connection
from django.db.models import Exists, OuterRef

from processes.models import (
    ElementInstance,
    Incident,
    Job,
    Message,
    MessageCorrelation,
    MessageSubscription,
    ProcessDefinition,
    Record,
    Timer,
    UserTask,
    Variable,
)

from . import expressions as ex
from . import sql
from . import timers as timer_math
from .bpmn import Element, ProcessModel
from .keys import KeyAllocator

ACTIVATING, ACTIVATED, COMPLETING = "ACTIVATING", "ACTIVATED", "COMPLETING"
COMPLETED, TERMINATING, TERMINATED = "COMPLETED", "TERMINATING", "TERMINATED"

ELEMENT_TYPES = {
    "startEvent": "START_EVENT",
    "endEvent": "END_EVENT",
    "intermediateCatchEvent": "INTERMEDIATE_CATCH_EVENT",
    "intermediateThrowEvent": "INTERMEDIATE_THROW_EVENT",
    "boundaryEvent": "BOUNDARY_EVENT",
    "serviceTask": "SERVICE_TASK",
    "sendTask": "SEND_TASK",
    "businessRuleTask": "BUSINESS_RULE_TASK",
    "scriptTask": "SCRIPT_TASK",
    "userTask": "USER_TASK",
    "receiveTask": "RECEIVE_TASK",
    "manualTask": "MANUAL_TASK",
    "task": "TASK",
    "exclusiveGateway": "EXCLUSIVE_GATEWAY",
    "parallelGateway": "PARALLEL_GATEWAY",
    "inclusiveGateway": "INCLUSIVE_GATEWAY",
    "eventBasedGateway": "EVENT_BASED_GATEWAY",
    "subProcess": "SUB_PROCESS",
    "callActivity": "CALL_ACTIVITY",
}
JOB_KINDS = frozenset({"serviceTask", "sendTask", "businessRuleTask", "scriptTask"})
MI_BODY = "MULTI_INSTANCE_BODY"
USER_TASK_JOB_TYPE = "io.camunda.zeebe:userTask"  # §8.5: job-based user tasks
_VISIBLE: Any = object()  # ``_assign_path``: start from the variable visible in the scope
DEFAULT_TENANT = "<default>"


class Rejection(Exception):
    """A command the engine refuses, as Zeebe rejects it (mapped to HTTP by the API)."""

    def __init__(self, rejection_type: str, intent: str, message: str) -> None:
        super().__init__(message)
        self.rejection_type = rejection_type  # NOT_FOUND, INVALID_STATE, INVALID_ARGUMENT, ...
        self.intent = intent
        self.message = message

    @property
    def detail(self) -> str:
        return f"Command '{self.intent}' rejected with code '{self.rejection_type}': {self.message}"


def element_type(el: Element) -> str:
    if el.kind == "subProcess" and el.triggered_by_event:
        return "EVENT_SUB_PROCESS"
    return ELEMENT_TYPES.get(el.kind, "UNKNOWN")


class CommandContext:
    """What one command shares across the instances it touches (keys, time, after-commit work)."""

    def __init__(self, now: dt.datetime, actor: str = "") -> None:
        self.now = now
        self.actor = actor
        self.keys = KeyAllocator()
        self.created_job_types: set[str] = set()
        # Key -> type of each job made activatable by this command (queue-based workers).
        self.created_job_keys: dict[int, str] = {}
        self.follow_ups: list[Callable[[], None]] = []
        # Message subscriptions this command wrote: once committed, each looks again for a
        # message published concurrently (neither transaction saw the other's row).
        self.opened_subs: list[MessageSubscription] = []


class InstanceRun:
    """Applies one command to one process instance and flushes the changes."""

    def __init__(
        self,
        ctx: CommandContext,
        root: ElementInstance,
        definition: ProcessDefinition,
        model: ProcessModel,
        *,
        loaded: bool = True,
        rows: tuple[list[ElementInstance], list[Variable]] | None = None,
    ) -> None:
        """``rows``: the instance's other active element instances and its variables, when the
        caller read them already (with its lock, in one round trip)."""
        self.ctx = ctx
        self.now = ctx.now
        self.root = root
        self.definition = definition
        self.model = model
        self.instances: dict[int, ElementInstance] = {root.key: root}
        self.children: dict[int, list[int]] = defaultdict(list)
        self._vars: dict[int, dict[str, Variable]] = defaultdict(dict)
        self._vars_loaded = True  # a new instance has no stored variables
        self.new_instances: list[ElementInstance] = []
        self.dirty_instances: set[int] = set()
        self.new_vars: list[Variable] = []
        self.dirty_vars: set[int] = set()
        self.var_by_key: dict[int, Variable] = {}
        self.new_jobs: list[Job] = []
        self.new_tasks: list[UserTask] = []
        self.new_subs: list[MessageSubscription] = []
        self.new_timers: list[Timer] = []
        self.new_incidents: list[Incident] = []
        self.records: list[tuple] = []  # rows of Record (see record())
        self.closed_owner_keys: set[int] = set()  # element instances whose waits are closed
        self.fresh_waits: set[tuple[int, str]] = set()  # (owner, kind) first opened this command
        self.new_correlations: list[MessageCorrelation] = []
        self.queue: deque[Callable[[], None]] = deque()
        # Tokens on their way into a scope (queued activations): the scope cannot complete yet.
        self.in_flight: dict[int, int] = defaultdict(int)
        self.pending_message_checks: list[MessageSubscription] = []
        # Work that must see this run's writes (a child's parent continuation, §1.12b).
        self.after_flush: list[Callable[[], None]] = []
        if rows is not None:
            self._adopt(*rows)
        elif loaded:
            self._load()

    # ------------------------------------------------------------------ loading and flushing
    def _load(self) -> None:
        key = self.root.key
        if sql.vendor() == "postgresql":
            # One round trip: on this database a second statement costs more than the rows.
            self._adopt(*sql.select_many(active_rows("%s", [key])))
            return
        active = ElementInstance.objects.filter(
            process_instance_key=key, state=ElementInstance.ACTIVE
        ).exclude(key=key)
        self._adopt(list(active), None)

    def _adopt(self, active: list[ElementInstance], stored: list[Variable] | None) -> None:
        for ei in active:
            self.instances[ei.key] = ei
        for ei in self.instances.values():
            if ei.scope_key is not None:
                self.children[ei.scope_key].append(ei.key)
        if stored is None:
            self._vars_loaded = False  # read on first use (many commands need none)
            return
        for var in stored:
            self._vars[var.scope_key].setdefault(var.name, var)
            self.var_by_key.setdefault(var.key, var)

    @property
    def vars(self) -> dict[int, dict[str, Variable]]:
        if not self._vars_loaded:  # SQLite only: PostgreSQL reads them with the instances
            self._vars_loaded = True
            for var in Variable.objects.filter(process_instance_key=self.root.key):
                # A variable this command already created stays the one we know.
                self._vars[var.scope_key].setdefault(var.name, var)
                self.var_by_key.setdefault(var.key, var)
        return self._vars

    def flush(self) -> None:
        """Write every change of this command (the caller holds the transaction).

        The writes go out together and are answered once (``sql.batch``)."""
        with sql.batch(), sql.combined():
            self._write()
        self.new_instances, self.new_vars, self.new_jobs, self.new_tasks = [], [], [], []
        self.new_subs, self.new_timers, self.new_incidents, self.records = [], [], [], []
        self.new_correlations, self.fresh_waits = [], set()
        self.dirty_instances, self.dirty_vars, self.closed_owner_keys = set(), set(), set()
        callbacks, self.after_flush = self.after_flush, []
        for callback in callbacks:
            callback()

    def _write(self) -> None:
        new_keys = {ei.key for ei in self.new_instances}
        if self.new_instances:
            sql.insert(self.new_instances)
        dirty = [self.instances[k] for k in self.dirty_instances if k not in new_keys]
        if dirty:
            _update_element_instances(dirty)
        if self.new_vars:
            sql.insert(self.new_vars)
        new_var_keys = {v.key for v in self.new_vars}
        dirty_vars = [self.var_by_key[k] for k in self.dirty_vars if k not in new_var_keys]
        if dirty_vars:
            Variable.objects.bulk_update(dirty_vars, ["value"])
        if self.closed_owner_keys:
            self._close_waits(self.closed_owner_keys)
        if self.new_jobs:
            sql.insert(self.new_jobs)
            self.ctx.created_job_types.update(job.type for job in self.new_jobs)
            self.ctx.created_job_keys.update((job.key, job.type) for job in self.new_jobs)
        if self.new_tasks:
            sql.insert(self.new_tasks)
        if self.new_subs:
            sql.insert(self.new_subs)
            self.ctx.opened_subs.extend(self.new_subs)
        if self.new_timers:
            sql.insert(self.new_timers)
        if self.new_incidents:
            sql.insert(self.new_incidents)
        if self.new_correlations:
            sql.insert(self.new_correlations)
        if self.records:
            sql.insert_rows(Record, self.records)

    def add_wait(self, ei: ElementInstance, kind: str) -> None:
        """Remember that ``ei`` owns a job/task/subscription/timer/incident to close at its end."""
        waits = ei.data.setdefault("waits", [])
        if kind not in waits:
            waits.append(kind)
            self.touch(ei)
            # Rows of this kind exist only in this command's memory until the flush.
            self.fresh_waits.add((ei.key, kind))

    def drop_wait(self, ei: ElementInstance, kind: str) -> None:
        waits = ei.data.get("waits")
        if waits and kind in waits:
            waits.remove(kind)
            self.touch(ei)

    def _close_waits(self, owners: set[int]) -> None:
        """Cancel jobs, user tasks, subscriptions and timers of finished element instances."""
        by_kind: dict[str, list[int]] = defaultdict(list)
        for key in owners:
            for kind in self.instances[key].data.get("waits", ()):
                if (key, kind) not in self.fresh_waits:  # those are handled in memory below
                    by_kind[kind].append(key)
        # Waits created and closed within this same command are never written.
        self.new_subs = [s for s in self.new_subs if s.element_instance_key not in owners]
        self.new_timers = [t for t in self.new_timers if t.element_instance_key not in owners]
        for job in self.new_jobs:
            if job.element_instance_key in owners:
                job.state, job.ended_at = Job.CANCELED, self.now
        for task in self.new_tasks:
            if task.element_instance_key in owners:
                task.state, task.completed_at = UserTask.CANCELED, self.now
        for incident in self.new_incidents:
            if incident.element_instance_key in owners:
                incident.state, incident.resolved_at = Incident.RESOLVED, self.now
        if by_kind["job"]:
            Job.objects.filter(
                element_instance_key__in=by_kind["job"],
                state__in=[Job.ACTIVATABLE, Job.ACTIVATED, Job.FAILED],
            ).update(state=Job.CANCELED, ended_at=self.now)
        if by_kind["task"]:
            UserTask.objects.filter(
                element_instance_key__in=by_kind["task"], state=UserTask.CREATED
            ).update(state=UserTask.CANCELED, completed_at=self.now)
        if by_kind["sub"]:
            MessageSubscription.objects.filter(element_instance_key__in=by_kind["sub"]).delete()
        if by_kind["timer"]:
            Timer.objects.filter(element_instance_key__in=by_kind["timer"]).delete()
        if by_kind["incident"]:
            Incident.objects.filter(
                element_instance_key__in=by_kind["incident"], state=Incident.ACTIVE
            ).update(state=Incident.RESOLVED, resolved_at=self.now)

    # ------------------------------------------------------------------ running
    def run(self) -> None:
        """Process queued steps until every path waits."""
        while self.queue:
            self.queue.popleft()()
        if self.pending_message_checks:
            checks, self.pending_message_checks = self.pending_message_checks, []
            for sub in checks:
                self._correlate_buffered(sub)
            self.run()

    def record(
        self,
        value_type: str,
        intent: str,
        key: int | None,
        element_id: str = "",
        el_type: str = "",
        detail: dict[str, Any] | None = None,
    ) -> None:
        # A plain row in ``Record``'s insert order (``sql.insert_rows``): a command writes
        # dozens, and model instances would cost more than the rest of the work.
        self.records.append(
            (
                self.root.key,
                value_type,
                intent,
                key,
                element_id,
                el_type,
                self.ctx.actor,
                detail or {},
                self.now,
            )
        )

    def touch(self, ei: ElementInstance) -> None:
        self.dirty_instances.add(ei.key)

    # ------------------------------------------------------------------ variables (§1)
    def scope_chain(self, scope_key: int) -> list[int]:
        """The scope and its ancestors, innermost first."""
        chain = []
        key: int | None = scope_key
        while key is not None:
            chain.append(key)
            key = self.instances[key].scope_key if key in self.instances else None
        return chain

    def visible(self, scope_key: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key in reversed(self.scope_chain(scope_key)):
            for name, var in self.vars.get(key, {}).items():
                result[name] = var.value
        return result

    def set_local(self, scope_key: int, name: str, value: Any) -> None:
        """§1.3: create or update exactly in the given scope."""
        var = self.vars[scope_key].get(name)
        if var is None:
            var = sql.build(
                Variable,
                key=self.ctx.keys.next(),
                scope_key=scope_key,
                process_instance_key=self.root.key,
                name=name,
                value=value,
                tenant_id=self.root.tenant_id,
            )
            self.vars[scope_key][name] = var
            self.var_by_key[var.key] = var
            self.new_vars.append(var)
            self.record("VARIABLE", "CREATED", var.key, detail={"name": name, "scope": scope_key})
        elif var.value != value or type(var.value) is not type(value):
            var.value = value
            self.dirty_vars.add(var.key)
            self.record("VARIABLE", "UPDATED", var.key, detail={"name": name, "scope": scope_key})

    def propagate(self, scope_key: int, document: dict[str, Any]) -> None:
        """§1.4: write each variable where it is first found walking outward, else at the root."""
        chain = self.scope_chain(scope_key)
        for name, value in document.items():
            target = next((k for k in chain if name in self.vars.get(k, {})), self.root.key)
            self.set_local(target, name, value)

    def apply_inputs(self, el: Element, ei: ElementInstance) -> None:
        """§1.9a: input mappings, in order, written locally; a later one may read an earlier.

        A dotted target ``a.b`` builds a whole new object ``a`` (merged only with earlier input
        targets of this element), never a copy of an outer ``a``.
        """
        built: dict[str, Any] = {}
        for mapping in el.inputs:
            if mapping.source is None:
                value = None
            else:
                context = self.visible(ei.key)
                value = ex.to_variable(ex.evaluate(mapping.source, context, "IO_MAPPING_ERROR"))
            name = mapping.target.partition(".")[0]
            built[name] = self._assign_path(
                ei.key, mapping.target, value, local=True, base=built.get(name)
            )

    def _assign_path(
        self, scope_key: int, target: str, value: Any, *, local: bool, base: Any = _VISIBLE
    ) -> Any:
        """Write ``target`` (``a`` or ``a.b.c``); returns the value written for ``a``.

        For a dotted target the object ``a`` is ``base`` (default: the visible ``a``, §1.10e)
        with the leaf replaced.
        """
        name, _, rest = target.partition(".")
        if rest:
            current = self.visible(scope_key).get(name) if base is _VISIBLE else base
            whole = dict(current) if isinstance(current, dict) else {}
            node = whole
            parts = rest.split(".")
            for part in parts[:-1]:
                child = node.get(part)
                node[part] = dict(child) if isinstance(child, dict) else {}
                node = node[part]
            node[parts[-1]] = value
            value = whole
        if local:
            self.set_local(scope_key, name, value)
        else:
            self.propagate(scope_key, {name: value})
        return value

    def apply_outputs(self, el: Element, ei: ElementInstance, payload: dict[str, Any] | None):
        """§1.10: payload merge and output mappings when an element completes."""
        if not el.outputs:
            if payload:
                self.propagate(ei.key, payload)
            return
        if payload:
            for name, value in payload.items():
                self.set_local(ei.key, name, value)
        results: dict[str, Any] = {}
        context = self.visible(ei.key)
        for mapping in el.outputs:
            context.update(results)  # §1.10b: later mappings see earlier targets
            if mapping.source is None:
                value = None
            else:
                value = ex.to_variable(ex.evaluate(mapping.source, context, "IO_MAPPING_ERROR"))
            results[mapping.target] = value
        start = ei.key if ei.data.get("mi_inner") else (ei.scope_key or self.root.key)
        for target, value in results.items():
            self._assign_path(start, target, value, local=False)

    # ------------------------------------------------------------------ element instances
    def new_instance(
        self, el: Element, scope_key: int, *, el_type: str | None = None, data: dict | None = None
    ) -> ElementInstance:
        ei = sql.build(
            ElementInstance,
            key=self.ctx.keys.next(),
            process_instance_key=self.root.key,
            definition_id=self.definition.key,
            element_id=el.id,
            element_type=el_type or element_type(el),
            scope_key=scope_key,
            lifecycle=ACTIVATING,
            state=ElementInstance.ACTIVE,
            started_at=self.now,
            data=data or {},
            tenant_id=self.root.tenant_id,
        )
        self.instances[ei.key] = ei
        self.children[scope_key].append(ei.key)
        self.new_instances.append(ei)
        return ei

    def activate(self, el: Element, scope_key: int, *, data: dict | None = None) -> None:
        """Queue the activation of ``el`` in ``scope_key``."""
        self.in_flight[scope_key] += 1
        self.queue.append(lambda: self._activate(el, scope_key, data))

    def _activate(self, el: Element, scope_key: int, data: dict | None) -> None:
        self.in_flight[scope_key] -= 1
        scope = self.instances.get(scope_key)
        if scope is None or scope.lifecycle not in (ACTIVATED, ACTIVATING):
            return  # the scope ended meanwhile
        if scope.data.get("interrupted") and not el.triggered_by_event:
            return  # §2.6: an interrupting event sub-process took over the scope
        if el.loop is not None and not (data or {}).get("mi_inner"):
            ei = self.new_instance(el, scope_key, el_type=MI_BODY, data=dict(data or {}))
            self._run_activation(el, ei, self._activate_mi_body)
            return
        ei = self.new_instance(el, scope_key, data=data)
        self._run_activation(el, ei, self._activate_element)

    def _run_activation(self, el: Element, ei: ElementInstance, body: Callable) -> None:
        try:
            body(el, ei)
        except ex.ExpressionFailure as failure:
            self.raise_incident(ei, failure.error_type, failure.message)

    def _activated(self, el: Element, ei: ElementInstance) -> None:
        ei.lifecycle = ACTIVATED
        self.touch(ei)
        self.record("PROCESS_INSTANCE", "ELEMENT_ACTIVATED", ei.key, el.id, ei.element_type)

    def _activate_element(self, el: Element, ei: ElementInstance) -> None:
        if el.inputs:
            self.apply_inputs(el, ei)
        kind = el.kind
        event = el.event
        if kind in ("startEvent", "task", "manualTask", "intermediateThrowEvent") and (
            event is None or event.type != "compensation"
        ):
            self._activated(el, ei)
            self.complete(ei)
        elif kind == "endEvent":
            self._activate_end_event(el, ei)
        elif kind == "boundaryEvent":
            self._activated(el, ei)
            self.complete(ei, ei.data.pop("payload", None))
        elif kind in JOB_KINDS and el.script is None:
            self._open_boundaries(el, ei)
            self._create_job(el, ei)
            self._activated(el, ei)
        elif kind == "scriptTask":
            self._open_boundaries(el, ei)
            self._activated(el, ei)
            script = el.script.expression  # stored as written, normally "=..." (§11)
            script = script if ex.is_expression(script) else "=" + script
            value = ex.to_variable(ex.evaluate(script, self.visible(ei.key)))
            payload = {el.script.result_variable: value} if el.script.result_variable else None
            self.complete(ei, payload)
        elif kind == "userTask" and el.user_task is not None and el.user_task.job_worker:
            # §8.5: without `zeebe:userTask` the task is a job of type io.camunda.zeebe:userTask.
            self._open_boundaries(el, ei)
            self._create_job(
                el, ei, job_type=USER_TASK_JOB_TYPE, headers=self._user_task_headers(el, ei)
            )
            self._activated(el, ei)
        elif kind == "userTask":
            self._open_boundaries(el, ei)
            self._create_user_task(el, ei)
            self._activated(el, ei)
        elif kind == "receiveTask" or (
            kind == "intermediateCatchEvent" and event.type == "message"
        ):
            self._open_boundaries(el, ei)
            self._open_message_subscription(el, ei, el, interrupting=True)
            self._activated(el, ei)
        elif kind == "intermediateCatchEvent" and event.type == "timer":
            self._create_timer(el, ei, el, interrupting=True)
            self._activated(el, ei)
        elif kind == "exclusiveGateway":
            # The flow is chosen while ACTIVATING: an incident there is retried on resolve (§7.2).
            flow = self._choose_exclusive(el, ei)
            self._activated(el, ei)
            self.complete(ei, flows=[flow] if flow else [])
        elif kind == "inclusiveGateway":
            flows = self._choose_inclusive(el, ei)
            self._activated(el, ei)
            self.complete(ei, flows=flows)
        elif kind == "parallelGateway":
            self._activated(el, ei)
            self.complete(ei)
        elif kind == "eventBasedGateway":
            for flow_id in el.outgoing:
                target = self.model.elements[self.model.flows[flow_id].target]
                if target.event and target.event.type == "message":
                    self._open_message_subscription(target, ei, target, interrupting=True)
                elif target.event and target.event.type == "timer":
                    self._create_timer(target, ei, target, interrupting=True)
            self._activated(el, ei)
        elif kind == "subProcess":
            self._open_boundaries(el, ei)
            self._activated(el, ei)
            self._start_scope(el, ei)
        else:
            handler = EXTENSIONS.get(kind) or EXTENSIONS.get(
                f"{kind}:{event.type if event else ''}"
            )
            if handler is None:
                raise ex.ExpressionFailure(f"Element kind '{kind}' is not supported", "UNKNOWN")
            handler(self, el, ei)

    def _start_scope(self, el: Element, ei: ElementInstance) -> None:
        """Start a (sub-)process scope at its none start event."""
        starts = [
            self.model.elements[s] for s in el.start_events if self.model.elements[s].event is None
        ]
        for start in starts[:1]:
            self.activate(start, ei.key)
        for hook in SCOPE_START_HOOKS:
            hook(self, el, ei)

    def _activate_end_event(self, el: Element, ei: ElementInstance) -> None:
        event = el.event
        if event is None:
            self._activated(el, ei)
            self.complete(ei)
        elif event.type == "terminate":
            self._activated(el, ei)
            self.complete(ei, flows=[])
            scope = self.instances[ei.scope_key]
            for child_key in list(self.children.get(scope.key, [])):
                if child_key != ei.key:
                    self.terminate(self.instances[child_key])
            scope.data.pop("joins", None)
            self.touch(scope)
            self.queue.append(lambda: self.check_scope(scope.key))
        elif event.type == "error":
            self._activated(el, ei)
            code = event.error_code or ""
            if ex.is_expression(code):
                code = ex.evaluate_string(code, self.visible(ei.key))
            self.throw_error(ei, code, "", {})
        else:
            handler = EXTENSIONS.get(f"endEvent:{event.type}")
            if handler is None:
                raise ex.ExpressionFailure(f"End event '{event.type}' is not supported", "UNKNOWN")
            handler(self, el, ei)

    # ------------------------------------------------------------------ completion
    def complete(
        self,
        ei: ElementInstance,
        payload: dict[str, Any] | None = None,
        *,
        flows: list[str] | None = None,
    ) -> None:
        """Complete an element instance: outputs, then its outgoing flows (or ``flows``)."""
        el = self.model.elements[ei.element_id]
        ei.lifecycle = COMPLETING
        self.touch(ei)
        try:
            if ei.element_type == MI_BODY:
                self._complete_mi_body_outputs(el, ei)
            else:
                if el.kind == "boundaryEvent" and el.event and el.event.type == "error":
                    # §1.11b: error payload is local to the catching event; outputs move it.
                    if payload:
                        for name, value in payload.items():
                            self.set_local(ei.key, name, value)
                    payload = None
                    if el.outputs:
                        self.apply_outputs(el, ei, None)
                else:
                    self.apply_outputs(el, ei, payload)
                if ei.data.get("mi_inner"):
                    self._collect_mi_output(el, ei)
        except ex.ExpressionFailure as failure:
            ei.data["payload"] = payload
            self.raise_incident(ei, failure.error_type, failure.message)
            return
        self._finish(ei, COMPLETED)
        if el.id in self.model.elements and el.compensation_handler and not ei.data.get("mi_inner"):
            on_completed = EXTENSIONS.get("compensable_completed")
            if on_completed:
                on_completed(self, el, ei)
        if ei.data.get("compensation_throw"):  # §9.2: the waiting throw event counts handlers
            handler_done = EXTENSIONS.get("compensation_handler_completed")
            if handler_done:
                handler_done(self, ei)
        if ei.data.get("mi_inner"):
            self.queue.append(lambda: self._mi_inner_done(ei))
            return
        if ei.element_type == "PROCESS":
            return
        outgoing = el.outgoing if flows is None else flows
        for flow_id in outgoing:
            self.take_flow(flow_id, ei.scope_key)
        self.queue.append(lambda: self.check_scope(ei.scope_key))

    def _finish(self, ei: ElementInstance, lifecycle: str) -> None:
        ei.lifecycle = lifecycle
        ei.state = (
            ElementInstance.COMPLETED if lifecycle == COMPLETED else ElementInstance.TERMINATED
        )
        ei.ended_at = self.now
        self.touch(ei)
        if ei.scope_key is not None:
            siblings = self.children.get(ei.scope_key)
            if siblings and ei.key in siblings:
                siblings.remove(ei.key)
        if ei.data.get("waits"):
            self.closed_owner_keys.add(ei.key)
        intent = "ELEMENT_COMPLETED" if lifecycle == COMPLETED else "ELEMENT_TERMINATED"
        self.record("PROCESS_INSTANCE", intent, ei.key, ei.element_id, ei.element_type)

    def take_flow(self, flow_id: str, scope_key: int) -> None:
        flow = self.model.flows[flow_id]
        self.record("PROCESS_INSTANCE", "SEQUENCE_FLOW_TAKEN", None, flow_id, "SEQUENCE_FLOW")
        target = self.model.elements[flow.target]
        if target.kind == "parallelGateway" and len(target.incoming) > 1:
            self._arrive_at_join(target, flow_id, scope_key, parallel=True)
        elif target.kind == "inclusiveGateway" and len(target.incoming) > 1:
            self._arrive_at_join(target, flow_id, scope_key, parallel=False)
        else:
            self.activate(target, scope_key)

    def _arrive_at_join(self, gateway: Element, flow_id: str, scope_key: int, *, parallel: bool):
        """§3.5/§3.4: tokens wait per incoming flow until the join can fire."""
        scope = self.instances[scope_key]
        joins = scope.data.setdefault("joins", {})
        tokens = joins.setdefault(gateway.id, {})
        tokens[flow_id] = tokens.get(flow_id, 0) + 1
        self.touch(scope)
        self.queue.append(lambda: self._try_join(gateway, scope_key, parallel))

    def _try_join(self, gateway: Element, scope_key: int, parallel: bool) -> None:
        scope = self.instances.get(scope_key)
        if scope is None or scope.state != ElementInstance.ACTIVE:
            return
        tokens = scope.data.get("joins", {}).get(gateway.id)
        if not tokens:
            return
        if parallel:
            ready = all(tokens.get(f, 0) > 0 for f in gateway.incoming)
        else:
            ready = all(tokens.get(f, 0) > 0 for f in gateway.incoming) or not self._can_reach(
                gateway, scope_key
            )
        if not ready:
            return
        for flow_id in list(tokens):
            tokens[flow_id] -= 1
            if tokens[flow_id] <= 0:
                del tokens[flow_id]
        if not tokens:
            del scope.data["joins"][gateway.id]
        self.touch(scope)
        self.activate(gateway, scope_key)

    def _can_reach(self, gateway: Element, scope_key: int) -> bool:
        """Whether an active element of the scope can still reach ``gateway`` (§3.4)."""
        for child_key in self.children.get(scope_key, []):
            child = self.instances[child_key]
            if child.state != ElementInstance.ACTIVE:
                continue
            seen: set[str] = set()
            stack = [child.element_id]
            while stack:
                node_id = stack.pop()
                if node_id in seen:
                    continue
                seen.add(node_id)
                node = self.model.elements[node_id]
                for flow_id in node.outgoing:
                    target = self.model.flows[flow_id].target
                    if target == gateway.id:
                        return True
                    stack.append(target)
                stack.extend(node.boundary_events)
        return False

    def check_scope(self, scope_key: int | None) -> None:
        """§2.3: a scope completes when nothing is active in it and no token waits at a join."""
        if scope_key is None:
            return
        scope = self.instances.get(scope_key)
        if scope is None or scope.lifecycle != ACTIVATED:
            return
        if self.children.get(scope_key) or scope.data.get("joins") or self.in_flight[scope_key]:
            return
        if scope.element_type == MI_BODY:
            return
        if scope.element_type == "PROCESS":
            self._complete_process(scope)
        else:
            self.complete(scope)

    def _complete_process(self, root: ElementInstance) -> None:
        root.lifecycle = COMPLETING
        self._finish(root, COMPLETED)
        for hook in PROCESS_END_HOOKS:
            hook(self, root)

    # ------------------------------------------------------------------ gateways (§3)
    def _choose_exclusive(self, el: Element, ei: ElementInstance) -> str | None:
        if not el.outgoing:
            return None
        if len(el.outgoing) == 1 and not self.model.flows[el.outgoing[0]].condition:
            return el.outgoing[0]
        context = self.visible(ei.key)
        for flow_id in el.outgoing:
            flow = self.model.flows[flow_id]
            if flow_id == el.default_flow or not flow.condition:
                continue
            if ex.evaluate_bool(flow.condition, context):
                return flow_id
        if el.default_flow:
            return el.default_flow
        raise ex.ExpressionFailure(
            "Expected at least one condition to evaluate to true, or to have a default flow",
            "CONDITION_ERROR",
        )

    def _choose_inclusive(self, el: Element, ei: ElementInstance) -> list[str]:
        if len(el.outgoing) == 1 and not self.model.flows[el.outgoing[0]].condition:
            return list(el.outgoing)
        context = self.visible(ei.key)
        chosen = []
        for flow_id in el.outgoing:
            flow = self.model.flows[flow_id]
            if flow_id == el.default_flow:
                continue
            if not flow.condition or ex.evaluate_bool(flow.condition, context):
                chosen.append(flow_id)
        if chosen:
            return chosen
        if el.default_flow:
            return [el.default_flow]
        raise ex.ExpressionFailure(
            "Expected at least one condition to evaluate to true, or to have a default flow",
            "CONDITION_ERROR",
        )

    # ------------------------------------------------------------------ waits
    def _create_job(
        self,
        el: Element,
        ei: ElementInstance,
        *,
        job_type: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """§6.1: the job of a task; ``job_type``/``headers`` override the task definition."""
        retries_expr = (el.task.retries_expr if el.task is not None else "3") or "3"
        dynamic = ex.is_expression(retries_expr) or (
            job_type is None and ex.is_expression(el.task.type_expr)
        )
        context = self.visible(ei.key) if dynamic else {}  # static values need no variables
        if job_type is None:
            job_type = ex.evaluate_string(el.task.type_expr, context).strip()
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

    def _create_user_task(self, el: Element, ei: ElementInstance) -> None:
        props = el.user_task
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
            due_date=self._task_date(props.due_date, context),
            follow_up_date=self._task_date(props.follow_up_date, context),
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

    def _user_task_headers(self, el: Element, ei: ElementInstance) -> dict[str, str]:
        """§8.5: a job-based user task's job carries its properties as reserved headers.

        As Zeebe does: the custom headers plus ``io.camunda.zeebe:assignee``,
        ``candidateGroups``/``candidateUsers`` (JSON lists), ``dueDate``/``followUpDate``
        (ISO date-times) and ``formKey`` when set; expressions are evaluated now (§8.2).
        """
        props = el.user_task
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
            moment = self._task_date(raw, context)
            if moment is not None:
                headers[prefix + name] = moment.isoformat()
        if props.form_key:
            headers[prefix + "formKey"] = props.form_key
        return headers

    @staticmethod
    def _task_date(raw: str | None, context: dict[str, Any]) -> dt.datetime | None:
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

    def _open_message_subscription(
        self, el: Element, owner: ElementInstance, catcher: Element, *, interrupting: bool
    ) -> MessageSubscription:
        context = self.visible(owner.key)
        event = catcher.event
        name = event.message_name or ""
        if ex.is_expression(name):
            name = ex.evaluate_string(name, context)
        key = ex.evaluate_correlation_key(event.correlation_key or '=""', context)
        sub = MessageSubscription(
            key=self.ctx.keys.next(),
            process_instance_key=self.root.key,
            element_instance_key=owner.key,
            element_id=catcher.id,
            bpmn_process_id=self.model.id,
            message_name=name,
            correlation_key=key,
            interrupting=interrupting,
            tenant_id=self.root.tenant_id,
        )
        self.new_subs.append(sub)
        self.add_wait(owner, "sub")
        self.pending_message_checks.append(sub)
        return sub

    def _create_timer(
        self, el: Element, owner: ElementInstance, catcher: Element, *, interrupting: bool
    ) -> None:
        event = catcher.event
        raw = event.timer_expr or ""
        value: Any = raw
        if ex.is_expression(raw):
            value = ex.evaluate(raw, self.visible(owner.key))
        try:
            schedule = timer_math.schedule_from(event.timer_kind, value, self.now)
        except (ValueError, TypeError) as error:
            raise ex.ExpressionFailure(
                f"Invalid timer {event.timer_kind} '{value}' on '{catcher.id}': {error}"
            ) from error
        self.new_timers.append(
            Timer(
                key=self.ctx.keys.next(),
                process_instance_key=self.root.key,
                element_instance_key=owner.key,
                definition_id=self.definition.key,
                element_id=catcher.id,
                due_at=schedule.due_at,
                repetitions=schedule.repetitions_left,
                kind=event.timer_kind,
                spec=_timer_spec(value, event.timer_kind),
                interrupting=interrupting,
            )
        )
        self.add_wait(owner, "timer")
        self.record(
            "TIMER", "CREATED", None, catcher.id, detail={"due": schedule.due_at.isoformat()}
        )

    def _open_boundaries(self, el: Element, ei: ElementInstance) -> None:
        """§2.4: open boundary event subscriptions while the activity activates."""
        for boundary_id in el.boundary_events:
            boundary = self.model.elements[boundary_id]
            if boundary.event is None:
                continue
            if boundary.event.type == "timer":
                self._create_timer(el, ei, boundary, interrupting=boundary.cancel_activity)
            elif boundary.event.type == "message":
                self._open_message_subscription(
                    el, ei, boundary, interrupting=boundary.cancel_activity
                )

    # ------------------------------------------------------------------ triggers
    def trigger(self, owner: ElementInstance, catcher_id: str, payload: dict[str, Any]) -> bool:
        """A message or timer for ``catcher_id`` arrives at ``owner`` (an element instance)."""
        if owner.state != ElementInstance.ACTIVE or owner.lifecycle != ACTIVATED:
            return False
        catcher = self.model.elements[catcher_id]
        if catcher_id == owner.element_id:  # catch event / receive task waiting itself
            self.complete(owner, payload or None)
            return True
        owner_el = self.model.elements.get(owner.element_id)  # None: the process itself
        # §3.6: first trigger wins
        if owner_el is not None and owner_el.kind == "eventBasedGateway":
            self._finish_event_gateway(owner, catcher, payload)
            return True
        if catcher.kind == "boundaryEvent":
            self.fire_boundary(owner, catcher, payload)
            return True
        handler = EXTENSIONS.get("trigger")
        return bool(handler and handler(self, owner, catcher, payload))

    def _finish_event_gateway(self, gw: ElementInstance, catcher: Element, payload: dict) -> None:
        gw.lifecycle = COMPLETING
        self._finish(gw, COMPLETED)
        self.queue.append(
            lambda: self._activate_caught(catcher, gw.scope_key, payload),
        )

    def _activate_caught(self, catcher: Element, scope_key: int, payload: dict) -> None:
        ei = self.new_instance(catcher, scope_key)
        self._activated(catcher, ei)
        self.complete(ei, payload or None)

    def fire_boundary(self, activity: ElementInstance, boundary: Element, payload: dict) -> None:
        """§2.5: interrupting → terminate the activity, then the boundary runs in its scope."""
        scope_key = activity.scope_key
        data = {"payload": payload} if payload else {}
        if boundary.cancel_activity:
            self.terminate(activity)
        self.activate(boundary, scope_key, data=data)

    # ------------------------------------------------------------------ errors (§6.7, §6.8)
    def throw_error(
        self, thrower: ElementInstance, code: str, message: str, variables: dict[str, Any]
    ) -> bool:
        """Find the nearest catcher of ``code`` and interrupt up to it, or raise an incident."""
        current: ElementInstance | None = thrower
        while current is not None:
            if current.state != ElementInstance.ACTIVE or current.data.get("interrupted"):
                break  # §6.8: an interrupted (or ended) scope stops the walk
            el = self.model.elements.get(current.element_id)
            if el is not None and current.element_type != "PROCESS":
                boundary = self._error_boundary(el, code)
                if boundary is not None:
                    if current.element_type != MI_BODY and current.data.get("mi_inner"):
                        current = self.instances.get(current.scope_key)
                        continue
                    self.fire_boundary(current, boundary, variables)
                    return True
            catcher = EXTENSIONS.get("error_event_subprocess")
            if catcher and catcher(self, current, code, variables):
                return True
            if current.scope_key is None:
                parent_catch = EXTENSIONS.get("error_to_parent")
                if parent_catch and parent_catch(self, current, code, message, variables):
                    return True
                break
            current = self.instances.get(current.scope_key)
        detail = (
            f"Expected to throw an error event with the code '{code}' with message "
            f"'{message}', but it was not caught. No error events are available in the scope."
        )
        self.raise_incident(thrower, "UNHANDLED_ERROR_EVENT", detail)
        return False

    def _error_boundary(self, el: Element, code: str) -> Element | None:
        catch_all = None
        for boundary_id in el.boundary_events:
            boundary = self.model.elements[boundary_id]
            if boundary.event is None or boundary.event.type != "error":
                continue
            if boundary.event.error_code == code:
                return boundary
            if not boundary.event.error_code:
                catch_all = boundary
        return catch_all

    # ------------------------------------------------------------------ termination (§2.9)
    def terminate(self, ei: ElementInstance) -> None:
        if ei.state != ElementInstance.ACTIVE:
            return
        ei.lifecycle = TERMINATING
        for child_key in list(self.children.get(ei.key, [])):
            self.terminate(self.instances[child_key])
        ei.data.pop("joins", None)
        hook = EXTENSIONS.get("terminating")
        if hook:
            hook(self, ei)
        self._finish(ei, TERMINATED)
        if ei.element_type == "PROCESS":
            # §4.8: a cancelled/terminated message-started instance also frees its key.
            for end_hook in PROCESS_END_HOOKS:
                end_hook(self, ei)

    # ------------------------------------------------------------------ incidents (§7)
    def raise_incident(
        self, ei: ElementInstance, error_type: str, message: str, job_key: int | None = None
    ) -> Incident:
        incident = Incident(
            key=self.ctx.keys.next(),
            process_instance_key=self.root.key,
            element_instance_key=ei.key,
            definition_id=self.definition.key,
            element_id=ei.element_id,
            job_key=job_key,
            error_type=error_type,
            error_message=message,
            state=Incident.ACTIVE,
            created_at=self.now,
            tenant_id=self.root.tenant_id,
        )
        self.new_incidents.append(incident)
        self.add_wait(ei, "incident")
        ei.has_incident = True
        self.touch(ei)
        self.record(
            "INCIDENT",
            "CREATED",
            incident.key,
            ei.element_id,
            ei.element_type,
            {"errorType": error_type, "errorMessage": message[:500]},
        )
        return incident

    def retry_after_incident(self, ei: ElementInstance) -> None:
        """§7.2: re-run the step that failed, from the element's life-cycle state."""
        ei.has_incident = False
        self.touch(ei)
        el = self.model.elements[ei.element_id]
        if ei.lifecycle == ACTIVATING:
            body = self._activate_mi_body if ei.element_type == MI_BODY else self._activate_element
            self.queue.append(lambda: self._run_activation(el, ei, body))
        elif ei.lifecycle == COMPLETING:
            payload = ei.data.pop("payload", None)
            self.queue.append(lambda: self.complete(ei, payload))
        elif ei.lifecycle == ACTIVATED and el.kind == "endEvent":
            self.queue.append(lambda: self._run_activation(el, ei, self._activate_end_event))

    # ------------------------------------------------------------------ multi-instance (§1.13)
    def _activate_mi_body(self, el: Element, body: ElementInstance) -> None:
        loop = el.loop
        if el.inputs and not body.data.get("inputs_done"):
            pass  # input mappings belong to the inner instances (Zeebe applies them per item)
        items = ex.evaluate_list(loop.input_collection, self.visible(body.key))
        items = [ex.to_variable(item) for item in items]
        body.data.update({"items": items, "created": 0, "completed": 0, "terminated": 0})
        if loop.output_collection:
            self.set_local(body.key, loop.output_collection, [None] * len(items))
        self._open_boundaries(el, body)
        self._activated(el, body)
        if not items:
            self.complete(body)
            return
        count = 1 if loop.sequential else len(items)
        for _ in range(count):
            self._create_mi_inner(el, body)

    def _create_mi_inner(self, el: Element, body: ElementInstance) -> None:
        index = body.data["created"]
        body.data["created"] = index + 1
        self.touch(body)
        loop = el.loop
        inner = self.new_instance(el, body.key, data={"mi_inner": True, "index": index})
        self.set_local(inner.key, "loopCounter", index + 1)
        if loop.input_element:
            self.set_local(inner.key, loop.input_element, body.data["items"][index])
        if loop.output_element:
            target = _plain_target(loop.output_element)
            if target and target not in (loop.input_element, "loopCounter"):
                self.set_local(inner.key, target, None)
        self.queue.append(lambda: self._run_activation(el, inner, self._activate_element))

    def _collect_mi_output(self, el: Element, inner: ElementInstance) -> None:
        loop = el.loop
        if not (loop.output_collection and loop.output_element):
            return
        value = ex.to_variable(ex.evaluate(loop.output_element, self.visible(inner.key)))
        body = self.instances[inner.scope_key]
        var = self.vars[body.key].get(loop.output_collection)
        collection = list(var.value) if var and isinstance(var.value, list) else []
        index = inner.data["index"]
        while len(collection) <= index:
            collection.append(None)
        collection[index] = value
        self.set_local(body.key, loop.output_collection, collection)

    def _mi_inner_done(self, inner: ElementInstance) -> None:
        body = self.instances.get(inner.scope_key)
        if body is None or body.state != ElementInstance.ACTIVE:
            return
        el = self.model.elements[body.element_id]
        body.data["completed"] = body.data.get("completed", 0) + 1
        self.touch(body)
        if el.loop.completion_condition:
            context = self.visible(inner.key)
            active = len(self.children.get(body.key, []))
            context.update(
                numberOfInstances=body.data["created"],
                numberOfActiveInstances=active,
                numberOfCompletedInstances=body.data["completed"],
                numberOfTerminatedInstances=body.data.get("terminated", 0),
            )
            try:
                done = ex.evaluate_bool(el.loop.completion_condition, context)
            except ex.ExpressionFailure as failure:
                self.raise_incident(body, failure.error_type, failure.message)
                return
            if done:
                for child_key in list(self.children.get(body.key, [])):
                    body.data["terminated"] = body.data.get("terminated", 0) + 1
                    self.terminate(self.instances[child_key])
                self.complete(body)
                return
        if el.loop.sequential and body.data["created"] < len(body.data["items"]):
            self._create_mi_inner(el, body)
        elif not self.children.get(body.key):
            self.complete(body)

    def _complete_mi_body_outputs(self, el: Element, body: ElementInstance) -> None:
        loop = el.loop
        if loop.output_collection:
            var = self.vars[body.key].get(loop.output_collection)
            value = var.value if var else []
            start = body.scope_key or self.root.key
            self.propagate(start, {loop.output_collection: value})

    # ------------------------------------------------------------------ messages (§4)
    def _correlate_buffered(self, sub: MessageSubscription) -> None:
        """§4.5: a new subscription takes the oldest unexpired buffered message not yet used."""
        owner = self.instances.get(sub.element_instance_key)
        if owner is None or owner.state != ElementInstance.ACTIVE:
            return
        taken = [
            c.message_key for c in self.new_correlations if c.bpmn_process_id == sub.bpmn_process_id
        ]
        message = oldest_buffered(sub, self.now, taken)
        if message is None:
            return
        self.correlate(sub, message.key, message.variables)

    def correlate(self, sub: MessageSubscription, message_key: int, variables: dict) -> bool:
        owner = self.instances.get(sub.element_instance_key)
        if owner is None:
            return False
        if not self.trigger(owner, sub.element_id, variables or {}):
            return False
        self.new_correlations.append(
            MessageCorrelation(
                message_key=message_key,
                bpmn_process_id=sub.bpmn_process_id,
                process_instance_key=self.root.key,
            )
        )
        if sub.interrupting:
            unsaved = [s for s in self.new_subs if s.key == sub.key]
            if unsaved:  # opened in this same command: it was never written
                self.new_subs.remove(unsaved[0])
            else:
                MessageSubscription.objects.filter(key=sub.key).delete()
        else:
            # §4.7: a non-interrupting subscription stays open and, once this correlation is
            # done, is offered the next matching buffered message not yet correlated to this
            # process id (§4.4/§4.5).
            self.pending_message_checks.append(sub)
        self.record(
            "MESSAGE",
            "CORRELATED",
            message_key,
            sub.element_id,
            detail={"name": sub.message_name, "correlationKey": sub.correlation_key},
        )
        return True


def active_rows(key_sql: str, params: Sequence[Any]) -> list[tuple[type, str, Sequence[Any]]]:
    """PostgreSQL ``select_many`` queries for an instance's active element instances (besides
    the root) and its variables; ``key_sql`` gives the process instance key over ``params``
    (``"%s"``, or a sub-select such as the key of a job's instance)."""
    return [
        (
            ElementInstance,
            f'"process_instance_key" = {key_sql} AND "state" = \'ACTIVE\' '
            "AND \"element_type\" <> 'PROCESS'",
            list(params),
        ),
        (Variable, f'"process_instance_key" = {key_sql}', list(params)),
    ]


def oldest_buffered(sub: MessageSubscription, now: dt.datetime, taken: list[int]) -> Message | None:
    """The oldest unexpired message for ``sub`` not yet correlated to its process id."""
    if sql.vendor() == "postgresql":
        correlations, messages = MessageCorrelation._meta.db_table, Message._meta.db_table
        rows = sql.select(  # table names from the models, values as parameters
            Message,
            '"name" = %s AND "correlation_key" = %s AND "expires_at" > %s AND "tenant_id" = %s '  # noqa: S608
            'AND NOT ("key" = ANY(%s)) AND NOT EXISTS (SELECT 1 FROM '
            f'{correlations} AS c WHERE c."message_key" = {messages}."key" '
            'AND c."bpmn_process_id" = %s) '
            'ORDER BY "key" LIMIT 1',
            [sub.message_name, sub.correlation_key, now, sub.tenant_id, taken,
             sub.bpmn_process_id],
        )  # fmt: skip
        return rows[0] if rows else None
    used = MessageCorrelation.objects.filter(
        bpmn_process_id=sub.bpmn_process_id, message_key=OuterRef("key")
    )
    return (
        Message.objects.filter(
            name=sub.message_name,
            correlation_key=sub.correlation_key,
            expires_at__gt=now,
            tenant_id=sub.tenant_id,
        )
        .exclude(Exists(used))
        .exclude(key__in=taken)
        .order_by("key")
        .first()
    )


def _update_element_instances(rows: list[ElementInstance]) -> None:
    """Write changed element instances with one statement (SQLite: executemany).

    Django's ``bulk_update`` builds a CASE expression per field, which costs more CPU than the
    database work for the one or two rows a command usually changes.
    """
    table = ElementInstance._meta.db_table
    if sql.vendor() == "postgresql":
        # One statement, the rows as one JSON document (see sql.insert).
        document = [
            {
                "key": ei.key,
                "lifecycle": ei.lifecycle,
                "state": ei.state,
                "ended_at": sql.iso(ei.ended_at),
                "has_incident": ei.has_incident,
                "data": ei.data,
            }
            for ei in rows
        ]
        sql.write_json(
            f'UPDATE {table} AS ei SET "lifecycle" = r."lifecycle", "state" = r."state", '  # noqa: S608
            '"ended_at" = r."ended_at", "has_incident" = r."has_incident", "data" = r."data" '
            'FROM jsonb_to_recordset(%s::jsonb) AS r("key" bigint, "lifecycle" text, '
            '"state" text, "ended_at" timestamptz, "has_incident" boolean, "data" jsonb) '
            'WHERE ei."key" = r."key"',
            document,
        )
        return
    adapt = connection.ops.adapt_datetimefield_value
    statement = (
        f"UPDATE {table} SET lifecycle = %s, state = %s, ended_at = %s, "  # noqa: S608
        'has_incident = %s, data = %s WHERE "key" = %s'
    )
    params = [
        (
            ei.lifecycle,
            ei.state,
            adapt(ei.ended_at),
            ei.has_incident,
            json.dumps(ei.data, separators=(",", ":")),
            ei.key,
        )
        for ei in rows
    ]
    with sql.cursor() as cursor:
        cursor.executemany(statement, params)


def _plain_target(expr: str) -> str | None:
    text = expr.lstrip()
    if text.startswith("="):
        text = text[1:].strip()
    name = text.split(".")[0]
    return name if name.replace("_", "a").isalnum() else None


def _timer_spec(value: Any, kind: str = "") -> str:
    """The evaluated timer value as text that ``timers.schedule_from`` reads back (§5.2/§5.4).

    A string is kept as written; a FEEL date-time or duration becomes its ISO form; a FEEL
    duration for a cycle becomes the unbounded cycle ``R/<duration>`` it stands for, so the next
    due date of a repeating timer can be computed from the stored spec.
    """
    if isinstance(value, str):
        return value
    from processes import feel

    text = feel.to_json(value)
    if kind == "cycle" and isinstance(text, str) and text.lstrip("-").startswith("P"):
        return f"R/{text}"
    return text if isinstance(text, str) else json.dumps(text, default=str)


# Extension points used by the modules that add event sub-processes, call activities and
# compensation (``processes.engine.extensions``). Keys: element kinds, "kind:event",
# "trigger", "terminating", "error_event_subprocess", "error_to_parent", ...
EXTENSIONS: dict[str, Callable[..., Any]] = {}
SCOPE_START_HOOKS: list[Callable[[InstanceRun, Element, ElementInstance], None]] = []
PROCESS_END_HOOKS: list[Callable[[InstanceRun, ElementInstance], None]] = []


def is_locking_db() -> bool:
    return sql.vendor() == "postgresql"


def iter_chunks(items: Iterable[Any], size: int) -> Iterable[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
