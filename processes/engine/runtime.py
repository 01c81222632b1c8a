"""Token execution for one process instance: the core of the embedded engine.

An ``InstanceRun`` is one command applied to one process instance inside one transaction that
holds the instance's row lock. It loads the active element instances and the variables, moves
tokens in memory until every path waits (a job, a user task, a message, a timer, an incident or
a join), then writes everything it changed in bulk through the store (``processes.engine.store``).

What an element does when it is activated, completed or terminated is its processor's business
(``processes.engine.processors.PROCESSORS``, one per ``ElementKind``); what processors share (jobs,
variables, incidents, subscriptions, ...) are the behaviours of ``processes.engine.behaviours``,
which ``InstanceRun`` combines. Semantics follow Zeebe's; see
https://docs.camunda.io/docs/components/concepts/process-instance-creation/ and the BPMN pages
under https://docs.camunda.io/docs/components/modeler/bpmn/.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from processes.models import (
    ElementInstance,
    Incident,
    Job,
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
from .behaviours import (
    call_activities,
    compensation,
    event_subprocesses,
    start_events,
)
from .behaviours.events import EventBehaviour
from .behaviours.gateways import GatewayBehaviour
from .behaviours.incidents import IncidentBehaviour
from .behaviours.jobs import USER_TASK_JOB_TYPE, JobBehaviour
from .behaviours.multi_instance import MultiInstanceBehaviour
from .behaviours.run import Run
from .behaviours.subscriptions import SubscriptionBehaviour
from .behaviours.user_tasks import UserTaskBehaviour
from .behaviours.variables import VariableBehaviour
from .bpmn import Element, ElementKind, ProcessModel
from .errors import Rejection
from .keys import KeyAllocator
from .processors import processor_of
from .state import (
    ACTIVATED,
    ACTIVATING,
    COMPLETED,
    COMPLETING,
    MI_BODY,
    TERMINATED,
    TERMINATING,
    RuntimeState,
    flow_scope,
    runtime,
    set_runtime,
    sync_runtime,
)
from .store import ActiveRows, Store, get_store

__all__ = [
    "ACTIVATED",
    "ACTIVATING",
    "COMPLETED",
    "COMPLETING",
    "DEFAULT_TENANT",
    "MI_BODY",
    "TERMINATED",
    "TERMINATING",
    "USER_TASK_JOB_TYPE",
    "CommandContext",
    "InstanceRun",
    "Rejection",
    "element_type",
]

K = ElementKind
ELEMENT_TYPES = {
    K.START_EVENT: "START_EVENT",
    K.END_EVENT: "END_EVENT",
    K.INTERMEDIATE_CATCH_EVENT: "INTERMEDIATE_CATCH_EVENT",
    K.INTERMEDIATE_THROW_EVENT: "INTERMEDIATE_THROW_EVENT",
    K.BOUNDARY_EVENT: "BOUNDARY_EVENT",
    K.SERVICE_TASK: "SERVICE_TASK",
    K.SEND_TASK: "SEND_TASK",
    K.BUSINESS_RULE_TASK: "BUSINESS_RULE_TASK",
    K.SCRIPT_TASK: "SCRIPT_TASK",
    K.USER_TASK: "USER_TASK",
    K.RECEIVE_TASK: "RECEIVE_TASK",
    K.MANUAL_TASK: "MANUAL_TASK",
    K.TASK: "TASK",
    K.EXCLUSIVE_GATEWAY: "EXCLUSIVE_GATEWAY",
    K.PARALLEL_GATEWAY: "PARALLEL_GATEWAY",
    K.INCLUSIVE_GATEWAY: "INCLUSIVE_GATEWAY",
    K.EVENT_BASED_GATEWAY: "EVENT_BASED_GATEWAY",
    K.SUB_PROCESS: "SUB_PROCESS",
    K.CALL_ACTIVITY: "CALL_ACTIVITY",
}
del K
DEFAULT_TENANT = "<default>"


def element_type(el: Element) -> str:
    """The element instance type Zeebe records for ``el`` (``SERVICE_TASK``, ...)."""
    if el.kind == ElementKind.SUB_PROCESS and el.triggered_by_event:
        return "EVENT_SUB_PROCESS"
    return ELEMENT_TYPES.get(el.kind, "UNKNOWN")


class CommandContext:
    """What one command shares across the instances it touches (store, keys, time, after-commit
    work)."""

    def __init__(self, now: dt.datetime, actor: str = "") -> None:
        self.now = now
        self.actor = actor
        self.store: Store = get_store()
        self.keys = KeyAllocator()
        self.created_job_types: set[str] = set()
        # Key -> type of each job made activatable by this command (queue-based workers).
        self.created_job_keys: dict[int, str] = {}
        self.follow_ups: list[Callable[[], None]] = []
        # Message subscriptions this command wrote: once committed, each looks again for a
        # message published concurrently (neither transaction saw the other's row).
        self.opened_subs: list[MessageSubscription] = []
        # Runs of this command on the call stack, by process instance key (call activities).
        self.live_runs: dict[int, Run] = {}


class InstanceRun(
    VariableBehaviour,
    JobBehaviour,
    UserTaskBehaviour,
    SubscriptionBehaviour,
    IncidentBehaviour,
    EventBehaviour,
    GatewayBehaviour,
    MultiInstanceBehaviour,
):
    """Applies one command to one process instance and flushes the changes."""

    def __init__(
        self,
        ctx: CommandContext,
        root: ElementInstance,
        definition: ProcessDefinition,
        model: ProcessModel,
        *,
        loaded: bool = True,
        rows: ActiveRows | None = None,
    ) -> None:
        """``rows``: the instance's other active element instances and its variables, when the
        caller read them already (with its lock, in one round trip)."""
        self.ctx: CommandContext = ctx
        self.store: Store = ctx.store
        self.now: dt.datetime = ctx.now
        self.root: ElementInstance = root
        self.definition: ProcessDefinition = definition
        self.model: ProcessModel = model
        self.instances: dict[int, ElementInstance] = {root.key: root}
        self.children: dict[int, list[int]] = defaultdict(list)
        self._vars: dict[int, dict[str, Variable]] = defaultdict(dict)
        self._vars_loaded: bool = True  # a new instance has no stored variables
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
        # Work that must see this run's writes (a child's parent continuation).
        self.after_flush: list[Callable[[], None]] = []
        if rows is not None:
            self._adopt(*rows)
        elif loaded:
            self._load()

    # ------------------------------------------------------------------ loading and flushing
    def _load(self) -> None:
        self._adopt(*self.store.load_instance(self.root.key))

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
        if not self._vars_loaded:  # the store did not read them with the instances
            self._vars_loaded = True
            for var in self.store.load_variables(self.root.key):
                # A variable this command already created stays the one we know.
                self._vars[var.scope_key].setdefault(var.name, var)
                self.var_by_key.setdefault(var.key, var)
        return self._vars

    def flush(self) -> None:
        """Write every change of this command (the caller holds the transaction).

        The writes go out together and are answered once (``Store.writes``)."""
        with self.store.writes():
            self._write()
        self.new_instances, self.new_vars, self.new_jobs, self.new_tasks = [], [], [], []
        self.new_subs, self.new_timers, self.new_incidents, self.records = [], [], [], []
        self.new_correlations, self.fresh_waits = [], set()
        self.dirty_instances, self.dirty_vars, self.closed_owner_keys = set(), set(), set()
        callbacks, self.after_flush = self.after_flush, []
        for callback in callbacks:
            callback()

    def _write(self) -> None:
        store = self.store
        new_keys = {ei.key for ei in self.new_instances}
        for ei in self.new_instances:
            sync_runtime(ei)
        if self.new_instances:
            store.insert(self.new_instances)
        dirty = [self.instances[k] for k in self.dirty_instances if k not in new_keys]
        if dirty:
            for ei in dirty:
                sync_runtime(ei)
            store.update_element_instances(dirty)
        if self.new_vars:
            store.insert(self.new_vars)
        new_var_keys = {v.key for v in self.new_vars}
        dirty_vars = [self.var_by_key[k] for k in self.dirty_vars if k not in new_var_keys]
        if dirty_vars:
            store.update_variables(dirty_vars)
        if self.closed_owner_keys:
            self._close_waits(self.closed_owner_keys)
        if self.new_jobs:
            store.insert(self.new_jobs)
            self.ctx.created_job_types.update(job.type for job in self.new_jobs)
            self.ctx.created_job_keys.update((job.key, job.type) for job in self.new_jobs)
        if self.new_tasks:
            store.insert(self.new_tasks)
        if self.new_subs:
            store.insert(self.new_subs)
            self.ctx.opened_subs.extend(self.new_subs)
        if self.new_timers:
            store.insert(self.new_timers)
        if self.new_incidents:
            store.insert(self.new_incidents)
        if self.new_correlations:
            store.insert(self.new_correlations)
        if self.records:
            store.insert_rows(Record, self.records)

    # ------------------------------------------------------------------ waits
    def add_wait(self, ei: ElementInstance, kind: str) -> None:
        """Remember that ``ei`` owns a job/task/subscription/timer/incident to close at its end."""
        waits = runtime(ei).waits
        if kind not in waits:
            waits.append(kind)
            self.touch(ei)
            # Rows of this kind exist only in this command's memory until the flush.
            self.fresh_waits.add((ei.key, kind))

    def drop_wait(self, ei: ElementInstance, kind: str) -> None:
        waits = runtime(ei).waits
        if waits and kind in waits:
            waits.remove(kind)
            self.touch(ei)

    def _close_waits(self, owners: set[int]) -> None:
        """Cancel jobs, user tasks, subscriptions and timers of finished element instances."""
        by_kind: dict[str, list[int]] = defaultdict(list)
        for key in owners:
            for kind in runtime(self.instances[key]).waits:
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
        self.store.close_waits(by_kind, self.now)

    # ------------------------------------------------------------------ running
    def run(self) -> None:
        """Process queued steps until every path waits."""
        while self.queue:
            self.queue.popleft()()
        if self.pending_message_checks:
            checks, self.pending_message_checks = self.pending_message_checks, []
            for sub in checks:
                self.correlate_buffered(sub)
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
        # A plain row in ``Record``'s insert order (``Store.insert_rows``): a command writes
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

    # ------------------------------------------------------------------ element instances
    def new_instance(
        self,
        el: Element,
        scope_key: int,
        *,
        el_type: str | None = None,
        state: RuntimeState | None = None,
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
            data={},
            tenant_id=self.root.tenant_id,
        )
        set_runtime(ei, state if state is not None else RuntimeState())
        self.instances[ei.key] = ei
        self.children[scope_key].append(ei.key)
        self.new_instances.append(ei)
        return ei

    def activate(self, el: Element, scope_key: int, *, state: RuntimeState | None = None) -> None:
        """Queue the activation of ``el`` in ``scope_key``."""
        self.in_flight[scope_key] += 1
        self.queue.append(lambda: self._activate(el, scope_key, state))

    def _activate(self, el: Element, scope_key: int, state: RuntimeState | None) -> None:
        self.in_flight[scope_key] -= 1
        scope = self.instances.get(scope_key)
        if scope is None or scope.lifecycle not in (ACTIVATED, ACTIVATING):
            return  # the scope ended meanwhile
        if runtime(scope).interrupted and not el.triggered_by_event:
            return  # An interrupting event sub-process took over the scope
        if el.loop is not None and not (state is not None and state.mi_inner):
            body_state = replace(state) if state is not None else None
            ei = self.new_instance(el, scope_key, el_type=MI_BODY, state=body_state)
            self.run_activation(el, ei, self.activate_mi_body)
            return
        ei = self.new_instance(el, scope_key, state=state)
        self.run_activation(el, ei, self.activate_element)

    def run_activation(self, el: Element, ei: ElementInstance, body: Callable) -> None:
        try:
            body(el, ei)
        except ex.ExpressionFailure as failure:
            self.raise_incident(ei, failure.error_type, failure.message)

    def activated(self, el: Element, ei: ElementInstance) -> None:
        ei.lifecycle = ACTIVATED
        self.touch(ei)
        self.record("PROCESS_INSTANCE", "ELEMENT_ACTIVATED", ei.key, el.id, ei.element_type)

    def activate_element(self, el: Element, ei: ElementInstance) -> None:
        """Input mappings, then what the element's processor does on activation."""
        if el.inputs:
            self.apply_inputs(el, ei)
        processor_of(el).on_activate(self, el, ei)

    def start_scope(self, el: Element, ei: ElementInstance) -> None:
        """Start a (sub-)process scope at its none start event."""
        starts = [
            self.model.elements[s] for s in el.start_events if self.model.elements[s].event is None
        ]
        for start in starts[:1]:
            self.activate(start, ei.key)
        event_subprocesses.open_event_subprocess_subscriptions(self, el, ei)

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
                self.complete_mi_body_outputs(el, ei)
            else:
                processor_of(el).on_complete(self, el, ei, payload)
                if runtime(ei).mi_inner:
                    self.collect_mi_output(el, ei)
        except ex.ExpressionFailure as failure:
            runtime(ei).payload = payload
            self.raise_incident(ei, failure.error_type, failure.message)
            return
        self.finish(ei, COMPLETED)
        if el.id in self.model.elements and el.compensation_handler and not runtime(ei).mi_inner:
            compensation.on_compensable_completed(self, el, ei)
        if runtime(ei).compensation_throw:  # the waiting throw event counts its handlers
            compensation.on_compensation_handler_completed(self, ei)
        if runtime(ei).mi_inner:
            self.queue.append(lambda: self.mi_inner_done(ei))
            return
        if ei.element_type == "PROCESS":
            return
        outgoing = el.outgoing if flows is None else flows
        for flow_id in outgoing:
            self.take_flow(flow_id, flow_scope(ei))
        self.queue.append(lambda: self.check_scope(ei.scope_key))

    def finish(self, ei: ElementInstance, lifecycle: str) -> None:
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
        if runtime(ei).waits:
            self.closed_owner_keys.add(ei.key)
        intent = "ELEMENT_COMPLETED" if lifecycle == COMPLETED else "ELEMENT_TERMINATED"
        self.record("PROCESS_INSTANCE", intent, ei.key, ei.element_id, ei.element_type)

    def take_flow(self, flow_id: str, scope_key: int) -> None:
        flow = self.model.flows[flow_id]
        self.record("PROCESS_INSTANCE", "SEQUENCE_FLOW_TAKEN", None, flow_id, "SEQUENCE_FLOW")
        target = self.model.elements[flow.target]
        if target.kind == ElementKind.PARALLEL_GATEWAY and len(target.incoming) > 1:
            self.arrive_at_join(target, flow_id, scope_key, parallel=True)
        elif target.kind == ElementKind.INCLUSIVE_GATEWAY and len(target.incoming) > 1:
            self.arrive_at_join(target, flow_id, scope_key, parallel=False)
        else:
            self.activate(target, scope_key)

    def check_scope(self, scope_key: int | None) -> None:
        """A scope completes when nothing is active in it and no token waits at a join."""
        if scope_key is None:
            return
        scope = self.instances.get(scope_key)
        if scope is None or scope.lifecycle != ACTIVATED:
            return
        if self.children.get(scope_key) or runtime(scope).joins or self.in_flight[scope_key]:
            return
        if scope.element_type == MI_BODY:
            return
        if scope.element_type == "PROCESS":
            self.complete_process(scope)
        else:
            self.complete(scope)

    def complete_process(self, root: ElementInstance) -> None:
        root.lifecycle = COMPLETING
        self.finish(root, COMPLETED)
        self._process_ended(root)

    def _process_ended(self, root: ElementInstance) -> None:
        """A finished root frees its message start key and continues its parent."""
        start_events.on_process_end(self, root)
        call_activities.on_process_end(self, root)

    # ------------------------------------------------------------------ termination
    def terminate(self, ei: ElementInstance) -> None:
        if ei.state != ElementInstance.ACTIVE:
            return
        ei.lifecycle = TERMINATING
        for child_key in list(self.children.get(ei.key, [])):
            self.terminate(self.instances[child_key])
        runtime(ei).pop("joins")
        if runtime(ei).compensation_throw:  # a terminated handler counts as finished
            compensation.on_compensation_handler_completed(self, ei)
        if ei.element_type != "PROCESS":
            processor_of(self.model.elements[ei.element_id]).on_terminate(self, ei)
        self.finish(ei, TERMINATED)
        if ei.element_type == "PROCESS":
            # A cancelled or terminated message-started instance also frees its key.
            self._process_ended(ei)


def _conforms(run: InstanceRun) -> Run:
    """For the type checker: the run offers what its behaviours expect of it."""
    return run
