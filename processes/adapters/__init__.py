"""Engine adapters behind the port (``processes.port``): ``embedded`` (this project's engine) and
``zeebe`` (a Camunda 8 cluster through pyzeebe). Only ``processes`` imports them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

BPMN_DIR = Path(__file__).resolve().parent.parent / "bpmn"


@dataclass(frozen=True)
class DeployedDefinition:
    """A deployed process definition as the port reports it."""

    process_id: str
    version: int
    key: int


def looks_like_xml(resource: str | bytes) -> bool:
    head = resource[:200].lstrip()
    return head.startswith(b"<") if isinstance(head, bytes) else head.startswith("<")


def bpmn_files() -> list[Path]:
    """Every BPMN file of the domain processes, in a stable order."""
    return sorted(BPMN_DIR.glob("*.bpmn"))
