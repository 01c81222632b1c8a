"""Payment providers behind one port; ``get_provider()`` returns the configured one.

Setting ``PAYMENT_PROVIDER`` (environment): ``sandbox`` (default, no network) or ``stripe``
(needs ``STRIPE_API_KEY``). A Django setting of the same name wins over the environment.
"""

from __future__ import annotations

import os

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .base import (
    OffSessionChargeResult,
    PaymentDeclined,
    PaymentError,
    PaymentProvider,
    ProviderResult,
    RetryablePaymentError,
)

__all__ = [
    "OffSessionChargeResult",
    "PaymentDeclined",
    "PaymentError",
    "PaymentProvider",
    "ProviderResult",
    "RetryablePaymentError",
    "get_provider",
]


def get_provider() -> PaymentProvider:
    """The provider named by the ``PAYMENT_PROVIDER`` setting."""
    name = getattr(settings, "PAYMENT_PROVIDER", "") or os.environ.get(
        "PAYMENT_PROVIDER", "sandbox"
    )
    if name == "sandbox":
        from .sandbox import SandboxProvider

        return SandboxProvider()
    if name == "stripe":
        api_key = getattr(settings, "STRIPE_API_KEY", "") or os.environ.get("STRIPE_API_KEY", "")
        if not api_key:
            raise ImproperlyConfigured("PAYMENT_PROVIDER=stripe needs STRIPE_API_KEY.")
        from .stripe_provider import StripeProvider

        return StripeProvider(api_key)
    raise ImproperlyConfigured(f"Unknown PAYMENT_PROVIDER {name!r} (use sandbox or stripe).")
