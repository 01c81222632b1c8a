from django.urls import path

from . import views

app_name = "customs"

urlpatterns = [
    path("", views.customs_queue, name="queue"),
    path("rules/", views.rules_overview, name="rules"),
    path("rules/<slug:what>/new/", views.rule_edit, name="rule-new"),
    path("rules/<slug:what>/<int:pk>/", views.rule_edit, name="rule-edit"),
    path("shipments/<str:number>/", views.shipment_detail, name="shipment"),
    path(
        "shipments/<str:number>/documents/<slug:kind>.<slug:fmt>",
        views.shipment_document,
        name="document",
    ),
]
