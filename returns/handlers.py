"""Job handlers of the return-request process.

Thin: read the return id from the job, call a service, return what the gateways need. Decisions
taken in user tasks are recorded by a job after the task, with the user the engine recorded as
having completed it (not a name carried in variables), so the four-eyes rule sees who decided.
"""

from __future__ import annotations

from typing import Any

from processes import port
from processes.jobs import BpmnError, Job, job_handler

from . import services


def _return_id(job: Job) -> int:
    return int(job.variables["returnId"])


def _completed_by(job: Job, element_id: str) -> str:
    """Who completed the latest ``element_id`` task of this instance, as the engine knows it."""
    return port.user_task_completed_by(
        process_instance_key=job.process_instance_key, element_id=element_id
    )


@job_handler("return-eligibility-check")
def eligibility_check(job: Job) -> dict[str, Any]:
    eligible, reason = services.return_eligibility_check(return_id=_return_id(job))
    return {"eligible": eligible, "rejectionReason": reason}


@job_handler("return-fraud-score")
def fraud_score(job: Job) -> dict[str, Any]:
    assessment = services.return_fraud_assess(return_id=_return_id(job))
    return {
        "fraudScore": assessment.score,
        "fraudRoute": assessment.route,
        "inspectionRequired": assessment.route == "inspect",
    }


@job_handler("return-review-record")
def review_record(job: Job) -> dict[str, Any]:
    review = job.variables.get("review") or {}
    return_request = services.return_review_record(
        return_id=_return_id(job),
        decision=str(review.get("decision", "")),
        reason=str(review.get("reason", "")),
        reviewer=_completed_by(job, "UserTask_review"),
    )
    return {
        "reviewDecision": return_request.review_decision,
        "inspectionRequired": return_request.inspection_required,
    }


@job_handler("return-label-create")
def label_create(job: Job) -> dict[str, Any]:
    label = services.return_label_create(
        return_id=_return_id(job), idempotency_key=f"label:{job.idempotency_key}"
    )
    return {"trackingNumber": label.tracking_number}


@job_handler("return-close-expired")
def close_expired(job: Job) -> None:
    services.return_expire(return_id=_return_id(job))


@job_handler("return-inspection-record")
def inspection_record(job: Job) -> dict[str, Any]:
    data = job.variables.get("inspection") or {}
    inspection = services.inspection_record(
        return_id=_return_id(job),
        condition=str(data.get("condition", "")),
        matches_order=bool(data.get("matchesOrder")),
        restockable=bool(data.get("restockable")),
        notes=str(data.get("notes", "")),
        photos=[str(url) for url in data.get("photos") or []],
        inspector=_completed_by(job, "UserTask_inspection"),
    )
    return {"inspectionPassed": inspection.passed}


@job_handler("return-refund-prepare")
def refund_prepare(job: Job) -> dict[str, Any]:
    refund = services.refund_prepare(return_id=_return_id(job))
    return {"needsApproval": refund.needs_approval, "refundAmountMinor": refund.amount_minor}


@job_handler("return-refund-decision-record")
def refund_decision_record(job: Job) -> dict[str, Any]:
    """A four-eyes refusal goes back to the approval task for another manager (BPMN error)."""
    decision = job.variables.get("refundApproval") or {}
    try:
        refund = services.refund_decide(
            return_id=_return_id(job),
            approver=_completed_by(job, "UserTask_refund_approval"),
            approve=decision.get("decision") == "approve",
            note=str(decision.get("note", "")),
        )
    except services.ApplicationError as refusal:
        if refusal.code in ("four_eyes", "permission"):
            raise BpmnError("FOUR_EYES", refusal.message) from refusal
        raise
    return {"refundApproved": refund.status == refund.S.APPROVED}


@job_handler("return-refund-issue")
def refund_issue(job: Job) -> None:
    services.refund_issue(return_id=_return_id(job))


@job_handler("return-vendor-reverse")
def vendor_reverse(job: Job) -> None:
    services.vendor_share_reverse(return_id=_return_id(job))


@job_handler("return-restock")
def restock(job: Job) -> None:
    services.return_restock(return_id=_return_id(job))


@job_handler("return-notify")
def notify(job: Job) -> None:
    services.return_customer_notify(
        return_id=_return_id(job),
        template=job.custom_headers.get("template", "refunded"),
        idempotency_key=f"notify:{job.idempotency_key}",
    )
