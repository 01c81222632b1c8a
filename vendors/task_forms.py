"""Tasklist forms about vendors."""

from __future__ import annotations

from typing import Any

from django import forms
from django.urls import reverse
from django.utils.html import format_html

from config.roles import MANAGERS, SUPPORT, has_role
from processes.forms import TaskForm, task_form

from .models import VendorSubOrder


@task_form("vendor-sla-escalation")
class VendorEscalationForm(TaskForm):
    """A vendor did not answer within its SLA: support decides what happens next."""

    title = "Vendor late: decide what happens"
    CONTACT, EXTEND, CANCEL = "contact", "extend", "cancel"
    decision = forms.ChoiceField(
        label="Decision",
        widget=forms.RadioSelect,
        choices=[
            (CONTACT, "I contacted the vendor; keep waiting for its answer"),
            (EXTEND, "Extend the deadline, and ask me again when it passes"),
            (CANCEL, "Cancel this vendor's part (stock released, its share refunded)"),
        ],
    )
    extend_hours = forms.IntegerField(
        label="Extend by (hours)",
        required=False,
        min_value=1,
        max_value=14 * 24,
        help_text="Only for an extension: up to 14 days.",
    )
    note = forms.CharField(
        label="Note for the history",
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Who you spoke to, what was promised. Required when cancelling.",
    )

    def sub_order(self) -> VendorSubOrder | None:
        info = self.process_variables.get("subOrder") or {}
        if not isinstance(info, dict) or "id" not in info:
            return None
        return (
            VendorSubOrder.objects.select_related("vendor", "order").filter(pk=info["id"]).first()
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        decision = data.get("decision")
        if decision == self.EXTEND and not data.get("extend_hours"):
            self.add_error("extend_hours", "Say by how many hours the deadline is extended.")
        if decision == self.CANCEL:
            if not (data.get("note") or "").strip():
                self.add_error("note", "Say why this vendor's part is cancelled.")
            sub_order = self.sub_order()
            if sub_order is None:
                raise forms.ValidationError("This task is not linked to a vendor sub-order.")
            if sub_order.status not in (
                VendorSubOrder.S.PENDING,
                VendorSubOrder.S.REQUESTED,
                VendorSubOrder.S.ACCEPTED,
            ):
                raise forms.ValidationError(
                    f"{sub_order.number} is {sub_order.get_status_display().lower()}: "
                    "it can no longer be cancelled here."
                )
        return data

    def variables(self) -> dict[str, Any]:
        data = self.cleaned_data
        escalation: dict[str, Any] = {
            "decision": data["decision"],
            "note": (data.get("note") or "").strip(),
            "by": self.user.get_username(),
        }
        if data["decision"] == self.EXTEND:
            escalation["extendHours"] = data["extend_hours"]
        return {"escalation": escalation}

    def after_complete(self) -> str | None:
        if self.cleaned_data["decision"] != self.CANCEL:
            return None
        from .services import sub_order_reject

        sub_order = self.sub_order()
        if sub_order is None:  # clean() refuses a cancellation without a sub-order
            return None
        reason = f"Cancelled by support: {self.cleaned_data['note'].strip()}"
        sub_order_reject(sub_order=sub_order, reason=reason, actor=self.user.get_username())
        return f"{sub_order.number} is cancelled; its stock and payment are being returned."

    def context(self) -> dict[str, Any]:
        sub_order = self.sub_order()
        if sub_order is None:
            return {}
        vendor = sub_order.vendor
        order_number = sub_order.order.number
        if has_role(self.user, SUPPORT, MANAGERS):
            # The order page lists each vendor's part in its "Vendors" section.
            order_url = reverse("orders:detail", args=[order_number])
            order: Any = format_html('<a href="{}">{}</a>', order_url, order_number)
            part: Any = format_html(
                '<a href="{}#vendors">{}</a> ({})',
                order_url,
                sub_order.number,
                sub_order.get_status_display(),
            )
        else:
            order = order_number
            part = f"{sub_order.number} ({sub_order.get_status_display()})"
        contact: Any = (
            format_html('<a href="mailto:{0}">{0}</a>', vendor.contact_email)
            if vendor.contact_email
            else "no e-mail on file"
        )
        return {
            "facts": [
                ("Vendor", vendor.name),
                ("Contact e-mail", contact),
                ("Promised answer within", f"{vendor.sla_hours} hours (the vendor's SLA)"),
                ("Order", order),
                ("Sub-order", part),
                ("Requested at", sub_order.requested_at or "—"),
                ("Deadline was", sub_order.sla_due_at or "—"),
            ]
        }
