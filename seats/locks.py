"""The one place that takes row locks, and the bounded retry around seat transactions.

Every lock a service takes comes from here (docs/concurrency.md, "One way to lock"):
:func:`lock_buyer` (a buyer's writes that the per-buyer caps count), :func:`lock_one` and
:func:`lock_first` (the hold or order row being changed), :func:`lock_showtime_seats` and
:func:`lock_free_seats` (showtime seats). Each locks only its own rows: a query that joins other
tables says ``FOR UPDATE OF`` its own table (``select_for_update(of=("self",))``), because a
plain ``FOR UPDATE`` on a join also locks the joined rows, and a locked showtime row makes every
insert that references the showtime wait (../shared/PITFALLS.md).

Lock order, everywhere: the buyer lock, then the hold or order row being changed, then its
showtime seats in primary-key order. Two transactions therefore never wait on each other in a
cycle; if the database still reports a deadlock or a serialization failure,
:func:`run_in_transaction` retries the whole transaction a bounded number of times and then
answers 409 with ``Retry-After`` (domain.md, invariant 3). A lock wait longer than
``DB_LOCK_TIMEOUT_MS`` (PostgreSQL) or the SQLite busy timeout is answered the same way: no
request waits forever. Every function here refuses to run outside ``transaction.atomic()``.
On SQLite, which has no row locks, the ``IMMEDIATE`` transaction already holds the database's
single write lock from its first statement, so the locks here are no-ops there.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable
from typing import TypeVar

from django.conf import settings
from django.db import OperationalError, connection, models, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from core.errors import ApplicationError

from .models import PlanCategory, QueueState, Seat, ShowtimePrice, ShowtimeSeat
from .rawsql import (
    column,
    connection_for,
    convert,
    converters,
    fetch_one,
    field,
    join,
    placeholders,
    table,
)

logger = logging.getLogger(__name__)
T = TypeVar("T")
M = TypeVar("M", bound=models.Model)

# SQLSTATEs worth a retry: deadlock_detected, serialization_failure.
_RETRYABLE_SQLSTATES = {"40P01", "40001"}
# lock_not_available (PostgreSQL lock_timeout).
_LOCK_TIMEOUT_SQLSTATES = {"55P03"}


class RetryTransaction(Exception):
    """Raised inside :func:`run_in_transaction` to run the transaction again (counts as a try)."""


def _require_transaction(name: str) -> None:
    if not connection.in_atomic_block:
        raise RuntimeError(f"{name}() must run inside transaction.atomic().")


# The first key of the buyer locks' advisory-lock space (PostgreSQL): the 64-bit key is this in
# the high 32 bits and the user id in the low 32 bits, apart from any other advisory lock.
_BUYER_LOCK_SPACE = 0x5EA7_0001


def lock_buyer(user_id: int) -> None:
    """Serialise the writes of one buyer that the per-buyer caps count (holds, one-step orders,
    hold conversions: api.md "Holds", 409 ``buyer_limit``), until the transaction ends.

    PostgreSQL: a transaction-level advisory lock on the buyer (``pg_advisory_xact_lock``), one
    statement; other buyers never wait on it, and no row is locked, so inserts referencing the
    user or the showtime do not wait either. SQLite: nothing to do, the ``IMMEDIATE`` transaction
    already serialises writers. Taken first, before any row lock (the lock order above).

    Raises:
        RuntimeError: when called outside ``transaction.atomic()``.
    """
    _require_transaction("lock_buyer")
    if connection.vendor != "postgresql":
        return
    key = (_BUYER_LOCK_SPACE << 32) | (int(user_id) & 0xFFFF_FFFF)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def lock_one(model: type[M], where: dict, *, related: str | None = None) -> M | None:
    """Lock the one ``model`` row (a hold or an order) matching ``where`` (``{attname: value}``,
    equalities) and return it, or ``None``: ``SELECT … FOR UPDATE`` on that table alone, one
    hand-written statement (:func:`seats.rawsql.fetch_one`). ``related``: a foreign key whose row
    is read (not locked) in the same statement and set on the instance (the hold's showtime).

    Raises:
        RuntimeError: when called outside ``transaction.atomic()``.
    """
    _require_transaction("lock_one")
    return fetch_one(model, where, lock=True, related=related)


def lock_first(queryset: QuerySet[M], *, skip_locked: bool = False) -> M | None:
    """Lock the first row of ``queryset`` (holds or orders, usually one by key) and return it, or
    ``None``. ``FOR UPDATE OF`` the queryset's own table only: rows it joins for
    ``select_related`` (the hold's showtime) or for its filters are read, not locked. With
    ``skip_locked`` a row another transaction holds is skipped instead of waited for (the
    cleanup: each lapsed row is expired by exactly one process).

    Raises:
        RuntimeError: when called outside ``transaction.atomic()``.
    """
    _require_transaction("lock_first")
    return queryset.select_for_update(of=("self",), skip_locked=skip_locked).first()


def lock_free_seats(seats: QuerySet[ShowtimeSeat], *fields: str, limit: int | None = None) -> list:
    """Lock those rows of ``seats`` (a ``ShowtimeSeat`` queryset; its filters may join the plan
    seats) that no other transaction holds, in primary-key order, at most ``limit``, and return
    their ``values_list(*fields)`` (flat for one field).

    ``SELECT … FOR UPDATE OF`` the showtime seats ``SKIP LOCKED`` on PostgreSQL: concurrent
    buyers looking for any free seats (best available, general admission) take different ones
    and never wait on each other. The caller re-checks the status of what it got.

    Raises:
        RuntimeError: when called outside ``transaction.atomic()``.
    """
    _require_transaction("lock_free_seats")
    query = (
        seats.select_for_update(skip_locked=True, of=("self",))
        .order_by("pk")
        .values_list(*fields, flat=len(fields) == 1)
    )
    return list(query if limit is None else query[:limit])


def lock_queue_state(showtime_id: int, *, skip_locked: bool = False) -> QueueState | None:
    """Lock the waiting-room row of a showtime (:class:`~seats.models.QueueState`) and return
    it, or ``None`` when it does not exist or (``skip_locked``) another transaction holds it: the
    admitter of a second process then does nothing this tick instead of waiting
    (docs/waiting-room.md). ``FOR UPDATE`` of that one row; no other lock is taken while it is
    held, so it stands outside the lock order above.

    Raises:
        RuntimeError: when called outside ``transaction.atomic()``.
    """
    _require_transaction("lock_queue_state")
    return (
        QueueState.objects.filter(pk=showtime_id).select_for_update(skip_locked=skip_locked).first()
    )


_SEAT_FIELDS = ("id", "showtime", "seat", "status", "version", "expires_at")
_PLAN_SEAT_FIELDS = ("id", "guid", "label", "category", "ga_area")


def lock_showtime_seats(
    showtime_id: int, seat_ids: Iterable[int], *, with_price: bool = False
) -> list[ShowtimeSeat]:
    """Lock the given showtime seats, in primary-key order, and return them with their plan seat
    (``row.seat``: ``guid``, ``label``, ``category`` with its ``name``, ``ga_area_id``).

    With ``with_price`` each row also carries ``price``, its category's price for the showtime
    (a decimal in the showtime's currency, ``None`` if unpriced), read in the same statement.

    One hand-written statement (:mod:`seats.rawsql`: names from ``_meta``): this is the busiest
    query of an on-sale, and compiling it with the ORM (two joins, a subquery, ``FOR UPDATE OF``)
    costs more CPU than running it (bench/README.md). The rows are model instances with only
    these fields loaded (the others are deferred, so a ``save()`` would write only what was
    read). Only the ``ShowtimeSeat`` rows are locked (``FOR UPDATE OF``), not the plan rows. On
    SQLite ``SELECT … FOR UPDATE`` does not exist: there the ``IMMEDIATE`` transaction already
    holds the database's single write lock.

    Raises:
        RuntimeError: when called outside ``transaction.atomic()`` (the locks would end at once).
    """
    _require_transaction("lock_showtime_seats")
    ids = sorted({int(pk) for pk in seat_ids})
    if not ids:
        return []
    conn = connection_for(ShowtimeSeat)
    fields = (
        [(field(ShowtimeSeat._meta, f), "ss") for f in _SEAT_FIELDS]
        + [(field(Seat._meta, f), "s") for f in _PLAN_SEAT_FIELDS]
        + [(field(PlanCategory._meta, "name"), "c")]
    )
    columns = [column(f.model, f.name, conn, alias) for f, alias in fields]
    if with_price:
        columns.append(
            f"(SELECT {column(ShowtimePrice, 'price', conn, 'p')} "
            f"FROM {table(ShowtimePrice, conn)} p "
            f"WHERE {column(ShowtimePrice, 'showtime', conn, 'p')} = "
            f"{column(ShowtimeSeat, 'showtime', conn, 'ss')} "
            f"AND {column(ShowtimePrice, 'category', conn, 'p')} = "
            f"{column(Seat, 'category', conn, 's')})"
        )
        fields.append((field(ShowtimePrice._meta, "price"), "p"))
    ss_id = column(ShowtimeSeat, "id", conn, "ss")
    sql = (
        f"SELECT {', '.join(columns)} FROM {table(ShowtimeSeat, conn)} ss "
        f"{join(Seat, 's', column(ShowtimeSeat, 'seat', conn, 'ss'), conn)} "
        f"{join(PlanCategory, 'c', column(Seat, 'category', conn, 's'), conn)} "
        f"WHERE {column(ShowtimeSeat, 'showtime', conn, 'ss')} = %s "
        f"AND {ss_id} IN ({placeholders(len(ids))}) ORDER BY {ss_id}"
        + (" FOR UPDATE OF ss" if conn.features.has_select_for_update_of else "")
    )
    columns_converters = [converters(f, alias, conn) for f, alias in fields]
    with conn.cursor() as cursor:
        cursor.execute(sql, [showtime_id, *ids])
        found = [convert(row, columns_converters, conn) for row in cursor.fetchall()]
    rows = []
    n_seat, n_plan = len(_SEAT_FIELDS), len(_PLAN_SEAT_FIELDS)
    attnames = [field(ShowtimeSeat._meta, f).attname for f in _SEAT_FIELDS]
    plan_attnames = [field(Seat._meta, f).attname for f in _PLAN_SEAT_FIELDS]
    category_attnames = [PlanCategory._meta.pk.attname, "name"]
    for values in found:
        row = ShowtimeSeat.from_db(conn.alias, attnames, values[:n_seat])
        seat = Seat.from_db(conn.alias, plan_attnames, values[n_seat : n_seat + n_plan])
        seat.category = PlanCategory.from_db(
            conn.alias, category_attnames, [seat.category_id, values[n_seat + n_plan]]
        )
        row.seat = seat
        if with_price:
            row.price = values[-1]  # an extra attribute, as annotate() adds
        rows.append(row)
    return rows


def _sqlstate(exc: BaseException) -> str | None:
    cause = exc.__cause__
    return getattr(cause, "sqlstate", None) or getattr(exc, "sqlstate", None)


def _busy() -> ApplicationError:
    return ApplicationError(
        "busy",
        _("These seats are being changed by other buyers right now; please try again."),
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
