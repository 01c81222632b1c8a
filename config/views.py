"""Sign-in, the staff dashboard and a health check."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from .roles import VENDORS, has_role, is_staff_user


class SignInView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True


@require_GET
@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Staff land on the dashboard; vendor users on their portal."""
    if not is_staff_user(request.user):
        if has_role(request.user, VENDORS):
            return redirect("vendor_portal:home")
        return render(request, "no_role.html", status=403)
    from .dashboard import sections_for

    return render(request, "dashboard.html", {"sections": sections_for(request.user)})


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
