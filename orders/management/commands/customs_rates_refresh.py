"""Store today's ECB euro reference rates (run once a day, after 16:00 CET)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from orders.customs.rates import rates_refresh


class Command(BaseCommand):
    help = "Fetch the ECB's euro reference rates and store them as dated rows."

    def handle(self, *args: Any, **options: Any) -> None:
        created = rates_refresh()
        self.stdout.write(f"{created} new rates stored")
