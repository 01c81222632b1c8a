"""In CI a test that needs PostgreSQL, Redis or a browser fails instead of skipping."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ci_failure_for_skip

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("mark", ["postgres", "redis", "browser"])
def test_a_skipped_service_test_fails_in_ci(mark):
    failure = ci_failure_for_skip({mark, "django_db"}, "not set", in_ci=True)
    assert failure is not None
    assert mark in failure


def test_a_skip_stands_outside_ci_or_without_a_service_mark():
    assert ci_failure_for_skip({"redis"}, "not set", in_ci=False) is None
    assert ci_failure_for_skip({"django_db"}, "shared data absent", in_ci=True) is None


def test_redis_test_without_a_broker_fails_under_ci():
    # A real pytest run of a Redis test with CI=true and no broker configured.
    env = {k: v for k, v in os.environ.items() if k not in {"CELERY_BROKER_URL", "DATABASE_URL"}}
    env["CI"] = "true"
    result = subprocess.run(
        [
            sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
            "tests/config/test_celery.py::test_task_round_trip_through_a_real_worker_on_redis",
        ],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Redis is required in CI" in result.stdout
