"""``ProcessTestContext``: commands a test sends to the engine, each followed by driving it.

Every command goes through ``processes.engine.service`` exactly as workers and the API do; after
each one the context drives the engine until it is idle (mocked jobs completed, nothing left to
do without the test), so assertions never need sleeps or polling.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from django.db.models import Q
from django.utils import timezone

from processes.engine import clock, service
from processes.engine.service import ActivatedJob
from processes.models import ElementInstance, Incident, Job, ProcessDefinition, UserTask
from processes.testing.asserts import InstanceAssert, describe_jobs

# A process looping over mocked jobs forever is a modelling error, not something to wait out.
MAX_DRIVE_ROUNDS = 1000
TEST_WORKER = "process-test"

_PROCESS_ID = re.compile(r"<(?:[\w-]+:)?process\b[^>]*?\bid=\"([^\"]+)\"")


def reset_caches() -> None:
    """Forget what the engine caches across tests: definitions, models and the clock pin.

    Keys restart after each test's rollback (SQLite), so a cached definition could be stale.
    """
    service.clear_caches()
    clock.forget_cache()


class ProcessTestContext:
    """Deploy, start, drive and inspect process instances of the embedded engine in a test."""

    def __init__(self, resource_dirs: Iterable[Path] = ()) -> None:
        self.resource_dirs = [Path(d) for d in resource_dirs]
        self.mocks: dict[str, Callable[[ActivatedJob], dict[str, Any] | None]] = {}
        self.job_timeout = dt.timedelta(minutes=5)

    def setup(self) -> None:
        """Pin the engine clock at the current second so timer due dates are reproducible."""
        reset_caches()
        service.pin_clock(timezone.now().replace(microsecond=0))

    # ------------------------------------------------------------------ deployment
    def deploy(self, path_or_xml: str | Path, name: str | None = None) -> list[ProcessDefinition]:
        """Deploy a BPMN file (path) or document (XML text); returns the definitions.

        A ``Rejection`` from the engine (invalid model) propagates to the test.
        """
        if isinstance(path_or_xml, str) and path_or_xml.lstrip().startswith("<"):
            xml = path_or_xml
            if name is None:
                match = _PROCESS_ID.search(xml)
                name = f"{match.group(1) if match else 'process'}.bpmn"
            _key, deployed = service.deploy([(name, xml)])
        else:
            path = self._resolve(Path(path_or_xml))
            _key, deployed = service.deploy([(name or path.name, path.read_bytes())])
        return [d.definition for d in deployed]

    def _resolve(self, path: Path) -> Path:
        if path.is_absolute():
            return path
        candidates = [d / path for d in self.resource_dirs] + [Path.cwd() / path]
        if not path.suffix:
            candidates += [c.with_suffix(".bpmn") for c in candidates]
        for candidate in candidates:
            if candidate.is_file():
                return candidate
        searched = ", ".join(str(c.parent) for c in candidates[: len(self.resource_dirs) + 1])
        raise AssertionError(f"BPMN resource '{path}' not found (searched: {searched})")

    # ------------------------------------------------------------------ instances
    def start(
        self,
        process_id: str,
        variables: dict[str, Any] | None = None,
        business_key: str = "",
        *,
        version: int | None = None,
    ) -> InstanceAssert:
        """Create an instance at the none start event and drive it until it waits."""
        root = service.create_instance(
            process_id=process_id, variables=variables, business_key=business_key, version=version
        )
        self.drive()
        return InstanceAssert(root.key)

    def instance(self, process_instance_key: int) -> InstanceAssert:
        return InstanceAssert(process_instance_key)

    def cancel(self, instance: InstanceAssert | int) -> None:
        service.cancel_instance(_key_of(instance))
        self.drive()

    def set_variables(
        self,
        instance: InstanceAssert | int,
        variables: dict[str, Any],
        *,
        element_id: str | None = None,
        local: bool = False,
    ) -> None:
        """Set variables on the process instance, or on the active instance of ``element_id``."""
        scope_key = _key_of(instance)
        if element_id is not None:
            scope_key = InstanceAssert(scope_key).element_instance_key(element_id)
        service.set_variables(scope_key, variables, local=local)
        self.drive()

    # ------------------------------------------------------------------ jobs
    def activate_job(
        self, job_type: str, instance: InstanceAssert | int | None = None
    ) -> ActivatedJob:
        """Activate the first activatable job of ``job_type`` (fails the test if there is none)."""
        query = Job.objects.filter(type=job_type).filter(
            Q(state=Job.ACTIVATABLE, activatable_at__lte=clock.now())
            | Q(state=Job.ACTIVATED, deadline__lt=clock.now())
        )
        if instance is not None:
            query = query.filter(process_instance_key=_key_of(instance))
        for job_key in query.order_by("key").values_list("key", flat=True)[:10]:
            activated = service.activate_jobs(
                job_type,
                worker=TEST_WORKER,
                timeout_ms=int(self.job_timeout.total_seconds() * 1000),
                max_jobs=1,
                job_key=job_key,
            )
            if activated:
                return activated[0]
        raise AssertionError(
            f"Expected an activatable job of type '{job_type}', but there is none.\n"
            + describe_jobs(_key_of(instance) if instance is not None else None)
        )

    def _job_to_command(self, job_type: str, instance: InstanceAssert | int | None) -> int:
        """The key of a job to complete/fail: one the test activated already, else activate."""
        query = Job.objects.filter(type=job_type, state=Job.ACTIVATED, worker=TEST_WORKER)
        query = query.filter(deadline__gte=clock.now())
        if instance is not None:
            query = query.filter(process_instance_key=_key_of(instance))
        held = query.order_by("key").values_list("key", flat=True).first()
        if held is not None:
            return held
        return self.activate_job(job_type, instance).job.key

    def complete_job(
        self,
        job_type: str,
        variables: dict[str, Any] | None = None,
        *,
        instance: InstanceAssert | int | None = None,
    ) -> int:
        """Activate the first job of ``job_type`` and complete it; returns the job key."""
        job_key = self._job_to_command(job_type, instance)
        service.complete_job(job_key, variables)
        self.drive()
        return job_key

    def mock_job(
        self,
        job_type: str,
        variables: dict[str, Any] | Callable[[ActivatedJob], dict[str, Any] | None] | None = None,
    ) -> None:
        """Complete every current and future job of ``job_type`` while driving.

        ``variables`` may be a callable receiving the activated job (with its visible variables).
        """
        if callable(variables):
            self.mocks[job_type] = variables
        else:
            fixed = dict(variables or {})
            self.mocks[job_type] = lambda _job: fixed
        self.drive()

    def fail_job(
        self,
        job_type: str,
        retries: int = 0,
        message: str = "",
        *,
        backoff: dt.timedelta | None = None,
        variables: dict[str, Any] | None = None,
        instance: InstanceAssert | int | None = None,
    ) -> int:
        """Activate the first job of ``job_type`` and fail it with ``retries`` left."""
        job_key = self._job_to_command(job_type, instance)
        backoff_ms = int(backoff.total_seconds() * 1000) if backoff else 0
        service.fail_job(
            job_key,
            retries=retries,
            error_message=message,
            retry_backoff_ms=backoff_ms,
            variables=variables,
        )
        self.drive()
        return job_key

    def throw_error(
        self,
        job_type: str,
        code: str,
        variables: dict[str, Any] | None = None,
        *,
        message: str = "",
        instance: InstanceAssert | int | None = None,
    ) -> int:
        """Activate the first job of ``job_type`` and throw a BPMN error from it."""
        job_key = self._job_to_command(job_type, instance)
        service.throw_job_error(
            job_key, error_code=code, error_message=message, variables=variables
        )
        self.drive()
        return job_key

    def update_retries(self, job_key: int, retries: int) -> None:
        service.update_job(job_key, retries=retries)

    def run_handlers(self) -> int:
        """Run the registered job handlers (``processes.jobs``) until no job is left for them."""
        from processes.jobs import registry, run_job

        ran = 0
        for _round in range(MAX_DRIVE_ROUNDS):
            progressed = False
            for job_type in _handler_types(registry()):
                for activated in service.activate_jobs(job_type, worker=TEST_WORKER, max_jobs=32):
                    run_job(activated)
                    ran += 1
                    progressed = True
            progressed = self._run_mocks() or progressed
            if not progressed:
                return ran
        raise AssertionError(f"Job handlers still had work after {MAX_DRIVE_ROUNDS} rounds")

    # ------------------------------------------------------------------ driving
    def drive(self) -> None:
        """Complete mocked jobs until none is left (the engine itself runs synchronously)."""
        for _round in range(MAX_DRIVE_ROUNDS):
            if not self._run_mocks():
                return
        raise AssertionError(
            f"Mocked jobs were still being created after {MAX_DRIVE_ROUNDS} rounds: "
            "does the process loop forever?"
        )

    def _run_mocks(self) -> bool:
        progressed = False
        for job_type, answer in list(self.mocks.items()):
            for activated in service.activate_jobs(job_type, worker=TEST_WORKER, max_jobs=100):
                service.complete_job(activated.job.key, answer(activated) or None)
                progressed = True
        return progressed

    # ------------------------------------------------------------------ messages
    def publish_message(
        self,
        name: str,
        correlation_key: str = "",
        variables: dict[str, Any] | None = None,
        ttl_ms: int = 0,
        message_id: str = "",
        *,
        ttl: dt.timedelta | None = None,
    ) -> tuple[int, list[int]]:
        """Publish a message; returns its key and the keys of the instances it reached."""
        if ttl is not None:
            ttl_ms = int(ttl.total_seconds() * 1000)
        result = service.publish_message(
            name, correlation_key, variables=variables, ttl_ms=ttl_ms, message_id=message_id
        )
        self.drive()
        return result

    # ------------------------------------------------------------------ user tasks
    def user_task(self, element_id: str, instance: InstanceAssert | int | None = None) -> UserTask:
        """The open (CREATED) user task of ``element_id``; fails the test if there is none."""
        query = UserTask.objects.filter(element_id=element_id, state=UserTask.CREATED)
        if instance is not None:
            query = query.filter(process_instance_key=_key_of(instance))
        task = query.order_by("key").first()
        if task is None:
            open_tasks = list(
                UserTask.objects.filter(state=UserTask.CREATED).values_list("element_id", "key")
            )
            raise AssertionError(
                f"Expected an open user task '{element_id}', but there is none. "
                f"Open user tasks: {open_tasks or 'none'}"
            )
        return task

    def complete_user_task(
        self,
        element_id_or_key: str | int,
        variables: dict[str, Any] | None = None,
        user: str = "",
        *,
        instance: InstanceAssert | int | None = None,
    ) -> int:
        """Complete a user task given by element id (first open one) or task key."""
        if isinstance(element_id_or_key, int):
            task_key = element_id_or_key
        else:
            task_key = self.user_task(element_id_or_key, instance).key
        service.complete_user_task(task_key, variables, actor=user)
        self.drive()
        return task_key

    # ------------------------------------------------------------------ time
    @property
    def now(self) -> dt.datetime:
        return clock.now()

    def set_time(self, at: dt.datetime) -> None:
        """Pin the engine clock at ``at``: due timers fire, expired messages go."""
        if timezone.is_naive(at):
            at = timezone.make_aware(at, dt.UTC)
        clock.forget_cache()
        service.pin_clock(at)
        self.drive()

    def increase_time(self, delta: dt.timedelta) -> None:
        """Move the engine clock forward by ``delta`` (timers due meanwhile fire)."""
        self.set_time(clock.now() + delta)

    # ------------------------------------------------------------------ incidents
    def incident(
        self,
        instance: InstanceAssert | int | None = None,
        *,
        element_id: str | None = None,
        error_type: str | None = None,
    ) -> Incident:
        """The single active incident matching the filters (fails the test otherwise)."""
        query = Incident.objects.filter(state=Incident.ACTIVE)
        if instance is not None:
            query = query.filter(process_instance_key=_key_of(instance))
        if element_id is not None:
            query = query.filter(element_id=element_id)
        if error_type is not None:
            query = query.filter(error_type=error_type)
        found = list(query.order_by("key"))
        if len(found) != 1:
            active = list(
                Incident.objects.filter(state=Incident.ACTIVE).values_list(
                    "element_id", "error_type", "error_message"
                )
            )
            raise AssertionError(
                f"Expected exactly one active incident (element={element_id}, "
                f"type={error_type}), found {len(found)}. Active incidents: {active or 'none'}"
            )
        return found[0]

    def resolve_incident(
        self,
        instance: InstanceAssert | int | None = None,
        *,
        element_id: str | None = None,
        error_type: str | None = None,
        incident_key: int | None = None,
    ) -> int:
        """Resolve an incident (by key, or the single one matching the filters)."""
        if incident_key is None:
            incident_key = self.incident(instance, element_id=element_id, error_type=error_type).key
        service.resolve_incident(incident_key)
        self.drive()
        return incident_key

    # ------------------------------------------------------------------ inspection
    def jobs(
        self, job_type: str | None = None, instance: InstanceAssert | int | None = None
    ) -> list[Job]:
        query = Job.objects.all()
        if job_type is not None:
            query = query.filter(type=job_type)
        if instance is not None:
            query = query.filter(process_instance_key=_key_of(instance))
        return list(query.order_by("key"))

    def active_instances(self, process_id: str) -> list[InstanceAssert]:
        keys = ElementInstance.objects.filter(
            element_type="PROCESS", element_id=process_id, state=ElementInstance.ACTIVE
        ).values_list("key", flat=True)
        return [InstanceAssert(k) for k in keys.order_by("key")]


def _key_of(instance: InstanceAssert | int) -> int:
    return instance.key if isinstance(instance, InstanceAssert) else int(instance)


def _handler_types(registry: Any) -> list[str]:
    """Job types from whatever the handler registry returns (a mapping or handler objects)."""
    if isinstance(registry, dict):
        return [str(t) for t in registry]
    types = []
    for item in registry:
        types.append(item if isinstance(item, str) else str(getattr(item, "type", item)))
    return types
