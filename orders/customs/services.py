"""Writes about international shipments: opening one for a cross-border vendor part, the export
check, duties and taxes, documents, the broker, customs updates, compensation, carrier and
delivery.

Each function locks the shipment row, checks its transition and records a ``ShipmentEvent`` (its
history row) in the same transaction. Job-driven writes are keyed on the job, so a
repeated job finds the earlier result. Refunds go through the orders' refund service; the
vendor part's status through the vendors' services, which also tell the marketplace process.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.errors import ApplicationError
from core.history import actor_of, history_write
from core.messages import publish_once
from core.notifications import notify_customer
from orders import services as order_services
from orders.models import Order, Refund
from processes import port
from vendors import services as vendor_services
from vendors.models import VendorSubOrder

from . import duties, rates
from .broker import get_broker
from .carriers import get_carrier
from .models import (
    CurrencyConversion,
    CustomsDocument,
    CustomsTerritory,
    DutyTaxLine,
    ExportRestriction,
    InternationalShipment,
    OriginCertificateRule,
    RestrictionKind,
    ShipmentEvent,
    ShipmentEventKind,
    default_home_country,
)

logger = logging.getLogger(__name__)

S = InternationalShipment.S
PROCESS_ID = "international-shipment"
CUSTOMS_UPDATE = "customs-update"
SHIPMENT_TRACKING = "shipment-tracking"
CUSTOMS_STATUSES = ("cleared", "held", "rejected")


# ------------------------------------------------------------------------------ helpers
def _locked(shipment: InternationalShipment | int) -> InternationalShipment:
    pk = shipment if isinstance(shipment, int) else shipment.pk
    return (
        InternationalShipment.objects.select_for_update(of=("self",))
        .select_related("order", "sub_order", "territory")
        .get(pk=pk)
    )


E = ShipmentEventKind


def _event(
    shipment: InternationalShipment,
    event: ShipmentEventKind,
    *,
    actor: str = "",
    key: str | None = None,
    occurred_at: dt.datetime | None = None,
    **detail: Any,
) -> ShipmentEvent:
    """Record what happened (call inside the transaction that made the change)."""
    return history_write(
        ShipmentEvent,
        event,
        to_status=shipment.status,
        actor=actor,
        detail=detail,
        shipment=shipment,
        idempotency_key=key,
        occurred_at=occurred_at,
    )


def _keyed(shipment: InternationalShipment, key: str) -> ShipmentEvent | None:
    return ShipmentEvent.objects.filter(shipment=shipment, idempotency_key=key).first()


def territory_of(country: str) -> CustomsTerritory | None:
    for territory in CustomsTerritory.objects.all():
        if country in territory.members:
            return territory
    return None


def ship_from_country(sub_order: VendorSubOrder) -> str:
    exporter = getattr(sub_order.vendor, "exporter", None)
    return exporter.country if exporter else default_home_country()


def destination_of(order: Order) -> tuple[str, str]:
    """Destination country and ISO 3166-2 region of an order (address first, then customer)."""
    address = order.shipping_address or {}
    country = str(address.get("country") or order.customer.country).upper()
    region = str(address.get("region") or "").upper()
    if region and "-" not in region:
        region = f"{country}-{region}"
    return country, region


def is_cross_border(sub_order: VendorSubOrder) -> bool:
    """The part leaves its customs territory (a parcel inside the EU's union is not)."""
    origin = ship_from_country(sub_order)
    destination, _region = destination_of(sub_order.order)
    if origin == destination:
        return False
    origin_territory, destination_territory = territory_of(origin), territory_of(destination)
    return not (origin_territory and origin_territory == destination_territory)


def shipment_process_variables(shipment: InternationalShipment) -> dict[str, Any]:
    return {
        "shipmentId": shipment.pk,
        "shipmentNumber": shipment.number,
        "orderId": shipment.order_id,
        "orderNumber": shipment.order.number,
        "subOrder": {"id": shipment.sub_order_id, "number": shipment.sub_order.number},
        "incoterm": shipment.incoterm,
    }


# ------------------------------------------------------------------------------ opening
@transaction.atomic
def shipment_open(*, sub_order: VendorSubOrder) -> InternationalShipment | None:
    """Open the international shipment of a cross-border part and start its process, once.

    Runs in the transaction that asks the vendor to fulfil: restrictions are checked before the
    part goes anywhere. A domestic (or same customs union) part returns None.
    """
    sub_order = VendorSubOrder.objects.select_related("order__customer", "vendor").get(
        pk=sub_order.pk
    )
    existing = InternationalShipment.objects.filter(sub_order=sub_order).first()
    if existing is not None:
        return existing
    if not is_cross_border(sub_order):
        return None
    order = sub_order.order
    country, region = destination_of(order)
    territory = territory_of(country)
    lines = list(sub_order.lines.select_related("product"))
    net = sum(line.product.weight_grams * line.quantity for line in lines)
    address = order.shipping_address or {}
    place = ", ".join(str(p) for p in (address.get("city"), country) if p) or country
    shipment = InternationalShipment.objects.create(
        number=f"SHP-{sub_order.number}",
        order=order,
        sub_order=sub_order,
        origin_country=ship_from_country(sub_order),
        destination_country=country,
        destination_region=region,
        territory=territory,
        incoterm=str(
            address.get("incoterm") or (territory.default_incoterm if territory else "DAP")
        ),
        incoterm_place=place,
        currency=sub_order.currency,
        goods_value_minor=sub_order.subtotal_minor,
        freight_minor=sub_order.shipping_minor,
        net_weight_grams=net,
        # Packaging: 10% on top of the goods, at least 100 g (declared as an estimate).
        gross_weight_grams=net + max(100, net // 10),
    )
    _event(shipment, E.OPENED, destination=country)
    # The engine is told once the shipment exists for everyone: on Camunda 8 a start inside this
    # transaction could not be undone if it rolled back. A start that fails (or never runs) is
    # done by the sweep ``shipment_process_starts_retry``.
    transaction.on_commit(
        functools.partial(shipment_process_start_after_commit, shipment.pk), robust=True
    )
    return shipment


PART_ENDED = (VendorSubOrder.S.REJECTED, VendorSubOrder.S.FAILED, VendorSubOrder.S.CANCELLED)


def shipment_process_start(*, shipment_id: int, wait: bool = True) -> int | None:
    """Start the shipment's process through the port, once; returns its instance key.

    The shipment's row stays locked until the key is stored, so the after-commit start and the
    sweep never both start it. None: the shipment is gone, busy (``wait=False``), no longer
    waiting for its process, or withdrawn because its part was cancelled meanwhile. An engine
    error propagates, with nothing written.
    """
    with transaction.atomic():
        shipment = (
            InternationalShipment.objects.select_for_update(of=("self",), skip_locked=not wait)
            .select_related("order", "sub_order")
            .filter(pk=shipment_id)
            .first()
        )
        if shipment is None:
            return None
        if shipment.process_instance_key:
            return int(shipment.process_instance_key)
        if shipment.status != S.OPENED:
            return None
        if shipment.sub_order.status in PART_ENDED:
            # The part was cancelled while the start waited: nothing goes to customs.
            shipment.withdraw()
            shipment.save()
            _event(shipment, E.WITHDRAWN, part_status=shipment.sub_order.status)
            return None
        key = int(
            port.start(
                PROCESS_ID, shipment_process_variables(shipment), business_key=shipment.number
            )
        )
        shipment.process_instance_key = key
        shipment.save(update_fields=["process_instance_key"])
        _event(shipment, E.PROCESS_STARTED, instance_key=key)
    return key


def _start_delayed(shipment_id: int, error: Exception) -> None:
    """Record (once per shipment) that its process could not start yet; the sweep retries."""
    logger.warning("Customs process of shipment %s not started yet: %s", shipment_id, error)
    with transaction.atomic():
        shipment = _locked(shipment_id)
        if shipment.process_instance_key or _keyed(shipment, f"start-delayed:{shipment.pk}"):
            return
        _event(
            shipment,
            E.PROCESS_START_DELAYED,
            key=f"start-delayed:{shipment.pk}",
            rejection=str(getattr(error, "rejection_type", "")),
        )


def shipment_process_start_after_commit(shipment_id: int) -> None:
    """The shipment committed: start its process now (a failure is left to the sweep)."""
    try:
        shipment_process_start(shipment_id=shipment_id)
    except Exception as error:  # the engine's own error types stay behind the port
        _start_delayed(shipment_id, error)


def shipment_process_starts_retry(*, limit: int = 100) -> int:
    """Start the process of shipments still waiting for it (the start after commit failed or
    never ran); returns how many started. Runs on beat and in the in-process ticker."""
    waiting = (
        InternationalShipment.objects.filter(process_instance_key__isnull=True, status=S.OPENED)
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    started = 0
    for shipment_id in list(waiting):
        try:
            key = shipment_process_start(shipment_id=shipment_id, wait=False)
        except Exception as error:  # the engine is down: the next sweep tries again
            _start_delayed(shipment_id, error)
            break
        started += int(key is not None)
    return started


def shipment_open_on_fulfilment(sub_order: VendorSubOrder) -> None:
    """Hook run when fulfilment of a part is requested (registered by the orders app)."""
    shipment_open(sub_order=sub_order)


CUSTOMS_ACTOR = "customs"


def shipment_guard(sub_order: VendorSubOrder, actor: str) -> None:
    """A cross-border part is handed to the carrier by customs, once cleared, not by the vendor.

    Registered as a guard on the vendors' shipping service.
    """
    shipment = InternationalShipment.objects.filter(sub_order=sub_order).first()
    if shipment is None or actor == CUSTOMS_ACTOR:
        return
    raise ApplicationError(
        f"{sub_order.number} crosses a border: it ships once customs clears it "
        f"(shipment {shipment.number} is {shipment.get_status_display().lower()})."
    )


# ------------------------------------------------------------------------------ export check
def restrictions_matching(
    *, country: str, region: str, hs_codes: list[str], day: dt.date
) -> list[ExportRestriction]:
    found = []
    for rule in ExportRestriction.objects.in_force(day).filter(country=country):
        if rule.region and rule.region != region:
            continue
        if rule.kind == RestrictionKind.HS_CODE and not any(
            code.startswith(rule.hs_prefix) for code in hs_codes
        ):
            continue
        found.append(rule)
    return found


def _hs_codes(shipment: InternationalShipment) -> list[str]:
    return list(shipment.sub_order.lines.values_list("product__hs_code", flat=True))


@transaction.atomic
def restrictions_check(*, shipment_id: int) -> str:
    """The reason the shipment may not be exported ("" if it may); a restricted part stops."""
    shipment = _locked(shipment_id)
    if shipment.status == S.RESTRICTED:
        return shipment.reason
    if shipment.status != S.OPENED:
        return ""
    found = restrictions_matching(
        country=shipment.destination_country,
        region=shipment.destination_region,
        hs_codes=_hs_codes(shipment),
        day=timezone.localdate(),
    )
    if not found:
        _event(shipment, E.EXPORT_ALLOWED)
        return ""
    shipment.restrict()
    shipment.reason = "Export restricted: " + "; ".join(rule.reason for rule in found)
    shipment.save()
    _event(shipment, E.EXPORT_RESTRICTED, reason=shipment.reason, rules=[r.pk for r in found])
    return shipment.reason


# ------------------------------------------------------------------------------ duties
def _goods(shipment: InternationalShipment) -> list[duties.GoodsLine]:
    return [
        duties.GoodsLine(line.product.hs_code, line.name, line.quantity, line.total_minor)
        for line in shipment.sub_order.lines.select_related("product").order_by("id")
    ]


@transaction.atomic
def duties_assess(*, shipment_id: int) -> InternationalShipment:
    """Compute the duty and tax lines (with the rule and rate used), once per shipment."""
    shipment = _locked(shipment_id)
    if shipment.status != S.OPENED:
        return shipment
    day = timezone.localdate()

    def convert(amount: int, currency: str, to_currency: str) -> rates.Conversion:
        return rates.convert(
            amount_minor=amount, currency=currency, to_currency=to_currency, on=day
        )

    result = duties.assess(
        territory=shipment.territory,
        country=shipment.destination_country,
        region=shipment.destination_region,
        origin=shipment.origin_country,
        goods=_goods(shipment),
        currency=shipment.currency,
        freight_minor=shipment.freight_minor,
        insurance_minor=shipment.insurance_minor,
        day=day,
        convert=convert,
    )
    for line in result.lines:
        DutyTaxLine.objects.create(
            shipment=shipment,
            rule=line.rule,
            kind=line.kind,
            label=line.label,
            hs_code=line.hs_code,
            base_minor=line.base_minor,
            rate_bp=line.rate_bp,
            amount_minor=line.amount_minor,
            currency=line.currency,
            collected=line.collected,
            note=line.note[:300],
        )
    for purpose, conversion in result.conversions:
        CurrencyConversion.objects.create(
            shipment=shipment,
            purpose=purpose[:120],
            amount_minor=conversion.amount_minor,
            currency=conversion.currency,
            converted_minor=conversion.converted_minor,
            to_currency=conversion.to_currency,
            rate=conversion.rate,
            rate_date=conversion.rate_date,
            rate_source=conversion.source,
        )
    codes = _hs_codes(shipment)
    shipment.needs_origin_certificate = any(
        not rule.hs_prefix or any(code.startswith(rule.hs_prefix) for code in codes)
        for rule in OriginCertificateRule.objects.in_force(day).filter(
            destination=shipment.destination_country
        )
    )
    shipment.duties_payer = "seller" if shipment.incoterm == "DDP" else "buyer"
    shipment.assessed_on = day
    shipment.assess()
    shipment.save()
    _event(
        shipment,
        E.DUTIES_ASSESSED,
        border_charges=result.total(collected="at_border"),
        at_sale=result.total(collected="at_sale"),
        incomplete=result.incomplete,
        payer=shipment.duties_payer,
    )
    return shipment


def border_charges(shipment: InternationalShipment) -> dict[str, int]:
    totals: dict[str, int] = {}
    for line in shipment.duty_lines.filter(collected="at_border", amount_minor__isnull=False):
        totals[line.currency] = totals.get(line.currency, 0) + (line.amount_minor or 0)
    return totals


@transaction.atomic
def duties_prepay(*, shipment_id: int, idempotency_key: str) -> ShipmentEvent:
    """DDP: the seller pays the border charges through the broker's deferment account, once."""
    shipment = _locked(shipment_id)
    done = _keyed(shipment, f"prepay:{idempotency_key}")
    if done is not None:
        return done
    shipment.duties_prepaid_at = timezone.now()
    shipment.save(update_fields=["duties_prepaid_at"])
    return _event(
        shipment,
        E.DUTIES_PREPAID,
        key=f"prepay:{idempotency_key}",
        amounts=border_charges(shipment),
    )


CUSTOMER_TEMPLATES = ("duties_due", "customs_hold", "customs_rejected", "export_restricted")


def _charges_text(shipment: InternationalShipment) -> str:
    from .duties import _money

    charges = border_charges(shipment)
    known = ", ".join(_money(v, c) for c, v in sorted(charges.items()))
    assessed = shipment.duty_lines.filter(amount_minor__isnull=True).exists()
    if known and assessed:
        return f"{known} plus what customs assesses"
    return known or "an amount customs sets"


@transaction.atomic
def customer_notify(*, shipment_id: int, template: str, idempotency_key: str) -> ShipmentEvent:
    """Tell the customer about the shipment, once per key."""
    shipment = _locked(shipment_id)
    key = f"notify:{idempotency_key}"
    sent = _keyed(shipment, key)
    if sent is not None:
        return sent
    if template not in CUSTOMER_TEMPLATES:
        raise ValueError(f"Unknown customs message {template!r}")
    notify_customer(
        template=f"customs/{template}",
        to=shipment.order.customer.email,
        context={
            "order_number": shipment.order.number,
            "number": shipment.sub_order.number,
            "reason": shipment.reason or "documents are missing",
            "charges": _charges_text(shipment),
        },
        key=f"customs-{key}",
    )
    if template == "duties_due":
        shipment.duties_notice_sent_at = timezone.now()
        shipment.save(update_fields=["duties_notice_sent_at"])
    return _event(shipment, E.CUSTOMER_NOTIFIED, key=key, template=template)


# ------------------------------------------------------------------------------ documents
@transaction.atomic
def invoice_issue(*, shipment_id: int) -> CustomsDocument:
    """Issue the commercial invoice (number and date fixed at the first issue)."""
    shipment = _locked(shipment_id)
    document = shipment.documents.filter(kind=CustomsDocument.INVOICE).first()
    if document is not None:
        return document
    today = timezone.localdate()
    document = CustomsDocument.objects.create(
        shipment=shipment,
        kind=CustomsDocument.INVOICE,
        number=f"CI-{shipment.number.removeprefix('SHP-')}",
        issued_on=today,
    )
    shipment.invoice_number, shipment.invoice_date = document.number, today
    shipment.document()
    shipment.save()
    _event(shipment, E.INVOICE_ISSUED, number=document.number)
    return document


@transaction.atomic
def origin_certificate_issue(*, shipment_id: int) -> CustomsDocument:
    shipment = _locked(shipment_id)
    document = shipment.documents.filter(kind=CustomsDocument.ORIGIN).first()
    if document is not None:
        return document
    document = CustomsDocument.objects.create(
        shipment=shipment,
        kind=CustomsDocument.ORIGIN,
        number=f"CO-{shipment.number.removeprefix('SHP-')}",
        issued_on=timezone.localdate(),
    )
    shipment.certificate_number = document.number
    shipment.save(update_fields=["certificate_number"])
    _event(shipment, E.ORIGIN_CERTIFICATE_ISSUED, number=document.number)
    return document


# ------------------------------------------------------------------------------ broker
def broker_entry(shipment: InternationalShipment) -> dict[str, Any]:
    """What the broker is sent: the invoice's facts as data."""
    from .documents import invoice_context

    context = invoice_context(shipment)
    return {
        "shipment": shipment.number,
        "invoice_number": shipment.invoice_number,
        "incoterm": f"{shipment.incoterm} {shipment.incoterm_place}",
        "origin": shipment.origin_country,
        "destination": shipment.destination_country,
        "currency": shipment.currency,
        "lines": [
            {
                "description": line["description"],
                "hs_code": line["hs_code"],
                "origin": line["origin"],
                "quantity": line["quantity"],
                "value_minor": line["total_minor"],
            }
            for line in context["lines"]
        ],
        "documents": list(shipment.documents.values_list("kind", flat=True)),
    }


def broker_submit(*, shipment_id: int, idempotency_key: str) -> InternationalShipment:
    """Hand the entry to the broker (HTTP outside the row lock), once."""
    shipment = InternationalShipment.objects.get(pk=shipment_id)
    if shipment.submitted_at is not None:
        return shipment
    broker = get_broker()
    submission = broker.submit(entry=broker_entry(shipment), idempotency_key=idempotency_key)
    with transaction.atomic():
        shipment = _locked(shipment_id)
        if shipment.submitted_at is not None:
            return shipment
        shipment.broker, shipment.broker_reference = broker.name, submission.reference
        shipment.submitted_at = timezone.now()
        shipment.submit()
        shipment.save()
        _event(shipment, E.SUBMITTED, broker=broker.name, reference=submission.reference)
    return shipment


def broker_documents_send(*, shipment_id: int, idempotency_key: str, documents: list[str]) -> None:
    shipment = InternationalShipment.objects.get(pk=shipment_id)
    if _keyed(shipment, f"documents:{idempotency_key}"):
        return
    get_broker().documents_provided(
        reference=shipment.broker_reference, documents=documents, idempotency_key=idempotency_key
    )
    with transaction.atomic():
        shipment = _locked(shipment_id)
        try:
            with transaction.atomic():
                _event(
                    shipment,
                    E.DOCUMENTS_SENT,
                    key=f"documents:{idempotency_key}",
                    documents=documents,
                )
        except IntegrityError:
            return


@transaction.atomic
def customs_update_receive(
    *,
    shipment: InternationalShipment,
    status: str,
    reason: str = "",
    missing_documents: list[str] | None = None,
    occurred_at: dt.datetime | None = None,
    event_id: str,
    actor: str = "",
) -> str:
    """Apply a broker's customs update and tell the process; returns what was done.

    "applied"; "stale" when an update older than the last applied one arrives late (recorded,
    not acted on); "final" when the shipment was already cleared or rejected.
    """
    if status not in CUSTOMS_STATUSES:
        raise ApplicationError(f"Unknown customs status {status!r}.", field="status")
    shipment = _locked(shipment)
    occurred_at = occurred_at or timezone.now()
    detail: dict[str, Any] = {"status": status, "reason": reason, "event_id": event_id}
    if shipment.status not in (S.SUBMITTED, S.HELD):
        _event(shipment, E.UPDATE_IGNORED, actor=actor, **detail)
        return "final"
    if shipment.customs_status_at and occurred_at <= shipment.customs_status_at:
        _event(shipment, E.UPDATE_STALE, actor=actor, occurred_at=occurred_at, **detail)
        return "stale"
    if status == "held":
        shipment.hold()
        shipment.held_since = shipment.held_since or occurred_at
        shipment.missing_documents = list(missing_documents or [])
        shipment.reason = reason[:500]
    elif status == "cleared":
        shipment.clear()
        shipment.missing_documents = []
    else:
        shipment.reject()
        shipment.reason = (reason or "Refused by customs")[:500]
    shipment.customs_status_at = occurred_at
    shipment.save()
    _event(shipment, E(f"customs_{status}"), actor=actor, occurred_at=occurred_at, **detail)
    publish_once(
        CUSTOMS_UPDATE,
        shipment.number,
        variables={
            "customsStatus": status,
            "customsReason": reason,
            "missingDocuments": list(missing_documents or []),
        },
        message_id=f"{CUSTOMS_UPDATE}:{shipment.number}:{event_id}",
    )
    return "applied"


# ------------------------------------------------------------------------------ compensation
@transaction.atomic
def shipment_reject_by_support(*, shipment_id: int, reason: str, actor: str) -> None:
    """Support cancelled a held shipment: it ends as rejected (then compensated)."""
    shipment = _locked(shipment_id)
    if shipment.status in (S.SUBMITTED, S.HELD):
        shipment.reject()
        shipment.reason = reason[:500]
        shipment.save()
        _event(shipment, E.CANCELLED_BY_SUPPORT, actor=actor, reason=reason)


def part_refund(*, shipment_id: int, idempotency_key: str) -> Refund | None:
    """Refund the vendor part (its goods and its share of shipping) through orders' refunds."""
    shipment = InternationalShipment.objects.get(pk=shipment_id)
    return order_services.refund_sub_order(
        sub_order_id=shipment.sub_order_id,
        idempotency_key=f"refund:{idempotency_key}",
        reason=(shipment.reason or "Customs")[:200],
    )


@transaction.atomic
def goods_return(*, shipment_id: int) -> InternationalShipment:
    """Rejected goods go back to the vendor (the broker arranges the re-export), once."""
    shipment = _locked(shipment_id)
    if shipment.goods_returned_at is not None:
        return shipment
    shipment.goods_returned_at = timezone.now()
    if shipment.status == S.REJECTED:
        shipment.compensate()
    shipment.save()
    _event(shipment, E.GOODS_RETURNED, to=shipment.origin_country)
    return shipment


def part_cancel(*, shipment_id: int) -> VendorSubOrder:
    """Cancel the vendor part; the marketplace process undoes its stock and payout hold."""
    shipment = InternationalShipment.objects.select_related("sub_order").get(pk=shipment_id)
    sub_order = shipment.sub_order
    if sub_order.status in (
        VendorSubOrder.S.PENDING,
        VendorSubOrder.S.REQUESTED,
        VendorSubOrder.S.ACCEPTED,
    ):
        return vendor_services.sub_order_reject(
            sub_order=sub_order, reason=shipment.reason or "Customs", actor="customs"
        )
    return sub_order


# ------------------------------------------------------------------------------ carrier
class PartCancelled(Exception):
    """The vendor part was cancelled elsewhere: there is nothing left to ship."""


def carrier_book(*, shipment_id: int, idempotency_key: str) -> InternationalShipment:
    """Cleared: book the international carrier and mark the part shipped, once."""
    shipment = InternationalShipment.objects.select_related("sub_order").get(pk=shipment_id)
    if shipment.sub_order.status in (
        VendorSubOrder.S.REJECTED,
        VendorSubOrder.S.FAILED,
        VendorSubOrder.S.CANCELLED,
    ):
        raise PartCancelled(shipment.sub_order.get_status_display())
    if not shipment.tracking_number:
        sub_order = shipment.sub_order
        if sub_order.tracking_number:  # the vendor already handed it to a carrier
            carrier, tracking = sub_order.carrier, sub_order.tracking_number
        else:
            booking = get_carrier().book(
                shipment_number=shipment.number, idempotency_key=idempotency_key
            )
            carrier, tracking = booking.carrier, booking.tracking_number
        with transaction.atomic():
            shipment = _locked(shipment_id)
            if not shipment.tracking_number:
                shipment.carrier, shipment.tracking_number = carrier, tracking
                shipment.ship()
                shipment.save()
                _event(shipment, E.CARRIER_BOOKED, carrier=carrier, tracking=tracking)
    # The international carrier books the parcel, so it is on the vendors' carrier list too.
    vendor_services.carrier_register(
        code=shipment.carrier, name=f"{shipment.carrier} (international)"
    )
    vendor_services.sub_order_ship(
        sub_order=shipment.sub_order,
        carrier=shipment.carrier,
        tracking_number=str(shipment.tracking_number),
        actor=CUSTOMS_ACTOR,
    )
    return shipment


@transaction.atomic
def shipment_withdraw(*, shipment_id: int) -> InternationalShipment:
    """The part was cancelled elsewhere (the whole order, support): the shipment ends, once."""
    shipment = _locked(shipment_id)
    if shipment.status != S.WITHDRAWN:
        shipment.withdraw()
        shipment.save()
        _event(shipment, E.WITHDRAWN, part_status=shipment.sub_order.status)
    return shipment


@transaction.atomic
def tracking_check(*, shipment_id: int, idempotency_key: str) -> str:
    """The daily carrier check: ask where the parcel is (once per timer firing)."""
    shipment = _locked(shipment_id)
    done = _keyed(shipment, f"track:{idempotency_key}")
    if done is not None:
        return str(done.detail.get("status", ""))
    if shipment.tracking_status == "delivered":
        return "delivered"
    if shipment.sub_order.status in (VendorSubOrder.S.DELIVERED, VendorSubOrder.S.COMPLETED):
        # The carrier's delivery reached the vendor part through the marketplace's webhook.
        shipment.tracking_status = "delivered"
        shipment.save(update_fields=["tracking_status"])
        return "delivered"
    status = get_carrier().track(
        tracking_number=shipment.tracking_number, checks_so_far=shipment.tracking_checks
    )
    shipment.tracking_checks += 1
    shipment.tracking_status, shipment.tracking_location = status.status, status.location
    shipment.tracked_at = timezone.now()
    shipment.save()
    _event(
        shipment,
        E.TRACKING_CHECKED,
        key=f"track:{idempotency_key}",
        status=status.status,
        location=status.location,
    )
    return status.status


@transaction.atomic
def tracking_receive(
    *,
    shipment: InternationalShipment,
    status: str,
    location: str,
    occurred_at: dt.datetime | None,
    event_id: str,
    actor: str,
) -> None:
    """A carrier pushed a tracking event: record it and tell the process."""
    shipment = _locked(shipment)
    if shipment.status not in (S.SHIPPED, S.DELIVERED):
        raise ApplicationError(f"Shipment {shipment.number} is not with a carrier.")
    newer = shipment.tracked_at is None or occurred_at is None or occurred_at >= shipment.tracked_at
    if newer and shipment.tracking_status != "delivered":
        shipment.tracking_status, shipment.tracking_location = status, location
        shipment.tracked_at = occurred_at or timezone.now()
        shipment.save()
    _event(
        shipment,
        E.TRACKING_EVENT,
        actor=actor,
        occurred_at=occurred_at,
        status=status,
        location=location,
    )
    publish_once(
        SHIPMENT_TRACKING,
        shipment.number,
        variables={"trackingStatus": shipment.tracking_status},
        message_id=f"{SHIPMENT_TRACKING}:{shipment.number}:{event_id}",
    )


def delivery_confirm(*, shipment_id: int) -> InternationalShipment:
    """Delivered: the shipment ends and the vendor part is delivered (its hold can go)."""
    with transaction.atomic():
        shipment = _locked(shipment_id)
        if shipment.status == S.SHIPPED:
            shipment.deliver()
            shipment.delivered_at = timezone.now()
            shipment.save()
            _event(shipment, E.DELIVERED, carrier=shipment.carrier)
    sub_order = VendorSubOrder.objects.get(pk=shipment.sub_order_id)
    if sub_order.status == VendorSubOrder.S.SHIPPED:
        vendor_services.sub_order_deliver(sub_order=sub_order, actor=f"carrier:{shipment.carrier}")
    return shipment


@transaction.atomic
def shipment_complete(*, shipment_id: int) -> InternationalShipment:
    shipment = _locked(shipment_id)
    if shipment.completed_at is None:
        shipment.completed_at = timezone.now()
        shipment.save(update_fields=["completed_at"])
        _event(shipment, E.COMPLETED)
    return shipment


# ------------------------------------------------------------------------------ rule editing
@transaction.atomic
def rule_save(*, form: Any, user: Any) -> Any:
    """Save a staff edit of a customs rule or rate and record who changed what."""
    from .models import AuditEntry

    instance = form.instance
    created = instance.pk is None
    changes = {
        name: str(form.cleaned_data.get(name))
        for name in (form.changed_data if not created else form.fields)
    }
    if hasattr(instance, "updated_by"):
        instance.updated_by = actor_of(user)
    row = form.save()
    AuditEntry.objects.create(
        model=type(row).__name__,
        object_id=row.pk,
        action="created" if created else "changed",
        actor=actor_of(user),
        changes=changes,
    )
    return row
