"""Demo data: vendors with their users, products, customers and staff of each role.

Loaded idempotently (keyed on natural keys), so running it again changes nothing. The passwords
are for a local demo only; the command refuses to run with DEBUG off unless forced.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from config.roles import MANAGERS, SUPPORT, VENDORS, WAREHOUSE
from vendors.models import Product, StockItem, Vendor, VendorMembership

from .models import Customer


@dataclass(frozen=True)
class DemoUser:
    username: str
    password: str
    role: str
    full_name: str
    vendor: str | None = None


DEMO_USERS = [
    DemoUser("admin", "demo-admin-pass", "admin", "Ada Admin"),
    DemoUser("sam", "demo-support-pass", SUPPORT, "Sam Support"),
    DemoUser("sol", "demo-support-pass", SUPPORT, "Sol Support"),
    DemoUser("wes", "demo-warehouse-pass", WAREHOUSE, "Wes Warehouse"),
    DemoUser("maya", "demo-manager-pass", MANAGERS, "Maya Manager"),
    DemoUser("milo", "demo-manager-pass", MANAGERS, "Milo Manager"),
    DemoUser("acme", "demo-vendor-pass", VENDORS, "Alex at Acme Audio", vendor="acme-audio"),
    DemoUser("bolt", "demo-vendor-pass", VENDORS, "Bea at Bolt Bikes", vendor="bolt-bikes"),
    DemoUser("cedar", "demo-vendor-pass", VENDORS, "Cy at Cedar Home", vendor="cedar-home"),
    DemoUser("dune", "demo-vendor-pass", VENDORS, "Dee at Dune Outdoor", vendor="dune-outdoor"),
]

# handle, name, commission (basis points), SLA hours
DEMO_VENDORS = [
    ("acme-audio", "Acme Audio", 1500, 24),
    ("bolt-bikes", "Bolt Bikes", 1200, 48),
    ("cedar-home", "Cedar Home", 1500, 24),
    ("dune-outdoor", "Dune Outdoor", 1800, 12),
]

# vendor, sku, name, HS code, origin, weight g, price (minor units)
DEMO_PRODUCTS = [
    ("acme-audio", "AA-HP-100", "Studio headphones", "851830", "DE", 350, 12900),
    ("acme-audio", "AA-SPK-20", "Bookshelf speakers (pair)", "851822", "DK", 6200, 34900),
    ("acme-audio", "AA-CBL-3", "Speaker cable 3 m", "854442", "CN", 180, 1490),
    ("bolt-bikes", "BB-HLM-M", "Cycling helmet M", "650610", "IT", 320, 8900),
    ("bolt-bikes", "BB-LGT-SET", "LED light set", "851210", "TW", 150, 3490),
    ("bolt-bikes", "BB-TUBE-28", "Inner tube 28 inch", "401320", "MY", 110, 690),
    ("cedar-home", "CH-MUG-4", "Stoneware mugs (4)", "691200", "PT", 1400, 3200),
    ("cedar-home", "CH-THR-WL", "Wool throw", "630120", "GB", 900, 7900),
    ("cedar-home", "CH-LMP-OAK", "Oak table lamp", "940520", "SE", 2100, 11900),
    ("dune-outdoor", "DO-TNT-2P", "Two-person tent", "630622", "VN", 2300, 24900),
    ("dune-outdoor", "DO-BTL-750", "Insulated bottle 750 ml", "961700", "CN", 380, 2900),
    ("dune-outdoor", "DO-JKT-L", "Rain jacket L", "620193", "BD", 450, 13900),
]

DEMO_CUSTOMERS = [
    ("lena@example.com", "Lena Fischer", "DE"),
    ("tom@example.com", "Tom Baker", "GB"),
    ("ana@example.com", "Ana Souza", "PT"),
    ("kenji@example.com", "Kenji Sato", "JP"),
    ("mia@example.com", "Mia Wong", "US"),
    ("olivier@example.com", "Olivier Martin", "FR"),
]


@transaction.atomic
def load_demo_data() -> dict[str, int]:
    """Create or update the demo rows; returns how many rows of each kind exist for the demo."""
    vendors = {}
    for handle, name, commission_bp, sla_hours in DEMO_VENDORS:
        vendors[handle], _ = Vendor.objects.update_or_create(
            handle=handle,
            defaults={"name": name, "commission_rate_bp": commission_bp, "sla_hours": sla_hours},
        )
    for handle, sku, name, hs_code, origin, weight, price in DEMO_PRODUCTS:
        product, _ = Product.objects.update_or_create(
            vendor=vendors[handle],
            sku=sku,
            defaults={
                "name": name,
                "hs_code": hs_code,
                "origin_country": origin,
                "weight_grams": weight,
                "price_minor": price,
                "currency": "EUR",
            },
        )
        # Stock is only seeded once: a re-run must not undo what orders have reserved.
        StockItem.objects.get_or_create(product=product, defaults={"on_hand": 500})
    for email, name, country in DEMO_CUSTOMERS:
        Customer.objects.update_or_create(email=email, defaults={"name": name, "country": country})

    user_model = get_user_model()
    for demo in DEMO_USERS:
        first, _, last = demo.full_name.partition(" ")
        user, created = user_model.objects.get_or_create(
            username=demo.username, defaults={"first_name": first, "last_name": last}
        )
        if created or not user.check_password(demo.password):
            user.set_password(demo.password)
        user.is_superuser = user.is_staff = demo.role == "admin"
        user.save()
        if demo.role != "admin":
            user.groups.add(Group.objects.get_or_create(name=demo.role)[0])
        if demo.vendor:
            VendorMembership.objects.get_or_create(user=user, vendor=vendors[demo.vendor])
    from .customs.demo import load_customs_demo

    load_customs_demo()
    return {
        "vendors": len(DEMO_VENDORS),
        "products": len(DEMO_PRODUCTS),
        "customers": len(DEMO_CUSTOMERS),
        "users": len(DEMO_USERS),
    }
