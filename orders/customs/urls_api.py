"""Customs webhook routes (mounted under ``api/``)."""

from django.urls import path

from . import webhooks

urlpatterns = [
    path(
        "webhooks/customs/<slug:broker>/",
        webhooks.CustomsUpdateWebhookApi.as_view(),
        name="webhook-customs",
    ),
    path(
        "webhooks/shipments/<slug:carrier>/",
        webhooks.ShipmentTrackingWebhookApi.as_view(),
        name="webhook-shipment-tracking",
    ),
]
