from django.urls import path

from . import views

app_name = "returns"

urlpatterns = [
    path("", views.return_list, name="list"),
    path("<str:number>/", views.return_detail, name="detail"),
]
