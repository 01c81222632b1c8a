from django.apps import AppConfig


class VendorsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "vendors"

    def ready(self) -> None:
        from processes.workers import PERIODIC_HOOKS

        from .webhooks import retry_webhook_events

        if retry_webhook_events not in PERIODIC_HOOKS:
            PERIODIC_HOOKS.append(retry_webhook_events)
