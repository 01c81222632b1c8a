"""Job handlers of the marketplace-order process for vendors: fulfilment, holds and payouts.

Vendor API calls are retried by the engine (5 retries in the model, one minute apart) before an
incident; every call carries an idempotency key derived from the job.
"""

from __future__ import annotations

from processes.jobs import Job, job_handler

from . import services
from .models import PayoutHold, VendorSubOrder

VENDOR_RETRY_BACKOFF_MS = 60_000


def _sub_order_id(job: Job) -> int:
    return int(job.variables["subOrder"]["id"])


def _order_id(job: Job) -> int:
    return int(job.variables["orderId"])


@job_handler("payout-hold-create")
def payout_hold_create(job: Job) -> None:
    services.payout_hold_create(
        sub_order_id=_sub_order_id(job), idempotency_key=f"hold:{job.idempotency_key}"
    )


@job_handler("vendor-fulfilment-request", retry_backoff_ms=VENDOR_RETRY_BACKOFF_MS)
def vendor_fulfilment_request(job: Job) -> None:
    services.sub_order_request_fulfilment(
        sub_order_id=_sub_order_id(job), idempotency_key=f"fulfil:{job.idempotency_key}"
    )


@job_handler("payout-hold-release")
def payout_hold_release(job: Job) -> None:
    services.payout_hold_release(sub_order_id=_sub_order_id(job))


@job_handler("payout-transfer")
def payout_transfer(job: Job) -> None:
    services.payout_create(
        sub_order_id=_sub_order_id(job), idempotency_key=f"payout:{job.idempotency_key}"
    )


@job_handler("payout-hold-cancel")
def payout_hold_cancel(job: Job) -> None:
    services.payout_hold_cancel(sub_order_id=_sub_order_id(job))


# ------------------------------------------------------------------ whole-order cancellation
@job_handler("vendor-shipments-cancel", retry_backoff_ms=VENDOR_RETRY_BACKOFF_MS)
def vendor_shipments_cancel(job: Job) -> None:
    """Tell every vendor of the order to stop its shipment (before any money goes back)."""
    for sub_order in VendorSubOrder.objects.filter(order_id=_order_id(job)).order_by("number"):
        services.sub_order_cancel_shipment(
            sub_order_id=sub_order.pk,
            idempotency_key=f"cancel:{job.idempotency_key}:{sub_order.number}",
        )


@job_handler("payout-holds-cancel-all")
def payout_holds_cancel_all(job: Job) -> None:
    """Cancel the holds still held and take back payouts already made."""
    for hold in PayoutHold.objects.filter(sub_order__order_id=_order_id(job)).select_related(
        "sub_order"
    ):
        services.payout_hold_cancel(sub_order_id=hold.sub_order_id)
        services.payout_reverse(
            sub_order_id=hold.sub_order_id,
            idempotency_key=f"reverse:{job.idempotency_key}:{hold.sub_order.number}",
        )
