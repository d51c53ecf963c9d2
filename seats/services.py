"""Writes of seat inventory: showtimes, holds, seat claims and staff blocks.

Every function that changes seats runs one short transaction through
:func:`seats.locks.run_in_transaction` and takes every lock through :mod:`seats.locks`, in the one
global order: the buyer (writes the per-buyer caps count), the hold/order row, then showtime seats
by primary key. Events are published after commit through :mod:`realtime.events`. Rules come from
shared/spec/domain.md and docs/api.md.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from core import counters, events
from core.errors import ApplicationError

from .audit import Change
from .locks import (
    RetryTransaction,
    lock_buyer,
    lock_first,
    lock_free_seats,
    lock_one,
    lock_showtime_seats,
    run_in_transaction,
)
from .models import (
    GeneralAdmissionArea,
    Hold,
    PlanCategory,
    Seat,
    SeatClaim,
    SeatEvent,
    SeatingPlan,
    SeatStatus,
    Show,
    Showtime,
    ShowtimePrice,
    ShowtimeSeat,
)
from .rawsql import fetch_claims, fetch_one, insert, showtime_seat_ids, update
from .selection import best_blocks, load_rows, new_orphans, zones_of
from .selectors import buyer_usage, effective_state, hold_detail

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# --- Showtimes --------------------------------------------------------------------------------------


def showtime_create(
    *,
    show: Show,
    plan: SeatingPlan,
    starts_at: datetime,
    prices: dict[str, Decimal],
    currency: str = "EUR",
    hold_ttl: int | None = None,
    max_seats_per_order: int | None = None,
    max_seats_per_buyer: int | None = None,
    status: str = Showtime.Status.ON_SALE,
    forbid_single_seats: bool = False,
    sales_start: datetime | None = None,
    sales_end: datetime | None = None,
) -> Showtime:
    """Create a showtime with its prices and its inventory (one ``ShowtimeSeat`` per plan seat).

    The one way a showtime is made (the admin, ``load_demo``, tests and benchmarks call it).

    Args:
        prices: plan category name → price in ``currency``; see :func:`showtime_prices_check`.
        hold_ttl: seconds a hold lasts; ``None``: ``settings.HOLD_TTL_SECONDS`` (the field's
            default).
        max_seats_per_order: seats in one hold or order; ``None``:
            ``settings.MAX_SEATS_PER_ORDER``.
        max_seats_per_buyer: the per-buyer cap (held and pending seats together); ``None``: the
            same as ``max_seats_per_order``, whatever it becomes (``Showtime.seats_per_buyer``).

    Raises:
        ApplicationError: 400 ``validation_error`` when the prices break
            :func:`showtime_prices_check`, or a field breaks the model's validation
            (``Showtime.full_clean``: e.g. ``hold_ttl`` below 1, ``max_seats_per_buyer`` below
            ``max_seats_per_order``); ``details`` maps the field names to their problems.
    """
    price_rows = showtime_prices_check(plan=plan, prices=prices)
    given = {"hold_ttl": hold_ttl, "max_seats_per_order": max_seats_per_order}
    showtime = Showtime(
        show=show, plan=plan, starts_at=starts_at, currency=currency, status=status,
        max_seats_per_buyer=max_seats_per_buyer, forbid_single_seats=forbid_single_seats,
        sales_start=sales_start, sales_end=sales_end,
        **{name: value for name, value in given.items() if value is not None},
    )
    try:
        showtime.full_clean()
    except ValidationError as exc:
        raise ApplicationError("validation_error", "Invalid showtime.",
                               details=exc.message_dict, status=400) from exc
    with transaction.atomic():
        showtime.save()
        for row in price_rows:
            row.showtime = showtime
        ShowtimePrice.objects.bulk_create(price_rows)
        inventory_create(showtime)
    return showtime


def showtime_prices_check(*, plan: SeatingPlan, prices: dict[str, Decimal]
                          ) -> list[ShowtimePrice]:
    """The price rows of a showtime on ``plan`` (not yet saved, no showtime set), checked: every
    category of the plan has exactly one price (``prices`` maps category names to prices), and
    no price is below zero.

    Raises:
        ApplicationError: 400 ``validation_error``; ``details["prices"]`` names the problems
            (categories without a price, names that are no category of the plan, negative prices).
    """
    categories = {c.name: c for c in PlanCategory.objects.filter(plan=plan)}
    missing = sorted(set(categories) - set(prices))
    unknown = sorted(set(prices) - set(categories))
    negative = sorted(name for name, price in prices.items() if Decimal(price) < 0)
    problems = [f"{what}: {', '.join(names)}." for what, names in [
        ("No price for", missing), ("Not a category of this seating plan", unknown),
        ("Prices cannot be negative", negative)] if names]
    if problems:
        raise ApplicationError(
            "validation_error",
            "Every category of the seating plan needs exactly one price, not below zero.",
            details={"prices": problems}, status=400,
        )
    return [ShowtimePrice(category=categories[name], price=Decimal(price))
            for name, price in prices.items()]


def inventory_create(showtime: Showtime) -> int:
    """Create the missing ``ShowtimeSeat`` rows of a showtime (one per plan seat); return how many.

    Idempotent: seats that already have an inventory row are left alone.
    """
    existing = set(ShowtimeSeat.objects.filter(showtime=showtime).values_list("seat_id", flat=True))
    rows = [
        ShowtimeSeat(showtime=showtime, seat_id=seat_id)
        for seat_id in showtime.plan.seats.order_by("pk").values_list("pk", flat=True)
        if seat_id not in existing
    ]
    ShowtimeSeat.objects.bulk_create(rows, batch_size=500)
    return len(rows)


# --- Validation helpers -----------------------------------------------------------------------------


def showtime_for_sale(showtime_id: int) -> Showtime:
    """Return the showtime if tickets can be bought for it now.

    Raises:
        ApplicationError: 404 ``not_found``; 409 ``sales_closed`` when the showtime is not on sale
            or outside its sales window.
    """
    showtime = fetch_one(Showtime, {"id": showtime_id})
    if showtime is None:
        raise ApplicationError("not_found", "No such showtime.", status=404)
    now = timezone.now()
    if (
        showtime.status != Showtime.Status.ON_SALE
        or (showtime.sales_start and now < showtime.sales_start)
        or (showtime.sales_end and now >= showtime.sales_end)
    ):
        raise ApplicationError(
            "sales_closed", "Tickets for this showtime are not on sale.", status=409
        )
    return showtime


def seat_ids_parse(seat_ids: Sequence[Any]) -> list[uuid.UUID | None]:
    """Parse seat ids of a request (plan ``seat_guid`` strings) into UUIDs, ``None`` for what is
    not a UUID, in the order given.

    A GUID has many spellings that the parser accepts (any letter case, with or without hyphens,
    braces or ``urn:uuid:``); two spellings of one seat are the same seat listed twice, and a
    request listing a seat twice is refused, never counted once (api.md "Holds": each seat once).

    Raises:
        ApplicationError: 400 ``validation_error``, ``details.seats`` naming each seat listed more
            than once and the spellings used.
    """
    parsed = [_parse_uuid(raw) for raw in seat_ids]
    spellings: dict[Any, list[str]] = {}
    for raw, guid in zip(seat_ids, parsed, strict=True):
        spellings.setdefault(guid if guid is not None else str(raw), []).append(str(raw))
    duplicates = [(str(key), raws) for key, raws in spellings.items() if len(raws) > 1]
    if duplicates:
        raise ApplicationError(
            "validation_error", "A seat is listed more than once.",
            details={"seats": [f"{key} is listed {len(raws)} times (as "
                               f"{', '.join(repr(r) for r in raws)})"
                               for key, raws in duplicates]},
            status=400,
        )
    return parsed


def resolve_seats(showtime: Showtime, seat_ids: Sequence[str]) -> list[int]:
    """Map seat ids (plan ``seat_guid`` strings) of a showtime to ``ShowtimeSeat`` primary keys,
    in the order given.

    Raises:
        ApplicationError: 400 ``validation_error`` for a seat listed twice, in any spelling
            (:func:`seat_ids_parse`); 400 ``too_many_seats`` over the showtime's
            ``max_seats_per_order``; 400 ``unknown_seats`` (details.seats: the unknown ids) when
            an id is not a seat of this showtime.
    """
    guids = seat_ids_parse(seat_ids)
    if len(seat_ids) > showtime.max_seats_per_order:
        raise ApplicationError(
            "too_many_seats",
            f"At most {showtime.max_seats_per_order} seats can be bought at once.",
            details={"max_seats_per_order": showtime.max_seats_per_order}, status=400,
        )
    found = showtime_seat_ids(showtime.pk, [g for g in guids if g is not None])
    unknown = [raw for raw, guid in zip(seat_ids, guids, strict=True) if guid not in found]
    if unknown:
        raise ApplicationError(
            "unknown_seats", f"{len(unknown)} of the requested seats do not exist in this showtime.",
            details={"seats": unknown}, status=400,
        )
    return [found[guid] for guid in guids]


# --- Seat writes (caller holds the locks) -----------------------------------------------------------


def _state(row: ShowtimeSeat) -> dict[str, Any]:
    state = {"id": str(row.seat.guid), "status": row.status, "version": row.version}
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
) -> list[dict[str, Any]]:
    """Set ``status`` and ``expires_at`` of locked seats, bump their ``version``, record the audit
    trail (``SeatEvent``), and return the new states ``[{"id", "status", "version"}]``.

    Each change adds 1 to ``version``. With ``takeover`` a seat whose claim had lapsed (read as
    ``available`` at ``version + 1``) gets ``version + 2`` and two audit rows: its expiry (system)
    and the new change. At most three statements. Precondition: the caller holds the row locks.
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
    states = []
    for bump, group in by_bump.items():
        update(ShowtimeSeat, [r.pk for r in group], {"status": status, "expires_at": expires_at},
               {"version": bump})
        for row in group:
            row.status, row.expires_at, row.version = status, expires_at, row.version + bump
            states.append(_state(row))
    insert(audit)
    return states


