"""Django admin for the raw customs rows (the managers' editor is the everyday way in)."""

from __future__ import annotations

from django.contrib import admin

from .models import (
    AuditEntry,
    CurrencyRate,
    CustomsTerritory,
    DutyTaxRule,
    ExporterProfile,
    ExportRestriction,
    InternationalShipment,
    OriginCertificateRule,
)


@admin.register(InternationalShipment)
class InternationalShipmentAdmin(admin.ModelAdmin):
    list_display = ["number", "status", "origin_country", "destination_country", "incoterm"]
    list_filter = ["status", "destination_country"]
    search_fields = ["number", "order__number", "tracking_number", "broker_reference"]
    readonly_fields = ["status"]


@admin.register(DutyTaxRule)
class DutyTaxRuleAdmin(admin.ModelAdmin):
    list_display = ["label", "territory", "kind", "country", "region", "rate_bp", "valid_from"]
    list_filter = ["territory", "kind"]


@admin.register(ExportRestriction)
class ExportRestrictionAdmin(admin.ModelAdmin):
    list_display = ["kind", "country", "region", "hs_prefix", "reason", "valid_from", "valid_to"]


admin.site.register([CustomsTerritory, CurrencyRate, ExporterProfile, OriginCertificateRule])


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["at", "model", "object_id", "action", "actor"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
