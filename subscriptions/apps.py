"""Plans, subscriptions, billing attempts and dunning."""

from django.apps import AppConfig


class SubscriptionsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "subscriptions"

    def ready(self) -> None:
        from processes.selectors import BUSINESS_LINKS

        from .views import invoice_link

        if invoice_link not in BUSINESS_LINKS:
            BUSINESS_LINKS.append(invoice_link)

        from .webhooks import register_webhook_sources

        register_webhook_sources()
