"""Publishing process messages from domain services (buffered, de-duplicated by message id)."""

from __future__ import annotations

import logging
from typing import Any

from processes import port

logger = logging.getLogger(__name__)

# Buffered messages wait this long for an instance that is not yet listening (out-of-order events).
MESSAGE_TTL_MS = 30 * 24 * 3600 * 1000


def publish_once(
    name: str, correlation_key: str, *, variables: dict[str, Any], message_id: str
) -> None:
    """Publish a buffered process message; the same message id again is a no-op, not an error.

    The engine drops a message whose id is still buffered (Zeebe's ALREADY_EXISTS rejection):
    a sender repeating an answer must not fail its webhook.
    """
    try:
        port.publish_message(
            name, correlation_key, variables=variables, ttl_ms=MESSAGE_TTL_MS, message_id=message_id
        )
    except Exception as error:
        if getattr(error, "rejection_type", "") != "ALREADY_EXISTS":
            raise
        logger.info("Message %s already published; dropped the repeat", message_id)
