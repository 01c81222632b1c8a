"""Back-office pages of the process layer: tasklist, incidents, processes, instances."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from typing import Any, cast

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.html import escape
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from config.roles import MANAGERS, SUPPORT, has_role, role_required, staff_required
from core.http import HtmxHttpRequest, safe_next

from . import port, selectors
from .diagram import describe, render_svg
from .forms import form_class_for
from .port import PortError

incident_roles = role_required(SUPPORT, MANAGERS)
manager_required = role_required(MANAGERS)


def _actor(request: HttpRequest) -> str:
    return request.user.get_username()


def _back(request: HttpRequest, fallback: str) -> HttpResponse:
    if cast(HtmxHttpRequest, request).htmx:
        return HttpResponseClientRedirect(fallback)
    return redirect(fallback)


# ------------------------------------------------------------------------------ tasklist
@require_GET
@staff_required
def task_list(request: HttpRequest) -> HttpResponse:
    queue = request.GET.get("queue", "mine")
    if queue not in selectors.QUEUES or (queue == "all" and not has_role(request.user, MANAGERS)):
        queue = "mine"
    filters = {
        "process_id": request.GET.get("process", "").strip(),
        "name": request.GET.get("name", "").strip(),
        "due_before": parse_date(request.GET.get("due_before", "") or "") or None,
        "min_priority": _int_or_none(request.GET.get("min_priority")),
        "sort": request.GET.get("sort", "completed" if queue == "completed" else "created"),
    }
    tasks = selectors.task_queue(user=request.user, queue=queue, **filters)
    page = Paginator(tasks, 25).get_page(request.GET.get("page"))
    summaries = selectors.instance_summaries(t.process_instance_key for t in page.object_list)
    about = selectors.business_descriptions(
        s.business_key for s in summaries.values() if s.business_key
    )
    rows = [
        {
            "task": task,
            "about": about.get(
                getattr(summaries.get(task.process_instance_key), "business_key", ""), ""
            ),
            "summary": summaries.get(task.process_instance_key),
            "link": selectors.business_link(
                getattr(summaries.get(task.process_instance_key), "business_key", ""),
                request.user,
            ),
        }
        for task in page.object_list
    ]
    queues = [
        (key, label)
        for key, label in selectors.QUEUES.items()
        if key != "all" or has_role(request.user, MANAGERS)
    ]
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "queue": queue,
        "queues": queues,
        "counts": selectors.queue_counts(user=request.user),
        "page": page,
        "rows": rows,
        "filters": filters,
        "process_ids": sorted({(d.process_id, d.name or "workflow") for d in port.definitions()}),
        "query": query.urlencode(),
        "now": dt.datetime.now(dt.UTC),
    }
    return render(request, "processes/task_list.html", context)


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def _visible_task(request: HttpRequest, key: int) -> port.UserTask:
    task = port.user_task(key)
    if task is None or not selectors.can_see_task(request.user, task):
        raise Http404("No such task.")
    return task


def _process_variables(task: port.UserTask) -> dict[str, Any]:
    """Variables visible from the task's element instance (for the form and its context)."""
    return port.user_task_variables(task)


@require_GET
@staff_required
def task_detail(request: HttpRequest, key: int) -> HttpResponse:
    task = _visible_task(request, key)
    variables = _process_variables(task)
    form_class = form_class_for(task)
    form = form_class(task=task, process_variables=variables, user=request.user)
    return _render_task(request, task, form)


def _render_task(request: HttpRequest, task: port.UserTask, form: Any, status: int = 200):
    summary = selectors.instance_summaries([task.process_instance_key]).get(
        task.process_instance_key
    )
    can_complete = task.state == "CREATED" and task.assignee in ("", request.user.get_username())
    context = {
        "task": task,
        "form": form,
        "form_context": form.context(),
        "summary": summary,
        "link": selectors.business_link(summary.business_key, request.user) if summary else None,
        "can_complete": can_complete,
        "refusal": form.completion_refusal() if can_complete else None,
        "is_manager": has_role(request.user, MANAGERS),
        "assignable": _assignable_users(task) if has_role(request.user, MANAGERS) else [],
    }
    return render(request, "processes/task_detail.html", context, status=status)


