"""Placing a paid order and sending signed webhooks in tests."""

from __future__ import annotations

import json

from core.webhooks import SIGNATURE_HEADER, sign
from orders import services
from orders.services import CustomerInput, LineInput

LINES = [
    LineInput("acme-audio", "AA-HP-100", 1),
    LineInput("bolt-bikes", "BB-HLM-M", 1),
]


def place_paid_order(deployed, lines=None):
    order = services.order_place(
        customer=CustomerInput(email="lena@example.com", name="Lena", country="DE"),
        currency="EUR",
        lines=lines or LINES,
        payment_method="tok_visa",
    )
    deployed.run_handlers()
    order.refresh_from_db()
    return order


def post_signed(client, url, body, secret, *, timestamp=None, raw=None):
    data = raw if raw is not None else json.dumps(body).encode()
    return client.generic(
        "POST",
        url,
        data,
        content_type="application/json",
        headers={SIGNATURE_HEADER: sign(data, secret, timestamp)},
    )
