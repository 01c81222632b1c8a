"""Duty and tax assessment of a consignment from the dated rules on file (pure calculation).

For each goods line and kind (duty, VAT) the most specific rule in force is chosen; the rules'
thresholds are compared with the consignment's goods value converted into the rule's currency.
Duty is computed on the line's value; import VAT on the line's value plus its share of freight
and insurance plus its duty (the usual CIF + duty base). Every amount is rounded half-up once per
line; amounts are in the rule's (the destination's) currency, in minor units.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from core.money import allocate

from .models import Collection, CustomsTerritory, DutyTaxRule, TaxKind
from .rates import Conversion


@dataclass(frozen=True)
class GoodsLine:
    hs_code: str
    description: str
    quantity: int
    value_minor: int  # in the consignment's currency


@dataclass
class AssessedLine:
    kind: str
    label: str
    rule: DutyTaxRule | None
    currency: str
    collected: str
    hs_code: str = ""
    base_minor: int | None = None
    rate_bp: int | None = None
    amount_minor: int | None = None
    note: str = ""


@dataclass
class Assessment:
    lines: list[AssessedLine] = field(default_factory=list)
    conversions: list[tuple[str, Conversion]] = field(default_factory=list)

    def total(self, *, collected: str | None = None) -> dict[str, int]:
        """Known amounts by currency (lines whose rate is not on file are left out)."""
        totals: dict[str, int] = {}
        for line in self.lines:
            if line.amount_minor is None or (collected and line.collected != collected):
                continue
            totals[line.currency] = totals.get(line.currency, 0) + line.amount_minor
        return totals

    @property
    def incomplete(self) -> bool:
        return any(line.amount_minor is None for line in self.lines)


Converter = Callable[[int, str, str], Conversion]


def _percent(amount_minor: int, rate_bp: int) -> int:
    value = Decimal(amount_minor) * Decimal(rate_bp) / Decimal(10_000)
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _money(minor: int, currency: str) -> str:
    from .rates import minor_digits

    digits = minor_digits(currency)
    return f"{currency} {Decimal(minor).scaleb(-digits):,.{digits}f}"


def rules_in_force(
    *, territory: CustomsTerritory, country: str, region: str, origin: str, day: dt.date
) -> list[DutyTaxRule]:
    rules = DutyTaxRule.objects.in_force(day).filter(territory=territory)
    return [
        rule
        for rule in rules
        if (not rule.country or rule.country == country)
        and (not rule.region or rule.region == region)
        and (not rule.origin_countries or origin in rule.origin_countries)
    ]


def _best(rules: list[DutyTaxRule], kind: str, hs_code: str) -> DutyTaxRule | None:
    matching = [r for r in rules if r.kind == kind and hs_code.startswith(r.hs_prefix)]
    return max(matching, key=lambda r: r.specificity) if matching else None


def assess(
    *,
    territory: CustomsTerritory | None,
    country: str,
    region: str,
    origin: str,
    goods: list[GoodsLine],
    currency: str,
    freight_minor: int,
    insurance_minor: int,
    day: dt.date,
    convert: Converter,
) -> Assessment:
    """The duty and tax lines a consignment owes under the rules in force on ``day``."""
    result = Assessment()
    if territory is None:
        result.lines.append(
            AssessedLine(
                kind=TaxKind.DUTY,
                label="No duty and tax rules on file for this destination",
                rule=None,
                currency=currency,
                collected=Collection.AT_BORDER,
                note=f"{country}: the customs broker assesses duties and taxes.",
            )
        )
        return result
    rules = rules_in_force(
        territory=territory, country=country, region=region, origin=origin, day=day
    )
    if not any(r.kind in (TaxKind.DUTY, TaxKind.VAT) for r in rules):
        result.lines.append(
            AssessedLine(
                kind=TaxKind.DUTY,
                label="No duty and tax rules on file for this route",
                rule=None,
                currency=territory.currency,
                collected=Collection.AT_BORDER,
                note=f"{origin} to {country}: the customs broker assesses duties and taxes.",
            )
        )
    goods_value = sum(line.value_minor for line in goods)
    converted: dict[str, Conversion] = {}

    def to(currency_to: str, amount: int, purpose: str) -> int:
        if currency_to == currency:
            return amount
        conversion = convert(amount, currency, currency_to)
        result.conversions.append((purpose, conversion))
        return conversion.converted_minor

    def value_in(rule_currency: str) -> int:
        if rule_currency not in converted:
            if rule_currency == currency:
                return goods_value
            conversion = convert(goods_value, currency, rule_currency)
            converted[rule_currency] = conversion
            result.conversions.append(("goods value for thresholds", conversion))
        return converted[rule_currency].converted_minor

    def threshold_note(rule: DutyTaxRule) -> str:
        value = value_in(rule.threshold_currency)
        return f"goods value {_money(value, rule.threshold_currency)}"

    def applies(rule: DutyTaxRule) -> bool:
        value = value_in(rule.threshold_currency)
        if rule.value_above_minor is not None and value <= rule.value_above_minor:
            return False
        return not (rule.value_up_to_minor is not None and value > rule.value_up_to_minor)

    def collected_by(rule: DutyTaxRule) -> str:
        value = value_in(rule.threshold_currency)
        if rule.at_sale_up_to_minor is not None and value <= rule.at_sale_up_to_minor:
            return Collection.AT_SALE
        return Collection.AT_BORDER

    # VAT of a region (Canada's HST) replaces the territory's (GST) for every line there.
    if any(r.kind == TaxKind.VAT and r.region for r in rules):
        rules = [r for r in rules if r.kind != TaxKind.VAT or r.region]

    extras = allocate(
        total_minor=freight_minor + insurance_minor,
        weights=[max(line.value_minor, 0) for line in goods] or [1],
    )
    duty_by_line: list[int] = []
    for line in goods:
        rule = _best(rules, TaxKind.DUTY, line.hs_code)
        if rule is None:
            duty_by_line.append(0)
            continue
        base = to(rule.threshold_currency, line.value_minor, f"duty base {line.hs_code}")
        if not applies(rule):
            limit = rule.value_above_minor or 0
            result.lines.append(
                AssessedLine(
                    kind=TaxKind.DUTY,
                    label=f"{rule.label}: relief",
                    rule=rule,
                    currency=rule.threshold_currency,
                    collected=Collection.AT_BORDER,
                    hs_code=line.hs_code,
                    base_minor=base,
                    amount_minor=0,
                    note=f"{threshold_note(rule)}, at most "
                    f"{_money(limit, rule.threshold_currency)}: no duty",
                )
            )
            duty_by_line.append(0)
            continue
        if rule.rate_bp is None:
            result.lines.append(
                AssessedLine(
                    kind=TaxKind.DUTY,
                    label=rule.label,
                    rule=rule,
                    currency=rule.threshold_currency,
                    collected=Collection.AT_BORDER,
                    hs_code=line.hs_code,
                    base_minor=base,
                    note=f"No tariff rate on file for heading {line.hs_code[:4]} into "
                    f"{territory.code}: the national tariff applies, assessed by the broker",
                )
            )
            duty_by_line.append(0)
            continue
        amount = _percent(base, rule.rate_bp)
        duty_by_line.append(amount)
        result.lines.append(
            AssessedLine(
                kind=TaxKind.DUTY,
                label=rule.label,
                rule=rule,
                currency=rule.threshold_currency,
                collected=Collection.AT_BORDER,
                hs_code=line.hs_code,
                base_minor=base,
                rate_bp=rule.rate_bp,
                amount_minor=amount,
                note=threshold_note(rule),
            )
        )

    flat_rules = [r for r in rules if r.kind == TaxKind.FLAT_DUTY]
    for rule in sorted(flat_rules, key=lambda r: r.pk or 0):
        items = [line for line in goods if line.hs_code.startswith(rule.hs_prefix)]
        if not items or not applies(rule):
            continue
        result.lines.append(
            AssessedLine(
                kind=TaxKind.FLAT_DUTY,
                label=rule.label,
                rule=rule,
                currency=rule.threshold_currency,
                collected=Collection.AT_BORDER,
                amount_minor=(rule.flat_minor or 0) * len(items),
                note=f"{len(items)} item line(s) x "
                f"{_money(rule.flat_minor or 0, rule.threshold_currency)}; {threshold_note(rule)}",
            )
        )

    vat: dict[int, AssessedLine] = {}
    for line, extra, duty in zip(goods, extras, duty_by_line, strict=False):
        rule = _best(rules, TaxKind.VAT, line.hs_code)
        if rule is None:
            continue
        entry = vat.get(rule.pk)
        if entry is None:
            entry = vat[rule.pk] = AssessedLine(
                kind=TaxKind.VAT,
                label=rule.label,
                rule=rule,
                currency=rule.threshold_currency,
                collected=collected_by(rule),
                rate_bp=rule.rate_bp,
                base_minor=0,
                amount_minor=0,
            )
        base = to(rule.threshold_currency, line.value_minor + extra, f"VAT base {line.hs_code}")
        duty_here = duty if rule.threshold_currency == _duty_currency(rules, line) else 0
        entry.base_minor = (entry.base_minor or 0) + base + duty_here
    for entry in vat.values():
        rule = entry.rule
        assert rule is not None
        if not applies(rule):
            limit = rule.value_above_minor or 0
            entry.note = (
                f"{threshold_note(rule)}, at most {_money(limit, rule.threshold_currency)}: "
                "tax-free"
            )
            entry.label = f"{rule.label}: exempt"
        elif rule.rate_bp is None:
            entry.amount_minor = None
            entry.note = f"No rate on file for {country}: assessed by the broker"
        else:
            entry.amount_minor = _percent(entry.base_minor or 0, rule.rate_bp)
            entry.note = threshold_note(rule) + (
                "; collected at sale" if entry.collected == Collection.AT_SALE else ""
            )
            waived = rule.waived_up_to_minor
            if waived is not None and entry.amount_minor <= waived:
                entry.note = (
                    f"{_money(entry.amount_minor, rule.threshold_currency)} is at most "
                    f"{_money(waived, rule.threshold_currency)}: not levied"
                )
                entry.amount_minor = 0
        result.lines.append(entry)
    return result


def _duty_currency(rules: list[DutyTaxRule], line: GoodsLine) -> str:
    rule = _best(rules, TaxKind.DUTY, line.hs_code)
    return rule.threshold_currency if rule else ""
