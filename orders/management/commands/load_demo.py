"""Load the demo data (idempotent) and print the demo sign-ins."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from orders.demo import DEMO_USERS, load_demo_data
from subscriptions.demo import load_subscription_demo


class Command(BaseCommand):
    help = "Load demo vendors, products, customers and users; safe to run again."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Allow with DEBUG off.")
        parser.add_argument("--quiet-users", action="store_true", help="Do not print sign-ins.")

    def handle(self, *args, **options):
        if not settings.DEBUG and not options["force"]:
            raise CommandError("Demo data has well-known passwords; refusing with DEBUG off.")
        counts = load_demo_data()
        self.stdout.write(
            self.style.SUCCESS(
                "Demo data ready: {vendors} vendors, {products} products, "
                "{customers} customers, {users} users.".format(**counts)
            )
        )
        subs = load_subscription_demo()
        self.stdout.write(
            "Subscriptions: {plans} plans, {subscriptions} new subscriptions, "
            "{renewals_started} renewals started (dunning retries minutes apart).".format(**subs)
        )
        if not options["quiet_users"]:
            self.stdout.write("Demo sign-ins (username / password, role):")
            for demo in DEMO_USERS:
                vendor = f" for {demo.vendor}" if demo.vendor else ""
                self.stdout.write(f"  {demo.username:<6} / {demo.password:<20} {demo.role}{vendor}")
