"""Schemathesis over ``/api/schema/`` against a live server: every operation, no 5xx, and every
answer as documented (status code, content type, headers, body schema), with token
authentication and signed webhooks (``schemathesis_hooks``).

``make schemathesis`` runs this test alone; ``make test`` runs it with the suite. Bounded by
``SCHEMATHESIS_MAX_EXAMPLES`` per operation (default 8) to keep it to a minute or two.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token

from tests.factories import make_user
from tests.vendors.factories import ProductFactory, VendorFactory

pytestmark = [pytest.mark.schemathesis, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[3]
ST = Path(sys.executable).with_name("st")
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
    ]
)


@pytest.fixture
def fuzz_target(live_server, settings):
    from processes.engine import service

    senders = {
        "vendors": ["acme", "acme-secret"],
        "carriers": ["dhl", "dhl-secret"],
        "returns": ["warehouse", "warehouse-secret"],
    }
    settings.CARRIER_WEBHOOK_SECRETS = {"dhl": "dhl-secret"}
    settings.RETURN_WEBHOOK_SECRETS = {"warehouse": "warehouse-secret"}
    settings.ENGINE_CLOCK_CONTROLLED = True
    vendor = VendorFactory(handle="acme", callback_secret="acme-secret")
    ProductFactory(vendor=vendor, sku="SKU-1")
    # One principal for every family: superuser (engine API, orders, returns) and acme's user.
    user = make_user("fuzzer", vendor=vendor)
    User.objects.filter(pk=user.pk).update(is_superuser=True, is_staff=True)
    token = Token.objects.create(user=user)
    yield live_server.url, token.key, senders
    service.reset_clock()


def test_schema_and_answers_agree(fuzz_target, tmp_path):
    url, token, senders = fuzz_target
    examples = os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "8")
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "SCHEMATHESIS_HOOKS": "tests.processes.api.schemathesis_hooks",
        "ORDERLY_WEBHOOK_SENDERS": json.dumps(senders),
    }
    command = [
        str(ST),
        "run",
        f"{url}/api/schema/",
        "--url",
        url,
        "-H",
        f"Authorization: Token {token}",
        "--checks",
        CHECKS,
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        examples,
        "--workers",
        "1",
        "--seed",
        "14",
        "--generation-database",
        "none",
        "--request-timeout",
        "20",
        "--no-color",
        "--report-dir",
        str(tmp_path),
    ]
    result = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-12000:]
    assert "No issues found" in output or "passed" in output, output[-4000:]
