"""Serve the back-office in one process: web server plus, without a broker, in-process workers."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Run the web server (and, when no Celery broker is configured, in-process workers)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")
        parser.add_argument(
            "--workers", type=int, default=4, help="in-process job worker threads (default 4)"
        )
        parser.add_argument(
            "--no-simulator",
            dest="simulator",
            action="store_false",
            help="do not start the demo simulator (also: SIMULATOR=off)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from processes import port

        for deployed in port.deploy_all():
            self.stdout.write(f"Process deployed: {deployed}")
        pool = None
        if settings.INPROCESS_WORKERS:
            from processes.workers import start_inprocess_workers

            pool = start_inprocess_workers(options["workers"])
            self.stdout.write(f"In-process job workers: {pool.threads} threads and a ticker")
        gateway = None
        if settings.ZEEBE_GATEWAY_ADDRESS and settings.PROCESS_ENGINE == "embedded":
            from processes.grpc.server import from_settings

            # The in-process workers' ticker fires timers when it runs; else the gateway's.
            gateway = from_settings(ticker=pool is None).start()
            self.stdout.write(f"Zeebe gRPC gateway on {gateway.target}")
        simulator = None
        if options["simulator"]:
            from orders.simulator import start_simulator

            simulator = start_simulator()
            if simulator is not None:
                self.stdout.write("Simulator on: orders arrive and vendors answer (SIMULATOR=off)")
        try:
            call_command("runserver", options["addrport"], use_reloader=False, use_threading=True)
        finally:
            if simulator is not None:
                from orders.simulator import stop_simulator

                stop_simulator()
            if gateway is not None:
                gateway.stop()
            if pool is not None:
                from processes.workers import stop_inprocess_workers

                stop_inprocess_workers()
