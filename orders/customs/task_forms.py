"""The customs-hold task form: support works a shipment customs is holding."""

from __future__ import annotations

from typing import Any

from django import forms

from processes.forms import TaskForm, task_form

from .models import InternationalShipment


@task_form("customs-hold")
class CustomsHoldForm(TaskForm):
    """Customs holds a parcel: send the missing documents, contact the broker, or cancel."""

    title = "Customs hold: decide what happens"
    DOCUMENTS, CONTACT, CANCEL = "documents", "contact", "cancel"
    decision = forms.ChoiceField(
        label="Decision",
        widget=forms.RadioSelect,
        choices=[
            (DOCUMENTS, "Documents provided: send them to the broker and keep waiting"),
            (CONTACT, "I contacted the broker; keep waiting for customs"),
            (CANCEL, "Cancel this shipment (refund the part, goods go back to the vendor)"),
        ],
    )
    documents = forms.CharField(
        label="Documents provided",
        required=False,
        max_length=500,
        help_text="Comma-separated, e.g. proof of value, certificate of origin.",
    )
    note = forms.CharField(
        label="Note for the history",
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Who you spoke to, what was promised. Required when cancelling.",
    )

    def shipment(self) -> InternationalShipment | None:
        shipment_id = self.process_variables.get("shipmentId")
        if shipment_id is None:
            return None
        return (
            InternationalShipment.objects.select_related("order", "sub_order__vendor")
            .filter(pk=shipment_id)
            .first()
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        decision = data.get("decision")
        if decision == self.DOCUMENTS and not (data.get("documents") or "").strip():
            self.add_error("documents", "Name the documents provided.")
        if decision == self.CANCEL and not (data.get("note") or "").strip():
            self.add_error("note", "Say why the shipment is cancelled.")
        shipment = self.shipment()
        if shipment is None:
            raise forms.ValidationError("This task is not linked to a shipment.")
        if decision == self.CANCEL and shipment.status not in (
            InternationalShipment.S.SUBMITTED,
            InternationalShipment.S.HELD,
        ):
            raise forms.ValidationError(
                f"{shipment.number} is {shipment.get_status_display().lower()}: "
                "it can no longer be cancelled here."
            )
        return data

    def variables(self) -> dict[str, Any]:
        data = self.cleaned_data
        documents = [d.strip() for d in (data.get("documents") or "").split(",") if d.strip()]
        return {
            "hold": {
                "decision": data["decision"],
                "documents": documents,
                "note": (data.get("note") or "").strip(),
                "by": self.user.get_username(),
            }
        }

    def context(self) -> dict[str, Any]:
        shipment = self.shipment()
        if shipment is None:
            return {}
        return {
            "facts": [
                ("Order", shipment.order.number),
                ("Shipment", f"{shipment.number} ({shipment.get_status_display()})"),
                ("Vendor", shipment.sub_order.vendor.name),
                ("Route", f"{shipment.origin_country} to {shipment.destination_country}"),
                ("Customs says", shipment.reason or "-"),
                ("Missing", ", ".join(shipment.missing_documents) or "-"),
                ("Held since", shipment.held_since or "-"),
                ("Broker reference", shipment.broker_reference or "-"),
            ]
        }
