"""Multi-instance bodies and their inner instances.

Multi-instance: https://docs.camunda.io/docs/components/modeler/bpmn/multi-instance/
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from processes.engine import expressions as ex
from processes.engine.bpmn import Element, MultiInstance
from processes.engine.state import RuntimeState, runtime
from processes.models import (
    ElementInstance,
)

if TYPE_CHECKING:
    from processes.engine.behaviours.run import Run


class MultiInstanceBehaviour:
    """Multi-instance bodies and their inner instances."""

    def activate_mi_body(self: Run, el: Element, body: ElementInstance) -> None:
        loop = _loop(el)
        # Input mappings belong to the inner instances (Zeebe applies them per item).
        assert loop.input_collection is not None, "the validator requires an input collection"
        items = ex.evaluate_list(loop.input_collection, self.visible(body.key))
        items = [ex.to_variable(item) for item in items]
        state = runtime(body)
        state.items, state.created, state.completed, state.terminated = items, 0, 0, 0
        if loop.output_collection:
            self.set_local(body.key, loop.output_collection, [None] * len(items))
        self.open_boundaries(el, body)
        self.activated(el, body)
        if not items:
            self.complete(body)
            return
        count = 1 if loop.sequential else len(items)
        for _ in range(count):
            self.create_mi_inner(el, body)

    def create_mi_inner(self: Run, el: Element, body: ElementInstance) -> None:
        index = runtime(body).created
        runtime(body).created = index + 1
        self.touch(body)
        loop = _loop(el)
        inner = self.new_instance(el, body.key, state=RuntimeState(mi_inner=True, index=index))
        self.set_local(inner.key, "loopCounter", index + 1)
        if loop.input_element:
            self.set_local(inner.key, loop.input_element, _items(body)[index])
        if loop.output_element:
            target = plain_target(loop.output_element)
            if target and target not in (loop.input_element, "loopCounter"):
                self.set_local(inner.key, target, None)
        self.queue.append(lambda: self.run_activation(el, inner, self.activate_element))

    def collect_mi_output(self: Run, el: Element, inner: ElementInstance) -> None:
        loop = _loop(el)
        if not (loop.output_collection and loop.output_element):
            return
        value = ex.to_variable(ex.evaluate(loop.output_element, self.visible(inner.key)))
        body = self.instances[_scope_key(inner)]
        var = self.vars[body.key].get(loop.output_collection)
        collection = list(var.value) if var and isinstance(var.value, list) else []
        index = runtime(inner).index
        assert index is not None, "an inner instance knows its item"
        while len(collection) <= index:
            collection.append(None)
        collection[index] = value
        self.set_local(body.key, loop.output_collection, collection)

    def mi_inner_done(self: Run, inner: ElementInstance) -> None:
        body = self.instances.get(_scope_key(inner))
        if body is None or body.state != ElementInstance.ACTIVE:
            return
        el = self.model.elements[body.element_id]
        runtime(body).completed = runtime(body).completed + 1
        self.touch(body)
        loop = _loop(el)
        if loop.completion_condition:
            context = self.visible(inner.key)
            active = len(self.children.get(body.key, []))
            context.update(
                numberOfInstances=runtime(body).created,
                numberOfActiveInstances=active,
                numberOfCompletedInstances=runtime(body).completed,
                numberOfTerminatedInstances=runtime(body).terminated,
            )
            try:
                done = ex.evaluate_bool(loop.completion_condition, context)
            except ex.ExpressionFailure as failure:
                self.raise_incident(body, failure.error_type, failure.message)
                return
            if done:
                for child_key in list(self.children.get(body.key, [])):
                    runtime(body).terminated = runtime(body).terminated + 1
                    self.terminate(self.instances[child_key])
                self.complete(body)
                return
        if _loop(el).sequential and runtime(body).created < len(_items(body)):
            self.create_mi_inner(el, body)
        elif not self.children.get(body.key):
            self.complete(body)

    def complete_mi_body_outputs(self: Run, el: Element, body: ElementInstance) -> None:
        loop = _loop(el)
        if loop.output_collection:
            var = self.vars[body.key].get(loop.output_collection)
            value = var.value if var else []
            start = body.scope_key or self.root.key
            self.propagate(start, {loop.output_collection: value})


def plain_target(expr: str) -> str | None:
    text = expr.lstrip()
    if text.startswith("="):
        text = text[1:].strip()
    name = text.split(".")[0]
    return name if name.replace("_", "a").isalnum() else None


def _loop(el: Element) -> MultiInstance:
    loop = el.loop
    assert loop is not None, "only multi-instance elements have a body"
    return loop


def _items(body: ElementInstance) -> list[Any]:
    items = runtime(body).items
    assert items is not None, "the body's items are set when it activates"
    return items


def _scope_key(inner: ElementInstance) -> int:
    assert inner.scope_key is not None, "an inner instance lives in its body"
    return inner.scope_key
