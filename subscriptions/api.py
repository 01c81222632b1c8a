"""Subscription API: sign up, change the payment method (which retries a past-due renewal at
once), pause, resume, cancel, and a customer's invoices.

Customers (users linked to a customer record) act on their own subscriptions; support and
managers on anyone's. Someone else's subscription answers 404, like a missing one. Business-rule
refusals are 400 naming the field, or 409 when the subscription's state forbids the change.
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
from orders.models import Customer

from . import selectors, services
from .models import CardBrand, Invoice, PaymentMethod, Plan, Subscription

logger = logging.getLogger(__name__)

IDEMPOTENCY_HEADER = "Idempotency-Key"


def _customer_of(user: Any) -> Customer | None:
    return Customer.objects.filter(user=user).first() if user.is_authenticated else None


def _is_staff(user: Any) -> bool:
    return has_role(user, SUPPORT, MANAGERS)


class CanUseSubscriptions(BasePermission):
    message = "Only customers, or support and managers on their behalf, may use subscriptions."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        return _is_staff(user) or _customer_of(user) is not None


def _refusal(error: ApplicationError) -> Response:
    code = status.HTTP_409_CONFLICT if error.code == "conflict" else status.HTTP_400_BAD_REQUEST
    return Response({error.field or "non_field_errors": [error.message]}, status=code)


def _visible_subscription(request: Request, number: str) -> Subscription | None:
    subscription = (
        Subscription.objects.select_related("plan", "customer", "payment_method")
        .filter(number=number)
        .first()
    )
    if subscription is None:
        return None
    if _is_staff(request.user):
        return subscription
    customer = _customer_of(request.user)
    return subscription if customer and subscription.customer_id == customer.pk else None


def _not_found() -> Response:
    # A new Response each time: DRF sets the renderer and request on the object it returns.
    return Response({"detail": "No such subscription."}, status=status.HTTP_404_NOT_FOUND)


class PaymentMethodOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    brand = serializers.CharField()
    last4 = serializers.CharField()
    exp_month = serializers.IntegerField()
    exp_year = serializers.IntegerField()


class DunningOutputSerializer(serializers.Serializer):
    invoice = serializers.CharField(source="invoice.number")
    attempts_made = serializers.IntegerField()
    max_attempts = serializers.IntegerField()
    next_retry_at = serializers.DateTimeField(allow_null=True)
    hard_decline = serializers.BooleanField(source="hard")
    ends_at = serializers.DateTimeField(allow_null=True)
    summary = serializers.CharField()


class SubscriptionOutputSerializer(serializers.Serializer):
    number = serializers.CharField()
    customer = serializers.EmailField(source="customer.email")
    plan = serializers.CharField(source="plan.code")
    quantity = serializers.IntegerField()
    status = serializers.CharField()
    amount_minor = serializers.IntegerField()
    currency = serializers.CharField(source="plan.currency")
    current_period_start = serializers.DateField()
    current_period_end = serializers.DateField()
    next_billing_date = serializers.DateField()
    trial_end = serializers.DateField(allow_null=True)
    cancel_at_period_end = serializers.BooleanField()
    resume_on = serializers.DateField(allow_null=True)
    payment_method = PaymentMethodOutputSerializer(allow_null=True)
    dunning = serializers.SerializerMethodField()

    @extend_schema(responses=DunningOutputSerializer(allow_null=True))  # type: ignore[misc]
    def get_dunning(self, obj: Subscription) -> dict[str, Any] | None:
        state = selectors.dunning_state(obj)
        return DunningOutputSerializer(state).data if state else None


def _output(subscription: Subscription, code: int = status.HTTP_200_OK) -> Response:
    fresh = Subscription.objects.select_related("plan", "customer", "payment_method").get(
        pk=subscription.pk
    )
    return Response(SubscriptionOutputSerializer(fresh).data, status=code)


class SubscriptionCreateApi(APIView):
    """Subscribe a customer to a plan (a trial first if the plan has one)."""

    permission_classes = [CanUseSubscriptions]

    class SubscriptionInputSerializer(serializers.Serializer):
        plan = serializers.SlugField(max_length=60)
        quantity = serializers.IntegerField(min_value=1, max_value=10_000, default=1)
        customer = serializers.EmailField(
            required=False, help_text="Staff only: whom to subscribe (customers: themselves)."
        )
        payment_method = serializers.IntegerField(
            required=False, help_text="A saved payment method id; default: the default card."
        )

    @extend_schema(
        request=SubscriptionInputSerializer,
        parameters=[
            OpenApiParameter(
                IDEMPOTENCY_HEADER,
                str,
                OpenApiParameter.HEADER,
                required=False,
                description="Repeat safely: the same key answers with the same subscription.",
            )
        ],
        responses={
            201: SubscriptionOutputSerializer,
            200: OpenApiResponse(SubscriptionOutputSerializer, "A repeated request (same key)."),
            400: OpenApiResponse(description="Invalid input; the response names the field."),
            403: OpenApiResponse(description="Not a customer, support or a manager."),
            409: OpenApiResponse(description="The key was used for a different subscription."),
        },
        tags=["subscriptions"],
    )
    def post(self, request: Request) -> Response:
        key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
        if len(key) > 200:
            return Response({IDEMPOTENCY_HEADER: ["At most 200 characters."]}, status=400)
        serializer = self.SubscriptionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if _is_staff(request.user):
            if "customer" not in data:
                return Response({"customer": ["Name the customer (e-mail)."]}, status=400)
            customer = Customer.objects.filter(email__iexact=data["customer"]).first()
            if customer is None:
                return Response({"customer": ["No such customer."]}, status=400)
        else:
            customer = _customer_of(request.user)
            if "customer" in data and data["customer"].lower() != customer.email.lower():
                return Response({"customer": ["You can only subscribe yourself."]}, status=400)
        plan = Plan.objects.filter(code=data["plan"]).first()
        if plan is None:
            return Response({"plan": ["No such plan."]}, status=400)
        method = None
        if "payment_method" in data:
            method = PaymentMethod.objects.filter(
                pk=data["payment_method"], customer=customer
            ).first()
            if method is None:
                return Response({"payment_method": ["No such payment method."]}, status=400)
        try:
            subscription, created = services.subscription_create(
                customer=customer,
                plan=plan,
                quantity=data["quantity"],
                payment_method=method,
                user=request.user,
                idempotency_key=key,
            )
        except ApplicationError as error:
            if error.field == "idempotency_key":
                error.field = IDEMPOTENCY_HEADER
            return _refusal(error)
        return _output(subscription, status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class SubscriptionDetailApi(APIView):
    """One subscription, with where it stands in dunning."""

    permission_classes = [CanUseSubscriptions]

    @extend_schema(
        responses={200: SubscriptionOutputSerializer, 404: OpenApiResponse(description="None.")},
        tags=["subscriptions"],
    )
    def get(self, request: Request, number: str) -> Response:
        subscription = _visible_subscription(request, number)
        return _not_found() if subscription is None else _output(subscription)


class SubscriptionActionApi(APIView):
    """A staff or customer action on one subscription: find it (404 unless the asker may see it),
    validate ``input_serializer`` (400 naming the field), ``act``, answer the subscription (a
    refusal of the business rules is the ``ApplicationError``'s answer)."""

    permission_classes = [CanUseSubscriptions]
    input_serializer: type[serializers.Serializer] | None = None

    def act(self, request: Request, subscription: Subscription, data: dict[str, Any]) -> Any:
        raise NotImplementedError

    def post(self, request: Request, number: str) -> Response:
        subscription = _visible_subscription(request, number)
        if subscription is None:
            return _not_found()
        data: dict[str, Any] = {}
        if self.input_serializer is not None:
            serializer = self.input_serializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            data = dict(serializer.validated_data)
        try:
            answer = self.act(request, subscription, data)
        except ApplicationError as error:
            return _refusal(error)
        return answer if isinstance(answer, Response) else _output(answer)


class PaymentMethodUpdateApi(SubscriptionActionApi):
    """Use a new card (or another saved one); a past-due renewal is retried at once."""

    class PaymentMethodInputSerializer(serializers.Serializer):
        payment_method = serializers.IntegerField(
            required=False, help_text="A saved payment method id, or give a new card below."
        )
        provider_token = serializers.CharField(max_length=200, required=False)
        provider_customer = serializers.CharField(
            max_length=200, required=False, allow_blank=True, default=""
        )
        brand = serializers.ChoiceField(choices=CardBrand.choices, required=False)
        last4 = serializers.RegexField(r"^\d{4}$", required=False)
        exp_month = serializers.IntegerField(min_value=1, max_value=12, required=False)
        exp_year = serializers.IntegerField(min_value=2000, max_value=2200, required=False)

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            if "payment_method" in attrs:
                return attrs
            missing = [
                name
                for name in ("provider_token", "brand", "last4", "exp_month", "exp_year")
                if name not in attrs
            ]
            if missing:
                raise serializers.ValidationError(
                    {name: "Required for a new card." for name in missing}
                )
            return attrs

    input_serializer = PaymentMethodInputSerializer

    @extend_schema(
        request=PaymentMethodInputSerializer,
        responses={
            200: SubscriptionOutputSerializer,
            400: OpenApiResponse(description="Invalid card; the response names the field."),
            404: OpenApiResponse(description="No such subscription."),
            409: OpenApiResponse(description="The subscription is canceled."),
        },
        tags=["subscriptions"],
    )
    def post(self, request: Request, number: str) -> Response:
        return super().post(request, number)

    def act(self, request: Request, subscription: Subscription, data: dict[str, Any]) -> Any:
        try:
            return self._use_card(request, subscription, data)
        except DatabaseError as error:
            logger.exception("Could not update the payment method")
            return Response({"detail": type(error).__name__}, status=503)

    def _use_card(self, request: Request, subscription: Subscription, data: dict[str, Any]) -> Any:
        if "payment_method" in data:
            method = PaymentMethod.objects.filter(
                pk=data["payment_method"], customer=subscription.customer
            ).first()
            if method is None:
                return Response({"payment_method": ["No such payment method."]}, status=400)
        else:
            if subscription.status == Subscription.S.CANCELED:
                raise ApplicationError(
                    "The subscription is canceled.", field="status", code="conflict"
                )
            method = services.payment_method_add(
                customer=subscription.customer,
                provider_token=data["provider_token"],
                provider_customer=data["provider_customer"],
                brand=data["brand"],
                last4=data["last4"],
                exp_month=data["exp_month"],
                exp_year=data["exp_year"],
            )
        return services.subscription_payment_method_update(
            subscription=subscription, payment_method=method, user=request.user
        )


class SubscriptionPauseApi(SubscriptionActionApi):
    class PauseInputSerializer(serializers.Serializer):
        resume_on = serializers.DateField(required=False, allow_null=True, default=None)

    input_serializer = PauseInputSerializer

    @extend_schema(
        request=PauseInputSerializer,
        responses={
            200: SubscriptionOutputSerializer,
            400: OpenApiResponse(description="The resume date is not in the future."),
            404: OpenApiResponse(description="No such subscription."),
            409: OpenApiResponse(description="Not active: cannot be paused."),
        },
        tags=["subscriptions"],
    )
    def post(self, request: Request, number: str) -> Response:
        """Stop billing until resumed (by hand or on ``resume_on``)."""
        return super().post(request, number)

    def act(self, request: Request, subscription: Subscription, data: dict[str, Any]) -> Any:
        return services.subscription_pause(
            subscription=subscription, user=request.user, resume_on=data["resume_on"]
        )


class SubscriptionResumeApi(SubscriptionActionApi):
    @extend_schema(
        request=None,
        responses={
            200: SubscriptionOutputSerializer,
            404: OpenApiResponse(description="No such subscription."),
            409: OpenApiResponse(description="Not paused."),
        },
        tags=["subscriptions"],
    )
    def post(self, request: Request, number: str) -> Response:
        """Billing starts again (today, if the billing date passed while paused)."""
        return super().post(request, number)

    def act(self, request: Request, subscription: Subscription, data: dict[str, Any]) -> Any:
        return services.subscription_resume(subscription=subscription, user=request.user)


class SubscriptionCancelApi(SubscriptionActionApi):
    class CancelInputSerializer(serializers.Serializer):
        at_period_end = serializers.BooleanField(default=False)
        reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")

    input_serializer = CancelInputSerializer

    @extend_schema(
        request=CancelInputSerializer,
        responses={
            200: SubscriptionOutputSerializer,
            404: OpenApiResponse(description="No such subscription."),
            409: OpenApiResponse(description="Canceled already, or not active for period end."),
        },
        tags=["subscriptions"],
    )
    def post(self, request: Request, number: str) -> Response:
        """Cancel now (open invoices voided, dunning stopped) or at the end of the period."""
        return super().post(request, number)

    def act(self, request: Request, subscription: Subscription, data: dict[str, Any]) -> Any:
        return services.subscription_cancel(
            subscription=subscription,
            user=request.user,
            at_period_end=data["at_period_end"],
            reason=data["reason"],
        )


class InvoiceOutputSerializer(serializers.Serializer):
    number = serializers.CharField()
    subscription = serializers.CharField(source="subscription.number")
    plan = serializers.CharField(source="subscription.plan.code")
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    amount_minor = serializers.IntegerField()
    currency = serializers.CharField()
    status = serializers.CharField()
    attempts = serializers.SerializerMethodField()
    next_retry_at = serializers.DateTimeField(allow_null=True)
    paid_at = serializers.DateTimeField(allow_null=True)

    def get_attempts(self, obj: Invoice) -> int:
        return selectors.attempts_made(obj)


class CustomerInvoicesApi(APIView):
    """A customer's invoices, newest first (customers: their own; staff: ``?customer=email``)."""

    permission_classes = [CanUseSubscriptions]

    @extend_schema(
        parameters=[
            OpenApiParameter("customer", str, required=False, description="Staff only: e-mail.")
        ],
        responses={
            200: InvoiceOutputSerializer(many=True),
            400: OpenApiResponse(description="Staff did not name a known customer."),
        },
        tags=["subscriptions"],
    )
    def get(self, request: Request) -> Response:
        if _is_staff(request.user):
            email = request.query_params.get("customer", "")
            customer = Customer.objects.filter(email__iexact=email).first() if email else None
            if customer is None:
                return Response({"customer": ["Name a known customer (e-mail)."]}, status=400)
        else:
            customer = _customer_of(request.user)
        invoices = selectors.customer_invoices(customer_id=customer.pk)[:200]
        return Response(InvoiceOutputSerializer(invoices, many=True).data)
