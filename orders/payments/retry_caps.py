"""Card-network limits on retrying a declined card without the customer.

Visa allows at most 15 reattempts of a declined card in 30 days; Mastercard at most 10 in
24 hours and 35 in 30 days. Going over them brings fines, so the payment service asks here before
every renewal retry and does not send the charge when a cap is reached. Caps are per card:
declines of the same saved payment method count whatever invoice they were for.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryCap:
    window: dt.timedelta
    max_retries: int

    def describe(self) -> str:
        hours = int(self.window.total_seconds() // 3600)
        span = f"{hours // 24} days" if hours >= 48 else f"{hours} hours"
        return f"at most {self.max_retries} retries in {span}"


NETWORK_RETRY_CAPS: dict[str, tuple[RetryCap, ...]] = {
    "visa": (RetryCap(dt.timedelta(days=30), 15),),
    "mastercard": (RetryCap(dt.timedelta(hours=24), 10), RetryCap(dt.timedelta(days=30), 35)),
}


def retry_cap_reached(
    *, brand: str, declined_at: Iterable[dt.datetime], at: dt.datetime
) -> RetryCap | None:
    """The cap another retry at ``at`` would break, or None.

    ``declined_at``: when earlier charges of this card were declined. Each decline after the
    first is a retry in the networks' counting; the next attempt would be one more.
    """
    caps = NETWORK_RETRY_CAPS.get(brand.lower(), ())
    if not caps:
        return None
    times = sorted(declined_at)
    for cap in caps:
        recent = [t for t in times if at - cap.window < t <= at]
        if not recent:
            continue
        retries_so_far = len(recent) - 1  # the first decline in the window is not a retry
        if retries_so_far + 1 > cap.max_retries:
            return cap
    return None
