"""State of the embedded engine, one table per kind of Zeebe record.

Keys are int64 values from one engine-wide sequence (``processes.engine.keys``), as Zeebe's keys
are, and are used as primary keys, so an instance's rows can be written in bulk at the end of a
command with their references already known. A process instance is also the element instance of
its process (``ElementInstance`` with ``element_type = PROCESS``), as in Zeebe: its key is the
root scope key of its variables.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class KeyCounter(models.Model):
    """Hands out blocks of keys on databases without sequences (SQLite)."""

    name = models.CharField(max_length=32, primary_key=True)
    value = models.BigIntegerField()


class ProcessDefinition(models.Model):
    key = models.BigIntegerField(primary_key=True)
    bpmn_process_id = models.CharField(max_length=255)
    name = models.CharField(max_length=255, blank=True)
    version = models.PositiveIntegerField()
    version_tag = models.CharField(max_length=255, blank=True)
    resource_name = models.CharField(max_length=255)
    checksum = models.CharField(max_length=64)
    xml = models.TextField()
    deployment_key = models.BigIntegerField()
    tenant_id = models.CharField(max_length=64, default="<default>")
    deployed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant_id", "bpmn_process_id", "version"], name="unique_process_version"
            )
        ]
        indexes = [models.Index(fields=["bpmn_process_id", "-version"])]
        permissions = [("use_engine_api", "Can use the engine REST API")]

    def __str__(self) -> str:
        return f"{self.bpmn_process_id} v{self.version}"


class ElementInstance(models.Model):
    """One element instance (flow node, sub-process, multi-instance body, or the process)."""

    ACTIVE, COMPLETED, TERMINATED = "ACTIVE", "COMPLETED", "TERMINATED"
    STATES = [(ACTIVE, "Active"), (COMPLETED, "Completed"), (TERMINATED, "Terminated")]

    key = models.BigIntegerField(primary_key=True)
    process_instance_key = models.BigIntegerField(db_index=True)
    definition = models.ForeignKey(ProcessDefinition, on_delete=models.PROTECT, related_name="+")
    element_id = models.CharField(max_length=255)
    element_type = models.CharField(max_length=40)  # Camunda's enum: SERVICE_TASK, PROCESS, ...
    scope_key = models.BigIntegerField(null=True)  # flow scope element instance; null for PROCESS
    # Zeebe's life-cycle intent: ACTIVATING/ACTIVATED/COMPLETING/COMPLETED/TERMINATING/TERMINATED
    lifecycle = models.CharField(max_length=16)
    state = models.CharField(max_length=12, choices=STATES, default=ACTIVE)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True)
    has_incident = models.BooleanField(default=False)
    # Runtime bookkeeping (multi-instance counters, join tokens, interrupted flag, ...).
    data = models.JSONField(default=dict)
    # Set on the PROCESS row only.
    parent_process_instance_key = models.BigIntegerField(null=True)
    parent_element_instance_key = models.BigIntegerField(null=True)
    business_key = models.CharField(max_length=255, blank=True, db_index=True)
    tenant_id = models.CharField(max_length=64, default="<default>")

    class Meta:
        indexes = [
            models.Index(fields=["process_instance_key", "state"]),
            models.Index(fields=["element_type", "state", "-started_at"]),
            models.Index(fields=["definition", "element_id", "state"]),
        ]

    def __str__(self) -> str:
        return f"{self.element_id} ({self.key}, {self.lifecycle})"


class Variable(models.Model):
    key = models.BigIntegerField(primary_key=True)
    scope_key = models.BigIntegerField()
    process_instance_key = models.BigIntegerField(db_index=True)
    name = models.CharField(max_length=255)
    value = models.JSONField(null=True)
    tenant_id = models.CharField(max_length=64, default="<default>")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope_key", "name"], name="unique_variable_in_scope")
        ]


class Job(models.Model):
    ACTIVATABLE, ACTIVATED, FAILED = "ACTIVATABLE", "ACTIVATED", "FAILED"
    COMPLETED, CANCELED, ERROR_THROWN = "COMPLETED", "CANCELED", "ERROR_THROWN"

    key = models.BigIntegerField(primary_key=True)
    type = models.CharField(max_length=255)
    state = models.CharField(max_length=16, default=ACTIVATABLE)
    process_instance_key = models.BigIntegerField(db_index=True)
    element_instance_key = models.BigIntegerField()
    definition = models.ForeignKey(ProcessDefinition, on_delete=models.PROTECT, related_name="+")
    element_id = models.CharField(max_length=255)
    retries = models.IntegerField(default=3)
    custom_headers = models.JSONField(default=dict)
    worker = models.CharField(max_length=255, blank=True)
    deadline = models.DateTimeField(null=True)  # activation lock
    activatable_at = models.DateTimeField(null=True)  # retry back-off
    error_message = models.TextField(blank=True)
    created_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True)
    tenant_id = models.CharField(max_length=64, default="<default>")

    class Meta:
        indexes = [models.Index(fields=["type", "state", "activatable_at"])]


class Incident(models.Model):
    ACTIVE, RESOLVED = "ACTIVE", "RESOLVED"

    key = models.BigIntegerField(primary_key=True)
    process_instance_key = models.BigIntegerField(db_index=True)
    element_instance_key = models.BigIntegerField()
    definition = models.ForeignKey(ProcessDefinition, on_delete=models.PROTECT, related_name="+")
    element_id = models.CharField(max_length=255)
    job_key = models.BigIntegerField(null=True)
    error_type = models.CharField(max_length=40)
    error_message = models.TextField()
    state = models.CharField(max_length=12, default=ACTIVE)
    created_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    tenant_id = models.CharField(max_length=64, default="<default>")

    class Meta:
        indexes = [models.Index(fields=["state", "error_type"])]


class MessageSubscription(models.Model):
    """An open subscription of an element instance (catch, receive, boundary, event sub-process)."""

    key = models.BigIntegerField(primary_key=True)
    process_instance_key = models.BigIntegerField(db_index=True)
    element_instance_key = models.BigIntegerField()  # the instance that owns the subscription
    element_id = models.CharField(max_length=255)  # the catching element
    bpmn_process_id = models.CharField(max_length=255)
    message_name = models.CharField(max_length=255)
    correlation_key = models.CharField(max_length=255)
    interrupting = models.BooleanField(default=True)
    tenant_id = models.CharField(max_length=64, default="<default>")

    class Meta:
        indexes = [models.Index(fields=["message_name", "correlation_key"])]


class MessageStartSubscription(models.Model):
    definition = models.ForeignKey(ProcessDefinition, on_delete=models.CASCADE, related_name="+")
    bpmn_process_id = models.CharField(max_length=255)
    element_id = models.CharField(max_length=255)
    message_name = models.CharField(max_length=255, db_index=True)


class Message(models.Model):
    """A published message, buffered until its time-to-live ends."""

    key = models.BigIntegerField(primary_key=True)
    name = models.CharField(max_length=255)
    correlation_key = models.CharField(max_length=255)
    message_id = models.CharField(max_length=255, blank=True)
    variables = models.JSONField(default=dict)
    published_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)
    tenant_id = models.CharField(max_length=64, default="<default>")

    class Meta:
        indexes = [models.Index(fields=["name", "correlation_key", "expires_at"])]


class MessageCorrelation(models.Model):
    """A message correlated to a BPMN process id: at most once per process id (Zeebe 4.4)."""

    message_key = models.BigIntegerField()
    bpmn_process_id = models.CharField(max_length=255)
    process_instance_key = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["message_key", "bpmn_process_id"], name="unique_message_per_process"
            )
        ]


class Timer(models.Model):
    key = models.BigIntegerField(primary_key=True)
    process_instance_key = models.BigIntegerField(null=True, db_index=True)  # null: start timer
    element_instance_key = models.BigIntegerField(null=True)  # owner (catch/boundary/scope)
    definition = models.ForeignKey(ProcessDefinition, on_delete=models.CASCADE, related_name="+")
    element_id = models.CharField(max_length=255)  # the timer event
    due_at = models.DateTimeField(db_index=True)
    repetitions = models.IntegerField(null=True)  # remaining after this one; null = unbounded
    kind = models.CharField(max_length=10)  # date | duration | cycle
    spec = models.TextField()  # the evaluated timer value, to compute the next due date
    interrupting = models.BooleanField(default=True)


class UserTask(models.Model):
    CREATED, COMPLETED, CANCELED = "CREATED", "COMPLETED", "CANCELED"

    key = models.BigIntegerField(primary_key=True)
    process_instance_key = models.BigIntegerField(db_index=True)
    element_instance_key = models.BigIntegerField()
    definition = models.ForeignKey(ProcessDefinition, on_delete=models.PROTECT, related_name="+")
    element_id = models.CharField(max_length=255)
    name = models.CharField(max_length=255, blank=True)
    state = models.CharField(max_length=12, default=CREATED)
    assignee = models.CharField(max_length=255, blank=True)
    candidate_groups = models.JSONField(default=list)
    candidate_users = models.JSONField(default=list)
    due_date = models.DateTimeField(null=True)
    follow_up_date = models.DateTimeField(null=True)
    form_key = models.CharField(max_length=255, blank=True)
    priority = models.PositiveSmallIntegerField(default=50)
    custom_headers = models.JSONField(default=dict)
    created_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True)
    completed_by = models.CharField(max_length=255, blank=True)
    tenant_id = models.CharField(max_length=64, default="<default>")

    class Meta:
        indexes = [models.Index(fields=["state", "assignee"])]


class Record(models.Model):
    """Append-only history: what happened to which instance, when, and on whose behalf."""

    id = models.BigAutoField(primary_key=True)
    process_instance_key = models.BigIntegerField(null=True, db_index=True)
    value_type = models.CharField(max_length=32)  # PROCESS_INSTANCE, JOB, MESSAGE, INCIDENT, ...
    intent = models.CharField(max_length=32)  # ELEMENT_ACTIVATED, COMPLETED, CORRELATED, ...
    key = models.BigIntegerField(null=True)  # key of the record's subject
    element_id = models.CharField(max_length=255, blank=True)
    element_type = models.CharField(max_length=40, blank=True)
    actor = models.CharField(max_length=255, blank=True)
    detail = models.JSONField(default=dict)
    at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["value_type", "intent", "at"])]


class ClockPin(models.Model):
    """The engine clock pinned through ``PUT /v2/clock`` (one row, or none for system time)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    pinned_at = models.DateTimeField()
