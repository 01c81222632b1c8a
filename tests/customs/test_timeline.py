"""The order page's timeline tells what customs, the broker and the carrier did, in business
words, next to the order's own history."""

from __future__ import annotations

import html
import re

import pytest
from django.test import Client
from django.urls import reverse

from config.roles import SUPPORT, WAREHOUSE
from orders import pages
from orders.customs.models import ShipmentEventKind
from tests.factories import make_user

from .conftest import customs_update, place, tracking_event, vendor_accepts

pytestmark = pytest.mark.django_db


def timeline_of(order) -> list[str]:
    """The timeline's entries on the order page, as a support user reads them."""
    client = Client()
    client.force_login(make_user(f"support-{order.number}", role=SUPPORT))
    response = client.get(reverse("orders:detail", args=[order.number]))
    assert response.status_code == 200
    page = response.content.decode()
    section = page[page.index('id="timeline"') :]
    section = section[: section.index("</ol>")]
    items = re.findall(r"<li[^>]*>(.*?)</li>", section, flags=re.S)
    return [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", item)).split()) for item in items]


def customs_lines(lines: list[str]) -> list[str]:
    return [line for line in lines if ", customs: " in line]


def test_a_cleared_and_delivered_shipment_tells_each_step(deployed, shop):
    client = Client()
    order, shipment = place(deployed, shop, country="US")
    vendor_accepts(deployed, shipment)
    customs_update(client, shipment, "held", event_id="h1", reason="Proof of value missing")
    deployed.run_handlers()
    customs_update(client, shipment, "cleared", event_id="c1")
    deployed.run_handlers()
    shipment.refresh_from_db()
    tracking_event(client, shipment, "in_transit", event_id="t1", location="Leipzig hub")
    tracking_event(client, shipment, "delivered", event_id="t2", location="Springfield")
    deployed.run_handlers()
    shipment.refresh_from_db()

    lines = timeline_of(order)
    said = " | ".join(customs_lines(lines))
    part = f"Acme Audio ({shipment.sub_order.number}), customs: "
    for words in [
        "International shipment opened (to United States)",
        "Customs workflow started",
        "Export restrictions checked: export allowed",
        "Duties and taxes calculated: nothing due at the border, plus duty the broker "
        "assesses; the customer pays (DAP)",
        "Customer told: duties and taxes to pay on delivery",
        f"Commercial invoice issued ({shipment.invoice_number})",
        f"Submitted to the customs broker (reference {shipment.broker_reference})",
        "Held by customs: Proof of value missing",
        "Cleared by customs",
        f"Handed to the international carrier SANDBOX, tracking {shipment.tracking_number}",
        "Carrier update: in transit at Leipzig hub",
        "Carrier update: delivered at Springfield",
        "Delivered",
        "International shipment completed",
    ]:
        assert part + words in said, words

    # Newest first, merged with the order's own history; each links to the shipment page.
    def position(words: str) -> int:
        return next(i for i, line in enumerate(lines) if words in line)

    assert position("customs: International shipment completed") < position(
        "customs: International shipment opened"
    )
    assert position("Order placed") > position("customs: International shipment opened")
    assert all(f"· {shipment.number}" in line for line in customs_lines(lines))
    # The broker and the carrier appear as such, not as their technical names.
    assert "by broker:" not in said and "Cleared by customs" in said
    assert any("Held by customs" in line and "by the customs broker" in line for line in lines)
    # No event codes, no engine keys.
    for code in ("customs_held", "submitted_to_broker", "tracking_event", "shipment_opened"):
        assert code not in said
    assert str(shipment.process_instance_key) not in said


def test_the_shipment_page_tells_its_history_in_the_same_words(deployed, shop):
    client = Client()
    _order, shipment = place(deployed, shop, country="US")
    customs_update(client, shipment, "held", event_id="h1", reason="Proof of value missing")
    deployed.run_handlers()
    staff = Client()
    staff.force_login(make_user("sally", role=SUPPORT))
    page = staff.get(reverse("customs:shipment", args=[shipment.number])).content.decode()
    page = html.unescape(page)
    assert "Held by customs: Proof of value missing" in page and "by the customs broker" in page
    assert f"Submitted to the customs broker (reference {shipment.broker_reference})" in page
    for code in ("customs_held", "submitted_to_broker", "broker:sandbox"):
        assert code not in page
    assert f"instance {shipment.process_instance_key}" not in page


def test_restricted_and_rejected_shipments_say_why(deployed, shop):
    client = Client()
    embargoed, _shipment = place(deployed, shop, country="CU")
    assert any(
        "customs: Export restrictions checked: not allowed (Comprehensive embargo: Cuba)" in line
        for line in timeline_of(embargoed)
    )

    order, shipment = place(deployed, shop, country="CH")
    vendor_accepts(deployed, shipment)
    customs_update(client, shipment, "rejected", event_id="r1", reason="Licence missing")
    deployed.run_handlers()
    said = " | ".join(customs_lines(timeline_of(order)))
    assert "customs: Rejected by customs: Licence missing" in said
    assert "customs: Customer told: rejected by customs" in said
    assert "customs: Goods returned to the vendor (Germany)" in said


def test_every_shipment_event_has_business_words(deployed, shop):
    from orders.customs.models import ShipmentEvent
    from orders.customs.selectors import shipment_event_words

    _order, shipment = place(deployed, shop, country="US")
    for kind in ShipmentEventKind:
        words = shipment_event_words(ShipmentEvent(shipment=shipment, event=kind, detail={}))
        assert words and "_" not in words and words[0].isupper(), kind


def test_no_link_to_the_shipment_page_without_its_role(deployed, shop):
    order, shipment = place(deployed, shop, country="US")
    warehouse = make_user("wes", role=WAREHOUSE)
    entries = [e for e in pages.order_timeline(order, user=warehouse) if e.kind == "customs"]
    assert entries and not any(e.url for e in entries)
    support = make_user("sue", role=SUPPORT)
    entries = [e for e in pages.order_timeline(order, user=support) if e.kind == "customs"]
    assert all(e.url == reverse("customs:shipment", args=[shipment.number]) for e in entries)