def claims_take(
    *, showtime: Showtime, hold: Hold, seat_ids: Sequence[int], now: datetime
) -> tuple[list[dict[str, Any]], Sequence[SeatClaim]]:
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
    taken, lapsed = [], []
    for row in rows:
        status, _ = effective_state(row.status, row.version, row.expires_at, now)
        if status != SeatStatus.AVAILABLE:
            taken.append(row.seat.label)
        elif row.status != SeatStatus.AVAILABLE:
            lapsed.append(row.pk)
    if taken:
        raise ApplicationError(
            "seat_unavailable",
            f"{len(taken)} of the requested seats are not available.",
            details={"seats": taken},
        )
    if lapsed:
        SeatClaim.objects.filter(showtime_seat_id__in=lapsed, is_live=True).update(
            is_live=False, ended_at=now
        )
    try:  # no savepoint: on failure the whole transaction is rolled back anyway
        claims = insert([SeatClaim(showtime_seat=row, hold=hold, price=row.price,  # type: ignore[attr-defined]  # attached by lock_showtime_seats
                                   category=row.seat.category.name) for row in rows])
    except IntegrityError as exc:  # the database's own guard (invariant 1) caught a double claim
        raise ApplicationError(
            "seat_unavailable", "The requested seats are not available.",
            details={"seats": [row.seat.label for row in rows]},
        ) from exc
    states = seats_write(rows, status=SeatStatus.HELD, expires_at=hold.expires_at, now=now,
                         takeover=True, change=Change.buyer("held", hold.user_id, hold_id=hold.pk))
    return states, claims


