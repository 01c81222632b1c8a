from django.urls import path

from . import staff_views, views

app_name = "vendors"

urlpatterns = [
    path("", views.catalog, name="catalog"),
    path("vendors/", staff_views.vendor_list, name="staff-vendors"),
    path("vendors/<slug:handle>/", staff_views.vendor_detail, name="staff-vendor"),
    path(
        "vendors/<slug:handle>/rotate-secret/",
        staff_views.vendor_rotate_secret,
        name="staff-vendor-rotate",
    ),
    path(
        "vendors/<slug:handle>/new-secret/",
        staff_views.vendor_new_secret,
        name="staff-vendor-secret",
    ),
    path("stock/", staff_views.stock_list, name="stock"),
    path("stock/<slug:handle>/<str:sku>/", staff_views.stock_product, name="stock-product"),
]
