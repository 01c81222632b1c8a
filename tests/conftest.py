"""Shared fixtures. Services that CI provides (PostgreSQL, Redis, Chromium) are required there."""

from __future__ import annotations

import os

import pytest

# The process test harness (``process`` fixture) for every test folder.
pytest_plugins = ["processes.testing.fixtures"]

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def pytest_configure(config: pytest.Config) -> None:
    """The test process itself connects without psycopg's pool (before any connection opens).

    Celery workers started inside the test process (``start_worker``) close the test thread's
    connection, and the next query on a pooled connection then never returns. The pool is
    tested against a real server process in ``tests/config/test_database_pool.py``.
    """
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database.get("OPTIONS", {}).pop("pool", None) is not None:
        database["CONN_MAX_AGE"] = 0


def require_service(env_var: str, what: str) -> str:
    """The service URL from the environment; skipped locally when unset, a failure in CI."""
    value = os.environ.get(env_var, "")
    if not value:
        if IN_CI:
            pytest.fail(f"{what} is required in CI but {env_var} is not set")
        pytest.skip(f"{env_var} not set: {what} tests run in CI")
    return value


# Tests with these marks need a service CI provides: there a skip of theirs is a failure.
CI_SERVICE_MARKS = ("postgres", "redis", "browser")


def ci_failure_for_skip(marks: set[str], reason: str, *, in_ci: bool = IN_CI) -> str | None:
    """Why a skipped test fails instead (in CI, with a service mark), or None (skip stands)."""
    needed = [mark for mark in CI_SERVICE_MARKS if mark in marks]
    if not in_ci or not needed:
        return None
    return f"skipped in CI, which provides {', '.join(needed)}: {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    outcome = yield
    report = outcome.get_result()
    if not report.skipped or hasattr(report, "wasxfail"):
        return
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    failure = ci_failure_for_skip({mark.name for mark in item.iter_markers()}, reason)
    if failure:
        report.outcome = "failed"
        report.longrepr = failure


@pytest.fixture
def redis_url() -> str:
    url = require_service("CELERY_BROKER_URL", "Redis")
    if not url.startswith("redis"):
        if IN_CI:
            pytest.fail(f"Redis is required in CI but CELERY_BROKER_URL is {url!r}")
        pytest.skip("broker is not Redis")
    return url


@pytest.fixture
def demo_data(db):
    from orders.demo import load_demo_data

    load_demo_data()


@pytest.fixture(autouse=True)
def fast_password_hashing(request):
    """Real hashing costs ~0.3 s per password; tests only need it to work."""
    if request.config.pluginmanager.hasplugin("django"):
        settings = request.getfixturevalue("settings")
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
        # Failed jobs are offered again at once; tests that need a back-off set one.
        settings.PROCESS_JOB_RETRY_BACKOFF_MS = 0


@pytest.fixture(scope="session", autouse=True)
def close_stray_connections(django_db_setup, django_db_blocker):
    """Threads of worker tests may leave connections open; close them so the test DB drops."""
    yield
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
