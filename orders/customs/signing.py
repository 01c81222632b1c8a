"""Webhook secrets for customs brokers and international carriers (same signature scheme as the
vendor and carrier webhooks: ``X-Orderly-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>``).

``CUSTOMS_BROKER_SECRETS`` / ``CUSTOMS_CARRIER_SECRETS``: dict settings that ``config.settings``
reads from the environment once (``"sandbox=<secret>,acme=<secret>"``). With ``DEBUG`` on and
nothing configured the sandbox sender uses a local-only secret, so that the demo simulator works
out of the box.
"""

from __future__ import annotations

from django.conf import settings

from core.webhooks import setting_secret

DEV_SECRET = "dev-customs-secret"  # noqa: S105 (local development only, DEBUG on)


def _secret(name: str, sender: str) -> str | None:
    if getattr(settings, name, None):
        return setting_secret(name, sender.lower())
    return DEV_SECRET if settings.DEBUG and sender.lower() == "sandbox" else None


def broker_secret(broker: str) -> str | None:
    return _secret("CUSTOMS_BROKER_SECRETS", broker)


def carrier_secret(carrier: str) -> str | None:
    return _secret("CUSTOMS_CARRIER_SECRETS", carrier)
