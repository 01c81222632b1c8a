"""Each role's home: the numbers of its own work, each a link to where that work is done."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.urls import reverse
from django.utils import timezone

from .roles import MANAGERS, SUPPORT, WAREHOUSE, has_role

SLA_ESCALATION_FORM = "vendor-sla-escalation"


@dataclass(frozen=True)
class Figure:
    value: int
    one: str  # "open review"
    many: str  # "open reviews"
    url: str
    urgent: bool = False

    @property
    def label(self) -> str:
        return self.one if self.value == 1 else self.many


def _tasks(user: Any, form_key: str) -> int:
    from returns.selectors import open_task_count

    return open_task_count(user=user, form_key=form_key)


def _late_vendors() -> int:
    from vendors.models import SubOrderStatus, VendorSubOrder

    return VendorSubOrder.objects.filter(
        status=SubOrderStatus.REQUESTED, sla_due_at__lt=timezone.now()
    ).count()


def sections_for(user: Any) -> list[tuple[str, list[Figure]]]:
    from config.navigation import open_task_count
    from orders.models import Order, OrderStatus
    from processes import port
    from returns.actions import awaited_parcels_count
    from returns.selectors import APPROVAL_FORM, INSPECTION_FORM, REVIEW_FORM

    sections: list[tuple[str, list[Figure]]] = []
    tasks = reverse("tasks:list")
    mine = open_task_count(user)
    common = Figure(mine, "task for you", "tasks for you", tasks + "?queue=mine")
    if has_role(user, SUPPORT):
        late = _late_vendors()
        sections.append(
            (
                "Support",
                [
                    common,
                    Figure(
                        _tasks(user, REVIEW_FORM),
                        "return to review",
                        "returns to review",
                        reverse("returns:list"),
                    ),
                    Figure(
                        _tasks(user, SLA_ESCALATION_FORM),
                        "late vendor to chase",
                        "late vendors to chase",
                        tasks + "?queue=unassigned",
                        urgent=True,
                    ),
                    Figure(late, "vendor past its SLA", "vendors past their SLA", tasks),
                    Figure(
                        port.incidents().count(),
                        "stuck workflow",
                        "stuck workflows",
                        reverse("incidents:list"),
                        urgent=True,
                    ),
                ],
            )
        )
    if has_role(user, WAREHOUSE):
        sections.append(
            (
                "Warehouse",
                [
                    Figure(
                        awaited_parcels_count(user),
                        "return parcel expected",
                        "return parcels expected",
                        reverse("returns:arrivals"),
                    ),
                    Figure(
                        _tasks(user, INSPECTION_FORM),
                        "parcel to inspect",
                        "parcels to inspect",
                        reverse("returns:list"),
                        urgent=True,
                    ),
                ],
            )
        )
    if has_role(user, MANAGERS):
        sections.append(
            (
                "Managers",
                [
                    Figure(
                        _tasks(user, APPROVAL_FORM),
                        "refund to approve",
                        "refunds to approve",
                        reverse("returns:list"),
                        urgent=True,
                    ),
                    Figure(
                        port.incidents().count(),
                        "stuck workflow",
                        "stuck workflows",
                        reverse("incidents:list"),
                        urgent=True,
                    ),
                    Figure(_late_vendors(), "SLA breach", "SLA breaches", tasks + "?queue=all"),
                    Figure(
                        Order.objects.filter(
                            status__in=[OrderStatus.RECEIVED, OrderStatus.PAID]
                        ).count(),
                        "order in progress",
                        "orders in progress",
                        reverse("orders:list") + "?status=paid",
                    ),
                ],
            )
        )
    return sections
