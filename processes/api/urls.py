"""Routes of the Camunda 8 REST API (v2) subset, mounted under ``/v2/``."""

from __future__ import annotations

from django.urls import path

from . import cluster, views

app_name = "engine_api"

urlpatterns = [
    path("topology", cluster.TopologyView.as_view(), name="topology"),
    path(
        "process-definitions/search",
        cluster.ProcessDefinitionSearchView.as_view(),
        name="process-definition-search",
    ),
    path(
        "process-definitions/<str:key>",
        cluster.ProcessDefinitionView.as_view(),
        name="process-definition",
    ),
    path(
        "process-definitions/<str:key>/xml",
        cluster.ProcessDefinitionXmlView.as_view(),
        name="process-definition-xml",
    ),
    path("deployments", views.DeploymentsView.as_view(), name="deployments"),
    path("process-instances", views.ProcessInstancesView.as_view(), name="process-instances"),
    path(
        "process-instances/search",
        views.ProcessInstanceSearchView.as_view(),
        name="process-instance-search",
    ),
    path(
        "process-instances/<str:key>",
        views.ProcessInstanceView.as_view(),
        name="process-instance",
    ),
    path(
        "process-instances/<str:key>/cancellation",
        views.ProcessInstanceCancellationView.as_view(),
        name="process-instance-cancellation",
    ),
    path(
        "process-instances/<str:key>/incidents/search",
        views.ProcessInstanceIncidentSearchView.as_view(),
        name="process-instance-incident-search",
    ),
    path(
        "element-instances/search",
        views.ElementInstanceSearchView.as_view(),
        name="element-instance-search",
    ),
    path(
        "element-instances/<str:key>",
        views.ElementInstanceView.as_view(),
        name="element-instance",
    ),
    path(
        "element-instances/<str:key>/variables",
        views.ElementInstanceVariablesView.as_view(),
        name="element-instance-variables",
    ),
    path(
        "messages/publication", views.MessagePublicationView.as_view(), name="message-publication"
    ),
    path(
        "messages/correlation", views.MessageCorrelationView.as_view(), name="message-correlation"
    ),
    path("jobs/activation", views.JobActivationView.as_view(), name="job-activation"),
    path("jobs/search", cluster.JobSearchView.as_view(), name="job-search"),
    path("jobs/<str:key>", views.JobView.as_view(), name="job"),
    path("jobs/<str:key>/completion", views.JobCompletionView.as_view(), name="job-completion"),
    path("jobs/<str:key>/failure", views.JobFailureView.as_view(), name="job-failure"),
    path("jobs/<str:key>/error", views.JobErrorView.as_view(), name="job-error"),
    path("user-tasks/search", views.UserTaskSearchView.as_view(), name="user-task-search"),
    path("user-tasks/<str:key>", views.UserTaskView.as_view(), name="user-task"),
    path(
        "user-tasks/<str:key>/completion",
        views.UserTaskCompletionView.as_view(),
        name="user-task-completion",
    ),
    path(
        "user-tasks/<str:key>/assignment",
        views.UserTaskAssignmentView.as_view(),
        name="user-task-assignment",
    ),
    path(
        "user-tasks/<str:key>/assignee",
        views.UserTaskAssigneeView.as_view(),
        name="user-task-assignee",
    ),
    path("incidents/search", views.IncidentSearchView.as_view(), name="incident-search"),
    path("incidents/<str:key>", views.IncidentView.as_view(), name="incident"),
    path(
        "incidents/<str:key>/resolution",
        views.IncidentResolutionView.as_view(),
        name="incident-resolution",
    ),
    path("variables/search", views.VariableSearchView.as_view(), name="variable-search"),
    path("variables/<str:key>", views.VariableView.as_view(), name="variable"),
    path("clock", views.ClockView.as_view(), name="clock"),
    path("clock/reset", views.ClockResetView.as_view(), name="clock-reset"),
]
