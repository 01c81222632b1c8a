"""Process test harness: drive the embedded engine from tests and assert on instances.

The vocabulary follows Camunda Process Test: deploy, start an instance, complete or mock jobs,
publish messages, move the clock, then assert with ``is_completed()``, ``has_passed()``,
``is_waiting_at()``, ``has_incident()`` and friends. Use it through the ``process`` fixture of
the ``processes.testing.fixtures`` pytest plugin.
"""

from processes.testing.asserts import InstanceAssert
from processes.testing.context import ProcessTestContext, reset_caches

__all__ = ["InstanceAssert", "ProcessTestContext", "reset_caches"]
