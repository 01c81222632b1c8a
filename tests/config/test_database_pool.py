"""On PostgreSQL the server draws its connections from a bounded pool (DATABASE_POOL_MAX_SIZE).

A real ``manage.py serve`` (threaded web server plus in-process workers, as ``make run``) gets a
burst of concurrent API requests; the connections it holds, counted in ``pg_stat_activity`` by
its application name, never exceed the pool size.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from django.contrib.auth.models import User
from django.db import connection
from rest_framework.authtoken.models import Token

from tests.conftest import require_service
from tests.subprocesses import free_port

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

REPO = Path(__file__).resolve().parents[2]
POOL_SIZE = 3


def database_settings(**env: str) -> dict:
    code = (
        "import json, django; django.setup(); from django.conf import settings; "
        "print(json.dumps(settings.DATABASES['default'], default=str))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO, env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return json.loads(result.stdout)


def test_postgres_settings_use_a_bounded_pool_without_persistent_connections():
    database = database_settings(
        DATABASE_URL="postgres://u@db.example:5432/shop", DATABASE_POOL_MAX_SIZE="7"
    )
    assert database["CONN_MAX_AGE"] == 0
    assert database["OPTIONS"]["pool"]["max_size"] == 7
    assert database["OPTIONS"]["pool"]["min_size"] <= 7


def test_pool_size_zero_turns_the_pool_off():
    database = database_settings(
        DATABASE_URL="postgres://u@db.example:5432/shop", DATABASE_POOL_MAX_SIZE="0"
    )
    assert "pool" not in database.get("OPTIONS", {})


def test_a_burst_of_requests_holds_at_most_the_pool_size_of_connections():
    require_service("DATABASE_URL", "PostgreSQL")
    assert connection.vendor == "postgresql"
    # given a server on this test's database with a pool of three connections
    user = User.objects.create_superuser("pool-probe", "pool@example.com", "unused-password")
    token = Token.objects.create(user=user).key
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    app_name = f"orderly-pool-{uuid.uuid4().hex[:8]}"
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/"
        f"{db['NAME']}",
        "DATABASE_POOL_MAX_SIZE": str(POOL_SIZE),
        "PGAPPNAME": app_name,  # libpq names every connection the server opens
        "CELERY_BROKER_URL": "",
        "INPROCESS_WORKERS": "1",
        "SIMULATOR": "off",
        "LOG_LEVEL": "WARNING",
    }
    server = subprocess.Popen(
        [sys.executable, "manage.py", "serve", f"127.0.0.1:{port}", "--workers", "2"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/v2/process-instances/search"
    headers = {"Authorization": f"Token {token}"}
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.post(url, json={}, headers=headers, timeout=5)
                break
            except requests.ConnectionError:
                assert server.poll() is None, server.communicate()[1]
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)

        def held() -> int:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [app_name]
                )
                return cursor.fetchone()[0]

        # when ten clients send 100 requests at once (more than the pool, within the backlog of
        # the development server's listening socket)
        with ThreadPoolExecutor(10) as clients:
            answers = [
                clients.submit(requests.post, url, json={}, headers=headers, timeout=60)
                for _ in range(100)
            ]
            samples = []
            while not all(answer.done() for answer in answers):
                samples.append(held())
                time.sleep(0.01)
            statuses = [answer.result().status_code for answer in answers]
    finally:
        server.terminate()
        server.wait(15)
    # then every request was answered, with never more connections than the pool allows
    assert statuses == [200] * len(statuses)
    assert samples, "no sample taken during the burst"
    assert 1 <= max(samples) <= POOL_SIZE
