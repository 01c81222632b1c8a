"""Schemathesis hooks (``SCHEMATHESIS_HOOKS``): signed webhooks reach their handlers.

Webhook operations get a known sender as their path parameter and a signature over the exact
body sent (``X-Orderly-Signature: t=<unix>,v1=<HMAC-SHA256 of "<t>.<body>">``, the format
``core.webhooks`` documents), so that fuzzed bodies are judged on their content, not refused
for a missing signature. ``ORDERLY_WEBHOOK_SENDERS`` is a JSON object: path segment (vendors,
carriers, returns) -> [sender, secret].
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
from typing import Any

import schemathesis

SENDERS: dict[str, list[str]] = json.loads(os.environ.get("ORDERLY_WEBHOOK_SENDERS", "{}"))
PARAMETER = {"vendors": "handle", "carriers": "carrier", "returns": "source"}


class Signer:
    """A ``requests`` auth callable: signs the prepared body with the sender's secret."""

    def __init__(self, secret: str) -> None:
        self.secret = secret

    def __call__(self, prepared: Any) -> Any:
        body = prepared.body or b""
        if isinstance(body, str):
            body = body.encode()
        t = int(time.time())
        mac = hmac.new(self.secret.encode(), f"{t}.".encode() + body, hashlib.sha256)
        prepared.headers["X-Orderly-Signature"] = f"t={t},v1={mac.hexdigest()}"
        return prepared


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    path = case.operation.path
    if not path.startswith("/api/webhooks/"):
        return
    kind = path.split("/")[3]
    if kind not in SENDERS:
        return
    sender, secret = SENDERS[kind]
    case.path_parameters = {**(case.path_parameters or {}), PARAMETER[kind]: sender}
    kwargs["auth"] = Signer(secret)
