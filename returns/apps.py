"""Return requests, fraud scoring, inspection, refunds and store credit."""

from django.apps import AppConfig


class ReturnsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "returns"

    def ready(self) -> None:
        from processes.selectors import BUSINESS_LINKS

        from .views import return_link

        if return_link not in BUSINESS_LINKS:
            BUSINESS_LINKS.append(return_link)

        from vendors.webhooks import WEBHOOK_ACTORS

        from .webhooks import return_webhook_event_act

        # The webhook retry sweep acts again on return events left FAILED.
        WEBHOOK_ACTORS["return"] = lambda event: return_webhook_event_act(event=event)
