"""The claim primitives: the only writes of seat status (``ShowtimeSeat``) and of seat claims
(``SeatClaim``), used by holds here and by orders (``orders.services``).

Every function runs inside the caller's transaction, after the caller has locked the hold or
order the claims belong to (docs/concurrency.md, lock order: buyer, hold/order row, seats).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar, cast

from django.db import IntegrityError
from django.utils.translation import gettext as _

from core import counters
from core.errors import ApplicationError

from ..audit import Change
from ..locks import lock_showtime_seats, run_in_transaction
from ..models import Hold, SeatClaim, SeatEvent, SeatStatus, Showtime, ShowtimeSeat
from ..rawsql import fetch_claims, update
from ..selectors import effective_state

T = TypeVar("T")


def _state(row: ShowtimeSeat) -> dict[str, Any]:
    state = {
        "id": str(row.seat.guid),
        "label": row.seat.label,
        "status": row.status,
        "version": row.version,
    }
    if row.seat.ga_area_id:  # a general-admission place: published as a count, not a seat
        state["ga_area"] = row.seat.ga_area_id
    return state


def seats_write(
    rows: Iterable[ShowtimeSeat],
    *,
    status: str,
    expires_at: datetime | None,
    now: datetime,
    change: Change,
    takeover: bool = False,
    block_reason: str = "",
) -> list[dict[str, Any]]:
    """Set ``status`` and ``expires_at`` of locked seats, bump their ``version``, record the audit
    trail (``SeatEvent``), and return the new states ``[{"id", "label", "status", "version"}]`` (plus
    ``ga_area`` for a general-admission place). The one writer of ``ShowtimeSeat`` rows after
    their creation.

    Each change adds 1 to ``version``. With ``takeover`` a seat whose claim had lapsed (read as
    ``available`` at ``version + 1``) gets ``version + 2`` and two audit rows: its expiry (system)
    and the new change. ``block_reason``: kept with a ``blocked`` seat (≤ 200 characters),
    cleared otherwise. At most three statements. Precondition: the caller holds the row locks.
    """
    by_bump: dict[int, list[ShowtimeSeat]] = {}
    audit: list[SeatEvent] = []
    for row in rows:
        lapsed = effective_state(row.status, row.version, row.expires_at, now)[0] != row.status
        if takeover and lapsed:
            audit.append(Change.system("expired").event(row, row.status, SeatStatus.AVAILABLE, now))
            audit.append(change.event(row, SeatStatus.AVAILABLE, status, now))
            by_bump.setdefault(2, []).append(row)
        else:
            audit.append(change.event(row, row.status, status, now))
            by_bump.setdefault(1, []).append(row)
    values = {
        "status": status,
        "expires_at": expires_at,
        "block_reason": block_reason[:200] if status == SeatStatus.BLOCKED else "",
    }
    states = []
    for bump, group in by_bump.items():
        update(ShowtimeSeat, [r.pk for r in group], values, {"version": bump})
        for row in group:
            row.status, row.expires_at, row.version = status, expires_at, row.version + bump
            states.append(_state(row))
    Change.record(audit)
    return states


def claims_end_lapsed(rows: Sequence[ShowtimeSeat], now: datetime) -> None:
    """End the claims of locked seats that read ``available`` although a claim is still stored
    live (its hold or order lapsed: docs/concurrency.md, invariant 4), before the seats are
    taken again. One statement when there are any."""
    stale = [row.pk for row in rows if row.status != SeatStatus.AVAILABLE]
    if stale:
        SeatClaim.objects.current().filter(showtime_seat_id__in=stale).update(
            is_live=False, ended_at=now
        )


def claims_take(
    *, showtime: Showtime, hold: Hold, seat_ids: Sequence[int], now: datetime
) -> tuple[list[dict[str, Any]], list[SeatClaim]]:
    """Claim available seats for ``hold``: all of them or none (domain.md, invariant 2).

    Locks the seats (primary-key order, reading their prices in the same statement), ends lapsed
    claims of other buyers on them, inserts the claims and marks the seats ``held`` until
    ``hold.expires_at``. Returns ``(new seat states, the new claims)``; the claims carry their
    ``showtime_seat.seat``.
    Precondition: inside a transaction that already holds the lock of ``hold``.

    Raises:
        ApplicationError: 409 ``seat_unavailable`` (details.seats: labels) when any seat is held,
            reserved, sold or blocked.
    """
    rows = lock_showtime_seats(showtime.pk, seat_ids, with_price=True)
    taken = [
        row.seat.label
        for row in rows
        if effective_state(row.status, row.version, row.expires_at, now)[0] != SeatStatus.AVAILABLE
    ]
    if taken:
        raise ApplicationError(
            "seat_unavailable",
            _("%(count)s of the requested seats are not available.") % {"count": len(taken)},
            details={"seats": taken},
        )
    claims_end_lapsed(rows, now)
    try:  # no savepoint: on failure the whole transaction is rolled back anyway
        # Every category has a price (showtime_prices_check); the column is NOT NULL regardless.
        claims = SeatClaim.objects.bulk_create(
            [
                SeatClaim(
                    showtime_seat=row,
                    hold=hold,
                    price=cast(Decimal, row.price),
                    category=row.seat.category.name,
                )
                for row in rows
            ]
        )
    except IntegrityError as exc:  # the database's own guard (invariant 1) caught a double claim
        raise ApplicationError(
            "seat_unavailable",
            _("The requested seats are not available."),
            details={"seats": [row.seat.label for row in rows]},
        ) from exc
    states = seats_write(
        rows,
        status=SeatStatus.HELD,
        expires_at=hold.expires_at,
        now=now,
        takeover=True,
        change=Change.buyer("held", hold.user_id, hold_id=hold.pk),
    )
    return states, claims


def claims_end(
    claims: Iterable[SeatClaim],
    *,
    now: datetime,
    change: Change,
    status: str = SeatStatus.AVAILABLE,
) -> list[dict[str, Any]]:
    """End live claims and set their seats to ``status`` (``available`` by default).

    Locks the seats in primary-key order. Returns the new seat states.
    Precondition: inside a transaction holding the lock of the claims' hold or order.
    """
    claims = list(claims)
    if not claims:
        return []
    rows = lock_showtime_seats(
        claims[0].showtime_seat.showtime_id, [c.showtime_seat_id for c in claims]
    )
    update(SeatClaim, [c.pk for c in claims], {"is_live": False, "ended_at": now})
    return seats_write(rows, status=status, expires_at=None, now=now, change=change)


def claims_mark(claims: Sequence[SeatClaim], **values: Any) -> None:
    """Set ``values`` (``{attname: value}``) on live claims and their rows, one statement (e.g.
    ``order_id`` when a hold becomes an order)."""
    for claim in claims:
        for name, value in values.items():
            setattr(claim, name, value)
    update(SeatClaim, [c.pk for c in claims], values)


def live_claims(*, hold: Hold | None = None, order: Any = None) -> list[SeatClaim]:
    """The claims of a hold or an order that are not ended (``SeatClaim.objects.current()``),
    seat-ordered, with ``showtime_seat__seat``. One statement
    (:func:`seats.rawsql.fetch_claims`)."""
    owner = {"hold_id": hold.pk} if hold is not None else {"order_id": order.pk}
    return fetch_claims({"is_live": True, **owner})


def run_counting_conflicts(txn: Callable[[], T]) -> T:
    """:func:`run_in_transaction`, counting each 409 ``seat_unavailable`` as a prevented double
    sale (the ``seat_conflicts`` counter of ``GET stats/``, :mod:`core.counters`; domain.md,
    invariant 6)."""
    try:
        return run_in_transaction(txn)
    except ApplicationError as err:
        if err.code == "seat_unavailable":
            counters.bump("seat_conflicts")
        raise
