"""Staff forms: a vendor's settings (managers) and a stock adjustment (managers, warehouse)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.core.validators import URLValidator

from .models import StockReason, Vendor
from .services import VendorSettings, percent_from_bp


class PercentField(forms.CharField):
    """A percentage typed as staff write it ("12.5", "12.5 %", "12,5") -> basis points."""

    def to_python(self, value: Any) -> int | None:  # type: ignore[override]
        text = str(value or "").strip().removesuffix("%").strip().replace(",", ".")
        if not text:
            return None
        try:
            percent = Decimal(text)
        except InvalidOperation:
            raise forms.ValidationError(
                "Enter a percentage such as 12.5.", code="invalid"
            ) from None
        if not percent.is_finite() or not Decimal(0) <= percent <= Decimal(100):
            raise forms.ValidationError("Enter a percentage from 0 to 100.", code="range")
        basis_points = percent * 100
        if basis_points != basis_points.to_integral_value():
            raise forms.ValidationError(
                "Use at most two decimals (for example 12.25).", code="precision"
            )
        return int(basis_points)

    def validate(self, value: Any) -> None:
        if value is None and self.required:
            raise forms.ValidationError(self.error_messages["required"], code="required")


class VendorSettingsForm(forms.Form):
    commission = PercentField(
        label="Commission rate (%)",
        help_text="For example 12.5 %.",
    )
    sla_hours = forms.IntegerField(
        label="SLA (hours)",
        min_value=1,
        max_value=24 * 30,
        help_text="How long the vendor has to answer a fulfilment request (requests sent "
        "from now on).",
    )
    api_endpoint = forms.URLField(
        label="API endpoint",
        required=False,
        max_length=200,
        assume_scheme="https",
        validators=[URLValidator(schemes=["https", "http"])],
        help_text="Where fulfilment requests are sent (https://...). Empty: the vendor "
        "answers in the portal only.",
    )
    contact_email = forms.EmailField(label="Contact e-mail", required=False)
    payout_account_id = forms.CharField(
        label="Payout account",
        required=False,
        max_length=120,
        help_text="The vendor's connected account at the payment provider (acct_...).",
    )
    is_active = forms.BooleanField(
        label="Active",
        required=False,
        help_text="An inactive vendor takes no new orders and its people cannot use the portal.",
    )

    @classmethod
    def for_vendor(cls, vendor: Vendor, data: Any = None) -> VendorSettingsForm:
        return cls(
            data,
            initial={
                "commission": percent_from_bp(vendor.commission_rate_bp).removesuffix(" %"),
                "sla_hours": vendor.sla_hours,
                "api_endpoint": vendor.api_endpoint,
                "contact_email": vendor.contact_email,
                "payout_account_id": vendor.payout_account_id,
                "is_active": vendor.is_active,
            },
        )

    def settings(self) -> VendorSettings:
        data = self.cleaned_data
        return VendorSettings(
            commission_rate_bp=data["commission"],
            sla_hours=data["sla_hours"],
            api_endpoint=data["api_endpoint"],
            contact_email=data["contact_email"],
            payout_account_id=data["payout_account_id"].strip(),
            is_active=data["is_active"],
        )


class StockAdjustmentForm(forms.Form):
    delta = forms.IntegerField(
        label="Change in units on hand",
        min_value=-1_000_000,
        max_value=1_000_000,
        help_text="Positive to add units (received), negative to take them off (damaged, lost).",
    )
    reason = forms.ChoiceField(label="Reason", choices=[("", "Choose…"), *StockReason.choices])
    note = forms.CharField(
        label="Note",
        required=False,
        max_length=500,
        help_text="For example the delivery note or what was found in the count.",
    )

    def clean_delta(self) -> int:
        delta: int = self.cleaned_data["delta"]
        if delta == 0:
            raise forms.ValidationError("Enter the number of units to add or take off.")
        return delta
