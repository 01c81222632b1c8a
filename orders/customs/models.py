"""Customs data (restrictions, territories, duty and tax rules, currency rates, exporters) and
international shipments with their duty lines, documents and broker/carrier events.

Everything that changes over time is a dated row editable by staff: a rule is in force on a day
when ``valid_from <= day`` and (``valid_to`` is empty or ``day <= valid_to``).
"""

from __future__ import annotations

import datetime as dt

import pycountry
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from vendors.models import Vendor, VendorSubOrder

hs_prefix_validator = RegexValidator(
    r"^(\d{2}|\d{4}|\d{6}|\d{8}|\d{10})?$",
    "An HS prefix is a chapter (2 digits), heading (4), subheading (6) or a national code (8-10).",
)


def validate_country(value: str) -> None:
    if pycountry.countries.get(alpha_2=value) is None:
        raise ValidationError(f"{value!r} is not an ISO 3166 country code.")


def validate_subdivision(value: str) -> None:
    if value and pycountry.subdivisions.get(code=value) is None:
        raise ValidationError(f"{value!r} is not an ISO 3166-2 subdivision code.")


def validate_currency(value: str) -> None:
    if pycountry.currencies.get(alpha_3=value) is None:
        raise ValidationError(f"{value!r} is not an ISO 4217 currency code.")


def validate_country_list(value: object) -> None:
    if not isinstance(value, list) or not value:
        raise ValidationError("Give a list of ISO 3166 country codes.")
    for code in value:
        validate_country(str(code))


class DatedQuerySet(models.QuerySet):
    def in_force(self, day: dt.date) -> DatedQuerySet:
        return self.filter(Q(valid_to__isnull=True) | Q(valid_to__gte=day), valid_from__lte=day)


