"""Order list pages by keyset: every order once, in order, forwards and back, in each sort."""

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from orders import selectors
from orders.models import Customer, Order
from tests.factories import make_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def many_orders() -> list[Order]:
    customer = Customer.objects.create(email="k@example.com", name="Keyset Customer")
    base = timezone.now()
    orders = []
    for i in range(23):
        order = Order.objects.create(
            number=f"ORD-KEY-{i:03d}",
            customer=customer,
            currency="EUR",
            subtotal_minor=1000 * (i % 4),  # ties in the total sort
            total_minor=1000 * (i % 4),
            payment_method="tok_visa",
        )
        orders.append(order)
    # Ties in the date sorts too: three orders share each second.
    for i, order in enumerate(orders):
        order.created_at = base - dt.timedelta(seconds=i // 3)
    Order.objects.bulk_update(orders, ["created_at"])
    return orders


def _walk(sort: str, size: int) -> tuple[list[str], list[str]]:
    """Numbers page by page to the end, then back to the first page from the last."""
    orders = selectors.order_list(selectors.OrderFilters(sort=sort))
    pages = [selectors.order_page(orders, sort, size=size)]
    while pages[-1].next_cursor:
        pages.append(selectors.order_page(orders, sort, after=pages[-1].next_cursor, size=size))
    forwards = [o.number for page in pages for o in page.orders]
    back = [pages[-1]]
    while back[-1].previous_cursor:
        back.append(selectors.order_page(orders, sort, before=back[-1].previous_cursor, size=size))
    backwards = [o.number for page in reversed(back) for o in page.orders]
    return forwards, backwards


@pytest.mark.parametrize("sort", ["newest", "oldest", "total", "number"])
def test_pages_cover_every_order_once_in_the_sort_order(many_orders, sort):
    expected = list(
        selectors.order_list(selectors.OrderFilters(sort=sort)).values_list("number", flat=True)
    )
    assert len(expected) == 23

    forwards, backwards = _walk(sort, size=5)

    assert forwards == expected
    assert backwards == expected


def test_first_and_last_pages_have_no_link_beyond_them(many_orders):
    orders = selectors.order_list(selectors.OrderFilters())
    first = selectors.order_page(orders, "newest", size=30)
    assert len(first.orders) == 23 and first.count == 23
    assert first.next_cursor == "" and first.previous_cursor == ""


def test_a_malformed_cursor_shows_the_first_page(many_orders):
    orders = selectors.order_list(selectors.OrderFilters())
    page = selectors.order_page(orders, "newest", after="not~a~cursor~at~all", size=5)
    assert [o.number for o in page.orders] == [
        o.number for o in selectors.order_page(orders, "newest", size=5).orders
    ]


def test_list_page_links_follow_the_cursor(many_orders):
    for i in range(selectors.PAGE_SIZE):  # more than one page
        Order.objects.create(
            number=f"ORD-MORE-{i:03d}",
            customer=many_orders[0].customer,
            currency="EUR",
            subtotal_minor=100,
            total_minor=100,
            payment_method="tok_visa",
        )
    client = Client()
    client.force_login(make_staff("kim"))
    first = client.get(reverse("orders:list"))
    assert first.status_code == 200
    page = first.context["page"]
    assert "after=" in first.content.decode()
    second = client.get(reverse("orders:list"), {"after": page.next_cursor})
    numbers = [row["order"].number for row in second.context["rows"]]
    assert len(numbers) == 23 and not set(numbers) & {o.number for o in page.orders}
    assert "before=" in second.content.decode()
