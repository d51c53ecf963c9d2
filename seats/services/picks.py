"""Which seats a hold takes when the buyer does not list them one by one: places of
general-admission zones, the best block of seats together (the geometry is
:mod:`seats.selection`), and the single-seat rule of a hand-picked choice.

Each ``*_pick`` runs inside the hold's transaction, after the buyer's hold is locked, and returns
showtime seat primary keys (locked with ``SKIP LOCKED`` where it chooses free seats).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.utils.translation import gettext as _

from core.errors import ApplicationError

from ..locks import lock_free_seats
from ..models import GeneralAdmissionArea, Seat, SeatStatus, Showtime, ShowtimeSeat
from ..selection import best_blocks, load_rows, new_orphans, zones_of
from ..selectors import effective_state


def ga_places(showtime: Showtime, ga: Sequence[dict[str, Any]]) -> list[tuple[int, int]]:
    """Validate ``[{"zone", "quantity"}]`` against the showtime's general-admission areas; return
    ``[(area_id, quantity)]``, one per area, by area id.

    Raises:
        ApplicationError: 400 ``unknown_seats`` (details.zones) for a zone that is not a
            general-admission area of the showtime's plan.
    """
    areas = dict(
        GeneralAdmissionArea.objects.filter(plan_id=showtime.plan_id).values_list("name", "pk")
    )
    unknown = [item["zone"] for item in ga if item["zone"] not in areas]
    if unknown:
        raise ApplicationError(
            "unknown_seats",
            _("These general-admission zones do not exist in this showtime."),
            details={"zones": unknown},
            status=400,
        )
    wanted: dict[int, int] = {}
    for item in ga:
        wanted[areas[item["zone"]]] = wanted.get(areas[item["zone"]], 0) + item["quantity"]
    return sorted(wanted.items())


def ga_pick(showtime: Showtime, area_id: int, quantity: int, now: datetime) -> list[int]:
    """Lock ``quantity`` free places of a general-admission area and return them.

    ``SELECT … FOR UPDATE SKIP LOCKED LIMIT n`` on PostgreSQL: concurrent buyers take different
    places and never wait on each other; there are only ``capacity`` places, so capacity cannot be
    exceeded. (SQLite serialises writers instead; the same query is then simply exact.)

    Raises:
        ApplicationError: 409 ``seat_unavailable`` (details.ga: zone, requested, available) when
            fewer than ``quantity`` places are free.
    """
    places = lock_free_seats(
        ShowtimeSeat.objects.free(now).filter(showtime=showtime, seat__ga_area_id=area_id),
        "pk",
        limit=quantity,
    )
    if len(places) < quantity:
        area = GeneralAdmissionArea.objects.get(pk=area_id)
        raise ApplicationError(
            "seat_unavailable",
            _("Only %(free)s of the %(requested)s places requested in %(zone)s are free.")
            % {"free": len(places), "requested": quantity, "zone": area.name},
            details={
                "seats": [],
                "ga": {"zone": area.name, "requested": quantity, "available": len(places)},
            },
        )
    return places


def orphans_check(showtime: Showtime, wanted: Sequence[int], now: datetime) -> None:
    """With ``showtime.forbid_single_seats``, refuse a choice of seats (showtime seat keys) that
    would leave a single free seat alone between taken seats in a row.

    Raises:
        ApplicationError: 409 ``orphan_seat`` (details.seats: the labels left alone).
    """
    if not (wanted and showtime.forbid_single_seats):
        return
    groups = load_rows(showtime, now, zones=zones_of(showtime.pk, wanted))
    alone = new_orphans(groups, set(wanted))
    if alone:
        raise ApplicationError(
            "orphan_seat",
            _("This choice would leave %(seats)s alone between taken seats.")
            % {"seats": ", ".join(alone)},
            details={"seats": alone},
        )


def best_check(showtime: Showtime, category: str | None, zone: str | None) -> None:
    """Refuse a best-available request naming a category or zone without seats in the plan.

    Raises:
        ApplicationError: 400 ``validation_error`` (details.category or details.zone).
    """
    plan_seats = Seat.objects.filter(plan_id=showtime.plan_id, ga_area=None)
    checks = (
        ("category__name", category, _('No seats in category "%(value)s".'), _("unknown category")),
        ("zone", zone, _('No seats in zone "%(value)s".'), _("unknown zone")),
    )
    for field, value, message, problem in checks:
        if value and not plan_seats.filter(**{field: value}).exists():
            raise ApplicationError(
                "validation_error",
                message % {"value": value},
                details={field.split("__")[0]: [problem]},
                status=400,
            )


def best_pick(
    showtime: Showtime,
    quantity: int,
    now: datetime,
    *,
    category: str | None = None,
    zone: str | None = None,
) -> list[int]:
    """Lock and return the best free block of ``quantity`` seats side by side
    (:func:`seats.selection.best_blocks`, best first, at most 50 tried). Each candidate is
    locked with ``SKIP LOCKED`` (PostgreSQL), so two buyers never get the same seats and neither
    waits on the other's locks.

    Raises:
        ApplicationError: 409 ``seat_unavailable`` with ``details.suggestion`` =
            ``{"max_together", "available"}`` when no block is free.
    """
    found = best_blocks(showtime, quantity, now, category=category, zone=zone)
    for block in found.blocks[:50]:
        locked = lock_free_seats(
            ShowtimeSeat.objects.filter(pk__in=block), "status", "version", "expires_at"
        )
        states = [
            effective_state(status, version, expires_at, now)[0]
            for status, version, expires_at in locked
        ]
        if len(states) == quantity and all(s == SeatStatus.AVAILABLE for s in states):
            return block
    together = found.max_together
    if together:
        message = _(
            "No %(quantity)s seats together are free; at most %(together)s together, "
            "%(available)s free in all. Choose fewer seats, or pick them apart."
        )
    else:
        message = _(
            "No %(quantity)s seats together are free, %(available)s free in all. Choose fewer "
            "seats, or pick them apart."
        )
    raise ApplicationError(
        "seat_unavailable",
        message % {"quantity": quantity, "together": together, "available": found.available},
        details={
            "seats": [],
            "suggestion": {"max_together": together, "available": found.available},
        },
    )
