"""``Idempotency-Key`` handling for order creation (docs/api.md "Orders"; domain.md,
invariant 6).

Keys are scoped to the user and kept 24 hours. A repeat replays the first 2xx answer (same status
and body, ``Idempotent-Replayed: true``); the same key with a different body gets 422
``idempotency_key_reuse``; a repeat while the first still runs gets 409
``idempotency_in_progress``; failures are not stored, so a retry runs afresh.

Crash safety (docs/api.md "Orders", issue 14): the key row and its stored answer are written in
the order's own transaction, so the database never holds one without the other. The transaction
of a keyed order is laid out as::

    BEGIN (IMMEDIATE on SQLite)
      claim:  INSERT the key row (answer NULL), or nothing if the key is taken
      …       the order's own statements (orders/services.py)
      store:  UPDATE the key row with the answer (status, body)
    COMMIT

A process killed anywhere before ``COMMIT`` leaves nothing (no order, no key row: the key is free
for a retry at once); killed after it, the retry replays the stored answer. A committed key row
therefore always has its answer; a row without one can only come from a version before this
layout and is treated as abandoned.

"Still running" is the key row's uncommitted insert plus, on PostgreSQL, a transaction-scoped
advisory lock on ``(user, key)`` taken in the same statement (``pg_try_advisory_xact_lock``, which
never waits): a concurrent duplicate that cannot take the lock answers 409
``idempotency_in_progress`` at once instead of waiting. The lock ends with its transaction, also
when the server process dies (PostgreSQL ends the backend of a closed connection), so a crash
never leaves a key "in progress". On SQLite every write transaction is ``BEGIN IMMEDIATE``: the
duplicate waits for the first to finish (the busy timeout) and then replays its answer.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext

from core import counters
from core.errors import ApplicationError
from seats.models import Hold
from seats.rawsql import column, table, update

from .models import IdempotencyKey

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def fingerprint(body: Any) -> str:
    """SHA-256 hex of the body as canonical JSON (sorted keys, no spaces)."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _advisory_lock_id(user_id: int, key: str) -> int:
    """A signed 64-bit PostgreSQL advisory lock id for ``(user, key)`` (SHA-256, namespaced, so
    it does not collide with other advisory locks in practice; a collision only makes a request
    answer 409 ``idempotency_in_progress`` once, never breaks idempotency)."""
    digest = hashlib.sha256(f"seatline.idempotency:{user_id}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class KeyTaken(Exception):
    """Raised by :meth:`KeyInTransaction.claim`: the key has a committed row, or (PostgreSQL)
    another transaction holds it. The order's transaction rolls back; :func:`run_idempotent`
    then decides (replay, 422, 409)."""


@dataclass
class KeyInTransaction:
    """The key's two statements inside the order's transaction (see the module docstring).

    The order services call :meth:`claim` as the first statement of their transaction and
    :meth:`store` as the last one (``orders.services``, ``idempotency=`` argument); a retried
    transaction calls both again.

    Attributes:
        user_id, key: the scope and the client's ``Idempotency-Key``.
        digest: :func:`fingerprint` of the request body.
        render: turns the service's result (an ``orders.services.OrderResult``) into the answer
            ``(status, body)``;
            it runs inside the transaction and must not write.
        row_id: the key row inserted by this attempt's :meth:`claim`, else ``None``.
        answer: the stored answer, once :meth:`store` wrote it.
    """

    user_id: int
    key: str
    digest: str
    render: Callable[[Any], tuple[int, Any]]
    row_id: int | None = None
    answer: tuple[int, Any] | None = None

    def reset(self) -> None:
        """Forget the claim and answer of an earlier attempt."""
        self.row_id = self.answer = None

    def claim(self) -> None:
        """Insert the key row (answer ``NULL``), one statement.

        Precondition: inside the order's transaction, before its other writes.

        Raises:
            RuntimeError: outside a transaction (the row would commit without its answer).
            KeyTaken: the row exists (committed), or on PostgreSQL another running transaction
                holds the key's advisory lock. Nothing was written.
        """
        if not connection.in_atomic_block:
            raise RuntimeError("KeyInTransaction.claim() must run inside transaction.atomic().")
        self.reset()
        meta = IdempotencyKey._meta
        columns = ", ".join(
            column(IdempotencyKey, f, connection)
            for f in ("user", "key", "fingerprint", "created_at")
        )
        created = meta.get_field("created_at").get_db_prep_value(timezone.now(), connection)
        into = table(IdempotencyKey, connection)
        pk = column(IdempotencyKey, meta.pk.name, connection)
        if connection.vendor == "postgresql":
            sql = (
                f"INSERT INTO {into} ({columns}) SELECT %s, %s, %s, "
                f"CAST(%s AS timestamp with time zone) WHERE pg_try_advisory_xact_lock(%s) "
                f"ON CONFLICT DO NOTHING RETURNING {pk}"
            )
            params = [
                self.user_id,
                self.key,
                self.digest,
                created,
                _advisory_lock_id(self.user_id, self.key),
            ]
        else:  # SQLite: BEGIN IMMEDIATE already serialises this transaction with every writer
            sql = (
                f"INSERT INTO {into} ({columns}) VALUES (%s, %s, %s, %s) "
                f"ON CONFLICT DO NOTHING RETURNING {pk}"
            )
            params = [self.user_id, self.key, self.digest, created]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        if row is None:
            raise KeyTaken(self.key)
        self.row_id = row[0]

    def store(self, result: Any) -> None:
        """Write the answer for ``result`` into the key row claimed by this attempt, one
        statement: an order (``orders.services.OrderResult``) gets ``render(result)``; a ``Hold``
        (the service committed the expiry of the hold instead of an order, then answers 409
        ``hold_expired``) deletes the row, so the key stays free.

        Precondition: :meth:`claim` ran in this transaction.
        """
        if self.row_id is None:
            raise RuntimeError("KeyInTransaction.store() before claim().")
        if isinstance(result, Hold):
            IdempotencyKey.objects.filter(pk=self.row_id).delete()
            self.row_id = None
            return
        status, body = self.render(result)
        update(IdempotencyKey, [self.row_id], {"response_status": status, "response_body": body})
        self.answer = (status, body)


def _in_progress() -> ApplicationError:
    return ApplicationError(
        "idempotency_in_progress",
        gettext("A request with this Idempotency-Key is still running."),
        headers={"Retry-After": "1"},
    )


def run_idempotent(
    *,
    user: User,
    key: str,
    body: Any,
    run: Callable[[KeyInTransaction], Any],
    render: Callable[[Any], tuple[int, Any]],
) -> tuple[int, Any, bool]:
    """Run ``run(step)`` once per ``(user, key)``; return ``(status, body, replayed)``.

    Args:
        key: the client's ``Idempotency-Key`` (1–255 characters).
        body: the parsed request body, compared by :func:`fingerprint`.
        run: calls the order service with ``idempotency=step``, which claims the key and stores
            ``render(order)`` in the order's transaction (:class:`KeyInTransaction`).
        render: the 2xx answer ``(status, body)`` of the service's result.

    A failure of ``run`` before the key was claimed (a 4xx while checking the request, as
    ``sales_closed`` once the first order sold the showtime out) still replays a stored answer
    for the key, as the key is checked first.

    Raises:
        ApplicationError: 400 ``validation_error`` for a bad key; 409 ``idempotency_in_progress``;
            422 ``idempotency_key_reuse``; and whatever ``run`` raises (nothing of it committed:
            the key stays free).
    """
    if not key or len(key) > 255:
        raise ApplicationError(
            "validation_error",
            gettext("Idempotency-Key must have 1 to 255 characters."),
            details={"Idempotency-Key": [gettext("1 to 255 characters")]},
            status=400,
        )
    step = KeyInTransaction(user_id=user.pk, key=key, digest=fingerprint(body), render=render)
    for _ in range(3):
        step.reset()
        try:
            run(step)
        except KeyTaken:
            pass
        except ApplicationError:
            if step.row_id is not None:  # failed after the claim: rolled back with it
                raise
            if not IdempotencyKey.objects.filter(user=user, key=key).exists():
                raise
        else:
            if step.answer is None:
                raise RuntimeError("the order service did not store the key's answer")
            return *step.answer, False
        existing = IdempotencyKey.objects.filter(user=user, key=key).first()
        if existing is None:
            raise _in_progress()  # held by a running transaction (or just rolled back)
        now = timezone.now()
        expired = existing.created_at <= now - timedelta(
            seconds=settings.IDEMPOTENCY_KEY_TTL_SECONDS
        )
        if expired or existing.response_status is None:
            # Past its 24 h, or written by a version that stored the answer after the commit.
            IdempotencyKey.objects.filter(pk=existing.pk, created_at=existing.created_at).delete()
            continue
        if existing.fingerprint != step.digest:
            raise ApplicationError(
                "idempotency_key_reuse",
                gettext("This Idempotency-Key was used with a different request body."),
                status=422,
            )
        counters.bump("idempotent_replays")
        return existing.response_status, existing.response_body, True
    raise _in_progress()


def idempotency_keys_purge() -> int:
    """Delete keys older than ``IDEMPOTENCY_KEY_TTL_SECONDS`` (24 h); return how many."""
    cutoff = timezone.now() - timedelta(seconds=settings.IDEMPOTENCY_KEY_TTL_SECONDS)
    deleted, _ = IdempotencyKey.objects.filter(created_at__lte=cutoff).delete()
    return deleted
