"""The marketplace fixtures of ``tests/orders`` serve the vendor tests too."""

from __future__ import annotations

from tests.orders.conftest import (  # noqa: F401
    acme_user,
    bolt_user,
    clean_sandbox,
    deployed,
    market,
    process,
    sandbox_payments,
    staff,
)
