"""Order intake API: ``POST /api/orders`` places an order and starts its process."""

from __future__ import annotations

import logging
from typing import Any

from django.db import DatabaseError
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.roles import is_staff_user
from core.idempotency import IDEMPOTENCY_HEADER, idempotent
from core.parsers import MAX_AMOUNT_MINOR

from . import services
from .models import Order

logger = logging.getLogger(__name__)


class CanPlaceOrders(BasePermission):
    """Staff (support, warehouse, managers, admins) or an API user with ``orders.add_order``."""

    message = "Only staff or API users may place orders."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        return is_staff_user(user) or user.has_perm("orders.add_order")


class OrderCreateApi(APIView):
    """Place a marketplace order: one charge, one sub-order per vendor, process started."""

    permission_classes = [CanPlaceOrders]

    class OrderInputSerializer(serializers.Serializer):
        class OrderCustomerInputSerializer(serializers.Serializer):
            email = serializers.EmailField()
            name = serializers.CharField(max_length=200)
            country = serializers.RegexField(r"^[A-Za-z]{2}$", help_text="ISO 3166 alpha-2")

        class OrderLineInputSerializer(serializers.Serializer):
            vendor = serializers.SlugField(max_length=64, help_text="Vendor handle")
            sku = serializers.CharField(max_length=64)
            quantity = serializers.IntegerField(min_value=1, max_value=10_000)

        customer = OrderCustomerInputSerializer()
        currency = serializers.RegexField(r"^[A-Z]{3}$", help_text="ISO 4217 code")
        payment_method = serializers.CharField(max_length=80, help_text="Card token")
        shipping_minor = serializers.IntegerField(
            min_value=0, max_value=MAX_AMOUNT_MINOR, default=0
        )
        total_minor = serializers.IntegerField(
            min_value=1,
            max_value=MAX_AMOUNT_MINOR,
            required=False,
            help_text="If given, must equal the computed total.",
        )
        shipping_address = serializers.DictField(required=False, default=dict)
        lines = OrderLineInputSerializer(many=True, allow_empty=False)

    class OrderOutputSerializer(serializers.Serializer):
        class OrderSubOrderSerializer(serializers.Serializer):
            number = serializers.CharField()
            vendor = serializers.CharField(source="vendor.handle")
            status = serializers.CharField()
            subtotal_minor = serializers.IntegerField()
            shipping_minor = serializers.IntegerField()
            commission_rate_bp = serializers.IntegerField()
            commission_minor = serializers.IntegerField()
            payout_minor = serializers.IntegerField()

        class OrderLineSerializer(serializers.Serializer):
            vendor = serializers.CharField(source="vendor.handle")
            sku = serializers.CharField()
            quantity = serializers.IntegerField()
            unit_price_minor = serializers.IntegerField()
            total_minor = serializers.IntegerField()

        number = serializers.CharField()
        status = serializers.CharField()
        currency = serializers.CharField()
        subtotal_minor = serializers.IntegerField()
        shipping_minor = serializers.IntegerField()
        total_minor = serializers.IntegerField()
        process_instance_key = serializers.CharField(
            help_text="Process instance key (a string: 64-bit keys overflow JavaScript numbers)."
        )
        sub_orders = OrderSubOrderSerializer(many=True)
        lines = OrderLineSerializer(many=True)

    @extend_schema(
        request=OrderInputSerializer,
        parameters=[
            OpenApiParameter(
                IDEMPOTENCY_HEADER,
                str,
                OpenApiParameter.HEADER,
                required=False,
                description="Repeat a request safely: the same key and body answer as the first "
                "time (nothing is placed or charged again); another body is 409.",
            )
        ],
        responses={
            201: OrderOutputSerializer,
            400: OpenApiResponse(description="Invalid input; the response names the field."),
            403: OpenApiResponse(description="Not staff or an API user."),
            409: OpenApiResponse(description="The Idempotency-Key was used for another body."),
            503: OpenApiResponse(description="The process engine could not start the order."),
        },
        tags=["orders"],
    )
    def post(self, request: Request) -> Response:
        return idempotent(request, endpoint="orders.create", act=lambda: self._place(request))

    def _place(self, request: Request) -> Response:
        serializer = self.OrderInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            order = services.order_place(
                customer=services.CustomerInput(**data["customer"]),
                currency=data["currency"],
                lines=[
                    services.LineInput(line["vendor"], line["sku"], line["quantity"])
                    for line in data["lines"]
                ],
                payment_method=data["payment_method"],
                shipping_minor=data["shipping_minor"],
                shipping_address=data["shipping_address"],
                expected_total_minor=data.get("total_minor"),
                placed_by=request.user,
            )
        except (services.EngineUnavailable, DatabaseError):
            logger.exception("Could not start the order process")
            return Response(
                {"detail": "The order could not be started, nothing was charged."},
                status=status.HTTP_503_SERVICE_UNAVAILABLE,
            )
        order = Order.objects.prefetch_related("sub_orders__vendor", "lines__vendor").get(
            pk=order.pk
        )
        return Response(self.OrderOutputSerializer(order).data, status=status.HTTP_201_CREATED)
