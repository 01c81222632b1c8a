"""Pytest plugin with the process test fixtures.

Register it in a ``conftest.py`` with ``pytest_plugins = ["processes.testing.fixtures"]``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from processes.engine import clock
from processes.testing.context import ProcessTestContext


@pytest.fixture
def process(
    db: None, settings: Any, request: pytest.FixtureRequest
) -> Iterator[ProcessTestContext]:
    """A ``ProcessTestContext`` with the engine clock under test control.

    Relative BPMN paths are looked up next to the test module and in its ``bpmn/`` folder.
    """
    settings.ENGINE_CLOCK_CONTROLLED = True
    test_dir = Path(str(request.path)).parent
    context = ProcessTestContext(resource_dirs=[test_dir / "bpmn", test_dir])
    context.setup()
    try:
        yield context
    finally:
        # The pin lives in a table the test rolls back; the module-level cache must follow.
        clock.forget_cache()
