"""Order list and detail pages: permissions, workflow status, filters, query counts."""

from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from orders.models import Customer, Order, OrderHistory
from processes.engine import service
from tests.factories import signed_in_demo as signed_in

pytestmark = pytest.mark.django_db
REVIEW_BPMN = Path(__file__).parents[1] / "processes" / "ui" / "review.bpmn"


def make_order(number: str, *, with_process: bool = True, total: int = 12900) -> Order:
    customer = Customer.objects.get(email="lena@example.com")
    order = Order.objects.create(
        number=number,
        customer=customer,
        currency="EUR",
        subtotal_minor=total,
        total_minor=total,
        payment_method="tok_visa",
    )
    if with_process:
        root = service.create_instance(process_id="ui-review", business_key=number)
        order.process_instance_key = root.key
        order.save(update_fields=["process_instance_key"])
    OrderHistory.objects.create(order=order, event="order_placed", actor="sam")
    return order


@pytest.fixture
def orders(demo_data):
    service.deploy_file(str(REVIEW_BPMN))
    return [make_order(f"ORD-20261125-{i:04d}") for i in range(3)]


def test_list_shows_what_each_order_waits_for(orders):
    body = signed_in("sam").get(reverse("orders:list")).content.decode()
    for order in orders:
        assert order.number in body
    assert "task: Review request" in body
    assert "€129.00" in body


def test_list_filters_and_search(orders):
    client = signed_in("sam")
    body = client.get(reverse("orders:list") + f"?q={orders[1].number}").content.decode()
    assert orders[1].number in body and orders[0].number not in body
    body = client.get(reverse("orders:list") + "?waiting_at=Review").content.decode()
    assert all(o.number in body for o in orders)
    body = client.get(reverse("orders:list") + "?waiting_at=Book").content.decode()
    assert "No orders match" in body
    body = client.get(reverse("orders:list") + "?has_incident=1").content.decode()
    assert "No orders match" in body
    body = client.get(reverse("orders:list") + "?status=completed").content.decode()
    assert "No orders match" in body


def test_list_query_count_is_fixed(demo_data):
    service.deploy_file(str(REVIEW_BPMN))
    client = signed_in("sam")
    make_order("ORD-20261125-A000")

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("orders:list")).status_code == 200
        return len(ctx.captured_queries)

    few = queries()
    for i in range(12):
        make_order(f"ORD-20261125-B{i:03d}")
    assert queries() == few


def test_detail_shows_money_history_and_live_diagram(orders):
    order = orders[0]
    client = signed_in("sam")
    body = client.get(reverse("orders:detail", args=[order.number])).content.decode()
    assert "<svg" in body and 'id="workflow"' in body and "Order placed" in body
    partial = client.get(
        reverse("orders:detail", args=[order.number]), headers={"HX-Request": "true"}
    ).content.decode()
    assert partial.lstrip().startswith('<div id="workflow"')


def test_task_links_back_to_the_order(orders):
    body = signed_in("sam").get(reverse("tasks:list") + "?queue=unassigned").content.decode()
    assert reverse("orders:detail", args=[orders[0].number]) in body


@pytest.mark.parametrize("username", ["acme", "wes"])
def test_vendors_and_warehouse_cannot_open_orders(orders, username):
    client = signed_in(username)
    assert client.get(reverse("orders:list")).status_code == 403
    assert client.get(reverse("orders:detail", args=[orders[0].number])).status_code == 403


def test_unknown_order_is_404(demo_data):
    assert signed_in("sam").get(reverse("orders:detail", args=["ORD-NOPE"])).status_code == 404
