from django.urls import path

from . import views

app_name = "incidents"

urlpatterns = [
    path("", views.incident_list, name="list"),
    path("<int:key>/", views.incident_detail, name="detail"),
    path("<int:key>/resolve/", views.incident_resolve, name="resolve"),
]
