"""Vendor API: a vendor user's own sub-orders, its answers, holds and payouts.

Every endpoint scopes by the user's vendor memberships: another vendor's sub-order is a 404,
exactly as if it did not exist. Actions call the same services as the webhooks and the portal.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.roles import VENDORS, has_role
from core.history import actor_of

from . import selectors, services


class IsVendorUser(BasePermission):
    message = "Only vendor users may use the vendor API."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and has_role(user, VENDORS))


class VendorSubOrderSerializer(serializers.Serializer):
    class VendorSubOrderLineSerializer(serializers.Serializer):
        sku = serializers.CharField()
        name = serializers.CharField()
        quantity = serializers.IntegerField()
        unit_price_minor = serializers.IntegerField()
        total_minor = serializers.IntegerField()

    number = serializers.CharField()
    order = serializers.CharField(source="order.number")
    vendor = serializers.CharField(source="vendor.handle")
    status = serializers.CharField()
    currency = serializers.CharField()
    subtotal_minor = serializers.IntegerField()
    shipping_minor = serializers.IntegerField()
    commission_minor = serializers.IntegerField()
    payout_minor = serializers.IntegerField()
    carrier = serializers.CharField()
    tracking_number = serializers.CharField()
    reason = serializers.CharField()
    sla_due_at = serializers.DateTimeField(allow_null=True)
    lines = VendorSubOrderLineSerializer(many=True)


class SubOrderListApi(APIView):
    permission_classes = [IsVendorUser]

    @extend_schema(responses=VendorSubOrderSerializer(many=True), tags=["vendor"])
    def get(self, request: Request) -> Response:
        sub_orders = selectors.sub_orders_for_user(
            user=request.user, status=request.query_params.get("status", "")
        ).prefetch_related("lines")
        return Response(VendorSubOrderSerializer(sub_orders, many=True).data)


class SubOrderDetailApi(APIView):
    permission_classes = [IsVendorUser]

    @extend_schema(responses=VendorSubOrderSerializer, tags=["vendor"])
    def get(self, request: Request, number: str) -> Response:
        sub_order = selectors.sub_order_for_user(user=request.user, number=number)
        return Response(VendorSubOrderSerializer(sub_order).data)


_ACTION_RESPONSES = {
    200: VendorSubOrderSerializer,
    400: OpenApiResponse(description="Invalid input; the response names the field."),
    404: OpenApiResponse(description="Not one of your sub-orders."),
    409: OpenApiResponse(description="The sub-order's status does not allow this."),
}


class SubOrderAcceptApi(APIView):
    permission_classes = [IsVendorUser]

    @extend_schema(request=None, responses=_ACTION_RESPONSES, tags=["vendor"])
    def post(self, request: Request, number: str) -> Response:
        sub_order = selectors.sub_order_for_user(user=request.user, number=number)
        sub_order = services.sub_order_accept(sub_order=sub_order, actor=actor_of(request.user))
        return Response(VendorSubOrderSerializer(sub_order).data)


class SubOrderRejectApi(APIView):
    permission_classes = [IsVendorUser]

    class SubOrderRejectInputSerializer(serializers.Serializer):
        reason = serializers.CharField(max_length=500)

    @extend_schema(
        request=SubOrderRejectInputSerializer, responses=_ACTION_RESPONSES, tags=["vendor"]
    )
    def post(self, request: Request, number: str) -> Response:
        sub_order = selectors.sub_order_for_user(user=request.user, number=number)
        serializer = self.SubOrderRejectInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        sub_order = services.sub_order_reject(
            sub_order=sub_order,
            reason=serializer.validated_data["reason"],
            actor=actor_of(request.user),
        )
        return Response(VendorSubOrderSerializer(sub_order).data)


class SubOrderShipApi(APIView):
    permission_classes = [IsVendorUser]

    class SubOrderShipInputSerializer(serializers.Serializer):
        carrier = serializers.CharField(
            max_length=80, help_text="A carrier code from GET /api/vendor/carriers."
        )
        tracking_number = serializers.CharField(max_length=120)

    @extend_schema(
        request=SubOrderShipInputSerializer, responses=_ACTION_RESPONSES, tags=["vendor"]
    )
    def post(self, request: Request, number: str) -> Response:
        sub_order = selectors.sub_order_for_user(user=request.user, number=number)
        serializer = self.SubOrderShipInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        sub_order = services.sub_order_ship(
            sub_order=sub_order, actor=actor_of(request.user), **serializer.validated_data
        )
        return Response(VendorSubOrderSerializer(sub_order).data)


class CarrierListApi(APIView):
    """The carriers a vendor may ship with (staff keep the list)."""

    permission_classes = [IsVendorUser]

    class CarrierSerializer(serializers.Serializer):
        code = serializers.CharField()
        name = serializers.CharField()

    @extend_schema(responses=CarrierSerializer(many=True), tags=["vendor"])
    def get(self, request: Request) -> Response:
        carriers = services.carriers_active()
        return Response(self.CarrierSerializer(carriers, many=True).data)


class PayoutsApi(APIView):
    """The vendor's payout holds and payouts."""

    permission_classes = [IsVendorUser]

    class VendorPayoutsSerializer(serializers.Serializer):
        class VendorPayoutHoldSerializer(serializers.Serializer):
            sub_order = serializers.CharField(source="sub_order.number")
            amount_minor = serializers.IntegerField()
            currency = serializers.CharField()
            status = serializers.CharField()
            created_at = serializers.DateTimeField()
            settled_at = serializers.DateTimeField(allow_null=True)

        class VendorPayoutSerializer(serializers.Serializer):
            sub_order = serializers.CharField(source="sub_order.number")
            amount_minor = serializers.IntegerField()
            reversed_minor = serializers.IntegerField()
            currency = serializers.CharField()
            status = serializers.CharField()
            created_at = serializers.DateTimeField()

        holds = VendorPayoutHoldSerializer(many=True)
        payouts = VendorPayoutSerializer(many=True)

    @extend_schema(responses=VendorPayoutsSerializer, tags=["vendor"])
    def get(self, request: Request) -> Response:
        data = {
            "holds": selectors.payout_holds_for_user(user=request.user),
            "payouts": selectors.payouts_for_user(user=request.user),
        }
        return Response(self.VendorPayoutsSerializer(data).data)
