"""Element instance state: life-cycle names (as Zeebe's process instance intents name them)
and the typed runtime state the engine keeps per instance.

https://docs.camunda.io/docs/components/zeebe/technical-concepts/internal-processing/
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from processes.models import ElementInstance

ACTIVATING, ACTIVATED, COMPLETING = "ACTIVATING", "ACTIVATED", "COMPLETING"
COMPLETED, TERMINATING, TERMINATED = "COMPLETED", "TERMINATING", "TERMINATED"

# The element type of a multi-instance body (its inner instances have the element's own type).
MI_BODY = "MULTI_INSTANCE_BODY"


@dataclass(slots=True)
class RuntimeState:
    """The engine's working state of one element instance, kept in ``ElementInstance.data``.

    The JSON column holds ``to_json()``: only the fields that differ from their defaults, under
    the names the engine has always stored, so rows written before this class existed read the
    same and no migration is needed. ``runtime(ei)`` gives an instance's state (read from the
    column on first use); the run writes it back to the column when it flushes the instance.
    """

    # Kinds of rows the instance owns and closes when it ends: job, task, sub, timer, incident.
    waits: list[str] = field(default_factory=list)
    # Completion variables waiting to be applied: a triggered boundary event's, or those of a
    # completion that raised an incident (applied again when it is resolved).
    payload: dict[str, Any] | None = None
    # Tokens waiting at joining gateways of this scope: gateway id -> incoming flow -> count.
    joins: dict[str, dict[str, int]] = field(default_factory=dict)
    # An interrupting event sub-process took this scope over.
    interrupted: bool = False
    # Multi-instance: an inner instance and its item index; the body's items and counters.
    mi_inner: bool = False
    index: int | None = None
    items: list[Any] | None = None
    created: int = 0
    completed: int = 0
    terminated: int = 0
    # Compensation: the throw event a handler runs for; how many handlers a throw waits for;
    # on the root, the compensable completions (activity, handler, instance, scope chain).
    compensation_throw: int | None = None
    compensation_pending: int | None = None
    compensable: list[dict[str, Any]] = field(default_factory=list)
    # Call activity: the child instance's key.
    child: int | None = None
    # Event sub-process: the trigger's variables, and whether an error started it.
    esp_payload: dict[str, Any] | None = None
    esp_error: bool = False
    # Root of a message-started instance: the correlation key it blocks.
    message_start_key: str | None = None
    # Root of a child: a parent continuation not yet done (completion variables or an error).
    to_parent: dict[str, Any] | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> RuntimeState:
        if not data:
            return cls()
        return cls(**{name: data[name] for name in _FIELDS if name in data})

    def pop(self, name: str) -> Any:
        """The field's value, its default left in its place (as ``dict.pop`` did on the JSON)."""
        value = getattr(self, name)
        setattr(self, name, _FRESH[name]())
        return value

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {}
        for name, default in _DEFAULTS:
            value = getattr(self, name)
            if value != default or type(value) is not type(default):
                document[name] = value
        return document


_DEFAULTS = tuple(
    (f.name, f.default_factory() if f.default is MISSING else f.default)  # type: ignore[operator]
    for f in fields(RuntimeState)
)
_FIELDS = tuple(name for name, _default in _DEFAULTS)
_FRESH: dict[str, Any] = {
    f.name: f.default_factory if f.default is MISSING else (lambda d=f.default: d)
    for f in fields(RuntimeState)
}


def runtime(ei: ElementInstance) -> RuntimeState:
    """The runtime state of ``ei`` (read from its JSON column once, then kept on the object)."""
    attributes = ei.__dict__
    state = attributes.get("_runtime")
    if state is None:
        state = attributes["_runtime"] = RuntimeState.from_json(ei.data)
    return state


def set_runtime(ei: ElementInstance, state: RuntimeState) -> None:
    ei.__dict__["_runtime"] = state


def sync_runtime(ei: ElementInstance) -> None:
    """Write ``ei``'s runtime state (when it was read or set) back to its JSON column."""
    state = ei.__dict__.get("_runtime")
    if state is not None:
        ei.data = state.to_json()


def flow_scope(ei: ElementInstance) -> int:
    """The key of the scope ``ei`` runs in (every element instance but a root has one)."""
    assert ei.scope_key is not None, "only a process instance's root has no scope"
    return ei.scope_key
