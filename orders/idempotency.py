"""``Idempotency-Key`` handling for order creation (shared/spec/api.md "Orders"; domain.md,
invariant 6).

Keys are scoped to the user and kept 24 hours. The first request with a key inserts a row (the
unique constraint on ``(user, key)`` lets exactly one of several simultaneous requests do so), runs,
and stores its 2xx answer; a repeat replays that answer; a repeat while the first still runs gets
409 ``idempotency_in_progress``; the same key with a different body gets 422
``idempotency_key_reuse``. Failures are not stored: the row is deleted, so a retry runs afresh.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from seats.rawsql import update
from ticketing.errors import ApplicationError

from .models import Counter, IdempotencyKey

# An in-progress key older than this is taken as abandoned (its request died) and runs afresh.
STALE_IN_PROGRESS = timedelta(seconds=60)


def fingerprint(body: Any) -> str:
    """SHA-256 hex of the body as canonical JSON (sorted keys, no spaces)."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def run_idempotent(
    *, user, key: str, body: Any, run: Callable[[], tuple[int, Any]]
) -> tuple[int, Any, bool]:
    """Run ``run()`` once per ``(user, key)``; return ``(status, body, replayed)``.

    Args:
        key: the client's ``Idempotency-Key`` (1–255 characters).
        body: the parsed request body, compared by :func:`fingerprint`.
        run: does the work and returns ``(status, body)`` of a 2xx answer, or raises.

    Raises:
        ApplicationError: 400 ``validation_error`` for a bad key; 409 ``idempotency_in_progress``;
            422 ``idempotency_key_reuse``; and whatever ``run`` raises (the key is then forgotten).
    """
    if not key or len(key) > 255:
        raise ApplicationError(
            "validation_error", "Idempotency-Key must have 1 to 255 characters.",
            details={"Idempotency-Key": ["1 to 255 characters"]}, status=400,
        )
    digest = fingerprint(body)
    for _ in range(3):
        try:
            with transaction.atomic():
                record = IdempotencyKey.objects.create(user=user, key=key, fingerprint=digest)
            break
        except IntegrityError:
            existing = IdempotencyKey.objects.filter(user=user, key=key).first()
            if existing is None:
                continue  # deleted meanwhile (a failed first request): try to take it again
            now = timezone.now()
            expired = existing.created_at <= now - timedelta(seconds=settings.IDEMPOTENCY_KEY_TTL_SECONDS)
            abandoned = existing.response_status is None and existing.created_at <= now - STALE_IN_PROGRESS
            if expired or abandoned:
                IdempotencyKey.objects.filter(pk=existing.pk).delete()
                continue
            if existing.fingerprint != digest:
                raise ApplicationError(
                    "idempotency_key_reuse",
                    "This Idempotency-Key was used with a different request body.", status=422,
                )
            if existing.response_status is None:
                raise ApplicationError(
                    "idempotency_in_progress",
                    "A request with this Idempotency-Key is still running.",
                    headers={"Retry-After": "1"},
                )
            Counter.bump("idempotent_replays")
            return existing.response_status, existing.response_body, True
    else:
        raise ApplicationError(
            "idempotency_in_progress", "A request with this Idempotency-Key is still running.",
            headers={"Retry-After": "1"},
        )
    try:
        status, response_body = run()
    except BaseException:
        IdempotencyKey.objects.filter(pk=record.pk).delete()
        raise
    update(IdempotencyKey, [record.pk],
           {"response_status": status, "response_body": response_body})
    return status, response_body, False


def idempotency_keys_purge() -> int:
    """Delete keys older than ``IDEMPOTENCY_KEY_TTL_SECONDS`` (24 h); return how many."""
    cutoff = timezone.now() - timedelta(seconds=settings.IDEMPOTENCY_KEY_TTL_SECONDS)
    deleted, _ = IdempotencyKey.objects.filter(created_at__lte=cutoff).delete()
    return deleted
