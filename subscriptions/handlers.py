"""Job handlers of the subscription-renewal process.

Thin: read ids from the job, call a service, return what the gateways need. Each side effect is
keyed on business data that a redelivered job carries unchanged: the invoice and the attempt
number (``attempt`` is set by the previous attempt's completion), or the invoice, attempt and
e-mail kind.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from processes.jobs import Job, job_handler

from . import services
from .models import AttemptOutcome, EmailKind


def _invoice_id(job: Job) -> int:
    return int(job.variables["invoiceId"])


@job_handler("subscription-renewal-run-plan")
def run_plan(job: Job) -> dict[str, Any]:
    """The daily run's billing date and start time, fixed once for the whole run."""
    run_date, run_at = services.renewal_run_plan()
    return {"runDate": run_date.isoformat(), "runAt": run_at.isoformat()}


@job_handler("subscription-renewal-batches")
def renewal_batches(job: Job) -> dict[str, Any]:
    """Id ranges of the due subscriptions, one per parallel batch job."""
    run_date = dt.date.fromisoformat(str(job.variables["runDate"]))
    return {"batches": services.renewal_batches(run_date=run_date)}


@job_handler("subscription-renewals-open")
def renewals_open(job: Job) -> dict[str, Any] | None:
    """Open due invoices and start their renewals: one id range (inside the parallel
    multi-instance), or the next batch of whatever is still due (the closing loop)."""
    run_date = dt.date.fromisoformat(str(job.variables["runDate"]))
    batch = job.variables.get("batch")
    if isinstance(batch, dict):
        services.renewals_open_batch(
            run_date=run_date, id_range=(int(batch["from"]), int(batch["to"]))
        )
        return None  # parallel siblings must not overwrite each other's process variables
    opened = services.renewals_open_batch(run_date=run_date)
    return {"moreDue": opened.more, "renewalsOpened": services.renewals_opened(run_date)}


@job_handler("subscription-payment-attempt", retry_backoff_ms=60_000)
def payment_attempt(job: Job) -> dict[str, Any]:
    attempt_number = int(job.variables.get("attempt") or 0) + 1
    result = services.payment_attempt_make(
        invoice_id=_invoice_id(job), attempt_number=attempt_number
    )
    outcome = result.attempt.outcome
    if outcome == AttemptOutcome.CAPPED:
        outcome = AttemptOutcome.SOFT_DECLINE  # not sent, but dunning carries on the same way
    return {
        "attempt": attempt_number,
        "paymentOutcome": str(outcome),
        "declineCode": result.attempt.decline_code,
        "retriesLeft": result.retries_left,
        "retryWait": result.retry_wait or "PT0S",
    }


@job_handler("subscription-period-extend")
def period_extend(job: Job) -> None:
    services.subscription_period_extend(invoice_id=_invoice_id(job))


@job_handler("subscription-dunning-cancel")
def dunning_cancel(job: Job) -> None:
    services.dunning_cancel(invoice_id=_invoice_id(job))


@job_handler("subscription-email")
def email(job: Job) -> dict[str, Any]:
    """The e-mail of the model's ``kind`` header; ``dunning`` picks it by attempt number."""
    attempt_number = int(job.variables.get("attempt") or 0)
    kind = job.custom_headers.get("kind", "")
    if kind != services.DUNNING and kind not in EmailKind.values:
        raise ValueError(f"Unknown e-mail kind {kind!r}")
    sent = services.customer_email_send(
        invoice_id=_invoice_id(job),
        attempt_number=attempt_number,
        kind=kind,
        hard=job.variables.get("paymentOutcome") == AttemptOutcome.HARD_DECLINE,
    )
    return {"lastEmail": sent.kind}
