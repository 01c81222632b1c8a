"""Benchmark of the FEEL evaluator on typical gateway conditions and variable mappings.

Run from the project root::

    python bench/feel.py            # default: 20000 cached evaluations per expression
    python bench/feel.py -n 5000    # fewer iterations

Prints, per expression, the cold cost (parse + compile + first evaluation) and the cached cost
(evaluations/s and µs per evaluation), then the overall figures for the whole mix.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from processes import feel
from processes.feel.api import compile_expression

VARIABLES = {
    "amount": 742.5,
    "status": "PAID",
    "order": {
        "id": "ORD-1042",
        "total": Decimal("1299.90"),
        "customer": {"tier": "gold", "country": "DE"},
        "createdAt": dt.datetime(2025, 3, 1, 9, 30, tzinfo=dt.UTC),
    },
    "refunds": [{"amount": 20}, {"amount": Decimal("15.5")}],
    "items": [
        {"sku": "A-1", "vendor": "acme", "qty": 2, "price": Decimal("19.99")},
        {"sku": "B-7", "vendor": "globex", "qty": 1, "price": Decimal("249.00")},
        {"sku": "C-3", "vendor": "acme", "qty": 5, "price": Decimal("4.50")},
    ],
    "fraudScore": 63,
    "vendor": {"slaHours": 48, "name": "acme"},
    "returnRequested": False,
}

EXPRESSIONS = [
    "amount > 500",
    'status = "PAID"',
    "order.total - sum(refunds.amount)",
    'count(items) > 2 and status = "PAID"',
    "{orderId: order.id, vendors: distinct values(items.vendor)}",
    "sum(for i in items return i.qty * i.price)",
    'items[vendor = "acme"].sku',
    'if fraudScore >= 80 then "block" else if fraudScore >= 50 then "review" else "accept"',
    "fraudScore between 50 and 79",
    'order.customer.tier in ("gold", "platinum")',
    "not(returnRequested) and amount <= 1000",
    "some i in items satisfies i.price > 100",
    'order.createdAt + duration("PT" + string(vendor.slaHours) + "H")',
    "is defined(order.coupon)",
    'string join(distinct values(items.vendor), ", ")',
]


def _measure(expression: str, iterations: int) -> tuple[float, float]:
    compile_expression.cache_clear()
    start = time.perf_counter()
    feel.compile_expression(expression).evaluate(VARIABLES)
    cold = time.perf_counter() - start
    compiled = feel.compile_expression(expression)
    evaluate = compiled.evaluate
    for _ in range(min(1000, iterations)):
        evaluate(VARIABLES)
    start = time.perf_counter()
    for _ in range(iterations):
        evaluate(VARIABLES)
    cached = (time.perf_counter() - start) / iterations
    return cold, cached


def main() -> None:
    """Run the benchmark and print a table."""
    parser = argparse.ArgumentParser(description="FEEL evaluator benchmark")
    parser.add_argument("-n", "--iterations", type=int, default=20000)
    args = parser.parse_args()

    feel.compile_expression("1 + 1")  # build the parser once, outside the measurements
    print(f"{'expression':64s} {'cold µs':>9s} {'cached µs':>10s} {'evals/s':>10s}")
    total_cold = total_cached = 0.0
    for expression in EXPRESSIONS:
        cold, cached = _measure(expression, args.iterations)
        total_cold += cold
        total_cached += cached
        label = expression if len(expression) <= 64 else expression[:61] + "..."
        print(f"{label:64s} {cold * 1e6:9.1f} {cached * 1e6:10.2f} {1 / cached:10.0f}")
    n = len(EXPRESSIONS)
    print("-" * 96)
    print(
        f"{'overall (mean per expression)':64s} {total_cold / n * 1e6:9.1f} "
        f"{total_cached / n * 1e6:10.2f} {n / total_cached:10.0f}"
    )


if __name__ == "__main__":
    main()