def claims_end(
    claims: Iterable[SeatClaim], *, now: datetime, change: Change,
    status: str = SeatStatus.AVAILABLE,
) -> list[dict[str, Any]]:
    """End live claims and set their seats to ``status`` (``available`` by default).

    Locks the seats in primary-key order. Returns the new seat states.
    Precondition: inside a transaction holding the lock of the claims' hold or order.
    """
    claims = list(claims)
    if not claims:
        return []
    rows = lock_showtime_seats(claims[0].showtime_seat.showtime_id,
                               [c.showtime_seat_id for c in claims])
    update(SeatClaim, [c.pk for c in claims], {"is_live": False, "ended_at": now})
    return seats_write(rows, status=status, expires_at=None, now=now, change=change)


def live_claims(**filters: Any) -> list[SeatClaim]:
    """Live claims (of a hold or an order: ``hold=``/``order=``), seat-ordered, with
    ``showtime_seat__seat``. One statement."""
    where = {"is_live": True}
    for name, value in filters.items():
        where[f"{name}_id"] = value.pk
    return fetch_claims(where)


def hold_end(hold: Hold, *, status: str, now: datetime, staff: User | None = None,
             claims: list[SeatClaim] | None = None) -> None:
    """End an active hold (``released`` or ``expired``), free its seats and publish it.

    The audit trail names the buyer (release), the system (expiry) or ``staff`` (a staff user
    force-releasing it). ``claims``: the hold's live claims when the caller has read them already.
    Precondition: inside a transaction holding the lock of ``hold``.
    """
    reason = "expired" if status == Hold.Status.EXPIRED else "released"
    if staff is not None:
        change = Change.staff(reason, staff.pk, hold_id=hold.pk)
    elif status == Hold.Status.EXPIRED:
        change = Change.system(reason, hold_id=hold.pk)
    else:
        change = Change.buyer(reason, hold.user_id, hold_id=hold.pk)
    states = claims_end(live_claims(hold=hold) if claims is None else claims, now=now,
                        change=change)
    hold.status, hold.ended_at = status, now
    update(Hold, [hold.pk], {"status": status, "ended_at": now})
    events.seats_changed(hold.showtime_id, reason, states)
    if status == Hold.Status.EXPIRED:
        events.hold_expired(hold.user_id, hold.showtime_id, hold.pk)
    else:
        publish_hold(hold)