def _assignable_users(task: port.UserTask) -> list[str]:
    from django.contrib.auth import get_user_model

    users = get_user_model().objects.filter(is_active=True)
    if task.candidate_groups or task.candidate_users:
        users = users.filter(groups__name__in=task.candidate_groups) | users.filter(
            username__in=task.candidate_users
        )
    return sorted(set(users.values_list("username", flat=True)))


@require_POST
@staff_required
def task_claim(request: HttpRequest, key: int) -> HttpResponse:
    task = _visible_task(request, key)
    try:
        port.assign_user_task(task.key, _actor(request), request.user, allow_override=False)
        messages.success(request, f"You now own “{task.name}”.")
    except PortError as rejection:
        messages.error(request, rejection.message)
    return _back(request, reverse("tasks:detail", args=[task.key]))


@require_POST
@staff_required
def task_unclaim(request: HttpRequest, key: int) -> HttpResponse:
    task = _visible_task(request, key)
    if task.assignee != _actor(request) and not has_role(request.user, MANAGERS):
        raise PermissionDenied("Only the assignee or a manager can give a task back.")
    try:
        port.unassign_user_task(task.key, request.user)
        messages.success(request, f"“{task.name}” is back in the queue.")
    except PortError as rejection:
        messages.error(request, rejection.message)
    return _back(request, reverse("tasks:detail", args=[task.key]))


@require_POST
@manager_required
def task_assign(request: HttpRequest, key: int) -> HttpResponse:
    task = _visible_task(request, key)
    assignee = request.POST.get("assignee", "").strip()
    if assignee not in _assignable_users(task):
        messages.error(request, "Choose someone from the task's groups.")
    else:
        try:
            port.assign_user_task(task.key, assignee, request.user)
            messages.success(request, f"Assigned to {assignee}.")
        except PortError as rejection:
            messages.error(request, rejection.message)
    return _back(request, reverse("tasks:detail", args=[task.key]))


@require_POST
@staff_required
def task_complete(request: HttpRequest, key: int) -> HttpResponse:
    task = _visible_task(request, key)
    user = _actor(request)
    if task.state != "CREATED":
        messages.error(request, "This task is already done.")
        return redirect("tasks:detail", key=task.key)
    if task.assignee and task.assignee != user:
        raise PermissionDenied(f"This task is assigned to {task.assignee}.")
    variables = _process_variables(task)
    form = form_class_for(task)(
        request.POST, task=task, process_variables=variables, user=request.user
    )
    if not form.is_valid():
        return _render_task(request, task, form, status=400)
    try:
        # Assigned first: the one who completes a task is its assignee at completion, which is
        # what Camunda 8 records too (its user-task search has no "completed by").
        if not task.assignee:
            port.assign_user_task(task.key, user, request.user, allow_override=False)
        port.complete_user_task(task.key, form.variables(), request.user)
    except PortError as rejection:
        messages.error(request, rejection.message)
        return redirect("tasks:detail", key=task.key)
    messages.success(request, f"“{task.name}” completed.")
    follow_up = form.after_complete()
    if follow_up:
        messages.info(request, follow_up)
    summary = selectors.instance_summaries([task.process_instance_key]).get(
        task.process_instance_key
    )
    link = selectors.business_link(summary.business_key, request.user) if summary else None
    return redirect(link or reverse("tasks:list"))


# ------------------------------------------------------------------------------ incidents
@require_GET
@incident_roles
def incident_list(request: HttpRequest) -> HttpResponse:
    process_id = request.GET.get("process", "")
    error_type = request.GET.get("error_type", "")
    incidents = selectors.open_incidents(process_id=process_id, error_type=error_type)
    page = Paginator(incidents, 25).get_page(request.GET.get("page"))
    groups = selectors.incident_groups()
    for group in groups:
        group["process_name"] = selectors.element_names(group["process_id"])[0]
        group["explanation"] = selectors.error_type_words(group["error_type"])
    return render(
        request,
        "processes/incident_list.html",
        {
            "groups": groups,
            "rows": selectors.incident_rows(page.object_list),
            "page": page,
            "process_id": process_id,
            "error_type": error_type,
        },
    )


