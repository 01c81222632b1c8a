"""Wiring of the customs package into the orders app (called from ``OrdersConfig.ready``)."""

from __future__ import annotations


def customs_ready() -> None:
    from processes.selectors import BUSINESS_LINKS
    from vendors import services as vendor_services

    # Registers the admin, the job handlers, the task form and the Celery tasks.
    from . import admin, handlers, task_forms, tasks  # noqa: F401
    from .services import shipment_guard, shipment_open_on_fulfilment
    from .views import shipment_link
    from .webhooks import register_webhook_sources

    if shipment_link not in BUSINESS_LINKS:
        BUSINESS_LINKS.append(shipment_link)
    hooks = vendor_services.FULFILMENT_REQUESTED_HOOKS
    if shipment_open_on_fulfilment not in hooks:
        hooks.append(shipment_open_on_fulfilment)
    if shipment_guard not in vendor_services.SHIPMENT_GUARDS:
        vendor_services.SHIPMENT_GUARDS.append(shipment_guard)
    register_webhook_sources()
    # Without a broker the in-process ticker runs the start sweep (Celery beat does otherwise).
    from processes.workers import PERIODIC_HOOKS

    from .services import shipment_process_starts_retry

    if shipment_process_starts_retry not in PERIODIC_HOOKS:
        PERIODIC_HOOKS.append(shipment_process_starts_retry)