class Dated(models.Model):
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True, help_text="Last day in force; empty: open.")
    source = models.CharField(
        max_length=300, blank=True, help_text="Where the figure comes from (law, notice, URL)."
    )
    updated_by = models.CharField(max_length=150, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = DatedQuerySet.as_manager()

    class Meta:
        abstract = True

    def clean(self) -> None:
        if self.valid_to and self.valid_to < self.valid_from:
            raise ValidationError({"valid_to": "The rule cannot end before it starts."})


class RestrictionKind(models.TextChoices):
    EMBARGO = "embargo", "Comprehensive embargo (all goods)"
    HS_CODE = "hs_code", "Goods restricted by HS code"


class ExportRestriction(Dated):
    """No export to a destination country or region, for all goods or for an HS prefix."""

    K = RestrictionKind
    kind = models.CharField(max_length=10, choices=K.choices)
    country = models.CharField(max_length=2, validators=[validate_country])
    # ISO 3166-2 code: only this region of the country is restricted (e.g. UA-43 Crimea).
    region = models.CharField(max_length=6, blank=True, validators=[validate_subdivision])
    hs_prefix = models.CharField(max_length=10, blank=True, validators=[hs_prefix_validator])
    reason = models.CharField(max_length=300)

    class Meta:
        ordering = ["country", "region", "hs_prefix"]

    def __str__(self) -> str:
        where = self.region or self.country
        what = f" HS {self.hs_prefix}" if self.hs_prefix else ""
        return f"{self.get_kind_display()}: {where}{what}"

    def clean(self) -> None:
        super().clean()
        if self.kind == RestrictionKind.HS_CODE and not self.hs_prefix:
            raise ValidationError({"hs_prefix": "Name the HS code (or its prefix) restricted."})
        if self.region and not self.region.startswith(f"{self.country}-"):
            raise ValidationError({"region": f"{self.region} is not a region of {self.country}."})


class CustomsTerritory(models.Model):
    """A customs territory (the EU's customs union, or one country) and its default terms."""

    code = models.CharField(max_length=8, unique=True)
    name = models.CharField(max_length=100)
    members = models.JSONField(validators=[validate_country_list])
    currency = models.CharField(max_length=3, validators=[validate_currency])
    # Incoterms 2020 rule for shipments into this territory: DDP (we pay duties and taxes) or
    # DAP (the customer pays them on delivery).
    default_incoterm = models.CharField(
        max_length=3, choices=[("DDP", "DDP"), ("DAP", "DAP")], default="DAP"
    )

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "customs territories"

    def __str__(self) -> str:
        return self.name


class TaxKind(models.TextChoices):
    DUTY = "duty", "Customs duty (ad valorem)"
    FLAT_DUTY = "flat_duty", "Flat duty per item line"
    VAT = "vat", "Import VAT / GST / consumption tax"


class Collection(models.TextChoices):  # who collects a computed line
    AT_SALE = "at_sale", "Collected at sale (seller remits)"
    AT_BORDER = "at_border", "Collected at the border"


class DutyTaxRule(Dated):
    """A duty or tax a shipment into a territory (or one member or region of it) may owe.

    The most specific rule in force wins for each goods line and kind: region over country over
    the whole territory, then the longest matching HS prefix. A rule without a rate says the
    charge is due but that its rate is not on file (national tariffs per HS heading): the line
    shows it as "assessed by the broker" rather than inventing a figure.

    - ``value_above_minor``: the charge applies only when the goods value (converted into
      ``threshold_currency``) is above it (duty relief, tax-free allowances); empty: from the
      first unit.
    - ``value_up_to_minor``: only up to that value (the EU's flat duty on low-value parcels).
    - ``at_sale_up_to_minor``: up to that value the tax is collected at sale by the seller
      (EU IOSS, UK, Australia), above it at the border.
    - ``waived_up_to_minor``: a computed charge at most this is not levied (Switzerland).
    - ``rate_bp``: basis points (2000 = 20%); ``flat_minor``: per item line (flat duty).
    """

    K = TaxKind
    territory = models.ForeignKey(CustomsTerritory, on_delete=models.PROTECT, related_name="rules")
    country = models.CharField(
        max_length=2, blank=True, validators=[validate_country], help_text="Only this member."
    )
    region = models.CharField(max_length=6, blank=True, validators=[validate_subdivision])
    kind = models.CharField(max_length=10, choices=K.choices)
    label = models.CharField(max_length=120)
    hs_prefix = models.CharField(max_length=10, blank=True, validators=[hs_prefix_validator])
    rate_bp = models.PositiveIntegerField(null=True, blank=True)
    flat_minor = models.PositiveBigIntegerField(null=True, blank=True)
    threshold_currency = models.CharField(max_length=3, validators=[validate_currency])
    value_above_minor = models.PositiveBigIntegerField(null=True, blank=True)
    value_up_to_minor = models.PositiveBigIntegerField(null=True, blank=True)
    at_sale_up_to_minor = models.PositiveBigIntegerField(null=True, blank=True)
    waived_up_to_minor = models.PositiveBigIntegerField(null=True, blank=True)
    # Only for parcels from these countries (Canada's CUSMA courier thresholds); empty: any.
    origin_countries = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["territory__code", "kind", "country", "region", "hs_prefix", "valid_from"]

    def __str__(self) -> str:
        return f"{self.territory.code} {self.label}"

    @property
    def specificity(self) -> tuple[int, int, int]:
        return (int(bool(self.region)), int(bool(self.country)), len(self.hs_prefix))

    def clean(self) -> None:
        super().clean()
        if self.kind == TaxKind.FLAT_DUTY and self.flat_minor is None:
            raise ValidationError({"flat_minor": "A flat duty needs its amount per line."})
        if self.country and self.territory_id and self.country not in self.territory.members:
            raise ValidationError({"country": f"{self.country} is not in {self.territory}."})
        if self.region and self.country and not self.region.startswith(f"{self.country}-"):
            raise ValidationError({"region": f"{self.region} is not in {self.country}."})


class OriginCertificateRule(Dated):
    """A destination (and optionally goods of an HS prefix) needs a certificate of origin."""

    destination = models.CharField(max_length=2, validators=[validate_country])
    hs_prefix = models.CharField(max_length=10, blank=True, validators=[hs_prefix_validator])
    reason = models.CharField(max_length=300)

    class Meta:
        ordering = ["destination", "hs_prefix"]

    def __str__(self) -> str:
        return f"Certificate of origin to {self.destination} {self.hs_prefix}".strip()


class CurrencyRate(models.Model):
    """A reference rate: 1 ``base`` = ``rate`` ``quote`` on ``rate_date`` (ECB: base EUR)."""

    base = models.CharField(max_length=3, default="EUR", validators=[validate_currency])
    quote = models.CharField(max_length=3, validators=[validate_currency])
    rate = models.DecimalField(max_digits=18, decimal_places=8)
    rate_date = models.DateField()
    source = models.CharField(max_length=40, default="ecb")
    fetched_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-rate_date", "quote"]
        constraints = [
            models.UniqueConstraint(
                fields=["base", "quote", "rate_date", "source"], name="unique_currency_rate"
            )
        ]

    def __str__(self) -> str:
        return f"1 {self.base} = {self.rate} {self.quote} ({self.rate_date})"


class ExporterProfile(models.Model):
    """A vendor as exporter: where it ships from and its tax ids for customs documents."""

    vendor = models.OneToOneField(Vendor, on_delete=models.CASCADE, related_name="exporter")
    legal_name = models.CharField(max_length=200)
    address = models.CharField(max_length=300)
    country = models.CharField(max_length=2, validators=[validate_country])
    tax_id = models.CharField(max_length=40, help_text="EORI / VAT number.")

    def __str__(self) -> str:
        return f"{self.legal_name} ({self.country})"


class AuditEntry(models.Model):
    """Who changed which customs rule or rate, and how (append-only)."""

    model = models.CharField(max_length=60)
    object_id = models.BigIntegerField()
    action = models.CharField(max_length=20)
    actor = models.CharField(max_length=150)
    changes = models.JSONField(default=dict)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "customs audit entries"

    def __str__(self) -> str:
        return f"{self.model}#{self.object_id} {self.action} by {self.actor}"


# ------------------------------------------------------------------------------ shipments
class ShipmentStatus(models.TextChoices):
    OPENED = "opened", "Opened"
    RESTRICTED = "restricted", "Export restricted (cancelled)"
    ASSESSED = "assessed", "Duties and taxes assessed"
    DOCUMENTED = "documented", "Documents issued"
    SUBMITTED = "submitted", "With the customs broker"
    HELD = "held", "Held by customs"
    CLEARED = "cleared", "Cleared"
    REJECTED = "rejected", "Rejected by customs"
    SHIPPED = "shipped", "With the international carrier"
    DELIVERED = "delivered", "Delivered"
    COMPENSATED = "compensated", "Refunded, goods returned"
    WITHDRAWN = "withdrawn", "Withdrawn (part cancelled)"


class InternationalShipment(ConcurrentTransitionMixin, models.Model):
    """A vendor's cross-border parcel and its way through customs (one per sub-order)."""

    S = ShipmentStatus
    number = models.CharField(max_length=100, unique=True)
    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="shipments")
    sub_order = models.OneToOneField(
        VendorSubOrder, on_delete=models.CASCADE, related_name="international_shipment"
    )
    status = FSMField(default=S.OPENED, choices=S.choices, protected=True)
    origin_country = models.CharField(max_length=2, validators=[validate_country])
    destination_country = models.CharField(max_length=2, validators=[validate_country])
    destination_region = models.CharField(max_length=6, blank=True)
    territory = models.ForeignKey(
        CustomsTerritory, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    incoterm = models.CharField(max_length=3, default="DAP")
    incoterm_place = models.CharField(max_length=200, blank=True)
    currency = models.CharField(max_length=3)
    goods_value_minor = models.BigIntegerField(default=0)
    freight_minor = models.BigIntegerField(default=0)
    insurance_minor = models.BigIntegerField(default=0)
    net_weight_grams = models.PositiveIntegerField(default=0)
    gross_weight_grams = models.PositiveIntegerField(default=0)
    duties_payer = models.CharField(max_length=10, blank=True)  # "seller" (DDP) / "buyer" (DAP)
    assessed_on = models.DateField(null=True, blank=True)
    duties_prepaid_at = models.DateTimeField(null=True, blank=True)
    duties_notice_sent_at = models.DateTimeField(null=True, blank=True)
    needs_origin_certificate = models.BooleanField(default=False)
    invoice_number = models.CharField(max_length=60, blank=True)
    invoice_date = models.DateField(null=True, blank=True)
    certificate_number = models.CharField(max_length=60, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    broker = models.CharField(max_length=40, blank=True)
    broker_reference = models.CharField(max_length=120, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    customs_status_at = models.DateTimeField(null=True, blank=True)
    held_since = models.DateTimeField(null=True, blank=True)
    missing_documents = models.JSONField(default=list, blank=True)
    carrier = models.CharField(max_length=40, blank=True)
    tracking_number = models.CharField(max_length=120, blank=True)
    tracking_status = models.CharField(max_length=40, blank=True)
    tracking_location = models.CharField(max_length=200, blank=True)
    tracked_at = models.DateTimeField(null=True, blank=True)
    tracking_checks = models.PositiveIntegerField(default=0)
    goods_returned_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    process_instance_key = models.BigIntegerField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "held_since"])]

    def __str__(self) -> str:
        return self.number

    @property
    def customs_value_minor(self) -> int:
        """CIF value: goods, freight and insurance (the base of duty and import VAT)."""
        return self.goods_value_minor + self.freight_minor + self.insurance_minor

    @transition(field=status, source=S.OPENED, target=S.RESTRICTED)
    def restrict(self) -> None:
        """An export restriction applies: the part is cancelled and refunded."""

    @transition(field=status, source=[S.OPENED, S.ASSESSED], target=S.ASSESSED)
    def assess(self) -> None:
        """Duties and taxes were calculated."""

    @transition(field=status, source=[S.ASSESSED, S.DOCUMENTED], target=S.DOCUMENTED)
    def document(self) -> None:
        """The commercial invoice (and certificate of origin) were issued."""

    @transition(field=status, source=S.DOCUMENTED, target=S.SUBMITTED)
    def submit(self) -> None:
        """Handed to the customs broker."""

    @transition(field=status, source=[S.SUBMITTED, S.HELD], target=S.HELD)
    def hold(self) -> None:
        """Customs holds the parcel (documents or payment missing)."""

    @transition(field=status, source=[S.SUBMITTED, S.HELD], target=S.CLEARED)
    def clear(self) -> None:
        """Customs released the parcel."""

    @transition(field=status, source=[S.SUBMITTED, S.HELD], target=S.REJECTED)
    def reject(self) -> None:
        """Customs refused the parcel, or support cancelled it while held."""

    @transition(field=status, source=S.CLEARED, target=S.SHIPPED)
    def ship(self) -> None:
        """Handed to the international carrier."""

    @transition(field=status, source=S.SHIPPED, target=S.DELIVERED)
    def deliver(self) -> None:
        """The carrier delivered it."""

    @transition(
        field=status,
        source=[S.OPENED, S.ASSESSED, S.DOCUMENTED, S.SUBMITTED, S.HELD, S.CLEARED],
        target=S.WITHDRAWN,
    )
    def withdraw(self) -> None:
        """The vendor part was cancelled elsewhere; nothing is shipped."""

    @transition(field=status, source=S.REJECTED, target=S.COMPENSATED)
    def compensate(self) -> None:
        """Refunded and the goods sent back to the vendor."""


