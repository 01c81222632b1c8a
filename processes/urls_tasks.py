from django.urls import path

from . import views

app_name = "tasks"

urlpatterns = [
    path("", views.task_list, name="list"),
    path("<int:key>/", views.task_detail, name="detail"),
    path("<int:key>/claim/", views.task_claim, name="claim"),
    path("<int:key>/unclaim/", views.task_unclaim, name="unclaim"),
    path("<int:key>/assign/", views.task_assign, name="assign"),
    path("<int:key>/complete/", views.task_complete, name="complete"),
]
