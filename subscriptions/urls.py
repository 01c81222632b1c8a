from django.urls import path

from . import views

app_name = "subscriptions"

urlpatterns = [
    path("", views.subscription_list, name="list"),
    path("dunning/", views.dunning_overview, name="dunning"),
    path("<str:number>/", views.subscription_detail, name="detail"),
    path("<str:number>/actions/", views.subscription_action, name="action"),
]
