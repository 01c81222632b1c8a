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

        from vendors.webhooks import WEBHOOK_ACTORS

        from .webhooks import payment_webhook_event_act

        # The webhook retry sweep acts again on payment events left FAILED.
        WEBHOOK_ACTORS["payment"] = lambda event: payment_webhook_event_act(event=event)
