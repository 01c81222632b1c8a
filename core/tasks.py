"""Celery tasks of the core app."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="core.retry_webhook_events", time_limit=120, ignore_result=True)
def retry_webhook_events_task() -> dict[str, int]:
    """Act again on webhook events that could not be acted on yet (nothing is lost)."""
    from .webhooks import retry_webhook_events

    return retry_webhook_events()
