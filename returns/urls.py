from django.urls import path

from . import views

app_name = "returns"

urlpatterns = [
    path("", views.return_list, name="list"),
    path("arrivals/", views.parcel_arrival, name="arrivals"),
    path("new/<str:number>/", views.return_start, name="start"),
    path("<str:number>/", views.return_detail, name="detail"),
]
