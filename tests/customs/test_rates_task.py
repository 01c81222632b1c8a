"""The daily reference-rate refresh: a Celery task on beat's schedule, with the configured
provider (an offline fake here; the network is never reached)."""

from __future__ import annotations

from decimal import Decimal

import pytest
import requests
from celery.schedules import crontab

from config.celery import app, time_limit_problems
from orders.customs import rates
from orders.customs.models import CurrencyRate
from orders.customs.tasks import refresh_currency_rates

from .fakes import FAKE_RATES_DAY, FakeRatesProvider

FAKE = "tests.customs.fakes.FakeRatesProvider"


@pytest.fixture
def offline(settings, monkeypatch):
    settings.CUSTOMS_RATES_PROVIDER = FAKE

    def no_network(*args, **kwargs):
        raise AssertionError("the rate refresh reached the network")

    monkeypatch.setattr(requests, "get", no_network)
    FakeRatesProvider.calls = 0


def entry_of(task: str) -> dict:
    [entry] = [e for e in app.conf.beat_schedule.values() if e["task"] == task]
    return entry


def test_beat_runs_the_refresh_hourly_after_the_ecb_publishes():
    entry = entry_of("customs.refresh_currency_rates")
    schedule = entry["schedule"]
    assert isinstance(schedule, crontab)
    # UTC, after 16:00 CET, hourly until late evening: a run missed by a beat restart is made up
    assert schedule.hour == set(range(15, 24)) and schedule.minute == {30}
    assert schedule.day_of_week == set(range(7))
    assert 0 < entry["options"]["expires"] < 3600  # a stale run is dropped, not queued up


@pytest.mark.django_db
def test_the_task_is_registered_and_within_its_time_limits():
    app.loader.import_default_modules()
    task = app.tasks["customs.refresh_currency_rates"]
    assert task.soft_time_limit < task.time_limit
    assert time_limit_problems(app) == []


@pytest.mark.django_db
def test_the_task_stores_the_configured_providers_rates_once(offline):
    assert isinstance(rates.get_rates_provider(), FakeRatesProvider)
    first = refresh_currency_rates.apply()
    assert first.successful() and first.result == 3
    again = refresh_currency_rates.apply()  # the same day again: nothing duplicated
    assert again.successful() and again.result == 0
    assert FakeRatesProvider.calls == 2
    assert CurrencyRate.objects.count() == 3
    cad = CurrencyRate.objects.get(quote="CAD", rate_date=FAKE_RATES_DAY, source="ecb")
    assert cad.rate == Decimal("1.4730")


@pytest.mark.django_db
def test_a_provider_failure_stores_nothing_and_is_retried(settings, monkeypatch):
    settings.CUSTOMS_RATES_PROVIDER = FAKE

    def down(self):
        raise requests.ConnectionError("provider unreachable")

    monkeypatch.setattr(FakeRatesProvider, "fetch", down)
    result = refresh_currency_rates.apply()
    assert not result.successful() and isinstance(result.result, requests.ConnectionError)
    assert result.state in ("RETRY", "FAILURE")
    assert not CurrencyRate.objects.exists()


def test_the_default_provider_is_the_ecb(settings):
    settings.CUSTOMS_RATES_PROVIDER = "ecb"
    settings.CUSTOMS_RATES_URL = "https://example.invalid/eurofxref-daily.xml"
    provider = rates.get_rates_provider()
    assert isinstance(provider, rates.EcbRatesProvider)
    assert provider.url == "https://example.invalid/eurofxref-daily.xml"
