"""Demo subscriptions: plans, subscribers with saved cards (some failing), and today's renewals.

Dunning is made visible in minutes by a demo dunning schedule (retries 2, 3 and 5 minutes
apart, a 10-minute grace period after a hard decline) stored as a newer schedule row of the demo
database only; the default schedule (3, 7, 14 days) is untouched. Safe to run again: keyed on
customers' e-mails and idempotency keys, and opening today's renewals is idempotent.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from orders.models import Customer
from vendors.models import Vendor

from . import clock, services
from .models import DunningSchedule, PaymentMethod, Plan

DEMO_PLANS = [
    # code, name, price, interval, count, trial days, vendor handle
    ("coffee-club", "Coffee club", 1_990, "month", 1, 0, None),
    ("video-plus", "Video plus", 999, "month", 1, 14, None),
    ("bike-service", "Bike service plan", 4_900, "year", 1, 0, "bolt-bikes"),
    ("weekly-box", "Weekly veggie box", 2_450, "week", 1, 0, None),
]

# Subscriber e-mail, name, country, card token, brand, last 4, plan code.
DEMO_SUBSCRIBERS = [
    ("lena@example.com", "Lena Fischer", "DE", "tok_visa", "visa", "4242", "coffee-club"),
    ("tom@example.com", "Tom Baker", "GB", "tok_mastercard", "mastercard", "4444", "weekly-box"),
    ("ana@example.com", "Ana Souza", "PT", "tok_chargeDeclinedInsufficientFunds", "visa",
     "9995", "coffee-club"),
    ("kenji@example.com", "Kenji Sato", "JP", "tok_chargeDeclined", "mastercard", "0002",
     "weekly-box"),
    ("mia@example.com", "Mia Wong", "US", "tok_chargeDeclinedLostCard", "visa", "9987",
     "bike-service"),
    ("olivier@example.com", "Olivier Martin", "FR", "tok_visa", "visa", "1881", "video-plus"),
    ("rosa@example.com", "Rosa Diaz", "ES", "tok_chargeDeclinedExpiredCard", "visa", "0069",
     "coffee-club"),
]  # fmt: skip

DEMO_SCHEDULE_NOTE = "Demo: minutes instead of days, so dunning moves while you watch"


@transaction.atomic
def _load_rows() -> dict[str, int]:
    vendors = {v.handle: v for v in Vendor.objects.all()}
    plans = {}
    for code, name, price, interval, count, trial, vendor in DEMO_PLANS:
        plans[code], _ = Plan.objects.update_or_create(
            code=code,
            defaults={
                "name": name,
                "price_minor": price,
                "interval": interval,
                "interval_count": count,
                "trial_days": trial,
                "vendor": vendors.get(vendor) if vendor else None,
            },
        )
    if not DunningSchedule.objects.filter(note=DEMO_SCHEDULE_NOTE).exists():
        DunningSchedule.objects.create(
            effective_from=clock.now() - dt.timedelta(seconds=1),
            retry_intervals=["PT2M", "PT3M", "PT5M"],
            hard_decline_grace="PT10M",
            note=DEMO_SCHEDULE_NOTE,
        )
    created = 0
    for email, name, country, token, brand, last4, plan_code in DEMO_SUBSCRIBERS:
        customer, _ = Customer.objects.get_or_create(
            email=email, defaults={"name": name, "country": country}
        )
        if not PaymentMethod.objects.filter(customer=customer).exists():
            PaymentMethod.objects.create(
                customer=customer,
                provider_token=token,
                brand=brand,
                last4=last4,
                exp_month=12,
                exp_year=clock.today().year + 3,
                is_default=True,
            )
        _sub, new = services.subscription_create(
            customer=customer, plan=plans[plan_code], idempotency_key=f"demo-{plan_code}"
        )
        created += new
    return {"plans": len(plans), "subscriptions": created}


def load_subscription_demo(*, open_renewals: bool = True) -> dict[str, int]:
    """Plans and subscribers; then today's renewals are opened so dunning starts at once."""
    counts = _load_rows()
    started = 0
    if open_renewals:
        from processes import port

        port.deploy_all()
        batch = services.renewals_open_batch(run_date=clock.today())
        started = batch.started
        while batch.more:
            batch = services.renewals_open_batch(run_date=clock.today())
            started += batch.started
    counts["renewals_started"] = started
    return counts