def publish_hold(hold: Hold, claims: Sequence[SeatClaim] | None = None) -> dict[str, Any]:
    """Send ``hold.updated`` to the owner after commit, and keep the detail on the instance
    (``hold.detail``) so the API answer reuses it instead of reading the hold again.
    ``claims``: the hold's live claims, when the caller has them (no query then)."""
    detail = hold_detail(hold, claims)
    hold.detail = detail  # type: ignore[attr-defined]  # read by the API view (issue 15: an explicit result)
    events.hold_updated(hold.user_id, detail)
    return detail


def _locked_hold(user: User, hold_id: object) -> Hold:
    hold = lock_one(Hold, {"id": hold_id, "user_id": user.pk})
    if hold is None:
        raise ApplicationError("not_found", "No such hold.", status=404)
    return hold


def _parse_uuid(value: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def buyer_limits_check(*, user_id: int, showtime: Showtime, now: datetime, seats: int = 0,
                       orders: int = 0) -> None:
    """Refuse a write that would take a buyer past a per-buyer cap of the showtime (api.md
    "Holds" and "Orders": one account must not hoard the house).

    ``seats``: seats the write adds to what the buyer has held or in pending orders (a hold, an
    addition to a hold, a one-step order; 0 when a hold becomes an order: its seats are already
    counted); ``orders``: pending orders it adds (1 for an order, 0 for a hold). The caps:
    ``showtime.seats_per_buyer`` seats (``max_seats_per_buyer``, else ``max_seats_per_order``),
    and ``settings.MAX_PENDING_ORDERS_PER_BUYER`` pending orders, both counted at ``now`` by
    :func:`seats.selectors.buyer_usage` (lapsed holds and orders do not count, paid ones neither).
    One statement. Precondition: the caller holds :func:`seats.locks.lock_buyer` for the buyer,
    so two requests of one buyer cannot both pass.

    Raises:
        ApplicationError: 409 ``buyer_limit``, details ``{"cap": "max_seats_per_buyer" |
            "max_pending_orders_per_buyer", "limit", "current", "requested"}`` (counts).
    """
    usage = buyer_usage(user_id, showtime.pk, now)
    caps = (
        ("max_seats_per_buyer", showtime.seats_per_buyer, usage.seats, seats,
         "seats held or in unpaid orders"),
        ("max_pending_orders_per_buyer", settings.MAX_PENDING_ORDERS_PER_BUYER,
         usage.pending_orders, orders, "unpaid orders"),
    )
    for cap, limit, current, requested, what in caps:
        if requested and current + requested > limit:
            raise ApplicationError(
                "buyer_limit",
                f"One buyer can have at most {limit} {what} for this showtime; you have "
                f"{current}. Pay or cancel an order, or release seats, first.",
                details={"cap": cap, "limit": limit, "current": current,
                         "requested": requested},
            )


def run_counting_conflicts(txn):
    """:func:`run_in_transaction`, counting each 409 ``seat_unavailable`` as a prevented double
    sale (the ``seat_conflicts`` counter of ``GET stats/``, :mod:`core.counters`; domain.md,
    invariant 6)."""
    try:
        return run_in_transaction(txn)
    except ApplicationError as err:
        if err.code == "seat_unavailable":
            counters.bump("seat_conflicts")
        raise


# --- Holds ------------------------------------------------------------------------------------------


def _hold_add(user: User, showtime: Showtime, pick: Callable[[datetime], list[int]]
              ) -> tuple[Hold, bool]:
    """Add the seats that ``pick(now)`` chooses (inside the transaction, after the buyer's hold is
    locked) to the buyer's active hold on ``showtime``, making the hold if needed.

    Raises what ``pick`` raises, ``too_many_seats`` (400) over ``max_seats_per_order`` in total,
    ``buyer_limit`` (409) past the buyer's seat cap (:func:`buyer_limits_check`) and
    ``seat_unavailable`` (409) from :func:`claims_take`.
    """
    def txn() -> tuple[Hold, bool]:
        now = timezone.now()
        lock_buyer(user.pk)
        # At most one: one active hold per buyer and showtime (a unique constraint).
        hold = lock_one(Hold, {"user_id": user.pk, "showtime_id": showtime.pk,
                               "status": Hold.Status.ACTIVE})
        if hold is not None and hold.is_lapsed(now):
            hold_end(hold, status=Hold.Status.EXPIRED, now=now)
            hold = None
        created = hold is None
        claims = [] if created else live_claims(hold=hold)
        held = {c.showtime_seat_id for c in claims}
        new = [pk for pk in pick(now) if pk not in held]
        if len(held) + len(new) > showtime.max_seats_per_order:
            raise ApplicationError(
                "too_many_seats",
                f"At most {showtime.max_seats_per_order} seats can be held at once.",
                details={"max_seats_per_order": showtime.max_seats_per_order}, status=400,
            )
        if new:  # the hold's own seats are in the usage already: only the new ones are added
            buyer_limits_check(user_id=user.pk, showtime=showtime, now=now, seats=len(new))
        if created:
            try:  # no savepoint: a retry starts the whole transaction afresh
                hold, = insert([Hold(user=user, showtime=showtime,
                                     expires_at=now + timedelta(seconds=showtime.hold_ttl))])
            except IntegrityError as exc:  # a simultaneous first hold of the same buyer won
                raise RetryTransaction from exc
        assert hold is not None  # the buyer's hold, or the one just made
        if new:
            states, taken = claims_take(showtime=showtime, hold=hold, seat_ids=new, now=now)
            claims += taken
            events.seats_changed(showtime.pk, "held", states)
        publish_hold(hold, claims)
        return hold, created

    return run_counting_conflicts(txn)


def _ga_places(showtime: Showtime, ga: Sequence[dict[str, Any]]) -> list[tuple[int, int]]:
    """Validate ``[{"zone", "quantity"}]`` against the showtime's general-admission areas; return
    ``[(area_id, quantity)]``.

    Raises:
        ApplicationError: 400 ``unknown_seats`` (details.zones) for a zone that is not a
            general-admission area of the showtime's plan.
    """
    areas = dict(GeneralAdmissionArea.objects.filter(plan_id=showtime.plan_id)
                 .values_list("name", "pk"))
    unknown = [item["zone"] for item in ga if item["zone"] not in areas]
    if unknown:
        raise ApplicationError(
            "unknown_seats", "These general-admission zones do not exist in this showtime.",
            details={"zones": unknown}, status=400)
    wanted: dict[int, int] = {}
    for item in ga:
        wanted[areas[item["zone"]]] = wanted.get(areas[item["zone"]], 0) + item["quantity"]
    return sorted(wanted.items())


def _claim_ga(showtime: Showtime, area_id: int, quantity: int, now: datetime) -> list[int]:
    """Lock ``quantity`` free places of a general-admission area and return them.

    ``SELECT … FOR UPDATE SKIP LOCKED LIMIT n`` on PostgreSQL: concurrent buyers take different
    places and never wait on each other; there are only ``capacity`` places, so capacity cannot be
    exceeded. (SQLite serialises writers instead; the same query is then simply exact.)

    Raises:
        ApplicationError: 409 ``seat_unavailable`` (details.ga: zone, requested, available) when
            fewer than ``quantity`` places are free.
    """
    free = Q(status=SeatStatus.AVAILABLE) | Q(status__in=[SeatStatus.HELD, SeatStatus.RESERVED],
                                               expires_at__lte=now)
    places = lock_free_seats(
        ShowtimeSeat.objects.filter(free, showtime=showtime, seat__ga_area_id=area_id), "pk",
        limit=quantity)
    if len(places) < quantity:
        area = GeneralAdmissionArea.objects.get(pk=area_id)
        raise ApplicationError(
            "seat_unavailable",
            f"Only {len(places)} of the {quantity} places requested in {area.name} are free.",
            details={"seats": [], "ga": {"zone": area.name, "requested": quantity,
                                         "available": len(places)}},
        )
    return places


def hold_create(
    *, user: User, showtime_id: int, seat_ids: Sequence[str] = (),
    ga: Sequence[dict[str, Any]] = (),
) -> tuple[Hold, bool]:
    """Hold seats, and places of general-admission zones, for a buyer (api.md ``POST
    showtimes/{id}/holds/``): all of them or none.

    ``ga`` is ``[{"zone": "<area name>", "quantity": n}]`` (an addition to api.md). A buyer has
    one active hold per showtime; a second call adds to it without moving its ``expires_at`` (now +
    ``showtime.hold_ttl`` seconds when the hold is made). Seats already in the hold are accepted
    again. With ``showtime.forbid_single_seats`` a hold that would leave a single free seat alone
    in a row is refused. The seats added count against the buyer's cap on the showtime
    (:func:`buyer_limits_check`: held and pending seats together); seats already in the hold
    are not counted again. Returns ``(hold, created)``.

    Raises:
        ApplicationError: 404 ``not_found``; 409 ``sales_closed``; 400 ``unknown_seats``,
            ``too_many_seats`` (over ``max_seats_per_order`` in total), ``validation_error``
            (e.g. a seat listed twice, in any spelling); 409 ``buyer_limit``;
            409 ``seat_unavailable`` (details.seats, or details.ga); 409 ``orphan_seat``
            (details.seats: the seats that would be left alone); 409 ``busy``.
    """
    showtime = showtime_for_sale(showtime_id)
    wanted = resolve_seats(showtime, seat_ids) if seat_ids else []
    areas = _ga_places(showtime, ga) if ga else []
    if len(wanted) + sum(q for _, q in areas) > showtime.max_seats_per_order:
        raise ApplicationError(
            "too_many_seats", f"At most {showtime.max_seats_per_order} seats can be bought at once.",
            details={"max_seats_per_order": showtime.max_seats_per_order}, status=400)

    def pick(now: datetime) -> list[int]:
        if wanted and showtime.forbid_single_seats:
            groups = load_rows(showtime, now, zones=zones_of(showtime.pk, wanted))
            alone = new_orphans(groups, set(wanted))
            if alone:
                raise ApplicationError(
                    "orphan_seat",
                    f"This choice would leave {', '.join(alone)} alone between taken seats.",
                    details={"seats": alone})
        places = [pk for area_id, quantity in areas
                  for pk in _claim_ga(showtime, area_id, quantity, now)]
        return wanted + places

    return _hold_add(user, showtime, pick)


def hold_best(
    *, user: User, showtime_id: int, quantity: int, category: str | None = None, zone: str | None = None
) -> tuple[Hold, bool]:
    """Hold the best ``quantity`` seats side by side in one row (``POST
    showtimes/{id}/holds/best/``), in the quality order of :mod:`seats.selection`. The result is
    an ordinary hold (added to the buyer's active hold, if any).

    Candidates are tried best first; each is locked with ``SKIP LOCKED`` (PostgreSQL), so two
    buyers never get the same seats and neither waits on the other's locks. The seats count
    against the buyer's cap as in :func:`hold_create`.

    Raises:
        ApplicationError: 404 ``not_found``; 409 ``sales_closed``; 400 ``validation_error``
            (unknown category or zone), ``too_many_seats``; 409 ``buyer_limit``; 409
            ``seat_unavailable`` with ``details.suggestion`` = ``{"max_together", "available"}``
            when no block is free.
    """
    showtime = showtime_for_sale(showtime_id)
    if quantity > showtime.max_seats_per_order:
        raise ApplicationError(
            "too_many_seats", f"At most {showtime.max_seats_per_order} seats can be bought at once.",
            details={"max_seats_per_order": showtime.max_seats_per_order}, status=400)
    plan_seats = Seat.objects.filter(plan_id=showtime.plan_id, ga_area=None)
    for field, value in (("category__name", category), ("zone", zone)):
        if value and not plan_seats.filter(**{field: value}).exists():
            name = field.split("__")[0]
            raise ApplicationError("validation_error", f"No seats in {name} {value!r}.",
                                   details={name: [f"unknown {name}"]}, status=400)

    def pick(now: datetime) -> list[int]:
        found = best_blocks(showtime, quantity, now, category=category, zone=zone)
        for block in found.blocks[:50]:
            locked = lock_free_seats(ShowtimeSeat.objects.filter(pk__in=block),
                                     "status", "version", "expires_at")
            states = [effective_state(status, version, expires_at, now)[0]
                      for status, version, expires_at in locked]
            if len(states) == quantity and all(s == SeatStatus.AVAILABLE for s in states):
                return block
        together = found.max_together
        raise ApplicationError(
            "seat_unavailable",
            f"No {quantity} seats together are free"
            + (f"; at most {together} together" if together else "")
            + f", {found.available} free in all. Choose fewer seats, or pick them apart.",
            details={"seats": [], "suggestion": {"max_together": together,
                                                 "available": found.available}},
        )

    return _hold_add(user, showtime, pick)


def hold_release(*, user: User, hold_id: object, seat_ids: Sequence[str] | None = None
                 ) -> Hold:
    """Release some seats of a hold (a deselect on the seat map), or all when ``seat_ids`` is None.

    The hold becomes ``released`` once it has no seats. Releasing from a hold that has expired
    records the expiry and returns the hold with status ``expired``.

    Raises:
        ApplicationError: 404 ``not_found`` (also another buyer's hold); 409 ``hold_not_active``;
            400 ``validation_error`` for a seat listed twice, in any spelling
            (:func:`seat_ids_parse`); 400 ``unknown_seats`` for seats not in the hold.
    """
    if _parse_uuid(hold_id) is None:
        raise ApplicationError("not_found", "No such hold.", status=404)
    chosen = None if seat_ids is None else [str(g) for g in seat_ids_parse(seat_ids)]

    def txn() -> Hold:
        now = timezone.now()
        hold = _locked_hold(user, hold_id)
        if hold.status != Hold.Status.ACTIVE:
            raise ApplicationError(
                "hold_not_active", f"This hold is {hold.status}.", details={"status": hold.status}
            )
        if hold.is_lapsed(now):
            hold_end(hold, status=Hold.Status.EXPIRED, now=now)
            return hold
        live = live_claims(hold=hold)
        claims = live
        if seat_ids is not None and chosen is not None:
            by_guid = {str(c.showtime_seat.seat.guid): c for c in live}
            unknown = [raw for raw, guid in zip(seat_ids, chosen, strict=True) if guid not in by_guid]
            if unknown:
                raise ApplicationError(
                    "unknown_seats", "Some of these seats are not in the hold.",
                    details={"seats": unknown}, status=400,
                )
            claims = [c for guid, c in by_guid.items() if guid in set(chosen)]
        if len(claims) == len(live):
            hold_end(hold, status=Hold.Status.RELEASED, now=now, claims=live)
            return hold
        states = claims_end(claims, now=now,
                            change=Change.buyer("released", user.pk, hold_id=hold.pk))
        events.seats_changed(hold.showtime_id, "released", states)
        publish_hold(hold, [c for c in live if c not in claims])
        return hold

    return run_in_transaction(txn)


def expire_due(model: Any, *, end: Callable[[Any, datetime], None], limit: int,
               now: datetime | None = None) -> list:
    """Record the expiry of the lapsed rows of ``model`` (holds or orders: ``model.objects.lapsed``,
    :mod:`seats.lapse`), at most ``limit``, oldest deadline first, each in its own short
    transaction, with ``end(row, now)``; return the rows expired.

    A row locked by another process is skipped (``SKIP LOCKED`` on PostgreSQL) and its status is
    checked again under the lock, so several copies of the cleanup can run at once and each row is
    expired, and broadcast, exactly once.
    """
    now = now or timezone.now()
    due = list(
        model.objects.lapsed(now).order_by("expires_at").values_list("pk", flat=True)[:limit]
    )
    done = []
    for pk in due:

        def txn(pk=pk):
            row = lock_first(model.objects.lapsed(now).filter(pk=pk), skip_locked=True)
            if row is not None:
                end(row, timezone.now())
            return row

        row = run_in_transaction(txn)
        if row is not None:
            done.append(row)
    return done


def hold_expire_due(*, limit: int = 500, now: datetime | None = None) -> list[Hold]:
    """Expire active holds whose ``expires_at`` has passed (the cleanup command); see
    :func:`expire_due`."""
    return expire_due(Hold, limit=limit, now=now,
                      end=lambda hold, at: hold_end(hold, status=Hold.Status.EXPIRED, now=at))


# --- Staff blocks -----------------------------------------------------------------------------------


def seats_block(
    *, showtime_id: int, seat_pks: Sequence[int], reason: str = "", staff: User | None = None
) -> tuple[list[str], list[str]]:
    """Block available seats of a showtime (staff); blocked seats cannot be held or ordered.

    Returns ``(blocked, skipped)`` seat labels: seats that are held, reserved, sold or already
    blocked are skipped and reported, never taken silently. Publishes ``seats.changed``
    (``blocked``) and records the audit trail with ``reason``.
    """
    def txn():
        now = timezone.now()
        rows = lock_showtime_seats(showtime_id, seat_pks)
        free: list[ShowtimeSeat] = []
        skipped: list[ShowtimeSeat] = []
        for row in rows:
            status, _ = effective_state(row.status, row.version, row.expires_at, now)
            (free if status == SeatStatus.AVAILABLE else skipped).append(row)
        if any(r.status != SeatStatus.AVAILABLE for r in free):
            SeatClaim.objects.filter(showtime_seat__in=free, is_live=True).update(
                is_live=False, ended_at=now)
        change = Change.staff("blocked", getattr(staff, "pk", None), note=reason[:200])
        states = seats_write(free, status=SeatStatus.BLOCKED, expires_at=None, now=now,
                             takeover=True, change=change)
        ShowtimeSeat.objects.filter(pk__in=[r.pk for r in free]).update(block_reason=reason[:200])
        events.seats_changed(showtime_id, "blocked", states)
        return [r.seat.label for r in free], [r.seat.label for r in skipped]

    return run_in_transaction(txn)


def seats_unblock(
    *, showtime_id: int, seat_pks: Sequence[int], staff: User | None = None
) -> tuple[list[str], list[str]]:
    """Unblock blocked seats of a showtime (staff). Returns ``(unblocked, skipped)`` labels;
    publishes ``seats.changed`` (``unblocked``)."""
    def txn():
        now = timezone.now()
        rows = lock_showtime_seats(showtime_id, seat_pks)
        blocked = [r for r in rows if r.status == SeatStatus.BLOCKED]
        states = seats_write(blocked, status=SeatStatus.AVAILABLE, expires_at=None, now=now,
                             change=Change.staff("unblocked", getattr(staff, "pk", None)))
        ShowtimeSeat.objects.filter(pk__in=[r.pk for r in blocked]).update(block_reason="")
        events.seats_changed(showtime_id, "unblocked", states)
        return [r.seat.label for r in blocked], [r.seat.label for r in rows if r not in blocked]

    return run_in_transaction(txn)


def hold_force_release(*, hold_id: str | uuid.UUID, staff: User | None) -> Hold:
    """Release an active hold on a buyer's behalf (staff). Returns the hold; one that is no
    longer active is returned as it is."""
    def txn() -> Hold:
        hold = lock_first(Hold.objects.filter(pk=hold_id))
        if hold is None:
            raise ApplicationError("not_found", "No such hold.", status=404)
        if hold.status == Hold.Status.ACTIVE:
            now = timezone.now()
            expired = hold.is_lapsed(now)
            hold_end(hold, status=Hold.Status.EXPIRED if expired else Hold.Status.RELEASED,
                     now=now, staff=None if expired else staff)
        return hold

    return run_in_transaction(txn)
