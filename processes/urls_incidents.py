from django.urls import path

from . import views

app_name = "incidents"

urlpatterns = [
    path("", views.incident_list, name="list"),
    path("retry/", views.incident_retry_preview, name="retry_preview"),
    path("retry/confirm/", views.incident_retry_batch, name="retry_batch"),
    path("<int:key>/", views.incident_detail, name="detail"),
    path("<int:key>/resolve/", views.incident_resolve, name="resolve"),
]
