from django.contrib import admin

from .models import Carrier


@admin.register(Carrier)
class CarrierAdmin(admin.ModelAdmin):
    """Staff keep the carriers vendors may ship with (an inactive one is refused for new
    shipments; its existing shipments still receive their tracking events)."""

    list_display = ("name", "code", "is_active")
    list_filter = ("is_active",)
    search_fields = ("name", "code")
