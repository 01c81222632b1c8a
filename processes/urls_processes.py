from django.urls import path

from . import views

app_name = "processes"

urlpatterns = [
    path("", views.process_list, name="list"),
    path("<int:key>/", views.process_detail, name="detail"),
    path("<int:key>/instances/", views.instance_list, name="instances"),
    path("instances/<int:key>/", views.instance_detail, name="instance"),
    path("instances/<int:key>/cancel/", views.instance_cancel, name="cancel"),
]
