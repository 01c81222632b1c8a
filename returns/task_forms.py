"""Tasklist forms of the return-request process: review, inspection, refund approval.

The forms validate and turn the decision into process variables; a job after each task records
it through a service with the user the engine recorded. The refund approval form runs the same
four-eyes check as the service, so the manager sees the refusal at once instead of the task
coming back.
"""

from __future__ import annotations

from typing import Any

from django import forms

from core.errors import ApplicationError
from core.money import format_currency
from orders.models import Charge
from processes.forms import TaskForm, task_form

from .models import Inspection, ItemCondition, ReturnRefund, ReturnRequest
from .services import refund_approval_check


class ReturnTaskForm(TaskForm):
    """A form about the return named by the process's ``returnId``."""

    def return_request(self) -> ReturnRequest | None:
        return_id = self.process_variables.get("returnId")
        if return_id is None:
            return None
        return (
            ReturnRequest.objects.select_related("order", "customer", "requested_by", "reviewed_by")
            .prefetch_related("lines__order_line")
            .filter(pk=return_id)
            .first()
        )

    def return_facts(self, return_request: ReturnRequest) -> list[tuple[str, Any]]:
        lines = ", ".join(
            f"{line.quantity} x {line.order_line.sku} {line.order_line.name}"
            for line in return_request.lines.all()
        )
        return [
            ("Return", return_request.number),
            ("Order", return_request.order.number),
            ("Customer", f"{return_request.customer.name} <{return_request.customer.email}>"),
            ("Items", lines),
            ("Value", format_currency(return_request.amount_minor, return_request.currency)),
            ("Reason", return_request.get_reason_display()),
            ("Customer comment", return_request.customer_comment or "—"),
            ("Refund to", return_request.get_refund_method_display()),
        ]


