import pytest
from django.urls import reverse

from tests.factories import signed_in_demo as signed_in

pytestmark = pytest.mark.django_db

STAFF_PAGES = ["home", "vendors:catalog"]


def test_sign_in_page_answers(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b'name="password"' in response.content


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_sign_in_and_out(client, demo_data):
    response = client.post(reverse("login"), {"username": "sam", "password": "demo-support-pass"})
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 200
    client.post(reverse("logout"))
    assert client.get(reverse("home")).status_code == 302


def test_wrong_password_is_refused_with_a_message(client, demo_data):
    response = client.post(reverse("login"), {"username": "sam", "password": "nope"})
    assert response.status_code == 200
    assert b"errorlist" in response.content


@pytest.mark.parametrize(
    ("username", "visible", "hidden"),
    [
        ("sam", ["Dashboard", "Catalog"], ["Vendor portal"]),
        ("wes", ["Dashboard", "Catalog"], ["Vendor portal"]),
        ("maya", ["Dashboard", "Catalog"], ["Vendor portal"]),
        ("acme", ["Vendor portal"], ["Dashboard", "Catalog"]),
    ],
)
def test_navigation_follows_the_role(demo_data, username, visible, hidden):
    client = signed_in(username)
    response = client.get(reverse("home"), follow=True)
    nav = response.content.decode().split('<nav aria-label="Main">')[1].split("</nav>")[0]
    for label in visible:
        assert f">{label}<" in nav or f">{label} <" in nav
    for label in hidden:
        assert f">{label}<" not in nav


@pytest.mark.parametrize("page", STAFF_PAGES)
def test_vendor_user_cannot_open_staff_pages(demo_data, page):
    client = signed_in("acme")
    response = client.get(reverse(page))
    if page == "home":  # the start page sends vendors to their portal
        assert response.status_code == 302
        assert response["Location"] == reverse("vendor_portal:home")
    else:
        assert response.status_code == 403


def test_staff_cannot_open_vendor_portal(demo_data):
    assert signed_in("sam").get(reverse("vendor_portal:home")).status_code == 403


def test_vendor_portal_shows_only_own_products(demo_data):
    body = signed_in("acme").get(reverse("vendor_portal:home")).content.decode()
    assert "AA-HP-100" in body
    assert "BB-HLM-M" not in body


def test_htmx_is_served_locally(demo_data):
    body = signed_in("sam").get(reverse("home")).content.decode()
    assert "/static/vendor/htmx-" in body
    assert "unpkg" not in body and "cdn" not in body.lower()


def test_health_check(client):
    assert client.get(reverse("healthz")).json() == {"status": "ok"}


def test_times_follow_the_browser_time_zone(demo_data):
    from django.utils import timezone

    client = signed_in("sam")
    client.cookies["tz"] = "Europe%2FBerlin"
    response = client.get(reverse("home"))
    assert response.status_code == 200
    assert str(timezone.get_current_timezone()) == "UTC"  # the request's zone is not leaked
    from config.middleware import UserTimezoneMiddleware

    seen = {}

    def view(request):
        seen["tz"] = str(timezone.get_current_timezone())
        from django.http import HttpResponse

        return HttpResponse()

    request = type("R", (), {"COOKIES": {"tz": "Europe%2FBerlin"}})()
    UserTimezoneMiddleware(view)(request)
    assert seen["tz"] == "Europe/Berlin"


def test_catalog_shows_prices_in_currency_format(demo_data):
    from vendors.models import Product

    product = Product.objects.exclude(price_minor=0).order_by("sku").first()
    product.price_minor, product.currency = 12900, "EUR"
    product.save(update_fields=["price_minor", "currency"])
    html = signed_in("sam").get(reverse("vendors:catalog") + f"?q={product.sku}").content.decode()
    assert "€129.00" in html
    assert "(minor)" not in html and "12900" not in html
