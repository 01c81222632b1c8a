import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from orders.demo import DEMO_USERS, load_demo_data
from orders.models import Customer
from vendors.models import Product, Vendor, VendorMembership

pytestmark = pytest.mark.django_db


def counts():
    return (
        Vendor.objects.count(),
        Product.objects.count(),
        Customer.objects.count(),
        get_user_model().objects.count(),
        VendorMembership.objects.count(),
    )


def test_roles_exist_after_migrations():
    assert set(Group.objects.values_list("name", flat=True)) >= {
        "support",
        "warehouse",
        "managers",
        "vendors",
    }


def test_demo_data_is_idempotent():
    load_demo_data()
    first = counts()
    load_demo_data()
    assert counts() == first
    assert first[0] >= 3 and first[1] >= 6 and first[3] == len(DEMO_USERS)


def test_products_have_hs_codes_and_origins():
    load_demo_data()
    for product in Product.objects.all():
        product.full_clean()
        assert len(product.hs_code) in (6, 8, 10)
        assert len(product.origin_country) == 2


def test_demo_passwords_work():
    load_demo_data()
    for demo in DEMO_USERS:
        assert get_user_model().objects.get(username=demo.username).check_password(demo.password)


def test_load_demo_refuses_with_debug_off(settings):
    from django.core.management import CommandError, call_command

    settings.DEBUG = False
    with pytest.raises(CommandError):
        call_command("load_demo")
