"""URL configuration: back-office pages, vendor portal, APIs."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from . import views


class FaviconView(RedirectView):
    """Browsers ask for /favicon.ico whatever the page says; the icon is a static file."""

    permanent = True

    def get_redirect_url(self, *args: object, **kwargs: object) -> str:
        return static("img/favicon.svg")


urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", views.SignInView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", FaviconView.as_view(), name="favicon"),
    path("catalog/", include("vendors.urls")),
    path("orders/", include("orders.urls")),
    path("returns/", include("returns.urls")),
    path("customs/", include("orders.customs.urls")),
    path("subscriptions/", include("subscriptions.urls")),
    path("tasks/", include("processes.urls_tasks")),
    path("incidents/", include("processes.urls_incidents")),
    path("processes/", include("processes.urls_processes")),
    path("vendor/", include("vendors.portal_urls")),
    path("admin/", admin.site.urls),
    path("v2/", include("processes.api.urls")),
    path("api/", include("orders.urls_api")),
    path("api/", include("returns.urls_api")),
    path("api/", include("orders.customs.urls_api")),
    path("api/", include("subscriptions.urls_api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]
