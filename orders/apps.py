from django.apps import AppConfig


class OrdersConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "orders"

    def ready(self) -> None:
        from processes.selectors import BUSINESS_LINKS

        from .views import order_link

        if order_link not in BUSINESS_LINKS:
            BUSINESS_LINKS.append(order_link)

        from .customs.apps import customs_ready

        customs_ready()
