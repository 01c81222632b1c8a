"""How long a vendor has to answer a fulfilment request.

The vendor's ``sla_hours``, unless the demo setting ``DEMO_VENDOR_SLA_MINUTES`` is set (``make
run`` sets it), which makes every SLA that many minutes so escalations show up in a demo.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings


def vendor_sla(vendor: Any) -> dt.timedelta:
    minutes = int(getattr(settings, "DEMO_VENDOR_SLA_MINUTES", 0) or 0)
    if minutes > 0:
        return dt.timedelta(minutes=minutes)
    return dt.timedelta(hours=vendor.sla_hours)


def vendor_sla_iso(vendor: Any) -> str:
    """The SLA as an ISO 8601 duration, for the process's timer (``PT24H``, ``PT3M``)."""
    minutes = int(vendor_sla(vendor).total_seconds() // 60)
    return f"PT{minutes // 60}H" if minutes % 60 == 0 else f"PT{minutes}M"