@require_GET
@incident_roles
def incident_detail(request: HttpRequest, key: int) -> HttpResponse:
    incident = port.incident(key)
    if incident is None:
        raise Http404("No such incident.")
    variables = port.variables(incident.process_instance_key)
    return render(
        request,
        "processes/incident_detail.html",
        {
            "incident": incident,
            "row": selectors.incident_rows([incident])[0],
            "link": selectors.business_link(
                selectors.incident_rows([incident])[0]["business_key"], request.user
            ),
            "job": selectors.incident_job(incident),
            "variables": variables,
            "instance_active": port.is_element_instance_active(incident.element_instance_key),
        },
    )


@require_POST
@incident_roles
def incident_resolve(request: HttpRequest, key: int) -> HttpResponse:
    incident = port.incident(key)
    if incident is None:
        raise Http404("No such incident.")
    detail_url = reverse("incidents:detail", args=[key])
    raw_variables = request.POST.get("variables", "").strip()
    document = None
    if raw_variables:
        try:
            document = json.loads(raw_variables)
        except json.JSONDecodeError as error:
            messages.error(request, f"Variables must be a JSON object: {error}")
            return redirect(detail_url)
        if not isinstance(document, dict):
            messages.error(request, 'Variables must be a JSON object, like {"amount": 10}.')
            return redirect(detail_url)
    retries = max(_int_or_none(request.POST.get("retries")) or 1, 1) if incident.job_key else None
    try:
        port.resolve_incident(incident.key, retries=retries, variables=document, user=request.user)
    except PortError as rejection:
        messages.error(request, rejection.message)
        return redirect(detail_url)
    messages.success(request, "Incident resolved; the step runs again.")
    return redirect("incidents:list")


# At most this many incidents are retried by one batch (the preview says when there are more).
BATCH_RETRY_LIMIT = 200


def _batch_filter(data: Any) -> tuple[str, str]:
    return data.get("process", "").strip(), data.get("error_type", "").strip()


def _incidents_url(process_id: str, error_type: str) -> str:
    query = urlencode({"process": process_id, "error_type": error_type})
    return reverse("incidents:list") + ("?" + query if process_id or error_type else "")


@require_GET
@incident_roles
def incident_retry_preview(request: HttpRequest) -> HttpResponse:
    """First step of "retry all": the open incidents of one workflow and kind of problem that
    the confirmed retry will touch, in business words."""
    process_id, error_type = _batch_filter(request.GET)
    if not process_id or not error_type:
        messages.error(request, "Choose a workflow and a kind of problem to retry.")
        return redirect("incidents:list")
    incidents = selectors.open_incidents(process_id=process_id, error_type=error_type)
    chosen = incidents[:BATCH_RETRY_LIMIT]
    return render(
        request,
        "processes/incident_retry_preview.html",
        {
            "process_id": process_id,
            "error_type": error_type,
            "process_name": selectors.element_names(process_id)[0],
            "explanation": selectors.error_type_words(error_type),
            "rows": selectors.incident_rows(chosen),
            "total": incidents.count(),
            "limit": BATCH_RETRY_LIMIT,
            "back": _incidents_url(process_id, error_type),
        },
    )


