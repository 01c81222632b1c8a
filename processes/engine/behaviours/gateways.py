"""Flow choice and joins of gateways.

Gateways: https://docs.camunda.io/docs/components/modeler/bpmn/gateways/
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from processes.engine import expressions as ex
from processes.engine.bpmn import Element
from processes.engine.state import runtime
from processes.models import (
    ElementInstance,
)

if TYPE_CHECKING:
    from processes.engine.behaviours.run import Run


class GatewayBehaviour:
    """Flow choice and joins of gateways."""

    def choose_exclusive(self: Run, el: Element, ei: ElementInstance) -> str | None:
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

    def choose_inclusive(self: Run, el: Element, ei: ElementInstance) -> list[str]:
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

    def arrive_at_join(
        self: Run, gateway: Element, flow_id: str, scope_key: int, *, parallel: bool
    ):
        """Tokens wait per incoming flow until the join can fire."""
        scope = self.instances[scope_key]
        joins = runtime(scope).joins
        tokens = joins.setdefault(gateway.id, {})
        tokens[flow_id] = tokens.get(flow_id, 0) + 1
        self.touch(scope)
        self.queue.append(lambda: self.try_join(gateway, scope_key, parallel))

    def try_join(self: Run, gateway: Element, scope_key: int, parallel: bool) -> None:
        scope = self.instances.get(scope_key)
        if scope is None or scope.state != ElementInstance.ACTIVE:
            return
        tokens = runtime(scope).joins.get(gateway.id)
        if not tokens:
            return
        if parallel:
            ready = all(tokens.get(f, 0) > 0 for f in gateway.incoming)
        else:
            ready = all(tokens.get(f, 0) > 0 for f in gateway.incoming) or not self.can_reach(
                gateway, scope_key
            )
        if not ready:
            return
        for flow_id in list(tokens):
            tokens[flow_id] -= 1
            if tokens[flow_id] <= 0:
                del tokens[flow_id]
        if not tokens:
            del runtime(scope).joins[gateway.id]
        self.touch(scope)
        self.activate(gateway, scope_key)

    def can_reach(self: Run, gateway: Element, scope_key: int) -> bool:
        """Whether an active element of the scope can still reach ``gateway``."""
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
