from django.apps import AppConfig


class CoreConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from processes.workers import PERIODIC_HOOKS

        from .webhooks import retry_webhook_events

        # In-process workers sweep the webhook inbox (Celery beat does it otherwise).
        if retry_webhook_events not in PERIODIC_HOOKS:
            PERIODIC_HOOKS.append(retry_webhook_events)
