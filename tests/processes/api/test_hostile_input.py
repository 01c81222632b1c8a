"""Hostile bodies against every API endpoint: a 400 (or 413), never a 5xx or a database's text.

The endpoints come from the URL resolver, so a new endpoint is covered without editing this
file. Run on PostgreSQL too (``DATABASE_URL``), where NUL characters fail in ``text``/``jsonb``.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from core.webhooks import SIGNATURE_HEADER, sign
from subscriptions.models import Plan
from tests.subscriptions.conftest import subscribe
from tests.vendors.factories import ProductFactory, VendorFactory

NESTED = "[" * 40 + "]" * 40
VERY_NESTED = "[" * 200_000 + "]" * 200_000

# name -> raw JSON body; each must be refused wherever a body is read.
HOSTILE: dict[str, str] = {
    "nul-value": '{"name": "a\\u0000b", "type": "x\\u0000"}',
    "nul-key": '{"na\\u0000me": "x"}',
    "nul-nested": '{"variables": {"a": ["ok", {"b": "\\u0000"}]}}',
    "nan": '{"timeout": NaN}',
    "infinity": '{"timeout": -Infinity}',
    "float-overflow": '{"timeout": 1e400}',
    "int-65-bits": '{"timeout": 36893488147419103232}',
    "int-4300-digits": '{"timeout": ' + "9" * 4300 + "}",
    "deep": '{"variables": {"a": ' + NESTED + "}}",
    "very-deep": VERY_NESTED,
    "not-utf8": '{"name": "\udcff"}',
}
DB_TEXT = re.compile(r"psycopg|sqlite|Traceback|IntegrityError|DataError|NUL \(0x00\)|out of range")


def _walk(patterns: list[Any], prefix: str = "") -> list[tuple[str, Any]]:
    found = []
    for entry in patterns:
        if isinstance(entry, URLResolver):
            found += _walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            found.append((prefix + str(entry.pattern), entry.callback))
    return found


PATH_VALUES = {"key": "1", "number": "NO-SUCH-1", "handle": "acme", "carrier": "dhl"}


def api_routes() -> list[tuple[str, str]]:
    """(path, method) of every /v2 and /api endpoint (the schema and docs pages aside)."""
    routes = []
    for route, callback in _walk(get_resolver().url_patterns):
        if not route.startswith(("v2/", "api/")) or route.startswith(("api/schema", "api/docs")):
            continue
        view_class = getattr(callback, "view_class", None)
        if view_class is None:
            continue
        path = "/" + re.sub(
            r"<(?:\w+:)?(\w+)>", lambda m: PATH_VALUES.get(m.group(1), "warehouse"), route
        )
        for method in ("get", "post", "put", "patch", "delete"):
            if hasattr(view_class, method):
                routes.append((path, method))
    return routes


def operations_with_a_body() -> set[tuple[str, str]]:
    """(path, method) of the operations whose OpenAPI schema documents a request body."""
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    found = set()
    for template, item in schema["paths"].items():
        path = re.sub(r"\{(\w+)\}", lambda m: PATH_VALUES.get(m.group(1), "warehouse"), template)
        for method, operation in item.items():
            if "requestBody" in operation:
                found.add((path, method))
    return found


ROUTES = api_routes()


@pytest.fixture
def hostile_setup(settings, db):
    settings.CARRIER_WEBHOOK_SECRETS = {"dhl": "dhl-secret"}
    settings.RETURN_WEBHOOK_SECRETS = {"warehouse": "warehouse-secret"}
    settings.PAYMENT_WEBHOOK_SECRETS = {"warehouse": "payments-secret"}
    settings.CUSTOMS_BROKER_SECRETS = {"warehouse": "broker-secret"}
    settings.CUSTOMS_CARRIER_SECRETS = {"dhl": "shipments-secret"}
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
    vendor = VendorFactory(handle="acme", callback_secret="acme-secret")
    ProductFactory(vendor=vendor, sku="SKU-1")
    # The subscription endpoints look their subscription up first: give them one to find.
    subscription = subscribe(Plan.objects.create(code="hostile", name="Hostile", price_minor=500))
    type(subscription).objects.filter(pk=subscription.pk).update(number=PATH_VALUES["number"])
    admin = User.objects.create_superuser("root", "root@example.com", "pw-for-tests-1")
    client = APIClient()
    client.force_authenticate(admin)
    return client


SECRETS = {
    "vendors": "acme-secret",
    "carriers": "dhl-secret",
    "returns": "warehouse-secret",
    "payments": "payments-secret",
    "customs": "broker-secret",
    "shipments": "shipments-secret",
}


def _post(client: APIClient, path: str, method: str, raw: bytes) -> Any:
    headers = {}
    match = re.match(r"/api/webhooks/(\w+)/", path)
    if match:  # signed with the right secret: the body is what is refused, not the signature
        headers[SIGNATURE_HEADER] = sign(raw, SECRETS[match.group(1)])
    return client.generic(
        method.upper(), path, raw, content_type="application/json", headers=headers
    )


def _assert_safe(response: Any) -> None:
    assert response.status_code < 500, response.content[:500]
    _assert_no_leak(response)


def _assert_no_leak(response: Any) -> None:
    text = response.content.decode("utf-8", "replace")
    assert not DB_TEXT.search(text), text[:500]
    if response.content:
        assert response["Content-Type"].startswith(("application/json", "application/problem"))


@pytest.fixture(scope="module")
def with_body(django_db_blocker) -> set[tuple[str, str]]:
    with django_db_blocker.unblock():
        return operations_with_a_body()


def test_every_api_family_is_walked(with_body):
    assert ("/api/orders", "post") in with_body and ("/v2/jobs/activation", "post") in with_body
    paths = {path for path, _method in ROUTES}
    assert "/api/orders" in paths and "/api/returns" in paths
    assert "/api/webhooks/vendors/acme/" in paths and "/api/webhooks/carriers/dhl/" in paths
    assert sum(path.startswith("/v2/") for path in paths) >= 25


@pytest.mark.parametrize("payload", HOSTILE, ids=list(HOSTILE))
@pytest.mark.parametrize(("path", "method"), ROUTES, ids=[f"{m} {p}" for p, m in ROUTES])
def test_hostile_body_is_refused_without_a_server_error(
    hostile_setup, with_body, path, method, payload
):
    raw = HOSTILE[payload].encode("utf-8", "surrogateescape")
    response = _post(hostile_setup, path, method, raw)
    _assert_safe(response)
    if (path, method) in with_body and not path.startswith("/api/vendor/"):
        # Vendor API: the superuser is not a vendor (403 before the body is read).
        assert response.status_code in (400, 413, 415), (response.status_code, response.content)


@pytest.mark.parametrize(("path", "method"), ROUTES, ids=[f"{m} {p}" for p, m in ROUTES])
def test_oversized_body_is_a_json_413(hostile_setup, with_body, path, method):
    if (path, method) not in with_body or path.startswith("/api/vendor/"):
        pytest.skip("reads no body for this user")
    if path == "/v2/deployments":
        pytest.skip("multipart: a JSON body is a 415")
    raw = json.dumps({"padding": "x" * (70 * 1024)}).encode()
    response = _post(hostile_setup, path, method, raw)
    _assert_safe(response)
    assert response.status_code == 413, response.content[:300]


def test_v2_refusals_are_problems(hostile_setup):
    response = _post(hostile_setup, "/v2/jobs/activation", "post", HOSTILE["nul-value"].encode())
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert "NUL" in response.json()["detail"]


def test_drf_refusals_name_the_field(hostile_setup):
    body = {
        "customer": {"email": "a@example.com", "name": "Ann\u0000", "country": "DE"},
        "currency": "EUR",
        "payment_method": "tok_visa",
        "lines": [{"vendor": "acme", "sku": "SKU-1", "quantity": 1}],
    }
    response = _post(hostile_setup, "/api/orders", "post", json.dumps(body).encode())
    assert response.status_code == 400
    assert list(response.json()) == ["customer.name"]
    body["customer"]["name"] = "Ann"
    body["shipping_address"] = {"line\u00001": "x"}
    response = _post(hostile_setup, "/api/orders", "post", json.dumps(body).encode())
    assert response.status_code == 400
    assert list(response.json()) == ["shipping_address"]


@pytest.mark.parametrize("field", ["shipping_minor", "total_minor"])
def test_money_beyond_its_bound_is_refused(hostile_setup, field):
    body = {
        "customer": {"email": "a@example.com", "name": "Ann", "country": "DE"},
        "currency": "EUR",
        "payment_method": "tok_visa",
        "lines": [{"vendor": "acme", "sku": "SKU-1", "quantity": 1}],
        field: 2**63 - 1,
    }
    response = _post(hostile_setup, "/api/orders", "post", json.dumps(body).encode())
    assert response.status_code == 400
    assert field in response.json()


@pytest.mark.parametrize(
    ("path", "method", "body"),
    [
        ("/v2/jobs/activation", "post", {"type": "t", "timeout": 2**62, "maxJobsToActivate": 1}),
        ("/v2/jobs/activation", "post", {"type": "t", "timeout": 1, "maxJobsToActivate": 2**40}),
        ("/v2/jobs/activation", "post", {"type": "t", "timeout": 1, "maxJobsToActivate": 1e300}),
        ("/v2/jobs/1", "patch", {"changeset": {"timeout": 2**62}}),
        ("/v2/jobs/1/failure", "post", {"retries": 1, "retryBackOff": 2**62}),
        ("/v2/messages/publication", "post", {"name": "m", "timeToLive": 2**62}),
        ("/v2/clock", "put", {"timestamp": 2**62}),
        ("/v2/clock", "put", {"timestamp": 1e300}),
        ("/v2/process-instances/search", "post", {"page": {"from": 2**62}}),
        ("/v2/incidents/search", "post", {"page": {"after": "WzkyMjMzNzIwMzY4NTQ3NzU4MDdd"}}),
        (
            "/v2/process-instances",
            "post",
            {"processDefinitionId": "p", "requestTimeout": 2**62, "awaitCompletion": True},
        ),
    ],
)
def test_v2_integers_beyond_the_fields_bound(hostile_setup, path, method, body):
    response = _post(hostile_setup, path, method, json.dumps(body).encode())
    _assert_safe(response)
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"


def test_database_error_text_never_reaches_the_client(hostile_setup, monkeypatch):
    from django.db import DataError, OperationalError

    from processes.engine import service

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise DataError('value "99" is out of range for type integer at table processes_job')

    monkeypatch.setattr(service, "activate_jobs", broken)
    body = json.dumps({"type": "t", "timeout": 1000, "maxJobsToActivate": 1}).encode()
    response = _post(hostile_setup, "/v2/jobs/activation", "post", body)
    assert response.status_code == 400
    _assert_safe(response)

    def gone(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("server closed the connection unexpectedly (psycopg)")

    monkeypatch.setattr(service, "activate_jobs", gone)
    response = _post(hostile_setup, "/v2/jobs/activation", "post", body)
    assert response.status_code == 503
    _assert_no_leak(response)


def test_drf_last_resort_answers_without_the_error_text(hostile_setup, monkeypatch):
    from django.db import OperationalError

    from returns import api as returns_api

    def gone(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("could not connect to server (psycopg) at 10.0.0.1")

    monkeypatch.setattr(returns_api.ReturnRequest.objects, "filter", gone)
    response = hostile_setup.get("/api/returns/R-1")
    assert response.status_code == 503
    _assert_no_leak(response)


def test_deployment_form_with_nul_is_refused(hostile_setup):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from .conftest import service_process

    upload = SimpleUploadedFile("work.bpmn", service_process().encode())
    data = {"resources": upload, "tenantId": "t\u0000"}
    response = hostile_setup.post("/v2/deployments", data, format="multipart")
    _assert_safe(response)
    assert response.status_code == 400
