"""Return API routes (mounted under ``api/``): return intake and the item-received webhook."""

from django.urls import path

from . import api, webhooks

urlpatterns = [
    path("returns", api.ReturnCreateApi.as_view(), name="api-return-create"),
    path("returns/<str:number>", api.ReturnDetailApi.as_view(), name="api-return-detail"),
    path(
        "webhooks/returns/<slug:source>/",
        webhooks.ReturnWebhookApi.as_view(),
        name="webhook-return",
    ),
]