@task_form("return-review")
class ReturnReviewForm(ReturnTaskForm):
    """Support looks at a return the fraud score flagged."""

    title = "Review flagged return"
    APPROVE, INSPECT, REJECT = "approve", "inspect", "reject"
    decision = forms.ChoiceField(
        label="Decision",
        widget=forms.RadioSelect,
        choices=[
            (APPROVE, "Approve the return"),
            (INSPECT, "Approve, but have the warehouse inspect the item"),
            (REJECT, "Reject the return"),
        ],
    )
    reason = forms.CharField(
        label="Reason for the customer",
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Required when rejecting: the customer receives it.",
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("decision") == self.REJECT and not (data.get("reason") or "").strip():
            self.add_error("reason", "Say why the return is rejected.")
        return data

    def variables(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {"review": {"decision": data["decision"], "reason": data["reason"].strip()}}

    def context(self) -> dict[str, Any]:
        return_request = self.return_request()
        if return_request is None:
            return {}
        assessment = getattr(return_request, "fraud_assessment", None)
        facts = self.return_facts(return_request)
        if assessment is None:
            return {"facts": facts}
        facts.append(("Fraud score", f"{assessment.score} / 100 (review above 75)"))
        rows = [
            [
                item["name"],
                item.get("value_display") or item["value"],
                item.get("threshold_display") or item["threshold"],
                item["weight"],
                item["points"],
                item["explanation"] if item["fired"] else "—",
            ]
            for item in sorted(assessment.indicators, key=lambda i: (-i["points"], i["code"]))
        ]
        return {
            "facts": facts,
            "headers": ["Indicator", "Value", "Threshold", "Weight", "Points", "Fired"],
            "rows": rows,
        }


@task_form("return-inspection")
class ReturnInspectionForm(ReturnTaskForm):
    """The warehouse inspects the item that came back."""

    title = "Inspect returned item"
    condition = forms.ChoiceField(label="Condition", choices=ItemCondition.choices)
    matches_order = forms.BooleanField(
        label="The item matches the order (product, serial, quantity)", required=False
    )
    restockable = forms.BooleanField(label="It can be sold again", required=False)
    notes = forms.CharField(
        label="Notes", required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )
    photos = forms.CharField(
        label="Photo links (optional, one per line)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def clean_photos(self) -> list[str]:
        urls = [line.strip() for line in self.cleaned_data["photos"].splitlines() if line.strip()]
        validator = forms.URLField()
        return [validator.clean(url) for url in urls]

    def variables(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "inspection": {
                "condition": data["condition"],
                "matchesOrder": data["matches_order"],
                "restockable": data["restockable"],
                "notes": data["notes"].strip(),
                "photos": data["photos"],
            }
        }

    def context(self) -> dict[str, Any]:
        return_request = self.return_request()
        return {"facts": self.return_facts(return_request)} if return_request else {}


@task_form("refund-approval")
class RefundApprovalForm(ReturnTaskForm):
    """A manager approves a refund above the threshold (not one they requested or reviewed)."""

    title = "Approve refund"
    APPROVE, REJECT = "approve", "reject"
    decision = forms.ChoiceField(
        label="Decision",
        widget=forms.RadioSelect,
        choices=[(APPROVE, "Approve the refund"), (REJECT, "Do not refund")],
    )
    note = forms.CharField(
        label="Note",
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Required when refusing: the customer receives it.",
    )

    def refund(self) -> ReturnRefund | None:
        return_id = self.process_variables.get("returnId")
        return (
            ReturnRefund.objects.select_related(
                "return_request__order", "requested_by", "reviewed_by"
            )
            .filter(return_request_id=return_id)
            .first()
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("decision") == self.REJECT and not (data.get("note") or "").strip():
            self.add_error("note", "Say why the refund is refused.")
        refund = self.refund()
        if refund is None:
            raise forms.ValidationError("This task has no refund to decide.")
        try:
            refund_approval_check(refund=refund, user=self.user)
        except ApplicationError as refusal:
            raise forms.ValidationError(refusal.message) from refusal
        return data

    def variables(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {"refundApproval": {"decision": data["decision"], "note": data["note"].strip()}}

    def completion_refusal(self) -> str | None:
        """The four-eyes refusal of the service's own check, in words that say which part of
        this return the user played."""
        refund = self.refund()
        if refund is None:
            return None
        try:
            refund_approval_check(refund=refund, user=self.user)
        except ApplicationError as refusal:
            if refusal.code != "four_eyes":
                return refusal.message
            return self._four_eyes_words(refund) or refusal.message
        return None

    def _four_eyes_words(self, refund: ReturnRefund) -> str | None:
        user_id = getattr(self.user, "pk", None)
        return_request = refund.return_request
        inspection = Inspection.objects.filter(return_request=return_request).first()
        if return_request.reviewed_by_id == user_id:
            part = "recorded the fraud review of this return"
        elif inspection is not None and inspection.inspected_by_id == user_id:
            part = "inspected the returned item"
        elif return_request.requested_by_id == user_id or refund.requested_by_id == user_id:
            part = "filed this return for the customer"
        elif refund.reviewed_by_id == user_id:
            part = "reviewed this return"
        else:
            return None
        return f"You {part}, so another manager must approve the refund."

    def context(self) -> dict[str, Any]:
        refund = self.refund()
        if refund is None:
            return {}
        return_request = refund.return_request
        order = return_request.order
        charge = Charge.objects.filter(order=order).first()
        facts = self.return_facts(return_request)
        facts += [
            ("Refund amount", format_currency(refund.amount_minor, refund.currency)),
            ("Requested by", refund.requested_by or "the customer"),
            ("Reviewed by", refund.reviewed_by or "—"),
        ]
        if charge is not None:
            facts.append(
                (
                    "Charge",
                    f"{format_currency(charge.amount_minor, charge.currency)}, "
                    f"{format_currency(charge.refunded_minor, charge.currency)} refunded so far",
                )
            )
        rows = [
            [
                r.created_at.strftime("%Y-%m-%d %H:%M"),
                format_currency(r.amount_minor, r.currency),
                r.reason,
            ]
            for r in order.refunds.order_by("created_at")
        ]
        rows += [
            [
                other.created_at.strftime("%Y-%m-%d %H:%M"),
                format_currency(other.amount_minor, other.currency),
                f"Return {other.number}: {other.get_status_display()}",
            ]
            for other in order.returns.exclude(pk=return_request.pk).order_by("created_at")
        ]
        return {
            "facts": facts,
            "headers": ["When", "Amount", "Refund history of the order"],
            "rows": rows or [["—", "—", "No earlier refunds on this order"]],
        }
