"""Users of every role, shared by the tests of all apps."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client

from config.roles import SUPPORT, VENDORS
from vendors.models import Vendor, VendorMembership


def make_user(username: str, *, role: str | None = None, vendor: Vendor | None = None):
    user = get_user_model().objects.create_user(username=username, password="pw-for-tests-1")
    if role:
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    if vendor is not None:
        user.groups.add(Group.objects.get_or_create(name=VENDORS)[0])
        VendorMembership.objects.create(user=user, vendor=vendor)
    return user


def make_staff(username: str = "sam"):
    return make_user(username, role=SUPPORT)


def signed_in_demo(username: str) -> Client:
    """A test client signed in as one of the demo's users (``orders.demo.DEMO_USERS``)."""
    from orders.demo import DEMO_USERS

    client = Client()
    demo = next(d for d in DEMO_USERS if d.username == username)
    assert client.login(username=demo.username, password=demo.password)
    return client
