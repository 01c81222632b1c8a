"""A posted ``next`` only ever sends the user somewhere on this site."""

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse

from core.http import safe_next
from orders.demo import DEMO_USERS


@pytest.mark.parametrize(
    ("candidate", "expected"),
    [
        ("/orders/?page=2", "/orders/?page=2"),
        ("http://testserver/orders/", "http://testserver/orders/"),
        ("https://evil.example/login", "/fallback/"),
        ("//evil.example/login", "/fallback/"),
        ("javascript:alert(1)", "/fallback/"),
        ("", "/fallback/"),
        (None, "/fallback/"),
    ],
)
def test_safe_next(candidate, expected):
    request = RequestFactory().post("/x/")
    assert safe_next(request, candidate, "/fallback/") == expected


@pytest.mark.django_db
def test_instance_cancel_does_not_redirect_off_site(demo_data):
    client = Client()
    admin = next(d for d in DEMO_USERS if d.username == "admin")  # stopping is admin-only
    assert client.login(username=admin.username, password=admin.password)
    url = reverse("processes:cancel", args=[999_999])

    off_site = client.post(url, {"next": "https://evil.example/"})
    on_site = client.post(url, {"next": "/orders/"})

    assert off_site.status_code == 302
    assert off_site["Location"] == reverse("processes:instance", args=[999_999])
    assert on_site["Location"] == "/orders/"
