from django.urls import path

from . import views

app_name = "vendors"

urlpatterns = [
    path("", views.catalog, name="catalog"),
]
