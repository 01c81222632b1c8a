"""Subscription API routes (mounted under ``api/``) and the payment provider webhook."""

from django.urls import path

from . import api, webhooks

urlpatterns = [
    path("subscriptions", api.SubscriptionCreateApi.as_view(), name="api-subscription-create"),
    path("invoices", api.CustomerInvoicesApi.as_view(), name="api-invoices"),
    path(
        "subscriptions/<str:number>",
        api.SubscriptionDetailApi.as_view(),
        name="api-subscription-detail",
    ),
    path(
        "subscriptions/<str:number>/payment-method",
        api.PaymentMethodUpdateApi.as_view(),
        name="api-subscription-payment-method",
    ),
    path(
        "subscriptions/<str:number>/pause",
        api.SubscriptionPauseApi.as_view(),
        name="api-subscription-pause",
    ),
    path(
        "subscriptions/<str:number>/resume",
        api.SubscriptionResumeApi.as_view(),
        name="api-subscription-resume",
    ),
    path(
        "subscriptions/<str:number>/cancel",
        api.SubscriptionCancelApi.as_view(),
        name="api-subscription-cancel",
    ),
    path(
        "webhooks/payments/<slug:provider>/",
        webhooks.PaymentWebhookApi.as_view(),
        name="webhook-payment",
    ),
]
