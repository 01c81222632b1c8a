"""Celery tasks of the customs package (imported by ``customs_ready``, so every worker has them).

``config/celery.py`` schedules them on beat: the daily reference-rate refresh and the sweep that
starts the process of shipments whose start after commit did not happen.
"""

from __future__ import annotations

import requests
from celery import shared_task


@shared_task(
    name="customs.refresh_currency_rates",
    time_limit=120,
    soft_time_limit=100,
    ignore_result=True,
    # The provider is down or slow: try again later the same day (the rows are idempotent).
    autoretry_for=(requests.RequestException,),
    retry_backoff=300,
    retry_backoff_max=3600,
    max_retries=5,
)
def refresh_currency_rates() -> int:
    """Store the configured provider's latest reference rates; returns how many were new."""
    from .rates import rates_refresh

    return rates_refresh()


@shared_task(
    name="customs.start_waiting_shipment_processes",
    time_limit=120,
    soft_time_limit=100,
    ignore_result=True,
)
def start_waiting_shipment_processes() -> int:
    """Start the process of shipments whose start after commit failed or never ran."""
    from .services import shipment_process_starts_retry

    return shipment_process_starts_retry()
