"""Run the marketplace simulator in the foreground (orders, vendor and carrier webhooks)."""

from __future__ import annotations

import contextlib
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from orders.simulator import Simulator, SimulatorConfig, simulator_enabled


class Command(BaseCommand):
    help = "Place orders now and then and play vendors and carriers through signed webhooks."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval", type=float, default=5.0, help="Seconds between ticks.")
        parser.add_argument("--ticks", type=int, default=None, help="Stop after N ticks.")
        parser.add_argument("--seed", type=int, default=None)
        parser.add_argument("--order-probability", type=float, default=0.3)
        parser.add_argument(
            "--base-url", default="", help="POST to a running server instead of in-process."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not simulator_enabled():
            raise CommandError("The simulator is off (SIMULATOR=off).")
        simulator = Simulator(
            SimulatorConfig(
                order_probability=options["order_probability"],
                seed=options["seed"],
                base_url=options["base_url"],
            )
        )
        self.stdout.write("Simulating the marketplace (Ctrl-C stops it)...")
        with contextlib.suppress(KeyboardInterrupt):
            simulator.run(interval_seconds=options["interval"], ticks=options["ticks"])
        self.stdout.write("Simulator stopped.")
