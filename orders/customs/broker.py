"""Customs broker port: hand a shipment's entry to a broker; its answers come by webhook.

- ``SandboxBroker`` (default): accepts every entry and answers by rule after a delay, through
  the signed ``customs-update`` webhook (the demo simulator or a test sends what
  ``sandbox_due_updates`` returns). Rules: goods described with "sample" are held for documents
  once, then cleared; an HS code in chapter 93 (arms) is rejected; anything else is cleared.
- ``HttpBroker``: POSTs the entry as JSON to ``CUSTOMS_BROKER_URL`` with a timeout, retries on
  connection errors and 5xx (the ``Idempotency-Key`` header makes a repeat safe), and returns the
  broker's reference.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any, Protocol

import requests
from django.conf import settings
from django.utils import timezone
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from core.webhooks import sign

from .models import InternationalShipment, ShipmentEvent
from .signing import broker_secret


def sandbox_delay() -> dt.timedelta:
    """How long the sandbox broker takes to answer (``CUSTOMS_SANDBOX_DELAY_SECONDS``)."""
    return dt.timedelta(seconds=int(getattr(settings, "CUSTOMS_SANDBOX_DELAY_SECONDS", 120)))


@dataclass(frozen=True)
class Submission:
    reference: str


class CustomsBroker(Protocol):
    name: str

    def submit(self, *, entry: dict[str, Any], idempotency_key: str) -> Submission: ...

    def documents_provided(
        self, *, reference: str, documents: list[str], idempotency_key: str
    ) -> None: ...


class SandboxBroker:
    """Answers like a broker would, without one (see the module docstring)."""

    name = "sandbox"

    def submit(self, *, entry: dict[str, Any], idempotency_key: str) -> Submission:
        return Submission(reference=f"SBX-{entry['shipment']}")

    def documents_provided(
        self, *, reference: str, documents: list[str], idempotency_key: str
    ) -> None:
        return None


class HttpBroker:
    name = "http"

    def __init__(self, base_url: str, token: str = "", timeout: float = 10.0, retries: int = 3):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        retry = Retry(
            total=retries,
            backoff_factor=0.5,
            status_forcelist=(502, 503, 504),
            allowed_methods=frozenset({"POST"}),  # safe: every call carries an idempotency key
        )
        self.session.mount("https://", HTTPAdapter(max_retries=retry))
        self.session.mount("http://", HTTPAdapter(max_retries=retry))
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def _post(self, path: str, body: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        response = self.session.post(
            f"{self.base_url}{path}",
            json=body,
            headers={"Idempotency-Key": idempotency_key},
            timeout=self.timeout,
        )
        response.raise_for_status()
        return response.json() if response.content else {}

    def submit(self, *, entry: dict[str, Any], idempotency_key: str) -> Submission:
        answer = self._post("/entries", entry, idempotency_key)
        reference = str(answer.get("reference") or "")
        if not reference:
            raise ValueError("The broker answered without a reference.")
        return Submission(reference=reference)

    def documents_provided(
        self, *, reference: str, documents: list[str], idempotency_key: str
    ) -> None:
        self._post(f"/entries/{reference}/documents", {"documents": documents}, idempotency_key)


def get_broker() -> CustomsBroker:
    kind = getattr(settings, "CUSTOMS_BROKER", "sandbox")
    if kind == "http":
        return HttpBroker(
            settings.CUSTOMS_BROKER_URL, getattr(settings, "CUSTOMS_BROKER_TOKEN", "")
        )
    return SandboxBroker()


# ------------------------------------------------------------------ sandbox answers
def sandbox_outcome(shipment: InternationalShipment) -> tuple[str, str, list[str]]:
    """What the sandbox broker answers next for a shipment: (status, reason, missing)."""
    hs_codes = [line.hs_code for line in shipment.duty_lines.all() if line.hs_code]
    descriptions = " ".join(shipment.sub_order.lines.values_list("name", flat=True)).lower()
    if any(code.startswith("93") for code in hs_codes):
        return "rejected", "Arms and ammunition need an import licence.", []
    already_held = shipment.events.filter(event="customs_held").exists()
    if "sample" in descriptions and not already_held:
        return "held", "Commercial samples: proof of value needed.", ["proof of value"]
    return "cleared", "", []


def sandbox_due_updates(*, now: dt.datetime | None = None) -> list[tuple[str, bytes, str]]:
    """Signed ``customs-update`` webhooks due from the sandbox broker: (path, body, signature).

    A shipment is answered ``sandbox_delay()`` after its submission or its last update; the event
    id is fixed per shipment and answer, so sending one twice is a duplicate.
    """
    now = now or timezone.now()
    secret = broker_secret("sandbox")
    if secret is None:
        return []
    waiting = InternationalShipment.objects.filter(
        broker="sandbox",
        status__in=[InternationalShipment.S.SUBMITTED, InternationalShipment.S.HELD],
    ).select_related("sub_order")
    due = []
    for shipment in waiting:
        last = shipment.customs_status_at or shipment.submitted_at
        if last is None or last + sandbox_delay() > now:
            continue
        status, reason, missing = sandbox_outcome(shipment)
        count = ShipmentEvent.objects.filter(
            shipment=shipment, event__startswith="customs_"
        ).count()
        body = json.dumps(
            {
                "id": f"sbx-{shipment.number}-{count}-{status}",
                "type": "customs-update",
                "shipment": shipment.number,
                "status": status,
                "reason": reason,
                "missing_documents": missing,
                "occurred_at": now.isoformat(),
            }
        ).encode()
        due.append(("/api/webhooks/customs/sandbox/", body, sign(body, secret)))
    return due