@require_POST
@incident_roles
def incident_retry_batch(request: HttpRequest) -> HttpResponse:
    """The confirmed batch: each incident the preview listed, still open and still of that kind,
    is resolved through the port as the single retry does (one more retry for a failed job)."""
    process_id, error_type = _batch_filter(request.POST)
    back = _incidents_url(process_id, error_type)
    keys = list(
        dict.fromkeys(int(k) for k in request.POST.getlist("incident") if k.strip().isdigit())
    )[:BATCH_RETRY_LIMIT]
    if not keys:
        messages.error(request, "No incidents were chosen; nothing was retried.")
        return redirect(back)
    retried: list[port.Incident] = []
    failed: list[tuple[port.Incident, str]] = []
    left_alone = 0
    for key in keys:
        incident = port.incident(key)
        if (
            incident is None
            or incident.state != "ACTIVE"
            or incident.process_id != process_id
            or incident.error_type != error_type
        ):
            left_alone += 1  # resolved meanwhile, or not of this kind
            continue
        try:
            port.resolve_incident(
                incident.key, retries=1 if incident.job_key else None, user=request.user
            )
        except PortError as rejection:
            failed.append((incident, rejection.message))
        else:
            retried.append(incident)
    if retried:
        messages.success(
            request,
            f"Retried {len(retried)} incident{'s' if len(retried) != 1 else ''}; "
            "the steps run again.",
        )
    if failed:
        rows = selectors.incident_rows(incident for incident, _message in failed)
        reasons = "; ".join(
            f"{row['business_key'] or row['process_name']} ({row['step']}): {message}"
            for row, (_incident, message) in zip(rows, failed, strict=True)
        )
        messages.error(request, f"Could not retry {len(failed)}: {reasons}")
    if left_alone:
        messages.info(
            request,
            f"{left_alone} incident{'s were' if left_alone != 1 else ' was'} already resolved "
            "or changed since the preview, and left alone.",
        )
    return redirect(back)


# ------------------------------------------------------------------------------ processes
@require_GET
@manager_required
def process_list(request: HttpRequest) -> HttpResponse:
    return render(
        request, "processes/process_list.html", {"processes": selectors.definitions_overview()}
    )


@require_GET
@manager_required
def process_detail(request: HttpRequest, key: int) -> HttpResponse:
    definition = port.definition(key)
    if definition is None:
        raise Http404("No such process version.")
    model = port.process_model(definition.key)
    overlay, active = selectors.definition_heat(definition)
    elements: list[dict[str, Any]] = [
        {
            "element": el,
            "kind": describe(el),
            "active": active.get(el.id, 0),
            "incidents": overlay.incidents.get(el.id, 0),
        }
        for el in model.elements.values()
    ]
    instances = port.latest_instances(definition.key, limit=20)
    svg = render_svg(model, overlay, title=definition.name or definition.process_id)
    listing = reverse("processes:instances", args=[definition.key])
    for row in elements:
        # A heat-map count opens the instances waiting there (or stuck there).
        if row["active"] or row["incidents"]:
            element_id = escape(row["element"].id)
            query = f"?waiting_at={element_id}" + ("&has_incident=1" if row["incidents"] else "")
            row["url"] = listing + query
            svg = svg.replace(f'href="#element-{element_id}"', f'href="{escape(row["url"])}"')
    return render(
        request,
        "processes/process_detail.html",
        {
            "definition": definition,
            "svg": svg,
            "versions": sorted(
                (d for d in port.definitions() if d.process_id == definition.process_id),
                key=lambda d: d.version,
                reverse=True,
            ),
            "elements": elements,
            "instances": instances,
        },
    )


def _datetime_from(value: str | None, *, end: bool = False) -> dt.datetime | None:
    day = parse_date(value or "")
    if day is None:
        return None
    moment = dt.datetime.combine(day, dt.time.max if end else dt.time.min)
    return timezone.make_aware(moment)


INSTANCE_STATES = {"ACTIVE": "running", "COMPLETED": "finished", "TERMINATED": "stopped"}


