"""Variable scopes, input and output mappings.

Variable scopes and mappings: https://docs.camunda.io/docs/components/concepts/variables/
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from processes.engine import expressions as ex
from processes.engine import sql
from processes.engine.bpmn import Element
from processes.engine.state import runtime
from processes.models import (
    ElementInstance,
    Variable,
)

if TYPE_CHECKING:
    from processes.engine.behaviours.run import Run

# ``_assign_path``: start from the variable visible in the scope.
_VISIBLE: Any = object()


class VariableBehaviour:
    """Variable scopes, input and output mappings."""

    def scope_chain(self: Run, scope_key: int) -> list[int]:
        """The scope and its ancestors, innermost first."""
        chain = []
        key: int | None = scope_key
        while key is not None:
            chain.append(key)
            key = self.instances[key].scope_key if key in self.instances else None
        return chain

    def visible(self: Run, scope_key: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key in reversed(self.scope_chain(scope_key)):
            for name, var in self.vars.get(key, {}).items():
                result[name] = var.value
        return result

    def set_local(self: Run, scope_key: int, name: str, value: Any) -> None:
        """Create or update exactly in the given scope."""
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

    def propagate(self: Run, scope_key: int, document: dict[str, Any]) -> None:
        """Write each variable where it is first found walking outward, else at the root."""
        chain = self.scope_chain(scope_key)
        for name, value in document.items():
            target = next((k for k in chain if name in self.vars.get(k, {})), self.root.key)
            self.set_local(target, name, value)

    def apply_inputs(self: Run, el: Element, ei: ElementInstance) -> None:
        """Input mappings, in order, written locally; a later one may read an earlier.

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
        self: Run,
        scope_key: int,
        target: str,
        value: Any,
        *,
        local: bool,
        base: Any = _VISIBLE,
    ) -> Any:
        """Write ``target`` (``a`` or ``a.b.c``); returns the value written for ``a``.

        For a dotted target the object ``a`` is ``base`` (default: the visible ``a``)
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

    def apply_outputs(self: Run, el: Element, ei: ElementInstance, payload: dict[str, Any] | None):
        """Payload merge and output mappings when an element completes."""
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
            context.update(results)  # later mappings see earlier targets
            if mapping.source is None:
                value = None
            else:
                value = ex.to_variable(ex.evaluate(mapping.source, context, "IO_MAPPING_ERROR"))
            results[mapping.target] = value
        start = ei.key if runtime(ei).mi_inner else (ei.scope_key or self.root.key)
        for target, value in results.items():
            self._assign_path(start, target, value, local=False)
