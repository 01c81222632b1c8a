"""Staff forms for the customs rule set (managers)."""

from __future__ import annotations

from django import forms

from .models import CurrencyRate, DutyTaxRule, ExportRestriction, OriginCertificateRule

DATE = forms.DateInput(attrs={"type": "date"})


class RestrictionForm(forms.ModelForm):
    class Meta:
        model = ExportRestriction
        fields = ["kind", "country", "region", "hs_prefix", "reason", "valid_from", "valid_to",
                  "source"]  # fmt: skip
        widgets = {"valid_from": DATE, "valid_to": DATE}


class DutyTaxRuleForm(forms.ModelForm):
    class Meta:
        model = DutyTaxRule
        fields = ["territory", "country", "region", "kind", "label", "hs_prefix", "rate_bp",
                  "flat_minor", "threshold_currency", "value_above_minor", "value_up_to_minor",
                  "at_sale_up_to_minor", "waived_up_to_minor", "origin_countries",
                  "valid_from", "valid_to", "source"]  # fmt: skip
        widgets = {"valid_from": DATE, "valid_to": DATE}


class OriginRuleForm(forms.ModelForm):
    class Meta:
        model = OriginCertificateRule
        fields = ["destination", "hs_prefix", "reason", "valid_from", "valid_to", "source"]
        widgets = {"valid_from": DATE, "valid_to": DATE}


class CurrencyRateForm(forms.ModelForm):
    class Meta:
        model = CurrencyRate
        fields = ["quote", "rate", "rate_date", "source"]
        widgets = {"rate_date": DATE}


EDITABLE = {
    "restriction": (ExportRestriction, RestrictionForm, "Export restriction"),
    "rule": (DutyTaxRule, DutyTaxRuleForm, "Duty and tax rule"),
    "origin": (OriginCertificateRule, OriginRuleForm, "Certificate of origin rule"),
    "rate": (CurrencyRate, CurrencyRateForm, "Currency rate"),
}
