from django.apps import AppConfig


class OrdersConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "orders"

    def ready(self) -> None:
        from processes.selectors import BUSINESS_DESCRIPTIONS, BUSINESS_LINKS, STOP_POLICIES

        from .actions import describe_orders, order_stop_policy
        from .views import order_link

        if order_link not in BUSINESS_LINKS:
            BUSINESS_LINKS.append(order_link)
        if order_stop_policy not in STOP_POLICIES:
            STOP_POLICIES.append(order_stop_policy)
        if describe_orders not in BUSINESS_DESCRIPTIONS:
            BUSINESS_DESCRIPTIONS.append(describe_orders)

        from vendors import hooks

        from . import payments
        from .history import sub_order_history_write
        from .models import Order
        from .services import order_check_open

        # vendors never imports orders: this is the order side its services reach.
        hooks.install(
            hooks.OrderSide(
                record=sub_order_history_write,
                order_is_paid=lambda order_id: Order.objects.filter(
                    pk=order_id, status=Order.S.PAID
                ).exists(),
                payment_provider=lambda: payments.get_provider(),
                check_open=order_check_open,
            )
        )

        from .customs.apps import customs_ready

        customs_ready()
