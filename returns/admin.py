"""Admin for return policy rows and fraud indicators (settings as data), read-mostly elsewhere."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import (
    FraudIndicator,
    ReturnHistory,
    ReturnPolicy,
    ReturnRequest,
    StoreCreditEntry,
)


@admin.register(ReturnPolicy)
class ReturnPolicyAdmin(admin.ModelAdmin):
    list_display = (
        "effective_from",
        "return_window_days",
        "approval_threshold_minor",
        "review_score_above",
        "auto_approve_score_below",
        "item_wait_days",
    )


@admin.register(FraudIndicator)
class FraudIndicatorAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "threshold", "warn_threshold", "weight", "is_active")
    list_editable = ("threshold", "warn_threshold", "weight", "is_active")


class ReturnHistoryInline(admin.TabularInline):
    model = ReturnHistory
    extra = 0
    can_delete = False
    readonly_fields = ("event", "from_status", "to_status", "actor", "detail", "at")


@admin.register(ReturnRequest)
class ReturnRequestAdmin(admin.ModelAdmin):
    """Status only moves through the process: every field is read-only here."""

    list_display = ("number", "order", "customer", "status", "amount_minor", "created_at")
    list_filter = ("status", "reason", "refund_method")
    search_fields = ("number", "order__number", "customer__email")
    inlines = [ReturnHistoryInline]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(StoreCreditEntry)
class StoreCreditEntryAdmin(admin.ModelAdmin):
    list_display = ("customer", "amount_minor", "currency", "reason", "created_at")
    search_fields = ("customer__email", "idempotency_key")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
