"""Subscription fixtures: plans, customers with saved cards, the renewal process deployed with
its real job handlers, and the services running on the harness's clock."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from config.roles import MANAGERS, SUPPORT
from orders.models import Customer
from orders.payments import sandbox
from subscriptions import clock, services
from subscriptions.models import Invoice, PaymentMethod, Plan, Subscription
from tests.factories import make_user

BPMN = Path(__file__).resolve().parents[2] / "processes" / "bpmn" / "subscription-renewal.bpmn"

BRANDS = {"tok_mastercard": "mastercard"}


@pytest.fixture(autouse=True)
def sandbox_payments(settings):
    settings.PAYMENT_PROVIDER = "sandbox"
    settings.SUBSCRIPTION_RENEWAL_TIME = "02:00"
    sandbox.reset()


@pytest.fixture
def plan(db) -> Plan:
    return Plan.objects.create(code="coffee-monthly", name="Coffee club", price_minor=1_990)


@pytest.fixture
def trial_plan(db) -> Plan:
    return Plan.objects.create(
        code="video-trial", name="Video plus", price_minor=999, trial_days=14
    )


_n = {"n": 0}


def customer_with_card(token: str = "tok_visa", *, brand: str | None = None) -> Customer:  # noqa: S107
    _n["n"] += 1
    customer = Customer.objects.create(
        email=f"subscriber{_n['n']}@example.com", name=f"Subscriber {_n['n']}", country="DE"
    )
    PaymentMethod.objects.create(
        customer=customer,
        provider_token=token,
        brand=brand or BRANDS.get(token, "visa"),
        last4="4242",
        exp_month=12,
        exp_year=2099,
        is_default=True,
    )
    return customer


def subscribe(plan: Plan, token: str = "tok_visa", **kwargs: Any) -> Subscription:  # noqa: S107
    customer = customer_with_card(token, brand=kwargs.pop("brand", None))
    subscription, _ = services.subscription_create(customer=customer, plan=plan, **kwargs)
    return subscription


@dataclass
class Renewals:
    """The harness with the renewal process deployed and handlers run after each step."""

    process: Any

    def open_due(self, run_date: dt.date | None = None) -> None:
        batch = services.renewals_open_batch(run_date=run_date or clock.today())
        while batch.more:
            batch = services.renewals_open_batch(run_date=run_date or clock.today())
        self.process.run_handlers()

    def later(self, delta: dt.timedelta) -> None:
        self.process.increase_time(delta)
        self.process.run_handlers()

    def invoice(self, subscription: Subscription) -> Invoice:
        return Invoice.objects.filter(subscription=subscription).order_by("-period_start").first()

    def instance(self, subscription: Subscription) -> Any:
        return self.process.instance(self.invoice(subscription).process_instance_key)


@pytest.fixture
def renewals(process, monkeypatch) -> Renewals:
    # The services read the same (moved) clock as the engine's timers.
    monkeypatch.setattr(clock, "now", lambda: process.now)
    process.deploy(BPMN)
    return Renewals(process)


@pytest.fixture
def support(db):
    return make_user("sue", role=SUPPORT)


@pytest.fixture
def manager(db):
    return make_user("mona", role=MANAGERS)
