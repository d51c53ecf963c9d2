"""The one place that locks showtime seats, and the bounded retry around seat transactions.

Lock order, everywhere (docs/concurrency.md): first the hold or order row being changed, then its
showtime seats in primary-key order. Two transactions therefore never wait on each other in a cycle;
if the database still reports a deadlock or a serialization failure, :func:`run_in_transaction`
retries the whole transaction a bounded number of times and then answers 409 with ``Retry-After``
(domain.md, invariant 3). A lock wait longer than ``DB_LOCK_TIMEOUT_MS`` (PostgreSQL) or the SQLite
busy timeout is answered the same way: no request waits forever.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable
from typing import TypeVar

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.db.models import OuterRef, Subquery

from ticketing.errors import ApplicationError

from .models import ShowtimePrice, ShowtimeSeat

logger = logging.getLogger(__name__)
T = TypeVar("T")

# SQLSTATEs worth a retry: deadlock_detected, serialization_failure.
_RETRYABLE_SQLSTATES = {"40P01", "40001"}
# lock_not_available (PostgreSQL lock_timeout).
_LOCK_TIMEOUT_SQLSTATES = {"55P03"}


class RetryTransaction(Exception):
    """Raised inside :func:`run_in_transaction` to run the transaction again (counts as a try)."""


def lock_showtime_seats(showtime_id: int, seat_ids: Iterable[int], *, with_price: bool = False
                        ) -> list[ShowtimeSeat]:
    """Lock the given showtime seats, in primary-key order, and return them with their plan seat.

    With ``with_price`` each row also carries ``price``, its category's price for the showtime
    (a decimal in the showtime's currency, ``None`` if unpriced), read in the same statement.

    Only the ``ShowtimeSeat`` rows are locked (``of=("self",)``), not the joined plan rows.
    On SQLite ``SELECT … FOR UPDATE`` does not exist: there the ``IMMEDIATE`` transaction already
    holds the database's single write lock.

    Raises:
        RuntimeError: when called outside ``transaction.atomic()`` (the locks would end at once).
    """
    if not connection.in_atomic_block:
        raise RuntimeError("lock_showtime_seats() must run inside transaction.atomic().")
    query = (
        ShowtimeSeat.objects.select_for_update(of=("self",))
        .select_related("seat", "seat__category")
        .filter(showtime_id=showtime_id, pk__in=list(seat_ids))
        .order_by("pk")
    )
    if with_price:
        query = query.annotate(price=Subquery(
            ShowtimePrice.objects.filter(showtime_id=OuterRef("showtime_id"),
                                         category_id=OuterRef("seat__category_id"))
            .values("price")[:1]))
    return list(query)


def _sqlstate(exc: BaseException) -> str | None:
    cause = exc.__cause__
    return getattr(cause, "sqlstate", None) or getattr(exc, "sqlstate", None)


def _busy() -> ApplicationError:
    return ApplicationError(
        "busy",
        "These seats are being changed by other buyers right now; please try again.",
        status=409,
        headers={"Retry-After": "1"},
    )


def run_in_transaction(fn: Callable[[], T]) -> T:
    """Run ``fn`` inside ``transaction.atomic()``, retrying lost deadlock/serialization races.

    At most ``settings.DB_RETRY_ATTEMPTS`` attempts, with a short random back-off between them.

    Raises:
        ApplicationError: 409 ``busy`` with ``Retry-After: 1`` when every attempt lost a race, a
            lock wait timed out (PostgreSQL ``lock_timeout``), or SQLite stayed locked past its busy
            timeout. Whatever ``fn`` raises is passed on (its transaction rolled back).
        RuntimeError: when called inside an outer transaction (a retry could not start afresh).
    """
    if any(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks):
        # Only a test case's own wrapping transaction is tolerated (it becomes a savepoint).
        raise RuntimeError("run_in_transaction() must not run inside another transaction.")
    attempts = max(1, settings.DB_RETRY_ATTEMPTS)
    for attempt in range(1, attempts + 1):
        try:
            with transaction.atomic():
                return fn()
        except RetryTransaction as exc:
            if attempt == attempts:
                raise _busy() from exc
            continue
        except OperationalError as exc:
            state = _sqlstate(exc)
            if state in _LOCK_TIMEOUT_SQLSTATES or "database is locked" in str(exc):
                logger.warning("lock wait timed out: %s", exc)
                raise _busy() from exc
            if state not in _RETRYABLE_SQLSTATES:
                raise
            logger.info("transaction lost a race (%s), attempt %d of %d", state, attempt, attempts)
            if attempt == attempts:
                raise _busy() from exc
            time.sleep(random.uniform(0.005, 0.02) * attempt)
    raise AssertionError("unreachable")
