"""Every staff page of a seeded demo speaks the business's language: no BPMN element ids, no
process ids, no engine error codes or ORM messages in the text a person sees."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from django.urls import reverse

from orders import services
from orders.demo import load_demo_data
from orders.models import Order
from orders.payments import sandbox
from processes import port
from processes.selectors import ERROR_TYPE_WORDS
from returns.models import ReturnRequest
from returns.services import ReturnLineInput, return_request_create
from tests.factories import signed_in_demo as signed_in
from vendors.models import Product, Vendor, VendorSubOrder
from vendors.services import sub_order_accept, sub_order_deliver, sub_order_ship

BPMN_DIR = Path(__file__).resolve().parents[2] / "processes" / "bpmn"
HIDDEN = re.compile(
    r"<(script|style|title)\b.*?</\1>|<details\b(?![^>]*\bopen\b).*?</details>", re.S
)
TAG = re.compile(r"<[^>]+>")


def visible_text(page: str) -> str:
    body = page.split("<body", 1)[-1]
    return html.unescape(TAG.sub(" ", HIDDEN.sub(" ", body)))


@pytest.fixture
def demo(process, settings):
    settings.PAYMENT_PROVIDER = "sandbox"
    sandbox.reset()
    load_demo_data()
    for path in sorted(BPMN_DIR.glob("*.bpmn")):
        process.deploy(str(path))
    customer = services.CustomerInput("lena@example.com", "Lena Fischer", "DE")
    for token, lines in (
        ("tok_visa", [("acme-audio", "AA-HP-100", 1), ("bolt-bikes", "BB-HLM-M", 1)]),
        ("tok_visa", [("cedar-home", "CH-MUG-4", 2)]),
        ("tok_chargeDeclined", [("dune-outdoor", "DO-BTL-750", 1)]),
    ):
        services.order_place(
            customer=customer,
            currency="EUR",
            lines=[services.LineInput(*line) for line in lines],
            payment_method=token,
        )
    process.run_handlers()
    first = VendorSubOrder.objects.order_by("pk").first()
    sub_order_accept(sub_order=first, actor="vendor:acme-audio")
    process.run_handlers()
    sub_order_ship(sub_order=first, carrier="dhl", tracking_number="DHL123")
    process.run_handlers()
    sub_order_deliver(sub_order=first, actor="carrier:dhl")
    process.run_handlers()
    line = first.lines.first()
    return_request_create(
        order=first.order,
        lines=[ReturnLineInput(line.sku, 1)],
        reason="damaged",
        user=None,
    )
    process.run_handlers()
    assert ReturnRequest.objects.filter(process_instance_key__isnull=False).exists()
    yield process
    sandbox.reset()


def staff_urls() -> list[str]:
    urls = [
        reverse("home"),
        reverse("orders:list"),
        reverse("tasks:list"),
        reverse("tasks:list") + "?queue=unassigned",
        reverse("tasks:list") + "?queue=completed",
        reverse("returns:list"),
        reverse("returns:arrivals"),
        reverse("incidents:list"),
        reverse("processes:list"),
        reverse("vendors:catalog"),
        reverse("vendors:staff-vendors"),
        reverse("vendors:stock"),
    ]
    for vendor in Vendor.objects.all():
        urls.append(reverse("vendors:staff-vendor", args=[vendor.handle]))
    for product in Product.objects.select_related("vendor")[:5]:
        urls.append(reverse("vendors:stock-product", args=[product.vendor.handle, product.sku]))
    for order in Order.objects.all():
        urls.append(reverse("orders:detail", args=[order.number]))
        urls.append(reverse("processes:instance", args=[order.process_instance_key]))
        urls.append(reverse("returns:start", args=[order.number]))
    for return_request in ReturnRequest.objects.all():
        urls.append(reverse("returns:detail", args=[return_request.number]))
    for task in port.user_tasks(port.TaskQuery(), limit=50).items:
        urls.append(reverse("tasks:detail", args=[task.key]))
    for definition in port.definitions():
        urls.append(reverse("processes:detail", args=[definition.key]))
    return urls


def forbidden_words() -> set[str]:
    words = {"matching query does not exist", *ERROR_TYPE_WORDS}
    for definition in port.definitions():
        words.add(definition.process_id)
        model = port.process_model(definition.key)
        words.update(model.elements)
    return words


@pytest.mark.parametrize("username", ["sam", "wes", "maya"])
def test_no_engine_words_on_staff_pages(demo, username):
    client = signed_in(username)
    words = forbidden_words()
    pattern = re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, words)) + r")(?![\w-])")
    seen = 0
    problems = []
    for url in staff_urls():
        response = client.get(url)
        if response.status_code in (403, 404):
            continue
        assert response.status_code == 200, url
        seen += 1
        for match in pattern.finditer(visible_text(response.content.decode())):
            problems.append(f"{url}: {match.group(0)}")
    assert seen >= 8
    assert problems == [], "\n".join(problems)
