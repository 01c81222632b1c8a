"""Serve Zeebe's gRPC gateway protocol over the embedded engine, in a process of its own."""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Run the Zeebe gRPC gateway of the embedded engine (pyzeebe, zbctl and Zeebe clients)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "address",
            nargs="?",
            default="",
            help="host:port to bind (default ZEEBE_GATEWAY_ADDRESS, else 127.0.0.1:26500)",
        )
        parser.add_argument("--threads", type=int, default=64, help="request threads (64)")
        parser.add_argument(
            "--no-ticker",
            dest="ticker",
            action="store_false",
            help="do not fire due timers here (another process's ticker or Celery beat does)",
        )
        parser.add_argument(
            "--deploy", action="store_true", help="deploy the domain processes first"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from processes.grpc.server import from_settings

        if settings.PROCESS_ENGINE != "embedded":
            self.stderr.write("The gateway serves the embedded engine: PROCESS_ENGINE=embedded")
            return
        if options["deploy"]:
            from processes import port

            for deployed in port.deploy_all():
                self.stdout.write(f"Process deployed: {deployed}")
        server = from_settings(
            address=options["address"] or None,
            threads=options["threads"],
            ticker=options["ticker"],
        ).start()
        auth = "bearer token required" if server.token else "no authentication"
        self.stdout.write(f"Zeebe gateway on {server.target} ({auth})")
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        try:
            stop.wait()
        finally:
            server.stop()
