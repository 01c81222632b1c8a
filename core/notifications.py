"""Customer e-mails: rendered from templates, sent once per idempotency key, after commit.

A message is two templates under ``templates/notifications/``: ``<template>.subject.txt`` (one
line) and ``<template>.body.txt``. ``notify_customer`` records the message under its key in the
caller's transaction and sends it when that transaction commits: a job handler that runs again
with the same key sends nothing, and a failing mail server does not undo the caller's change
(the failure is logged)::

    notify_customer(
        template="subscriptions/renewed",
        to=customer.email,
        context={"number": subscription.number},
        key=f"notify:{job.idempotency_key}",
    )
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string

from .models import Notification

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sent:
    notification: Notification
    created: bool  # False: the key was used before, nothing was sent this time


def render_notice(template: str, context: dict[str, Any]) -> tuple[str, str]:
    """(subject, body) of ``template`` with ``context``."""
    subject = render_to_string(f"notifications/{template}.subject.txt", context)
    body = render_to_string(f"notifications/{template}.body.txt", context)
    return " ".join(subject.split()), body.strip()


# Inside a caller's transaction no savepoint of its own (two round trips per message): nothing
# here is worth undoing on its own, and a failure undoes the caller's transaction anyway.
@transaction.atomic(savepoint=False)
def notify_customer(*, template: str, to: str, context: dict[str, Any], key: str) -> Sent:
    """Send ``template`` to ``to`` once per ``key`` (after the surrounding transaction commits)."""
    existing = Notification.objects.filter(key=key).first()
    if existing is not None:
        return Sent(existing, False)
    subject, body = render_notice(template, context)
    notification = Notification.objects.create(
        key=key, template=template, to=to, subject=subject[:200], body=body
    )

    def send() -> None:
        try:
            send_mail(subject, body, getattr(settings, "DEFAULT_FROM_EMAIL", None), [to])
        except Exception:
            logger.warning("Could not e-mail %s about %s", to, subject, exc_info=True)

    transaction.on_commit(send)
    return Sent(notification, True)
