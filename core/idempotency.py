"""Safe retries of intake requests: the ``Idempotency-Key`` header.

A client that did not get an answer (a timeout, a dropped connection) sends the request again
with the same key. The first answer is stored with the work it describes, in one transaction;
a repeat with the same key and the same body gets that answer again (status and body, with the
``Idempotent-Replayed: true`` header) and does nothing; the same key with another body is 409.

Concurrent duplicates: the record is inserted first in the transaction, so a second request with
the key waits on the unique index until the first commits (then replays its answer) or rolls
back (then does the work itself). A 5xx answer (nothing was done) is rolled back with its
record, so the client's retry is acted on. Keys are scoped per endpoint and per principal::

    return idempotent(request, endpoint="orders.create", act=lambda: self._place(request))
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from .models import IdempotencyRecord

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 200


class _Taken(Exception):
    """Another request with the same key committed first."""


def request_digest(request: Request) -> str:
    """SHA-256 of the parsed body in a canonical form (key order and spacing do not matter)."""
    canonical = json.dumps(
        request.data, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def principal_of(request: Request) -> str:
    user = request.user
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return "anonymous"


def _key_problem(message: str) -> Response:
    return Response({IDEMPOTENCY_HEADER: [message]}, status=status.HTTP_400_BAD_REQUEST)


def _replay(record: IdempotencyRecord, digest: str) -> Response:
    if record.request_hash != digest:
        return Response(
            {IDEMPOTENCY_HEADER: ["This key was already used for a different request."]},
            status=status.HTTP_409_CONFLICT,
        )
    return Response(
        record.response_body, status=record.status_code, headers={REPLAYED_HEADER: "true"}
    )


def idempotent(request: Request, *, endpoint: str, act: Callable[[], Response]) -> Response:
    """Answer ``request`` with ``act()`` once per ``Idempotency-Key`` (see the module docstring).

    Without the header, ``act()`` answers as usual.
    """
    raw = request.headers.get(IDEMPOTENCY_HEADER)
    if raw is None:
        return act()
    key = raw.strip()
    if not key:
        return _key_problem("The key must not be empty.")
    if len(key) > MAX_KEY_LENGTH:
        return _key_problem(f"At most {MAX_KEY_LENGTH} characters.")
    if not key.isprintable():
        return _key_problem("Use printable characters only.")
    scope = {"endpoint": endpoint, "principal": principal_of(request), "key": key}
    digest = request_digest(request)
    earlier = IdempotencyRecord.objects.filter(**scope).first()
    if earlier is not None:
        return _replay(earlier, digest)
    try:
        with transaction.atomic():
            try:
                with transaction.atomic():
                    record = IdempotencyRecord.objects.create(**scope, request_hash=digest)
            except IntegrityError:
                raise _Taken from None
            response = act()
            if response.status_code >= 500:
                transaction.set_rollback(True)  # nothing was done: a retry acts again
                return response
            record.status_code = response.status_code
            record.response_body = response.data
            record.save(update_fields=["status_code", "response_body"])
    except _Taken:
        return _replay(IdempotencyRecord.objects.get(**scope), digest)
    return response
