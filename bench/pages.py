"""Back-office page speed with many orders: prints figures (no assertions).

    python bench/pages.py                 # 100,000 orders on the local PostgreSQL server
    python bench/pages.py --orders 20000  # fewer
    python bench/pages.py --reseed        # drop and fill the bench database again

Fills a throwaway ``orderly_bench_pages`` database (created on the PostgreSQL server of
``BENCH_DATABASE_URL``, default ``postgres://postgres@127.0.0.1:5432/postgres``) with orders,
each with a process instance waiting somewhere (a user task, a message, a job; 1% with an
incident), written in bulk rather than by running the engine 100,000 times. Then it renders the
order list (first page, a deep page reached by its keyset cursor, filters, search) and order
detail pages through Django's test client as a signed-in support user, and prints milliseconds
(median and 95th percentile) and the number of SQL queries per page. ``--db-name`` (or
``BENCH_PAGES_DB``) names another database.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import quote

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

BENCH_DB = os.environ.get("BENCH_PAGES_DB", "orderly_bench_pages")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--reseed", action="store_true")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--db-name", default=BENCH_DB)
    args = parser.parse_args()
    name = args.db_name

    server = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    import psycopg

    with psycopg.connect(server, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and args.reseed:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = server.rsplit("/", 1)[0] + "/" + name
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["ENGINE_CLOCK_CONTROLLED"] = "false"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from orders.demo import load_demo_data

    load_demo_data()
    from orders.models import Order

    have = Order.objects.count()
    if have < args.orders:
        started = time.perf_counter()
        seed(args.orders - have, start=have)
        print(f"seeded {args.orders - have} orders in {time.perf_counter() - started:.1f} s")
    from django.db import connection

    with connection.cursor() as cursor:
        # Bulk-written tables have no planner statistics (nor visibility map) until autovacuum
        # gets to them; a long-running database has both.
        cursor.execute("VACUUM ANALYZE")
    measure(args.repeat)


def seed(count: int, *, start: int) -> None:
    """Orders with process instances in bulk: rows as the engine would have written them."""
    import datetime as dt
    import random

    from django.db import transaction
    from django.utils import timezone

    from orders.models import Customer, Order, OrderHistory
    from processes.engine import service
    from processes.engine.keys import KeyAllocator
    from processes.models import ElementInstance, Incident, Timer, UserTask, Variable

    definition = service.deploy_file(str(REPO / "processes" / "bpmn" / "marketplace-order.bpmn"))[
        0
    ].definition
    model = service.model_of(definition)
    waits = [
        el
        for el in model.elements.values()
        if el.kind in ("userTask", "receiveTask", "serviceTask", "intermediateCatchEvent")
    ]
    customers = list(Customer.objects.all())
    rng = random.Random(7)
    now = timezone.now()
    batch = 2000
    for offset in range(0, count, batch):
        size = min(batch, count - offset)
        keys = KeyAllocator()
        orders, roots, elements, variables, incidents, tasks, timers, history = (
            [] for _ in range(8)
        )
        for i in range(size):
            n = start + offset + i
            created = now - dt.timedelta(minutes=n)
            root_key = keys.next()
            number = f"ORD-BENCH-{n:07d}"
            total = rng.randrange(1_000, 90_000)
            orders.append(
                Order(
                    number=number,
                    customer=customers[n % len(customers)],
                    currency="EUR",
                    subtotal_minor=total,
                    total_minor=total,
                    payment_method="tok_visa",
                    process_instance_key=root_key,
                    metadata={"instance_key": root_key, "process_id": definition.bpmn_process_id},
                )
            )
            roots.append(
                ElementInstance(
                    key=root_key,
                    process_instance_key=root_key,
                    definition=definition,
                    element_id=model.id,
                    element_type="PROCESS",
                    lifecycle="ACTIVATED",
                    state="ACTIVE",
                    started_at=created,
                    business_key=number,
                )
            )
            variables.append(
                Variable(
                    key=keys.next(),
                    scope_key=root_key,
                    process_instance_key=root_key,
                    name="orderNumber",
                    value=number,
                )
            )
            el = waits[n % len(waits)]
            ei_key = keys.next()
            has_incident = n % 100 == 0
            elements.append(
                ElementInstance(
                    key=ei_key,
                    process_instance_key=root_key,
                    definition=definition,
                    element_id=el.id,
                    element_type="USER_TASK" if el.kind == "userTask" else "SERVICE_TASK",
                    scope_key=root_key,
                    lifecycle="ACTIVATED",
                    state="ACTIVE",
                    started_at=created,
                    has_incident=has_incident,
                )
            )
            if has_incident:
                incidents.append(
                    Incident(
                        key=keys.next(),
                        process_instance_key=root_key,
                        element_instance_key=ei_key,
                        definition=definition,
                        element_id=el.id,
                        error_type="JOB_NO_RETRIES",
                        error_message="vendor API down",
                        created_at=created,
                    )
                )
            if el.kind == "userTask":
                tasks.append(
                    UserTask(
                        key=keys.next(),
                        process_instance_key=root_key,
                        element_instance_key=ei_key,
                        definition=definition,
                        element_id=el.id,
                        name=el.name or el.id,
                        candidate_groups=["support"],
                        created_at=created,
                    )
                )
            if n % 7 == 0:
                timers.append(
                    Timer(
                        key=keys.next(),
                        process_instance_key=root_key,
                        element_instance_key=ei_key,
                        definition=definition,
                        element_id=el.id,
                        due_at=now + dt.timedelta(hours=n % 48),
                        kind="duration",
                        spec="PT24H",
                    )
                )
        with transaction.atomic():
            created_orders = Order.objects.bulk_create(orders)
            ElementInstance.objects.bulk_create(roots + elements)
            Variable.objects.bulk_create(variables)
            Incident.objects.bulk_create(incidents)
            UserTask.objects.bulk_create(tasks)
            Timer.objects.bulk_create(timers)
            history = [OrderHistory(order=o, event="order_placed") for o in created_orders]
            OrderHistory.objects.bulk_create(history)
        print(f"  {start + offset + size} orders", flush=True)


def measure(repeat: int) -> None:
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from orders.models import Order

    client = Client()
    assert client.login(username="sam", password="demo-support-pass")
    from orders import selectors

    total = Order.objects.count()
    deep_page = max(total // 25 - 10, 1)
    sample = Order.objects.order_by("-created_at").values_list("number", flat=True)[:repeat]

    def deep(sort: str) -> str:
        """The link to page ``deep_page`` of ``sort`` (keyset: the row before that page)."""
        fields = selectors.ORDER_SORTS[sort]
        before = Order.objects.order_by(*fields)[(deep_page - 1) * 25 - 1]
        return f"/orders/?sort={sort}&after={quote(selectors.cursor_of(before, sort))}"

    pages = {
        "list, first page": ["/orders/"],
        f"list, page {deep_page}": [deep("newest")],
        "list, by total, first page": ["/orders/?sort=total"],
        f"list, by total, page {deep_page}": [deep("total")],
        "list, status filter": ["/orders/?status=received"],
        "list, waiting-at filter": ["/orders/?waiting_at=" + waiting_element()],
        "list, has incident": ["/orders/?has_incident=1"],
        "list, search by number": ["/orders/?q=ORD-BENCH-0012345"],
        "list, search by customer": ["/orders/?q=lena"],
        "detail": [f"/orders/{number}/" for number in sample],
        "detail, htmx workflow refresh": [f"/orders/{number}/" for number in sample],
    }
    print(f"\n{total} orders; {repeat} requests per page (PostgreSQL)\n")
    print(f"{'page':32} {'median ms':>10} {'p95 ms':>8} {'queries':>8}")
    for label, urls in pages.items():
        headers = {"HX-Request": "true"} if "htmx" in label else {}
        times, queries = [], 0
        client.get(urls[0], headers=headers)  # warm caches (parsed models, templates)
        for i in range(repeat):
            url = urls[i % len(urls)]
            reset_queries()
            with CaptureQueriesContext(connection) as ctx:
                started = time.perf_counter()
                response = client.get(url, headers=headers)
                times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (url, response.status_code)
            queries = len(ctx.captured_queries)
        times.sort()
        p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
        print(f"{label:32} {statistics.median(times):10.1f} {p95:8.1f} {queries:8d}")


def waiting_element() -> str:
    from processes.models import ElementInstance

    row = (
        ElementInstance.objects.filter(state="ACTIVE")
        .exclude(element_type="PROCESS")
        .values_list("element_id", flat=True)
        .first()
    )
    return row or ""


if __name__ == "__main__":
    main()
