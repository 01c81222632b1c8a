"""Domain API routes (mounted under ``api/``): order intake, vendor API, webhooks."""

from django.urls import path

from vendors import api as vendor_api
from vendors import webhooks

from . import api

urlpatterns = [
    path("orders", api.OrderCreateApi.as_view(), name="api-order-create"),
    path("vendor/sub-orders", vendor_api.SubOrderListApi.as_view(), name="api-vendor-sub-orders"),
    path(
        "vendor/sub-orders/<str:number>",
        vendor_api.SubOrderDetailApi.as_view(),
        name="api-vendor-sub-order",
    ),
    path(
        "vendor/sub-orders/<str:number>/accept",
        vendor_api.SubOrderAcceptApi.as_view(),
        name="api-vendor-sub-order-accept",
    ),
    path(
        "vendor/sub-orders/<str:number>/reject",
        vendor_api.SubOrderRejectApi.as_view(),
        name="api-vendor-sub-order-reject",
    ),
    path(
        "vendor/sub-orders/<str:number>/ship",
        vendor_api.SubOrderShipApi.as_view(),
        name="api-vendor-sub-order-ship",
    ),
    path("vendor/payouts", vendor_api.PayoutsApi.as_view(), name="api-vendor-payouts"),
    path("vendor/carriers", vendor_api.CarrierListApi.as_view(), name="api-vendor-carriers"),
    path(
        "webhooks/vendors/<slug:handle>/",
        webhooks.VendorWebhookApi.as_view(),
        name="webhook-vendor",
    ),
    path(
        "webhooks/carriers/<slug:carrier>/",
        webhooks.CarrierWebhookApi.as_view(),
        name="webhook-carrier",
    ),
]
