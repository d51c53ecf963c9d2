"""Holds: make (chosen seats, general-admission places, best available), release, end, expire.

Every function runs one short transaction (:func:`seats.locks.run_in_transaction`) and takes its
locks in the global order: the buyer (when the per-buyer caps count the write), the hold row, then
its seats by primary key (docs/concurrency.md). Events go out after commit (:mod:`core.events`).
Rules: api.md "Holds", domain.md invariants 1–4.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core import events
from core.errors import ApplicationError

from ..audit import Change
from ..locks import (
    RetryTransaction,
    lock_buyer,
    lock_first,
    lock_one,
    lock_showtime_seats,
    run_in_transaction,
)
from ..models import Hold, SeatClaim, SeatStatus, Showtime, ShowtimeSeat
from ..rawsql import update
from ..selectors import EXTENSION_MIN_GAIN, hold_detail
from .claims import claims_end, claims_take, live_claims, run_counting_conflicts
from .expiry import expire_due
from .ids import resolve_seats, seat_ids_parse
from .inventory import showtime_for_sale
from .limits import buyer_limits_check, seats_per_request_check
from .picks import best_check, best_pick, ga_pick, ga_places, orphans_check
from .statuses import hold_status_message
from .waiting import queue_gate

if TYPE_CHECKING:
    from django.contrib.auth.models import User


@dataclass(frozen=True)
class HoldResult:
    """What a hold service did: the ``hold`` row as written, its API answer ``detail`` (the shape
    of :func:`seats.selectors.hold_detail`, built from the claims the service wrote, so the view
    reads nothing again) and whether the hold was ``created`` (201) or added to (200)."""

    hold: Hold
    detail: dict[str, Any]
    created: bool = False


def publish_hold(hold: Hold, claims: list[SeatClaim] | None = None) -> dict[str, Any]:
    """Send ``hold.updated`` to the owner after commit and return the detail sent
    (:func:`seats.selectors.hold_detail`). ``claims``: the hold's live claims, when the caller
    has them (no query then)."""
    detail = hold_detail(hold, claims)
    events.hold_updated(hold.user_id, detail)
    return detail


def hold_end(
    hold: Hold,
    *,
    status: str,
    now: datetime,
    staff: User | None = None,
    claims: list[SeatClaim] | None = None,
    abandoned: bool = False,
) -> dict[str, Any]:
    """End an active hold (``released`` or ``expired``), free its seats and publish it; return its
    detail (no seats).

    The audit trail names the buyer (release), the system (expiry; and the release of a hold
    whose buyer left, ``abandoned``: seat reason ``abandoned``, ``Hold.abandoned`` set) or
    ``staff`` (a staff user force-releasing it). ``claims``: the hold's live claims when the
    caller has read them already. Precondition: inside a transaction holding the lock of
    ``hold``.
    """
    reason = "expired" if status == Hold.Status.EXPIRED else "released"
    if staff is not None:
        change = Change.staff(reason, staff.pk, hold_id=hold.pk)
    elif status == Hold.Status.EXPIRED:
        change = Change.system(reason, hold_id=hold.pk)
    elif abandoned:
        reason = "abandoned"
        change = Change.system(reason, hold_id=hold.pk)
    else:
        change = Change.buyer(reason, hold.user_id, hold_id=hold.pk)
    states = claims_end(
        live_claims(hold=hold) if claims is None else claims, now=now, change=change
    )
    hold.status, hold.ended_at = status, now
    values: dict[str, Any] = {"status": status, "ended_at": now}
    if abandoned:
        hold.abandoned = values["abandoned"] = True
    update(Hold, [hold.pk], values)
    events.seats_changed(hold.showtime_id, reason, states)
    if status == Hold.Status.EXPIRED:
        events.hold_expired(hold.user_id, hold.showtime_id, hold.pk, hold.expires_at.isoformat())
        return hold_detail(hold, [])
    return publish_hold(hold, [])


def _locked_hold(user: User, hold_id: uuid.UUID) -> Hold:
    # With its showtime (read, not locked): its caps go into every hold answer (hold_detail).
    hold = lock_one(Hold, {"pk": hold_id, "user_id": user.pk}, related="showtime")
    if hold is None:
        raise ApplicationError("not_found", _("No such hold."), status=404)
    return hold


def _hold_add(
    user: User,
    showtime: Showtime,
    pick: Callable[[datetime], list[int]],
    *,
    wanted: Sequence[int] = (),
    places: int = 0,
) -> HoldResult:
    """Add seats to the buyer's active hold on ``showtime``, making the hold if needed: the seats
    ``wanted`` (showtime seat keys) and ``places`` more that ``pick(now)`` chooses (inside the
    transaction, after the buyer's hold is locked; ``pick`` returns ``wanted`` and its choice).

    Raises what ``pick`` raises, ``too_many_seats`` (400) over ``max_seats_per_order`` in total
    (the hold's seats included), ``buyer_limit`` (409) past the buyer's seat cap
    (:func:`~seats.services.limits.buyer_limits_check`) and ``seat_unavailable`` (409) from
    :func:`~seats.services.claims.claims_take`.
    """

    def txn() -> HoldResult:
        now = timezone.now()
        lock_buyer(user.pk)
        # At most one: one active hold per buyer and showtime (a unique constraint).
        hold = lock_one(
            Hold, {"user_id": user.pk, "showtime_id": showtime.pk, "status": Hold.Status.ACTIVE}
        )
        if hold is not None:
            hold.showtime = showtime  # its caps for hold_detail, without reading the row again
        if hold is not None and hold.is_lapsed(now):
            hold_end(hold, status=Hold.Status.EXPIRED, now=now)
            hold = None
        created = hold is None
        claims = [] if created else live_claims(hold=hold)
        held = {c.showtime_seat_id for c in claims}
        seats_per_request_check(showtime, len(held | set(wanted)) + places)
        new = [pk for pk in pick(now) if pk not in held]
        if new:  # the hold's own seats are in the usage already: only the new ones are added
            buyer_limits_check(user_id=user.pk, showtime=showtime, now=now, seats=len(new))
        if created:
            try:  # no savepoint: a retry starts the whole transaction afresh
                hold = Hold.objects.create(
                    user=user,
                    showtime=showtime,
                    expires_at=now + timedelta(seconds=showtime.hold_ttl),
                )
            except IntegrityError as exc:  # a simultaneous first hold of the same buyer won
                raise RetryTransaction from exc
        assert hold is not None  # locked above, or made when there was none
        if new:
            states, taken = claims_take(showtime=showtime, hold=hold, seat_ids=new, now=now)
            claims += taken
            events.seats_changed(showtime.pk, "held", states)
        return HoldResult(hold, publish_hold(hold, claims), created)

    return run_counting_conflicts(txn)


def hold_create(
    *,
    user: User,
    showtime_id: int,
    seat_ids: Sequence[str] = (),
    ga: Sequence[dict[str, Any]] = (),
    queue_pass: str | None = None,
) -> HoldResult:
    """Hold seats, and places of general-admission zones, for a buyer (api.md ``POST
    showtimes/{id}/holds/``): all of them or none.

    ``ga`` is ``[{"zone": "<area name>", "quantity": n}]`` (an addition to api.md). A buyer has
    one active hold per showtime; a second call adds to it without moving its ``expires_at`` (now +
    ``showtime.hold_ttl`` seconds when the hold is made). Seats already in the hold are accepted
    again. With ``showtime.forbid_single_seats`` a hold that would leave a single free seat alone
    in a row is refused. The seats added count against the buyer's cap on the showtime
    (:func:`~seats.services.limits.buyer_limits_check`: held and pending seats together); seats
    already in the hold are not counted again.

    Raises:
        ApplicationError: 404 ``not_found``; 409 ``sales_closed``; 400 ``unknown_seats``,
            ``too_many_seats`` (over ``max_seats_per_order`` in total), ``validation_error``
            (e.g. a seat listed twice, in any spelling); 409 ``buyer_limit``;
            409 ``seat_unavailable`` (details.seats, or details.ga); 409 ``orphan_seat``
            (details.seats: the seats that would be left alone); 409 ``busy``; 403
            ``queue_required`` (:func:`~seats.services.waiting.queue_gate`: the showtime's
            waiting room is on and ``queue_pass`` does not admit the buyer).
    """
    showtime = showtime_for_sale(showtime_id)
    queue_gate(showtime, user, queue_pass)
    wanted = resolve_seats(showtime, seat_ids) if seat_ids else []
    areas = ga_places(showtime, ga) if ga else []

    def pick(now: datetime) -> list[int]:
        orphans_check(showtime, wanted, now)
        return wanted + [
            pk for area_id, quantity in areas for pk in ga_pick(showtime, area_id, quantity, now)
        ]

    return _hold_add(user, showtime, pick, wanted=wanted, places=sum(q for _, q in areas))


def hold_best(
    *,
    user: User,
    showtime_id: int,
    quantity: int,
    category: str | None = None,
    zone: str | None = None,
    queue_pass: str | None = None,
) -> HoldResult:
    """Hold the best ``quantity`` seats side by side in one row (``POST
    showtimes/{id}/holds/best/``), in the quality order of :mod:`seats.selection`
    (:func:`~seats.services.picks.best_pick`). The result is an ordinary hold (added to the
    buyer's active hold, if any); the seats count against the buyer's cap as in
    :func:`hold_create`.

    Raises:
        ApplicationError: 404 ``not_found``; 409 ``sales_closed``; 400 ``validation_error``
            (unknown category or zone), ``too_many_seats``; 409 ``buyer_limit``; 409
            ``seat_unavailable`` with ``details.suggestion`` = ``{"max_together", "available"}``
            when no block is free; 403 ``queue_required`` (as :func:`hold_create`).
    """
    showtime = showtime_for_sale(showtime_id)
    queue_gate(showtime, user, queue_pass)
    best_check(showtime, category, zone)
    return _hold_add(
        user,
        showtime,
        places=quantity,
        pick=lambda now: best_pick(showtime, quantity, now, category=category, zone=zone),
    )


def hold_release(
    *, user: User, hold_id: uuid.UUID, seat_ids: Sequence[str] | None = None
) -> HoldResult:
    """Release some seats of a hold (a deselect on the seat map), or all when ``seat_ids`` is None.

    The hold becomes ``released`` once it has no seats. Releasing from a hold that has expired
    records the expiry and returns the hold with status ``expired``.

    Raises:
        ApplicationError: 404 ``not_found`` (also another buyer's hold); 409 ``hold_not_active``;
            400 ``validation_error`` for a seat listed twice, in any spelling
            (:func:`~seats.services.ids.seat_ids_parse`); 400 ``unknown_seats`` for seats not
            in the hold.
    """
    chosen = None if seat_ids is None else [str(g) for g in seat_ids_parse(seat_ids)]

    def txn() -> HoldResult:
        now = timezone.now()
        hold = _locked_hold(user, hold_id)
        if hold.status != Hold.Status.ACTIVE:
            raise ApplicationError(
                "hold_not_active",
                hold_status_message(hold.status),
                details={"status": hold.status},
            )
        if hold.is_lapsed(now):
            return HoldResult(hold, hold_end(hold, status=Hold.Status.EXPIRED, now=now))
        live = live_claims(hold=hold)
        claims = live
        if seat_ids is not None:
            assert chosen is not None  # parsed from seat_ids above
            by_guid = {str(c.showtime_seat.seat.guid): c for c in live}
            unknown = [
                raw for raw, guid in zip(seat_ids, chosen, strict=True) if guid not in by_guid
            ]
            if unknown:
                raise ApplicationError(
                    "unknown_seats",
                    _("Some of these seats are not in the hold."),
                    details={"seats": unknown},
                    status=400,
                )
            claims = [c for guid, c in by_guid.items() if guid in set(chosen)]
        if len(claims) == len(live):
            return HoldResult(
                hold, hold_end(hold, status=Hold.Status.RELEASED, now=now, claims=live)
            )
        states = claims_end(
            claims, now=now, change=Change.buyer("released", user.pk, hold_id=hold.pk)
        )
        events.seats_changed(hold.showtime_id, "released", states)
        return HoldResult(hold, publish_hold(hold, [c for c in live if c not in claims]))

    return run_in_transaction(txn)


def hold_expire_due(*, limit: int = 500, now: datetime | None = None) -> list[Hold]:
    """Expire active holds whose ``expires_at`` has passed (the cleanup command); see
    :func:`~seats.services.expiry.expire_due`."""
    return expire_due(
        Hold,
        limit=limit,
        now=now,
        end=lambda hold, at: hold_end(hold, status=Hold.Status.EXPIRED, now=at),
        related=("showtime",),
    )


def hold_force_release(*, hold_id: uuid.UUID, staff: User | None) -> Hold:
    """Release an active hold on a buyer's behalf (staff). Returns the hold; one that is no
    longer active is returned as it is.

    Raises:
        ApplicationError: 404 ``not_found``.
    """

    def txn() -> Hold:
        hold = lock_first(Hold.objects.select_related("showtime").filter(pk=hold_id))
        if hold is None:
            raise ApplicationError("not_found", _("No such hold."), status=404)
        if hold.status == Hold.Status.ACTIVE:
            now = timezone.now()
            expired = hold.is_lapsed(now)
            hold_end(
                hold,
                status=Hold.Status.EXPIRED if expired else Hold.Status.RELEASED,
                now=now,
                staff=None if expired else staff,
            )
        return hold

    return run_in_transaction(txn)


def hold_extend(*, user: User, hold_id: uuid.UUID) -> HoldResult:
    """Give the buyer more time on an active hold (api.md ``POST holds/{id}/extend/``): its
    ``expires_at`` becomes ``now + showtime.hold_ttl`` seconds, but never later than
    ``created_at + showtime.max_hold_seconds``, at most ``showtime.max_hold_extensions`` times.

    The hold's seats keep their status and version and get the new deadline
    (``ShowtimeSeat.expires_at`` mirrors the hold's: :class:`seats.models.ShowtimeSeat`); no seat
    changes status, so there is no audit row and no ``seats.changed``. The owner gets
    ``hold.updated`` after commit, which also moves the socket's ``hold.expiring`` notice. Locks:
    the hold row (its showtime read with it), then its seats by primary key.

    Raises:
        ApplicationError: 404 ``not_found`` (also another buyer's hold); 409 ``hold_not_active``
            (details.status: ``released`` or ``converted``); 409 ``hold_expired`` (details.status)
            for an expired hold, also one just past its ``expires_at`` (the expiry is recorded
            and broadcast first, as ``order_create`` does); 409
            ``extension_limit`` (details: ``extensions``, ``max_extensions``,
            ``max_expires_at``) when the hold was extended ``max_hold_extensions`` times or the
            new deadline would not be later than the current one, by at least
            :data:`~seats.selectors.EXTENSION_MIN_GAIN` (``max_hold_seconds`` reached);
            409 ``busy``.
    """

    def txn() -> HoldResult | None:
        now = timezone.now()
        hold = _locked_hold(user, hold_id)
        if hold.status != Hold.Status.ACTIVE:  # the codes of order_create
            code = "hold_expired" if hold.status == Hold.Status.EXPIRED else "hold_not_active"
            raise ApplicationError(
                code, hold_status_message(hold.status), details={"status": hold.status}
            )
        if hold.is_lapsed(now):
            hold_end(hold, status=Hold.Status.EXPIRED, now=now)
            return None  # committed, then answered 409 below
        showtime = hold.showtime
        latest = hold.created_at + timedelta(seconds=showtime.max_hold_seconds)
        expires_at = min(now + timedelta(seconds=showtime.hold_ttl), latest)
        gain = expires_at - hold.expires_at
        if hold.extensions >= showtime.max_hold_extensions or gain < EXTENSION_MIN_GAIN:
            raise ApplicationError(
                "extension_limit",
                _("This hold cannot be extended any further.")
                if hold.extensions < showtime.max_hold_extensions
                else ngettext(
                    "No more extensions: the limit is %(n)s extension per hold.",
                    "No more extensions: the limit is %(n)s extensions per hold.",
                    showtime.max_hold_extensions,
                )
                % {"n": showtime.max_hold_extensions},
                details={
                    "extensions": hold.extensions,
                    "max_extensions": showtime.max_hold_extensions,
                    "max_expires_at": latest.isoformat(),
                },
            )
        claims = live_claims(hold=hold)
        rows = lock_showtime_seats(hold.showtime_id, [c.showtime_seat_id for c in claims])
        update(
            ShowtimeSeat,
            [row.pk for row in rows if row.status == SeatStatus.HELD],
            {"expires_at": expires_at},
        )
        for claim in claims:
            claim.showtime_seat.expires_at = expires_at
        hold.expires_at, hold.extensions = expires_at, hold.extensions + 1
        update(Hold, [hold.pk], {"expires_at": expires_at, "extensions": hold.extensions})
        return HoldResult(hold, publish_hold(hold, claims))

    result = run_in_transaction(txn)
    if result is None:
        raise ApplicationError(
            "hold_expired",
            _("The hold expired; its seats were released."),
            details={"status": Hold.Status.EXPIRED},
        )
    return result
