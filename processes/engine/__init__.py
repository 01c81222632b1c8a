"""Embedded process engine: BPMN model, timers and the interpreter that runs Zeebe semantics."""
