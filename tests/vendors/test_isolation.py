"""A vendor user sees and acts on only its own vendor's data, through every page and API."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from vendors.models import VendorSubOrder

from .helpers import place_paid_order

S = VendorSubOrder.S


@pytest.fixture
def order(deployed, market):
    return place_paid_order(deployed)


@pytest.fixture
def subs(order, market):
    return order.sub_orders.get(vendor=market.acme), order.sub_orders.get(vendor=market.bolt)


@pytest.fixture
def portal(acme_user):
    client = Client()
    client.force_login(acme_user)
    return client


@pytest.fixture
def api(acme_user):
    client = APIClient()
    client.force_authenticate(acme_user)
    return client


# ------------------------------------------------------------------ portal pages
def test_portal_lists_only_own_sub_orders(portal, subs):
    mine, theirs = subs

    response = portal.get("/vendor/sub-orders/")

    assert response.status_code == 200
    assert mine.number.encode() in response.content
    assert theirs.number.encode() not in response.content
    home = portal.get("/vendor/")
    assert mine.number.encode() in home.content
    assert theirs.number.encode() not in home.content


def test_portal_detail_of_own_and_404_for_another_vendors(portal, subs):
    mine, theirs = subs

    assert portal.get(f"/vendor/sub-orders/{mine.number}/").status_code == 200
    assert portal.get(f"/vendor/sub-orders/{theirs.number}/").status_code == 404


@pytest.mark.parametrize(
    ("action", "data"),
    [
        ("accept", {}),
        ("reject", {"reason": "no"}),
        ("ship", {"carrier": "DHL", "tracking_number": "T"}),
    ],
)
def test_portal_actions_on_another_vendors_sub_order_are_404(portal, subs, action, data):
    _mine, theirs = subs

    response = portal.post(f"/vendor/sub-orders/{theirs.number}/{action}", data)

    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == S.REQUESTED


def test_portal_actions_use_the_services_and_drive_the_process(portal, subs, deployed, order):
    mine, _theirs = subs

    assert portal.post(f"/vendor/sub-orders/{mine.number}/accept").status_code == 302
    mine.refresh_from_db()
    assert mine.status == S.ACCEPTED
    portal.post(
        f"/vendor/sub-orders/{mine.number}/ship", {"carrier": "DHL", "tracking_number": "T-9"}
    )
    mine.refresh_from_db()
    assert (mine.status, mine.carrier, mine.tracking_number) == (S.SHIPPED, "dhl", "T-9")
    deployed.run_handlers()
    deployed.instance(order.process_instance_key).has_passed("Catch_vendor_shipped")


def test_portal_reject_needs_a_reason_and_shows_the_error(portal, subs):
    mine, _theirs = subs

    response = portal.post(f"/vendor/sub-orders/{mine.number}/reject", {"reason": ""}, follow=True)

    assert b"reason" in response.content.lower()
    mine.refresh_from_db()
    assert mine.status == S.REQUESTED


def test_portal_get_on_actions_is_refused(portal, subs):
    mine, _theirs = subs

    assert portal.get(f"/vendor/sub-orders/{mine.number}/accept").status_code == 405


def test_portal_payouts_show_only_own_holds(portal, subs):
    mine, theirs = subs

    response = portal.get("/vendor/payouts/")

    assert response.status_code == 200
    assert mine.number.encode() in response.content
    assert theirs.number.encode() not in response.content


@pytest.mark.parametrize(
    "url", ["/vendor/", "/vendor/sub-orders/", "/vendor/payouts/", "/vendor/sub-orders/X/"]
)
def test_portal_is_for_vendor_users_only(staff, db, url):
    anonymous = Client().get(url)
    assert anonymous.status_code == 302
    client = Client()
    client.force_login(staff)
    assert client.get(url).status_code == 403


# ------------------------------------------------------------------ vendor API
def test_api_lists_only_own_sub_orders(api, subs):
    mine, _theirs = subs

    response = api.get("/api/vendor/sub-orders")

    assert response.status_code == 200
    assert [s["number"] for s in response.data] == [mine.number]


def test_api_detail_404_for_another_vendors(api, subs):
    mine, theirs = subs

    assert api.get(f"/api/vendor/sub-orders/{mine.number}").status_code == 200
    assert api.get(f"/api/vendor/sub-orders/{theirs.number}").status_code == 404


@pytest.mark.parametrize(
    ("action", "data"),
    [
        ("accept", {}),
        ("reject", {"reason": "no"}),
        ("ship", {"carrier": "DHL", "tracking_number": "T"}),
    ],
)
def test_api_actions_on_another_vendors_sub_order_are_404(api, subs, action, data):
    _mine, theirs = subs

    response = api.post(f"/api/vendor/sub-orders/{theirs.number}/{action}", data, format="json")

    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == S.REQUESTED


def test_api_actions_on_own_sub_order(api, subs):
    mine, _theirs = subs

    missing = api.post(f"/api/vendor/sub-orders/{mine.number}/ship", {"carrier": "DHL"})
    assert missing.status_code == 400
    assert "tracking_number" in missing.data
    assert api.post(f"/api/vendor/sub-orders/{mine.number}/accept").data["status"] == S.ACCEPTED
    shipped = api.post(
        f"/api/vendor/sub-orders/{mine.number}/ship",
        {"carrier": "DHL", "tracking_number": "T-1"},
        format="json",
    )
    assert shipped.status_code == 200
    refused = api.post(f"/api/vendor/sub-orders/{mine.number}/reject", {"reason": "late"})
    assert refused.status_code == 409


def test_api_payouts_only_own(api, subs):
    mine, _theirs = subs

    response = api.get("/api/vendor/payouts")

    assert response.status_code == 200
    assert [h["sub_order"] for h in response.data["holds"]] == [mine.number]
    assert response.data["payouts"] == []


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/api/vendor/sub-orders"),
        ("get", "/api/vendor/sub-orders/X"),
        ("post", "/api/vendor/sub-orders/X/accept"),
        ("post", "/api/vendor/sub-orders/X/reject"),
        ("post", "/api/vendor/sub-orders/X/ship"),
        ("get", "/api/vendor/payouts"),
    ],
)
def test_vendor_api_is_for_vendor_users_only(staff, method, url):
    assert getattr(APIClient(), method)(url).status_code in (401, 403)
    client = APIClient()
    client.force_authenticate(staff)
    assert getattr(client, method)(url).status_code == 403
