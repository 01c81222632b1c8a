"""Behaviours the element processors share, as Zeebe's ``BpmnBehaviors``.

The run (``processes.engine.runtime.InstanceRun``) combines the per-instance behaviours, so a
processor asks its run: variables and mappings (``variables``), jobs (``jobs``), user tasks
(``user_tasks``), message and timer subscriptions (``subscriptions``), incidents
(``incidents``), event triggers and error throws (``events``), gateway flow choice and joins
(``gateways``) and multi-instance bodies (``multi_instance``).

Behaviours that reach beyond one instance or one element kind are module functions: event
sub-processes (``event_subprocesses``), call activities and their child instances
(``call_activities``, ``linked_runs``), compensation (``compensation``) and timer and message
start events (``start_events``). Nothing registers itself: the runtime, the processors
(``processes.engine.processors``) and the commands (``processes.engine.service``) call them.
"""