class DutyTaxLine(models.Model):
    """One computed line of duty or tax, with the rule that produced it and the rate used."""

    shipment = models.ForeignKey(
        InternationalShipment, on_delete=models.CASCADE, related_name="duty_lines"
    )
    rule = models.ForeignKey(
        DutyTaxRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=10, choices=TaxKind.choices)
    label = models.CharField(max_length=120)
    hs_code = models.CharField(max_length=10, blank=True)
    base_minor = models.BigIntegerField(null=True, blank=True)
    rate_bp = models.PositiveIntegerField(null=True, blank=True)
    # None: due but not computable from the data on file (tariff rate per heading missing).
    amount_minor = models.BigIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3)
    collected = models.CharField(max_length=10, choices=Collection.choices)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.shipment.number} {self.label}: {self.amount_minor} {self.currency}"


class CurrencyConversion(models.Model):
    """A conversion done for a shipment, with the rate and the rate's date used."""

    shipment = models.ForeignKey(
        InternationalShipment, on_delete=models.CASCADE, related_name="conversions"
    )
    purpose = models.CharField(max_length=120)
    amount_minor = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    converted_minor = models.BigIntegerField()
    to_currency = models.CharField(max_length=3)
    rate = models.DecimalField(max_digits=24, decimal_places=12)
    rate_date = models.DateField()
    rate_source = models.CharField(max_length=40)

    class Meta:
        ordering = ["id"]


