"""Webhook secrets for customs brokers and international carriers (same signature scheme as the
vendor and carrier webhooks: ``X-Orderly-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>``).

``CUSTOMS_BROKER_SECRETS`` / ``CUSTOMS_CARRIER_SECRETS``: ``"sandbox=<secret>,acme=<secret>"`` in
the environment, or a dict setting of that name. With ``DEBUG`` on and nothing configured the
sandbox sender uses a local-only secret so that the demo simulator works out of the box.
"""

from __future__ import annotations

import os

from django.conf import settings

DEV_SECRET = "dev-customs-secret"  # noqa: S105 (local development only, DEBUG on)


def _configured(name: str) -> dict[str, str]:
    configured = getattr(settings, name, None)
    if isinstance(configured, dict):
        return {str(k).lower(): str(v) for k, v in configured.items()}
    raw = configured if isinstance(configured, str) else os.environ.get(name, "")
    found: dict[str, str] = {}
    for item in (raw or "").split(","):
        sender, _, secret = item.strip().partition("=")
        if sender and secret:
            found[sender.strip().lower()] = secret.strip()
    return found


def _secret(name: str, sender: str) -> str | None:
    found = _configured(name)
    if found:
        return found.get(sender.lower())
    return DEV_SECRET if settings.DEBUG and sender.lower() == "sandbox" else None


def broker_secret(broker: str) -> str | None:
    return _secret("CUSTOMS_BROKER_SECRETS", broker)


def carrier_secret(carrier: str) -> str | None:
    return _secret("CUSTOMS_CARRIER_SECRETS", carrier)
