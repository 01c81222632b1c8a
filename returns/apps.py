"""Return requests, fraud scoring, inspection, refunds and store credit."""

from django.apps import AppConfig


class ReturnsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "returns"

    def ready(self) -> None:
        from processes.selectors import BUSINESS_DESCRIPTIONS, BUSINESS_LINKS

        from .actions import describe_returns
        from .views import return_link

        if return_link not in BUSINESS_LINKS:
            BUSINESS_LINKS.append(return_link)
        if describe_returns not in BUSINESS_DESCRIPTIONS:
            BUSINESS_DESCRIPTIONS.append(describe_returns)

        from .webhooks import register_webhook_sources

        # Return events go through the webhook inbox (and its retry sweep).
        register_webhook_sources()
