"""Job handlers of the international-shipment process (registered when the orders app loads).

Thin: read the shipment id, call a service, return what the model branches on. Side effects are
keyed on the job (``job.idempotency_key``) or on the shipment's own state, so a repeated job
finds the earlier result.
"""

from __future__ import annotations

from typing import Any

from processes.jobs import BpmnError, Job, job_handler

from . import services

BROKER_RETRY_BACKOFF_MS = 60_000


def _shipment_id(job: Job) -> int:
    return int(job.variables["shipmentId"])


@job_handler("customs-restrictions-check")
def restrictions_check(job: Job) -> dict[str, Any]:
    reason = services.restrictions_check(shipment_id=_shipment_id(job))
    if reason:
        raise BpmnError("EXPORT_RESTRICTED", reason, {"restrictionReason": reason})
    return {"restrictionReason": ""}


@job_handler("customs-part-refund")
def part_refund(job: Job) -> dict[str, Any]:
    refund = services.part_refund(
        shipment_id=_shipment_id(job), idempotency_key=job.idempotency_key
    )
    return {"refundedMinor": refund.amount_minor if refund else 0}


@job_handler("customs-part-cancel")
def part_cancel(job: Job) -> None:
    services.part_cancel(shipment_id=_shipment_id(job))


@job_handler("customs-customer-notify")
def customer_notify(job: Job) -> None:
    services.customer_notify(
        shipment_id=_shipment_id(job),
        template=job.custom_headers.get("template", "customs_hold"),
        idempotency_key=job.idempotency_key,
    )


@job_handler("customs-duties-calculate")
def duties_calculate(job: Job) -> dict[str, Any]:
    shipment = services.duties_assess(shipment_id=_shipment_id(job))
    return {
        "incoterm": shipment.incoterm,
        "dutiesPayer": shipment.duties_payer,
        "needsOriginCertificate": shipment.needs_origin_certificate,
    }


@job_handler("customs-duties-prepay")
def duties_prepay(job: Job) -> None:
    services.duties_prepay(shipment_id=_shipment_id(job), idempotency_key=job.idempotency_key)


@job_handler("customs-invoice-issue")
def invoice_issue(job: Job) -> dict[str, Any]:
    return {"invoiceNumber": services.invoice_issue(shipment_id=_shipment_id(job)).number}


@job_handler("customs-origin-certificate")
def origin_certificate(job: Job) -> dict[str, Any]:
    document = services.origin_certificate_issue(shipment_id=_shipment_id(job))
    return {"certificateNumber": document.number}


@job_handler("customs-broker-submit", retry_backoff_ms=BROKER_RETRY_BACKOFF_MS)
def broker_submit(job: Job) -> dict[str, Any]:
    shipment = services.broker_submit(
        shipment_id=_shipment_id(job), idempotency_key=f"entry:{job.idempotency_key}"
    )
    return {"brokerReference": shipment.broker_reference}


@job_handler("customs-broker-documents", retry_backoff_ms=BROKER_RETRY_BACKOFF_MS)
def broker_documents(job: Job) -> None:
    hold = job.variables.get("hold") or {}
    services.broker_documents_send(
        shipment_id=_shipment_id(job),
        idempotency_key=job.idempotency_key,
        documents=[str(d) for d in hold.get("documents") or []],
    )


@job_handler("customs-cancel-by-support")
def cancel_by_support(job: Job) -> None:
    hold = job.variables.get("hold") or {}
    services.shipment_reject_by_support(
        shipment_id=_shipment_id(job),
        reason=f"Cancelled by support: {hold.get('note') or 'customs hold'}",
        actor=str(hold.get("by") or ""),
    )


@job_handler("customs-goods-return")
def goods_return(job: Job) -> None:
    services.goods_return(shipment_id=_shipment_id(job))


@job_handler("customs-carrier-book")
def carrier_book(job: Job) -> dict[str, Any]:
    try:
        shipment = services.carrier_book(
            shipment_id=_shipment_id(job), idempotency_key=f"book:{job.idempotency_key}"
        )
    except services.PartCancelled as cancelled:
        raise BpmnError("PART_CANCELLED", f"The vendor part is {cancelled}.") from cancelled
    return {"carrier": shipment.carrier, "trackingNumber": shipment.tracking_number}


@job_handler("customs-shipment-withdraw")
def shipment_withdraw(job: Job) -> None:
    services.shipment_withdraw(shipment_id=_shipment_id(job))


@job_handler("customs-tracking-check")
def tracking_check(job: Job) -> dict[str, Any]:
    status = services.tracking_check(
        shipment_id=_shipment_id(job), idempotency_key=job.idempotency_key
    )
    return {"trackingStatus": status}


@job_handler("customs-delivery-confirm")
def delivery_confirm(job: Job) -> None:
    services.delivery_confirm(shipment_id=_shipment_id(job))


@job_handler("customs-shipment-complete")
def shipment_complete(job: Job) -> None:
    services.shipment_complete(shipment_id=_shipment_id(job))
