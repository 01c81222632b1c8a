"""International carrier port: book a shipment and ask where it is.

``SandboxCarrier`` (default) hands out tracking numbers and reports a parcel delivered from
the third daily check on (tests and the demo move the clock); a real carrier adapter implements
the same two calls. Carriers also push tracking events through the signed carrier webhook.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from django.conf import settings


@dataclass(frozen=True)
class Booking:
    carrier: str
    tracking_number: str


@dataclass(frozen=True)
class TrackingStatus:
    status: str  # "in_transit", "out_for_delivery", "delivered", "exception"
    location: str = ""


class InternationalCarrier(Protocol):
    name: str

    def book(self, *, shipment_number: str, idempotency_key: str) -> Booking: ...

    def track(self, *, tracking_number: str, checks_so_far: int) -> TrackingStatus: ...


class SandboxCarrier:
    name = "sandbox"
    DELIVERED_AFTER_CHECKS = 3

    def book(self, *, shipment_number: str, idempotency_key: str) -> Booking:
        return Booking(carrier=self.name, tracking_number=f"SBX{shipment_number}")

    def track(self, *, tracking_number: str, checks_so_far: int) -> TrackingStatus:
        if checks_so_far + 1 >= self.DELIVERED_AFTER_CHECKS:
            return TrackingStatus("delivered", "Destination")
        return TrackingStatus("in_transit", "Export hub" if checks_so_far == 0 else "Import hub")


_override: InternationalCarrier | None = None


def get_carrier() -> InternationalCarrier:
    if _override is not None:
        return _override
    kind = getattr(settings, "CUSTOMS_CARRIER", "sandbox")
    if kind != "sandbox":  # pragma: no cover - a real adapter is configured per deployment
        raise ValueError(f"Unknown international carrier adapter {kind!r}")
    return SandboxCarrier()


def use_carrier(carrier: InternationalCarrier | None) -> None:
    """Replace the carrier adapter (tests); None goes back to the configured one."""
    global _override
    _override = carrier
