"""Run the job bridge: pyzeebe workers that hand each job of a handled type to Celery."""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Activate jobs on Zeebe with pyzeebe and run their handlers in Celery workers."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--address", default="", help="the Zeebe gateway (default ZEEBE_ADDRESS)"
        )
        parser.add_argument(
            "--type",
            dest="types",
            action="append",
            help="only this job type (repeatable; default every registered handler's type)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from processes import jobs
        from processes.bridge import Bridge

        if not settings.CELERY_BROKER_URL:
            self.stderr.write("The bridge hands jobs to Celery: set CELERY_BROKER_URL")
            return
        types = options["types"] or jobs.handled_types()
        bridge = Bridge(options["address"] or settings.ZEEBE_ADDRESS, types).start()
        self.stdout.write(f"Bridge on {bridge.address} for {len(types)} job types")
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        try:
            stop.wait()
        finally:
            bridge.stop()