@require_GET
@manager_required
def instance_list(request: HttpRequest, key: int) -> HttpResponse:
    """Instances of one process version, filtered by state, waiting step, incident, start date."""
    definition = port.definition(key)
    if definition is None:
        raise Http404("No such process version.")
    model = port.process_model(definition.key)
    state = request.GET.get("state", "")
    if state not in INSTANCE_STATES:
        state = ""
    waiting_at = request.GET.get("waiting_at", "")
    if waiting_at not in model.elements:
        waiting_at = ""
    query = port.InstanceQuery(
        definition_key=definition.key,
        state=state,
        waiting_at=waiting_at,
        has_incident=request.GET.get("has_incident") == "1",
        started_from=_datetime_from(request.GET.get("from")),
        started_to=_datetime_from(request.GET.get("to"), end=True),
    )
    page = Paginator(port.instance_pages(query), 25).get_page(request.GET.get("page"))
    summaries = selectors.instance_summaries(i.key for i in page.object_list)
    names = {el.id: el.name or describe(el) for el in model.elements.values()}
    counts = {
        label: port.instance_pages(replace(query, state=value)).count()
        for value, label in INSTANCE_STATES.items()
    }
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "processes/instance_list.html",
        {
            "definition": definition,
            "versions": sorted(
                (d for d in port.definitions() if d.process_id == definition.process_id),
                key=lambda d: d.version,
                reverse=True,
            ),
            "page": page,
            "rows": [(i, summaries.get(i.key)) for i in page.object_list],
            "counts": counts,
            "states": INSTANCE_STATES,
            "filters": query,
            "from": request.GET.get("from", ""),
            "to": request.GET.get("to", ""),
            "waiting_choices": sorted(
                (
                    (el.id, names[el.id])
                    for el in model.elements.values()
                    if el.kind not in ("sequenceFlow",) and el.name
                ),
                key=lambda pair: pair[1],
            ),
            "waiting_name": names.get(waiting_at, ""),
            "query": params.urlencode(),
        },
    )


@require_GET
@staff_required
def instance_detail(request: HtmxHttpRequest, key: int) -> HttpResponse:
    detail = selectors.instance_detail(key)
    if detail is None:
        raise Http404("No such process instance.")
    template = "processes/instance_detail.html"
    if request.htmx:
        template += "#workflow"
    return render(request, template, instance_context(request, detail))


def instance_context(request: HttpRequest, detail: selectors.InstanceDetail) -> dict[str, Any]:
    """Context of the workflow partial (also embedded in the order page)."""
    elements = {
        el.id: {"element": el, "kind": describe(el)}
        for el in detail.model.elements.values()
        if el.id in detail.overlay.active
        or el.id in detail.overlay.incidents
        or el.id in detail.overlay.completed
    }
    stoppable = detail.root.state == "ACTIVE" and not detail.root.parent_process_instance_key
    return {
        "detail": detail,
        "svg": render_svg(detail.model, detail.overlay, title=detail.summary.process_name),
        "elements": elements.values(),
        # Stopping a workflow without compensation is an administrator's repair tool; the
        # business way to stop one (cancelling the order) is on the business object's page.
        "can_cancel": stoppable and request.user.is_superuser,
        "stop": selectors.stop_policy(detail.root.business_key) if stoppable else None,
        "can_resolve": has_role(request.user, SUPPORT, MANAGERS),
        "is_active": detail.root.state == "ACTIVE",
        "link": selectors.business_link(detail.root.business_key, request.user),
        "element_names": {el.id: el.name or describe(el) for el in detail.model.elements.values()},
        "now": dt.datetime.now(dt.UTC),
    }


@require_POST
@staff_required
def instance_cancel(request: HttpRequest, key: int) -> HttpResponse:
    """Stop an instance without compensation (administrators only), recording what it leaves."""
    if not request.user.is_superuser:
        raise PermissionDenied("Only an administrator can stop a workflow without compensation.")
    fallback = reverse("processes:instance", args=[key])
    back = safe_next(request, request.POST.get("next"), fallback)
    reason = request.POST.get("reason", "").strip()
    if not reason:
        messages.error(request, "Say why the workflow is stopped without compensation.")
        return _back(request, back)
    instance = port.instance(key)
    if instance is None:
        messages.error(request, "There is no such workflow.")
        return _back(request, back)
    policy = selectors.stop_policy(instance.business_key)
    try:
        port.cancel(key, request.user)
    except PortError as rejection:
        messages.error(request, rejection.message)
        return _back(request, back)
    if policy is not None:
        policy.record(user=request.user, reason=reason)
    if policy is not None and policy.leftovers:
        messages.warning(request, "Workflow stopped. Left as it was: " + " ".join(policy.leftovers))
    else:
        messages.success(request, "Workflow stopped.")
    return _back(request, back)
