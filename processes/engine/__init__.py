"""The embedded process engine: BPMN model, timers and the interpreter that runs Zeebe semantics,
with its state in Django's database.

Only ``processes`` (the embedded adapter, the REST API, workers and the test harness) imports it;
domain apps and back-office views reach any engine through ``processes.port``. Pure modules such
as ``processes.engine.bpmn`` import without Django.
"""