class CustomsDocument(models.Model):
    """An issued document (commercial invoice, certificate of origin); rendered on demand."""

    INVOICE, ORIGIN = "commercial_invoice", "certificate_of_origin"
    shipment = models.ForeignKey(
        InternationalShipment, on_delete=models.CASCADE, related_name="documents"
    )
    kind = models.CharField(
        max_length=30,
        choices=[(INVOICE, "Commercial invoice"), (ORIGIN, "Certificate of origin")],
    )
    number = models.CharField(max_length=60, unique=True)
    issued_on = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["shipment", "kind"], name="one_document_per_kind")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.number}"


class ShipmentEventKind(models.TextChoices):
    """What happens to an international shipment (its history's events)."""

    OPENED = "shipment_opened", "Shipment opened"
    PROCESS_STARTED = "customs_process_started", "Customs workflow started"
    PROCESS_START_DELAYED = (
        "customs_process_start_delayed",
        "Customs workflow could not start yet (retried automatically)",
    )
    EXPORT_ALLOWED = "export_allowed", "Export allowed"
    EXPORT_RESTRICTED = "export_restricted", "Export restricted"
    DUTIES_ASSESSED = "duties_assessed", "Duties and taxes assessed"
    DUTIES_PREPAID = "duties_prepaid", "Duties and taxes paid (DDP)"
    CUSTOMER_NOTIFIED = "customer_notified", "Customer notified"
    INVOICE_ISSUED = "invoice_issued", "Commercial invoice issued"
    ORIGIN_CERTIFICATE_ISSUED = "origin_certificate_issued", "Certificate of origin issued"
    SUBMITTED = "submitted_to_broker", "Submitted to the customs broker"
    DOCUMENTS_SENT = "documents_sent", "Documents sent to the broker"
    CUSTOMS_HELD = "customs_held", "Held by customs"
    CUSTOMS_CLEARED = "customs_cleared", "Cleared by customs"
    CUSTOMS_REJECTED = "customs_rejected", "Rejected by customs"
    UPDATE_STALE = "customs_update_stale", "Late customs update (older than the last)"
    UPDATE_IGNORED = "customs_update_ignored", "Customs update after the decision"
    CANCELLED_BY_SUPPORT = "cancelled_by_support", "Cancelled by support"
    GOODS_RETURNED = "goods_returned", "Goods returned to the vendor"
    CARRIER_BOOKED = "carrier_booked", "Handed to the international carrier"
    WITHDRAWN = "withdrawn", "Withdrawn (part cancelled)"
    TRACKING_CHECKED = "tracking_checked", "Carrier checked"
    TRACKING_EVENT = "tracking_event", "Carrier event"
    DELIVERED = "delivered", "Delivered"
    COMPLETED = "completed", "Completed"


class ShipmentEvent(models.Model):
    """What happened to a shipment, and who did it. Append-only; written only through
    ``core.history.history_write``."""

    EVENTS = ShipmentEventKind
    shipment = models.ForeignKey(
        InternationalShipment, on_delete=models.CASCADE, related_name="events"
    )
    event = models.CharField(max_length=60, choices=ShipmentEventKind.choices)
    from_status = models.CharField(max_length=30, blank=True)
    to_status = models.CharField(max_length=30, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    actor = models.CharField(max_length=150, blank=True)
    idempotency_key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    occurred_at = models.DateTimeField(null=True, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.shipment.number} {self.event}"


def default_home_country() -> str:
    return getattr(settings, "CUSTOMS_HOME_COUNTRY", "DE")
