"""Act again on stored webhook events that failed (engine down) or were left half-done."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from core.webhooks import retry_webhook_events


class Command(BaseCommand):
    help = "Retry webhook events left FAILED or stale RECEIVED (run it every minute or so)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than", type=int, default=30, help="Seconds a RECEIVED event must be old."
        )
        parser.add_argument("--limit", type=int, default=200)

    def handle(self, *args: Any, **options: Any) -> None:
        counts = retry_webhook_events(
            older_than_seconds=options["older_than"], limit=options["limit"]
        )
        self.stdout.write(
            f"processed {counts['processed']}, failed {counts['failed']}, "
            f"refused {counts['refused']}"
        )
