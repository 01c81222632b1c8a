from django.urls import path

from . import portal_views

app_name = "vendor_portal"

urlpatterns = [
    path("", portal_views.home, name="home"),
    path("sub-orders/", portal_views.sub_order_list, name="sub_orders"),
    path("sub-orders/<str:number>/", portal_views.sub_order_detail, name="sub_order"),
    path("sub-orders/<str:number>/accept", portal_views.sub_order_accept, name="accept"),
    path("sub-orders/<str:number>/reject", portal_views.sub_order_reject, name="reject"),
    path("sub-orders/<str:number>/ship", portal_views.sub_order_ship, name="ship"),
    path("payouts/", portal_views.payouts, name="payouts"),
]
