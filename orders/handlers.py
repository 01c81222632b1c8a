"""Job handlers of the marketplace-order process for orders: payment, stock, refunds, customer.

Thin: read ids from the job's variables, call a service, return what the process needs. Each
money movement is keyed on the job (process instance + element instance), so running a handler
twice finds the earlier row instead of moving money again.
"""

from __future__ import annotations

from typing import Any

from processes.jobs import BpmnError, Job, job_handler
from vendors import stock
from vendors.models import VendorSubOrder

from . import services
from .models import Charge


def _order_id(job: Job) -> int:
    return int(job.variables["orderId"])


def _sub_order_id(job: Job) -> int:
    return int(job.variables["subOrder"]["id"])


@job_handler("payment-capture")
def payment_capture(job: Job) -> dict[str, Any]:
    """Capture the order's one charge; a decline ends the order through a BPMN error."""
    charge = services.payment_capture(
        order_id=_order_id(job), idempotency_key=f"charge:{job.idempotency_key}"
    )
    if charge.status == Charge.S.DECLINED:
        raise BpmnError(
            "PAYMENT_DECLINED", "The card was declined.", {"declineCode": charge.decline_code}
        )
    return {"chargeId": charge.provider_charge_id}


@job_handler("stock-reserve")
def stock_reserve(job: Job) -> None:
    """Reserve the vendor's units; out of stock undoes that vendor's part only."""
    if not stock.stock_reserve(sub_order_id=_sub_order_id(job)):
        raise BpmnError("OUT_OF_STOCK", "Not enough stock for the sub-order.")


@job_handler("stock-release")
def stock_release(job: Job) -> None:
    stock.stock_release(sub_order_id=_sub_order_id(job))


@job_handler("refund-vendor-share")
def refund_vendor_share(job: Job) -> None:
    """Give the customer back one vendor's share (subtotal and its share of shipping)."""
    services.refund_sub_order(
        sub_order_id=_sub_order_id(job),
        idempotency_key=f"refund:{job.idempotency_key}",
        reason="Vendor could not fulfil",
    )


@job_handler("customer-notify")
def customer_notify(job: Job) -> None:
    services.customer_notify(
        order_id=_order_id(job),
        template=job.custom_headers.get("template", "order_completed"),
        idempotency_key=f"notify:{job.idempotency_key}",
    )


@job_handler("order-complete")
def order_complete(job: Job) -> None:
    services.order_complete(order_id=_order_id(job))


# ------------------------------------------------------------------ whole-order cancellation
@job_handler("order-cancel")
def order_cancel(job: Job) -> None:
    """First step of undoing: the order is cancelled, so a late capture charges nothing."""
    services.order_mark_cancelled(
        order_id=_order_id(job), reason=str(job.variables.get("cancelReason") or "")
    )


@job_handler("stock-release-all")
def stock_release_all(job: Job) -> None:
    for sub_order_id in VendorSubOrder.objects.filter(order_id=_order_id(job)).values_list(
        "pk", flat=True
    ):
        stock.stock_release(sub_order_id=sub_order_id)


@job_handler("refund-order")
def refund_order(job: Job) -> None:
    """Refund whatever of the charge was not refunded yet (after shipments are cancelled)."""
    services.refund_order_remaining(
        order_id=_order_id(job),
        idempotency_key=f"refund:{job.idempotency_key}",
        reason="Order cancelled",
    )
