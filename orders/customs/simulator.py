"""The demo simulator's customs part: it plays the sandbox broker and the international carrier
through the same signed webhooks real ones use."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

from django.utils import timezone

from core.webhooks import sign

from .broker import sandbox_due_updates
from .models import InternationalShipment
from .signing import carrier_secret

DELIVER_AFTER = dt.timedelta(minutes=5)

Post = Callable[[str, bytes, str], int]


def play_broker(post: Post, *, now: dt.datetime | None = None) -> int:
    sent = 0
    for path, body, signature in sandbox_due_updates(now=now):
        post(path, body, signature)
        sent += 1
    return sent


def play_carriers(post: Post, *, now: dt.datetime | None = None) -> int:
    """The sandbox carrier reports in transit, then delivered ``DELIVER_AFTER`` later."""
    now = now or timezone.now()
    secret = carrier_secret("sandbox")
    if secret is None:
        return 0
    sent = 0
    shipped = InternationalShipment.objects.filter(
        status=InternationalShipment.S.SHIPPED, carrier="sandbox"
    )
    for shipment in shipped[:100]:
        since = shipment.tracked_at or shipment.customs_status_at or shipment.created_at
        delivered = shipment.tracking_status == "in_transit" and since + DELIVER_AFTER <= now
        if shipment.tracking_status and not delivered:
            continue
        status = "delivered" if delivered else "in_transit"
        body = json.dumps(
            {
                "id": f"sim-{shipment.number}-{status}",
                "type": status,
                "tracking_number": shipment.tracking_number,
                "location": "Destination" if delivered else "Export hub",
                "occurred_at": now.isoformat(),
            }
        ).encode()
        post("/api/webhooks/shipments/sandbox/", body, sign(body, secret))
        sent += 1
    return sent
