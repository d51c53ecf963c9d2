"""Reads of seat inventory: snapshots, counts and hold details (no writes here).

A ``held``/``reserved`` seat whose ``expires_at`` has passed reads as ``available`` with
``version + 1`` (domain.md, invariant 4; see :class:`seats.models.ShowtimeSeat`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, QuerySet
from django.utils import timezone

from . import livecodec, rawsql
from .layout import Layout, display_colors, plan_layout
from .models import (
    EXPIRING_STATUSES,
    Hold,
    SeatClaim,
    SeatStatus,
    Showtime,
    ShowtimePrice,
    ShowtimeSeat,
    seat_free_q,
)


def effective_state(
    status: str, version: int, expires_at: datetime | None, now: datetime
) -> tuple[str, int]:
    """Return ``(status, version)`` as a buyer must see them at ``now`` (lazy expiry)."""
    if status in EXPIRING_STATUSES and expires_at is not None and expires_at <= now:
        return SeatStatus.AVAILABLE, version + 1
    return status, version


def showtime_prices(showtime_id: int) -> dict[int, Decimal]:
    """Map plan category id → price (in the showtime's currency). One query."""
    return dict(
        ShowtimePrice.objects.filter(showtime_id=showtime_id).values_list("category_id", "price")
    )


def seat_states(showtime_id: int) -> tuple[datetime, list[dict[str, Any]]]:
    """The compact state of every seat of a showtime (general-admission places excluded: see
    :func:`ga_availability`), for WebSocket snapshots. One query.

    Returns ``(as_of, [{"id": "<guid>", "status": str, "version": int}, ...])``.
    """
    now = timezone.now()
    rows = ShowtimeSeat.objects.filter(showtime_id=showtime_id, seat__ga_area=None).values_list(
        "seat__guid", "status", "version", "expires_at"
    )
    seats = []
    for guid, status, version, expires_at in rows.order_by("seat_id"):
        status, version = effective_state(status, version, expires_at, now)
        seats.append({"id": str(guid), "status": status, "version": version})
    return now, seats


@dataclass(frozen=True)
class LiveSeats:
    """The live form of a showtime's seats (docs/api.md "Live form"): ``live`` is ``{"layout":
    version, "count", "encoding": "varint-base64", "data"}``, aligned with ``layout``'s seats."""

    as_of: datetime
    layout: Layout
    live: dict[str, Any]


def seat_live(showtime_id: int, plan: tuple[int, str] | None = None) -> LiveSeats:
    """Every seat's status and version at now (lazy expiry: :func:`effective_state`), in the
    order of the plan's current layout (:func:`seats.layout.plan_layout`), encoded
    (:mod:`seats.livecodec`). A layout seat without an inventory row reads ``blocked`` at version
    0. ``plan``: ``(plan id, layout_version)`` when the caller has the showtime's plan row.

    Queries: the plan's id and layout version (unless given), the states (one), and the layout's
    when it is not cached in this process.

    Raises:
        Showtime.DoesNotExist: no such showtime.
    """
    if plan is None:
        plan = (
            Showtime.objects.filter(pk=showtime_id)
            .values_list("plan_id", "plan__layout_version")
            .first()
        )
        if plan is None:
            raise Showtime.DoesNotExist(showtime_id)
    layout = plan_layout(*plan)
    index = layout.index
    values = [livecodec.BLOCKED] * layout.count  # version 0
    now = timezone.now()
    codes = livecodec.CODE_OF
    for seat_id, status, version, expires_at in ShowtimeSeat.objects.filter(
        showtime_id=showtime_id
    ).values_list("seat_id", "status", "version", "expires_at"):
        i = index.get(seat_id)
        if i is None:  # a general-admission place (or a seat newer than the layout)
            continue
        status, version = effective_state(status, version, expires_at, now)
        values[i] = version * 8 + codes[status]
    live = {
        "layout": layout.version,
        "count": layout.count,
        "encoding": livecodec.ENCODING,
        "data": livecodec.encode_values(values),
    }
    return LiveSeats(now, layout, live)


def seat_snapshot(showtime_id: int) -> dict[str, Any]:
    """The seat map of a showtime (api.md ``GET showtimes/{id}/seats/``). Three queries.

    Returns ``{"showtime", "as_of", "seats": [{"id", "label", "zone", "row", "number", "category",
    "price", "x", "y", "wheelchair", "status", "version"}], "ga": [...]}``; ``price`` is a decimal
    string; ``ga`` lists the general-admission areas (:func:`ga_availability`), an addition to
    api.md.
    """
    prices = showtime_prices(showtime_id)
    now = timezone.now()
    rows = (
        ShowtimeSeat.objects.filter(showtime_id=showtime_id, seat__ga_area=None)
        .order_by("seat_id")
        .values_list(
            "seat__guid",
            "seat__label",
            "seat__zone",
            "seat__row",
            "seat__number",
            "seat__category_id",
            "seat__category__name",
            "seat__x",
            "seat__y",
            "seat__wheelchair",
            "status",
            "version",
            "expires_at",
        )
    )
    seats = []
    for (
        guid,
        label,
        zone,
        row,
        number,
        category_id,
        category,
        x,
        y,
        wheelchair,
        status,
        version,
        expires_at,
    ) in rows:
        status, version = effective_state(status, version, expires_at, now)
        price = prices.get(category_id)
        seats.append(
            {
                "id": str(guid),
                "label": label,
                "zone": zone,
                "row": row,
                "number": number,
                "category": category,
                "price": None if price is None else str(price),
                "x": x,
                "y": y,
                "wheelchair": wheelchair,
                "status": status,
                "version": version,
            }
        )
    return {
        "showtime": showtime_id,
        "as_of": now,
        "seats": seats,
        "ga": ga_availability(showtime_id, prices=prices),
    }


def ga_availability(
    showtime_id: int, area_id: int | None = None, prices: dict[int, Decimal] | None = None
) -> list[dict[str, Any]]:
    """General-admission areas of a showtime with their free places now (lazy expiry applied):
    ``[{"zone", "capacity", "available", "category", "price"}]``. One query (two without
    ``prices``)."""
    free = seat_free_q(timezone.now())
    query = ShowtimeSeat.objects.filter(showtime_id=showtime_id, seat__ga_area__isnull=False)
    if area_id is not None:
        query = query.filter(seat__ga_area_id=area_id)
    rows = (
        query.values(
            "seat__ga_area__name",
            "seat__ga_area__capacity",
            "seat__ga_area__category_id",
            "seat__ga_area__category__name",
        )
        .annotate(available=Count("pk", filter=free))
        .order_by("seat__ga_area__name")
    )
    if prices is None and rows:
        prices = showtime_prices(showtime_id)
    return [
        {
            "zone": r["seat__ga_area__name"],
            "capacity": r["seat__ga_area__capacity"],
            "available": r["available"],
            "category": r["seat__ga_area__category__name"],
            "price": str(prices[r["seat__ga_area__category_id"]])
            if prices and r["seat__ga_area__category_id"] in prices
            else None,
        }
        for r in rows
    ]


def showtime_counts(showtime_id: int) -> dict[str, int]:
    """Seats of a showtime by effective status: ``{"available", "held", "reserved", "sold",
    "blocked"}``. One query."""
    return ShowtimeSeat.objects.filter(showtime_id=showtime_id).counts_by_status(timezone.now())


def showtime_categories(showtime: Showtime) -> list[dict[str, Any]]:
    """``[{"name", "price", "color", "display_color"}]`` of a showtime's plan, in plan order;
    price as a string; ``display_color`` as in the plan's layout
    (:func:`seats.layout.display_colors`)."""
    prices = showtime_prices(showtime.pk)
    categories = list(showtime.plan.categories.all())
    return [
        {
            "name": c.name,
            "price": None if c.pk not in prices else str(prices[c.pk]),
            "color": c.color,
            "display_color": shown,
        }
        for c, shown in zip(categories, display_colors([c.color for c in categories]), strict=True)
    ]


def claim_lines(claims: Iterable[SeatClaim]) -> list[dict[str, Any]]:
    """``[{"id": "<guid>", "label", "category", "price"}]`` for seat claims (price as string)."""
    return [
        {
            "id": str(c.showtime_seat.seat.guid),
            "label": c.showtime_seat.seat.label,
            "category": c.category,
            "price": str(c.price),
        }
        for c in claims
    ]


# An extension must move a hold's deadline by at least this much: the hold's ``created_at`` is
# stamped a moment after the instant its first ``expires_at`` counts from, so with
# ``max_hold_seconds == hold_ttl`` a hold could otherwise "gain" a few microseconds.
EXTENSION_MIN_GAIN = timedelta(seconds=1)


def hold_detail(
    hold: Hold, claims: Sequence[SeatClaim] | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """A hold as the API shows it (api.md "Holds"): ``{"id", "showtime", "status", "seats":
    [{"id", "label", "category", "price"}], "expires_at", "expires_in", "extensions_left",
    "max_expires_at", "total"}``. ``total`` is the sum of the seats' prices, a decimal string.

    ``status`` is the hold's status at ``now`` (default: ``timezone.now()``) under the lapse rule
    (domain.md, invariant 4; :mod:`seats.lapse`): an active hold past ``expires_at`` reads
    ``expired`` before the cleanup records it. ``seats`` are the hold's live claims, none once it is
    released or expired, lapsed included: its seats already read ``available`` on the seat map,
    and the cleanup ends those claims, so a lapsed hold reads the same before and after it.

    Extension (api.md ``POST holds/{id}/extend/``): ``expires_in`` is the seconds left until
    ``expires_at``, rounded up (so at least 1 while the hold is active, as the seat map's
    countdown shows it), 0 once it is not active, lapsed included;
    ``max_expires_at`` (ISO) is ``created_at + showtime.max_hold_seconds``, the latest
    ``expires_at`` extensions can reach; ``extensions_left`` is
    ``showtime.max_hold_extensions - hold.extensions``, 0 when the hold is not active or its
    ``expires_at`` is within :data:`EXTENSION_MIN_GAIN` of ``max_expires_at`` (no extension
    could move it).

    The caps are read from ``hold.showtime``: callers on a request path load it with the hold
    (``select_related``, :func:`seats.locks.lock_one` with ``related``, or by assigning the
    showtime they have), else it costs one query. ``claims``: the hold's live claims with
    ``showtime_seat__seat`` loaded, when the caller has them already (a service inside its
    transaction); else they are read (one query; none for a released or expired hold).
    """
    now = timezone.now() if now is None else now
    status = hold.status_at(now)
    active = status == Hold.Status.ACTIVE
    if status in (Hold.Status.RELEASED, Hold.Status.EXPIRED):
        claims = []
    elif claims is None:
        claims = list(
            SeatClaim.objects.current().filter(hold=hold).select_related("showtime_seat__seat")
        )
    claims = sorted(claims, key=lambda c: c.showtime_seat_id)
    showtime = hold.showtime
    max_expires_at = hold.created_at + timedelta(seconds=showtime.max_hold_seconds)
    can_extend = active and max_expires_at - hold.expires_at >= EXTENSION_MIN_GAIN
    return {
        "id": str(hold.pk),
        "showtime": hold.showtime_id,
        "status": status,
        "seats": claim_lines(claims),
        "expires_at": hold.expires_at.isoformat(),
        "expires_in": math.ceil((hold.expires_at - now).total_seconds()) if active else 0,
        "extensions_left": (
            max(0, showtime.max_hold_extensions - hold.extensions) if can_extend else 0
        ),
        "max_expires_at": max_expires_at.isoformat(),
        "total": str(sum((c.price for c in claims), Decimal("0.00"))),
    }


def holds_live_of(user: Any, now: datetime | None = None) -> QuerySet[Hold]:
    """The buyer's live holds (active and not lapsed at ``now``: :mod:`seats.lapse`) across
    showtimes, newest first, each with its showtime (for :func:`hold_detail`), for ``GET
    holds/``."""
    return (
        Hold.objects.live(now)
        .filter(user=user)
        .select_related("showtime")
        .order_by("-created_at", "-pk")
    )


def hold_details(holds: Sequence[Hold], now: datetime | None = None) -> list[dict[str, Any]]:
    """:func:`hold_detail` of each of ``holds`` (with their showtimes loaded), in their order,
    reading the live claims of all of them in one query (a list page: no query per hold)."""
    now = timezone.now() if now is None else now
    by_hold: dict[Any, list[SeatClaim]] = {hold.pk: [] for hold in holds}
    if holds:
        for claim in (
            SeatClaim.objects.current()
            .filter(hold__in=[hold.pk for hold in holds])
            .select_related("showtime_seat__seat")
        ):
            by_hold[claim.hold_id].append(claim)
    return [hold_detail(hold, by_hold[hold.pk], now) for hold in holds]


def active_hold_for(user: Any, showtime_id: int) -> Hold | None:
    """The user's live hold on a showtime (active and not lapsed: :mod:`seats.lapse`), or
    ``None``."""
    if not user.is_authenticated:
        return None
    return Hold.objects.live().filter(user=user, showtime_id=showtime_id).first()


@dataclass(frozen=True)
class BuyerUsage:
    """What one buyer has of one showtime at one instant: ``seats`` held (the live active hold)
    or in pending orders, together, and ``pending_orders`` (both counts; lapsed ones excluded)."""

    seats: int
    pending_orders: int


def buyer_usage(user_id: int, showtime_id: int, now: datetime) -> BuyerUsage:
    """The seats and pending orders a buyer has of a showtime at ``now``, what the per-buyer caps
    count (api.md "Holds", 409 ``buyer_limit``). One statement, hand-written as it runs on every
    hold and order (:func:`seats.rawsql.buyer_usage`).

    A seat counts while its claim is live (``SeatClaim.objects.live``: its hold or order has not
    lapsed) and its seat is ``held`` (the buyer's active hold) or ``reserved`` (a pending order);
    ``sold`` seats (paid orders) do not count. A pending order is a converted hold (one order per
    hold) whose live claims are ``reserved``, so the distinct holds of ``reserved`` claims are the
    pending orders; no order row is read (seats does not depend on orders). To rely on the
    answer, the caller holds :func:`seats.locks.lock_buyer`.
    """
    seats, orders = rawsql.buyer_usage(user_id, showtime_id, now)
    return BuyerUsage(seats=seats, pending_orders=orders)
