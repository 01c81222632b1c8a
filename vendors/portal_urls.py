from django.urls import path

from . import portal_views

app_name = "vendor_portal"

urlpatterns = [
    path("", portal_views.home, name="home"),
]
