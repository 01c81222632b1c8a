"""Return intake API: ``POST /api/returns`` (customers for their own orders, or staff for them)
and ``GET /api/returns/<number>``.

Idempotent: a repeat with the same ``Idempotency-Key`` header and body gets the first answer again
(``core.idempotency``; another body is 409); the body's ``client_reference`` (or a key whose stored
answer is gone) answers with the return created the first time (200 instead of 201).
"""

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

from config.roles import MANAGERS, SUPPORT, has_role
from core.errors import ApplicationError
from core.idempotency import IDEMPOTENCY_HEADER, idempotent
from orders.models import Customer, Order

from . import services
from .models import RefundMethod, ReturnReason, ReturnRequest

logger = logging.getLogger(__name__)


def _customer_of(user: Any) -> Customer | None:
    return Customer.objects.filter(user=user).first() if user.is_authenticated else None


def _acts_for_customers(user: Any) -> bool:
    return has_role(user, SUPPORT, MANAGERS)


class CanRequestReturns(BasePermission):
    """A customer (a user linked to a customer record), or support and managers for them."""

    message = "Only customers, or support and managers on their behalf, may request returns."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        return _acts_for_customers(user) or _customer_of(user) is not None


class ReturnOutputSerializer(serializers.Serializer):
    class ReturnLineOutputSerializer(serializers.Serializer):
        sku = serializers.CharField(source="order_line.sku")
        quantity = serializers.IntegerField()
        amount_minor = serializers.IntegerField()

    class ReturnLabelOutputSerializer(serializers.Serializer):
        carrier = serializers.CharField()
        tracking_number = serializers.CharField()
        label_url = serializers.URLField()

    class ReturnRefundOutputSerializer(serializers.Serializer):
        amount_minor = serializers.IntegerField()
        currency = serializers.CharField()
        method = serializers.CharField()
        status = serializers.CharField()

    number = serializers.CharField()
    order = serializers.CharField(source="order.number")
    status = serializers.CharField()
    reason = serializers.CharField()
    refund_method = serializers.CharField()
    currency = serializers.CharField()
    amount_minor = serializers.IntegerField()
    rejection_reason = serializers.CharField()
    client_reference = serializers.CharField()
    process_instance_key = serializers.CharField(
        allow_null=True, help_text="A string: 64-bit keys overflow JavaScript numbers."
    )
    created_at = serializers.DateTimeField()
    lines = ReturnLineOutputSerializer(many=True)
    label = serializers.SerializerMethodField()
    refund = serializers.SerializerMethodField()

    @extend_schema(responses=ReturnLabelOutputSerializer(allow_null=True))  # type: ignore[misc]
    def get_label(self, obj: ReturnRequest) -> dict[str, Any] | None:
        label = getattr(obj, "label", None)
        return self.ReturnLabelOutputSerializer(label).data if label else None

    @extend_schema(responses=ReturnRefundOutputSerializer(allow_null=True))  # type: ignore[misc]
    def get_refund(self, obj: ReturnRequest) -> dict[str, Any] | None:
        refund = getattr(obj, "refund", None)
        return self.ReturnRefundOutputSerializer(refund).data if refund else None


def _output(return_request: ReturnRequest) -> dict[str, Any]:
    fresh = (
        ReturnRequest.objects.select_related("order")
        .prefetch_related("lines__order_line")
        .get(pk=return_request.pk)
    )
    return ReturnOutputSerializer(fresh).data


class ReturnCreateApi(APIView):
    """Request a return of some units of a delivered order; starts the return process."""

    permission_classes = [CanRequestReturns]

    class ReturnInputSerializer(serializers.Serializer):
        class ReturnLineInputSerializer(serializers.Serializer):
            sku = serializers.CharField(max_length=64)
            quantity = serializers.IntegerField(min_value=1, max_value=10_000)

        order = serializers.CharField(max_length=40, help_text="Order number")
        lines = ReturnLineInputSerializer(many=True, allow_empty=False)
        reason = serializers.ChoiceField(choices=ReturnReason.choices)
        comment = serializers.CharField(
            max_length=2000, required=False, allow_blank=True, default=""
        )
        refund_method = serializers.ChoiceField(
            choices=RefundMethod.choices, default=RefundMethod.ORIGINAL
        )
        client_reference = serializers.CharField(
            max_length=100, required=False, allow_blank=True, default=""
        )

    @extend_schema(
        request=ReturnInputSerializer,
        parameters=[
            OpenApiParameter(
                IDEMPOTENCY_HEADER,
                str,
                OpenApiParameter.HEADER,
                required=False,
                description="Repeat a request safely: the same key answers with the same return.",
            )
        ],
        responses={
            201: ReturnOutputSerializer,
            200: OpenApiResponse(
                ReturnOutputSerializer, "A repeated request (same client reference)."
            ),
            400: OpenApiResponse(description="Invalid input; the response names the field."),
            403: OpenApiResponse(description="Not a customer, support or a manager."),
            409: OpenApiResponse(description="The key was used for a different request."),
            503: OpenApiResponse(description="The process engine could not start the return."),
        },
        tags=["returns"],
    )
    def post(self, request: Request) -> Response:
        return idempotent(request, endpoint="returns.create", act=lambda: self._create(request))

    def _create(self, request: Request) -> Response:
        key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
        if len(key) > 200:
            return Response(
                {IDEMPOTENCY_HEADER: ["At most 200 characters."]},
                status=status.HTTP_400_BAD_REQUEST,
            )
        serializer = self.ReturnInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        order = Order.objects.filter(number=data["order"]).first()
        customer = _customer_of(request.user)
        if order is None or not (
            _acts_for_customers(request.user)
            or (customer is not None and order.customer_id == customer.pk)
        ):
            # Someone else's order looks exactly like a missing one.
            return Response({"order": ["No such order."]}, status=status.HTTP_400_BAD_REQUEST)
        try:
            return_request, created = services.return_request_create(
                order=order,
                lines=[
                    services.ReturnLineInput(line["sku"], line["quantity"])
                    for line in data["lines"]
                ],
                reason=data["reason"],
                comment=data["comment"],
                refund_method=data["refund_method"],
                user=request.user,
                idempotency_key=key,
                client_reference=data["client_reference"],
            )
        except ApplicationError as error:
            if error.field != "idempotency_key":
                raise  # answered by core.api.exception_handler
            # The key came in a header: name the header, as the client sent it.
            raise ApplicationError(
                error.message, field=IDEMPOTENCY_HEADER, code=error.code
            ) from error
        except (services.EngineUnavailable, DatabaseError) as error:
            logger.exception("Could not start the return process")
            return Response(
                {"detail": f"The return could not be started ({type(error).__name__})."},
                status=status.HTTP_503_SERVICE_UNAVAILABLE,
            )
        return Response(
            _output(return_request),
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class ReturnDetailApi(APIView):
    """One return: its status, label and refund (the customer's own, or any for staff)."""

    permission_classes = [CanRequestReturns]

    @extend_schema(
        responses={
            200: ReturnOutputSerializer,
            404: OpenApiResponse(description="No such return."),
        },
        tags=["returns"],
    )
    def get(self, request: Request, number: str) -> Response:
        return_request = ReturnRequest.objects.filter(number=number).first()
        customer = _customer_of(request.user)
        if return_request is None or not (
            _acts_for_customers(request.user)
            or (customer is not None and return_request.customer_id == customer.pk)
        ):
            return Response({"detail": "No such return."}, status=status.HTTP_404_NOT_FOUND)
        return Response(_output(return_request))
