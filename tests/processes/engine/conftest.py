"""Engine test fixtures: the process test harness (``process``) and BPMN file helpers."""

from __future__ import annotations

from pathlib import Path

import pytest

# ``pytest_plugins`` is only allowed in the top-level conftest; importing the plugin's fixtures
# here makes them available to this folder (other folders can do the same, or the top-level
# conftest can list ``processes.testing.fixtures`` in ``pytest_plugins``).
from processes.testing.fixtures import process  # noqa: F401

BPMN_DIR = Path(__file__).parent / "bpmn"


@pytest.fixture
def bpmn_dir() -> Path:
    """The folder holding the engine's BPMN fixtures."""
    return BPMN_DIR
