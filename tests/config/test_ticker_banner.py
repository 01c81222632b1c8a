"""Staff pages warn when no engine ticker has run recently (timers would never fire)."""

from __future__ import annotations

import time

import pytest
from django.core.cache import caches
from django.urls import reverse

from processes import heartbeat
from tests.config.test_pages import signed_in

pytestmark = pytest.mark.django_db

BANNER = b"Timers are not running"


@pytest.fixture
def no_heartbeat():
    caches[heartbeat.CACHE].delete(heartbeat.KEY)
    yield
    caches[heartbeat.CACHE].delete(heartbeat.KEY)


def test_staff_see_the_warning_when_no_ticker_ever_ran(demo_data, no_heartbeat):
    response = signed_in("sam").get(reverse("home"))
    assert response.status_code == 200
    assert BANNER in response.content
    assert b"celery -A config worker -B" in response.content


def test_staff_see_the_warning_when_the_last_tick_is_old(demo_data, no_heartbeat):
    heartbeat.record_tick(time.time() - heartbeat.STALE_AFTER_S - 5)
    response = signed_in("maya").get(reverse("home"))
    assert BANNER in response.content
    assert b"last ran" in response.content


def test_no_warning_after_a_recent_tick(demo_data, no_heartbeat):
    heartbeat.record_tick()
    response = signed_in("sam").get(reverse("home"))
    assert response.status_code == 200
    assert BANNER not in response.content


def test_vendor_users_do_not_see_the_warning(demo_data, no_heartbeat):
    response = signed_in("acme").get(reverse("vendor_portal:home"))
    assert response.status_code == 200
    assert BANNER not in response.content


def test_the_celery_tick_records_a_heartbeat(no_heartbeat):
    from processes import tasks

    assert heartbeat.last_tick() is None
    tasks.tick()
    last = heartbeat.last_tick()
    assert last is not None
    assert time.time() - last < 5
    assert heartbeat.ticker_warning() == ""
