"""Daily subscription renewals at volume: prints figures (no assertions).

    python bench/renewals.py                      # 50,000 due subscriptions on PostgreSQL
    python bench/renewals.py -n 2000 --soft 0.1 --hard 0.02 --threads 4
    python bench/renewals.py --processes 2 --threads 4   # two OS processes, a pool in each
    python bench/renewals.py --until first-attempts      # stop when every first attempt is done

N subscriptions are due today in a fresh ``orderly_bench_renewals`` database (``--db-name``;
dropped, created and migrated per run; ``BENCH_POSTGRES_URL`` names another server's maintenance
database), with sandbox cards: a share ``--soft`` declines softly (insufficient funds),
``--hard`` declines for good (lost card), the rest pays. The subscription-renewal process is
deployed, its daily start timer is made due, and the in-process ``WorkerPool`` (what ``make
run`` starts) runs everything: the daily instance opens the invoices in batches and starts one
renewal instance per subscription; renewal instances charge, e-mail, extend periods or start
dunning.

Printed: the time from the daily timer firing to every first payment attempt done, renewals/s
over that time, when the last renewal instance was started, when every instance was at rest
(paid and closed, or waiting in dunning), jobs by type, and the counts that show no subscription
was skipped and none was charged twice.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PG_BENCH_DB = os.environ.get("BENCH_DB", "orderly_bench_renewals")


def seed(n: int, soft: float, hard: float) -> dt.date:
    """N due subscriptions with their customers and cards, written in bulk."""
    from django.db import connection

    from orders.models import Customer
    from subscriptions.models import PaymentMethod, Plan, Subscription

    today = dt.datetime.now(dt.UTC).date()
    plan = Plan.objects.create(code="bench-monthly", name="Bench monthly", price_minor=1_990)
    n_soft, n_hard = round(n * soft), round(n * hard)
    chunk = 5_000
    for start in range(0, n, chunk):
        numbers = range(start, min(n, start + chunk))
        customers = Customer.objects.bulk_create(
            Customer(email=f"bench{i}@example.com", name=f"Bench {i}", country="DE")
            for i in numbers
        )
        cards = []
        for i, customer in zip(numbers, customers, strict=True):
            token = (
                "tok_chargeDeclinedInsufficientFunds"
                if i < n_soft
                else "tok_chargeDeclinedLostCard"
                if i < n_soft + n_hard
                else "tok_visa"
            )
            brand = "mastercard" if i % 3 == 0 else "visa"
            cards.append(
                PaymentMethod(
                    customer=customer,
                    provider_token=token,
                    brand=brand,
                    last4=f"{i % 10_000:04d}",
                    exp_month=12,
                    exp_year=today.year + 3,
                    is_default=True,
                )
            )
        cards = PaymentMethod.objects.bulk_create(cards)
        Subscription.objects.bulk_create(
            Subscription(
                number=f"SUB-B{i:07d}",
                customer=card.customer,
                plan=plan,
                payment_method=card,
                status=Subscription.S.ACTIVE,
                current_period_start=today - dt.timedelta(days=30),
                current_period_end=today,
                next_billing_date=today,
            )
            for i, card in zip(numbers, cards, strict=True)
        )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return today


def measure(
    n: int, soft: float, hard: float, threads: int, timeout_s: int, *, until_rest: bool = True
) -> dict[str, object]:
    from django.db import connection
    from django.db.models import Count

    from processes import port
    from processes.models import Job, Record, Timer
    from processes.workers import WorkerPool
    from subscriptions.models import Invoice, PaymentAttempt, Subscription

    seed_started = time.monotonic()
    today = seed(n, soft, hard)
    seeded_s = time.monotonic() - seed_started
    port.deploy_all()
    pool = WorkerPool(threads, name="bench").start()
    first = PaymentAttempt.objects.filter(attempt_number=1).exclude(outcome="pending")
    try:
        # The daily timer fires now instead of at midnight (the run's time of day is 00:00).
        fired_at = dt.datetime.now(dt.UTC)
        Timer.objects.filter(process_instance_key__isnull=True, element_id="Start_daily").update(
            due_at=fired_at
        )
        t0 = time.monotonic()
        deadline = t0 + timeout_s
        first_done_s = rest_s = None
        while time.monotonic() < deadline:
            time.sleep(0.5)
            if first_done_s is None and first.count() >= n:
                first_done_s = time.monotonic() - t0
                if not until_rest:
                    break
            if first_done_s is not None:
                busy = Job.objects.filter(state__in=("ACTIVATABLE", "ACTIVATED")).exists()
                if not busy:
                    rest_s = time.monotonic() - t0
                    break
    finally:
        pool.stop()
    opened = Invoice.objects.filter(process_instance_key__isnull=False)
    last_started = opened.order_by("-created_at").values_list("created_at", flat=True).first()
    per_invoice = (
        PaymentAttempt.objects.values("invoice", "attempt_number")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .count()
    )
    paid_twice = (
        PaymentAttempt.objects.filter(outcome="succeeded")
        .values("invoice")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .count()
    )
    jobs = {
        str(row["detail__type"]): row["n"]
        for row in Record.objects.filter(value_type="JOB", intent="COMPLETED")
        .values("detail__type")
        .annotate(n=Count("key"))
    }
    elapsed = first_done_s or (time.monotonic() - t0)
    return {
        "database": connection.vendor,
        "due": n,
        "threads": threads,
        "seed_s": round(seeded_s, 1),
        "first_attempts_done_s": round(first_done_s, 1) if first_done_s else None,
        "renewals_per_s": round(first.count() / elapsed, 1),
        "last_instance_started_s": (
            round((last_started - fired_at).total_seconds(), 1) if last_started else None
        ),
        "at_rest_s": round(rest_s, 1) if rest_s else None,
        "invoices": Invoice.objects.count(),
        "invoices_for_today": Invoice.objects.filter(period_start=today).count(),
        "skipped": Subscription.objects.exclude(invoices__period_start=today).count(),
        "first_attempts": first.count(),
        "attempt_numbers_repeated": per_invoice,
        "invoices_paid_twice": paid_twice,
        "paid": Invoice.objects.filter(status="paid").count(),
        "in_dunning": Subscription.objects.filter(status="past_due").count(),
        "jobs": jobs,
    }


def child(args: argparse.Namespace) -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    # --processes N: N - 1 more OS processes, each with its own in-process pool on this database
    # (as N web processes of `make run` would run), beside the one in this process.
    extra = [
        subprocess.Popen(  # noqa: S603
            [sys.executable, __file__, "--pool-worker", "--threads", str(args.threads)],
            env=os.environ.copy(),
        )
        for _ in range(args.processes - 1)
    ]
    try:
        result = measure(
            args.n,
            args.soft,
            args.hard,
            args.threads,
            args.timeout,
            until_rest=args.until == "rest",
        )
    finally:
        for process in extra:
            process.terminate()
        for process in extra:
            process.wait(60)
    result["processes"] = args.processes
    print(
        f"# {result['due']} due on {result['database']}, {args.processes} process(es) x "
        f"{result['threads']} worker threads: "
        f"first attempts done {result['first_attempts_done_s']} s after the timer "
        f"({result['renewals_per_s']} renewals/s); last instance started at "
        f"{result['last_instance_started_s']} s; "
        + (
            f"all at rest at {result['at_rest_s']} s; "
            if args.until == "rest"
            else "(stopped at the first attempts, rest not awaited); "
        )
        + f"invoices {result['invoices_for_today']}, skipped {result['skipped']}, first attempts "
        f"{result['first_attempts']}, repeated attempt numbers "
        f"{result['attempt_numbers_repeated']}, paid twice {result['invoices_paid_twice']}; "
        f"paid {result['paid']}, in dunning {result['in_dunning']} (seeding {result['seed_s']} s)",
        flush=True,
    )
    print(json.dumps(result), flush=True)


def pool_worker(args: argparse.Namespace) -> None:
    """One more OS process running an in-process ``WorkerPool`` until it is terminated."""
    import signal
    import threading

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from processes.workers import WorkerPool

    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    pool = WorkerPool(args.threads, name=f"bench-{os.getpid()}").start()
    try:
        stopped.wait()
    finally:
        pool.stop()


def database_url(database: str, folder: Path, name: str) -> str:
    if database == "sqlite":
        return f"sqlite:///{folder / 'bench-renewals.sqlite3'}"
    import psycopg

    base = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return base.rsplit("/", 1)[0] + f"/{name}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=50_000, help="due subscriptions (50,000)")
    parser.add_argument("--soft", type=float, default=0.10, help="share of soft declines")
    parser.add_argument("--hard", type=float, default=0.02, help="share of hard declines")
    parser.add_argument("--threads", type=int, default=4, help="in-process worker threads")
    parser.add_argument("--batch", type=int, default=500, help="subscriptions per batch job")
    parser.add_argument("--database", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument(
        "--db-name",
        default=PG_BENCH_DB,
        help="PostgreSQL database to drop, create and use (BENCH_DB; orderly_bench_renewals)",
    )
    parser.add_argument("--timeout", type=int, default=1800, help="give up after (seconds)")
    parser.add_argument(
        "--processes", type=int, default=1, help="OS processes with an in-process pool each"
    )
    parser.add_argument(
        "--until",
        choices=("rest", "first-attempts"),
        default="rest",
        help="stop once every instance is at rest (default) or once every first attempt is done",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--pool-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.pool_worker:
        pool_worker(args)
        return
    if args.child:
        child(args)
        return
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        env = {
            **os.environ,
            "DATABASE_URL": database_url(args.database, Path(folder), args.db_name),
            "INPROCESS_WORKERS": "0",
            "CELERY_BROKER_URL": "",
            "SUBSCRIPTION_RENEWAL_TIME": "00:00",
            "SUBSCRIPTION_RENEWAL_BATCH": str(args.batch),
            "PAYMENT_PROVIDER": "sandbox",
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
            "DEBUG": "0",
            "SECRET_KEY": "bench-only",
            "PYTHONPATH": str(REPO),
        }
        command = [sys.executable, __file__, "--child", *sys.argv[1:]]
        subprocess.run(command, env=env, check=True)  # noqa: S603


if __name__ == "__main__":
    main()
