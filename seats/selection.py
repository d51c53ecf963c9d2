"""Seat selection rules: best available seats together, and the single-seat (orphan) rule.

Adjacency: seats are side by side when they are in the same zone, row and aisle segment (the plan's
``segment_breaks``; without them, the row is one segment) and next to each other in seat-number
order. Quality order of a block of n seats, best first (documented in docs/best-available.md):

1. it leaves no single free seat alone in its row, when any block does not;
2. category rank: the category's price at this showtime, dearest first (the venue's own grading);
3. distance from the block's centre to the plan's focal point (stage, ring; the centre of the
   seats when the plan sets none), nearest first;
4. row, then position in the row, for a stable order.
"""

from __future__ import annotations

import heapq
import math
import threading
import time
from collections import defaultdict
from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cachetools import TTLCache

from .models import SeatingPlan, Showtime, ShowtimeSeat
from .selectors import showtime_prices


@dataclass
class Place:
    pk: int
    label: str
    zone: str
    row: str
    segment: int
    number: str
    x: float
    y: float
    category: str
    category_id: int
    free: bool


def _number_key(place: Place) -> tuple[int, int, float]:
    return (0, int(place.number), place.x) if place.number.isdigit() else (1, 0, place.x)


# Plan geometry of a showtime's seats does not change once the showtime exists, and reading it
# takes two joins over every seat (what it cost: bench/README.md): kept per process for
# GEOMETRY_SECONDS, keyed by showtime, at most GEOMETRY_SHOWTIMES of them (the least recently
# used goes first), in a cachetools.TTLCache shared by the request threads under its lock.
GEOMETRY_SECONDS = 60.0
GEOMETRY_SHOWTIMES = 1000
_geometry: TTLCache = TTLCache(
    maxsize=GEOMETRY_SHOWTIMES, ttl=GEOMETRY_SECONDS, timer=time.monotonic
)
_geometry_lock = threading.Lock()


def forget_geometry(instance: Showtime | None = None, **kwargs: Any) -> None:
    """Drop a showtime's cached geometry (connected to its save and delete in
    ``SeatsConfig.ready``: an id can come back for a new showtime on SQLite)."""
    if instance is not None:
        with _geometry_lock:
            _geometry.pop(instance.pk, None)


def _seat_geometry(showtime_id: int) -> list[tuple]:
    """``[(showtime seat id, label, zone, row, segment, number, x, y, category name, category
    id)]`` of a showtime's seats (general-admission places excluded), cached."""
    with _geometry_lock:
        hit = _geometry.get(showtime_id)
    if hit is not None:
        return hit
    rows = list(
        ShowtimeSeat.objects.filter(showtime_id=showtime_id, seat__ga_area=None).values_list(
            "pk",
            "seat__label",
            "seat__zone",
            "seat__row",
            "seat__segment",
            "seat__number",
            "seat__x",
            "seat__y",
            "seat__category__name",
            "seat__category_id",
        )
    )
    with _geometry_lock:
        _geometry[showtime_id] = rows
    return rows


def zones_of(showtime_id: int, seat_ids: Iterable[int]) -> set[str]:
    """The zones of some showtime seats (by id)."""
    wanted = set(seat_ids)
    return {zone for pk, _, zone, *_ in _seat_geometry(showtime_id) if pk in wanted}


def load_rows(
    showtime: Showtime, now: datetime, *, category: str | None = None, zones: set[str] | None = None
) -> dict[tuple, list[Place]]:
    """The showtime's seats (general-admission places excluded) grouped by (zone, row, segment),
    each group in seat order, with their effective availability at ``now``; only a category
    (name) or some zones when asked. The states are read now (one statement); the geometry is
    cached (:func:`_seat_geometry`)."""
    free = set(
        ShowtimeSeat.objects.free(now).filter(showtime_id=showtime.pk).values_list("pk", flat=True)
    )
    groups: dict[tuple, list[Place]] = defaultdict(list)
    for pk, label, zone, row, segment, number, x, y, category_name, category_id in _seat_geometry(
        showtime.pk
    ):
        if (category and category_name != category) or (zones is not None and zone not in zones):
            continue
        groups[(zone, row, segment)].append(
            Place(
                pk, label, zone, row, segment, number, x, y, category_name, category_id, pk in free
            )
        )
    for places in groups.values():
        places.sort(key=_number_key)
    return groups


def _adjacent(a: Place, b: Place) -> bool:
    if a.number.isdigit() and b.number.isdigit():
        return int(b.number) - int(a.number) == 1
    return True  # no numbers to go by: neighbours in x order


def orphans(places: list[Place], taken: AbstractSet[int] = frozenset()) -> set[int]:
    """Free seats of one row segment that would stand alone (no free neighbour on either side)
    once ``taken`` seats are taken too. A segment of one seat has no orphans."""
    if len(places) < 2:
        return set()
    free = [p.free and p.pk not in taken for p in places]
    alone = set()
    for i, place in enumerate(places):
        if not free[i]:
            continue
        left = i > 0 and free[i - 1] and _adjacent(places[i - 1], place)
        right = i < len(places) - 1 and free[i + 1] and _adjacent(place, places[i + 1])
        if not left and not right:
            alone.add(place.pk)
    return alone


def new_orphans(groups: dict[tuple, list[Place]], wanted: set[int]) -> list[str]:
    """Labels of free seats that taking ``wanted`` would leave alone in their row (and that were
    not alone before)."""
    labels = []
    for places in groups.values():
        if not any(p.pk in wanted for p in places):
            continue
        created = orphans(places, wanted) - orphans(places)
        labels += [p.label for p in places if p.pk in created]
    return labels


def _focus(plan: SeatingPlan, groups: dict[tuple, list[Place]]) -> tuple[float, float]:
    if plan.focus_x is not None and plan.focus_y is not None:
        return plan.focus_x, plan.focus_y
    xs = [p.x for places in groups.values() for p in places]
    ys = [p.y for places in groups.values() for p in places]
    return ((min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2) if xs else (0.0, 0.0)


@dataclass
class Candidates:
    blocks: list[list[int]]  # seat pks, best first (at most ``limit`` of them)
    max_together: int  # the longest run of free adjacent seats
    available: int  # free seats in all


def best_blocks(
    showtime: Showtime,
    quantity: int,
    now: datetime,
    *,
    category: str | None = None,
    zone: str | None = None,
    limit: int = 50,
) -> Candidates:
    """The best ``limit`` blocks of ``quantity`` free adjacent seats, in the quality order of
    the module docstring. Filters: a category name, a zone name.

    Every block is scored (centres from prefix sums, so a block costs the same whatever its
    size), but only the best ``limit`` become seat lists.
    """
    groups = load_rows(showtime, now, category=category, zones={zone} if zone else None)
    prices = showtime_prices(showtime.pk)
    ranks = {cid: rank for rank, cid in enumerate(sorted(prices, key=lambda c: -prices[c]))}
    fx, fy = _focus(showtime.plan, groups)
    scored, longest, available = [], 0, 0
    q = quantity
    for (zone_name, row, _), places in groups.items():
        run: list[Place] = []
        for place in [*places, None]:
            if place is not None and place.free and (not run or _adjacent(run[-1], place)):
                run.append(place)
                continue
            n = len(run)
            longest = max(longest, n)
            available += n
            if n >= q:
                sx, sy = [0.0], [0.0]
                for p in run:
                    sx.append(sx[-1] + p.x)
                    sy.append(sy[-1] + p.y)
                rank = [ranks.get(p.category_id, 99) for p in run]
                for start in range(n - q + 1):
                    cx, cy = (sx[start + q] - sx[start]) / q, (sy[start + q] - sy[start]) / q
                    right = n - start - q
                    scored.append(
                        (
                            (start == 1 or right == 1),
                            max(rank[start : start + q]),
                            round(math.hypot(cx - fx, cy - fy), 1),
                            zone_name,
                            row,
                            start,
                            run,
                        )
                    )
            run = [place] if place is not None and place.free else []
    best = heapq.nsmallest(limit, scored, key=lambda item: item[:-1])
    return Candidates(
        [[p.pk for p in item[-1][item[5] : item[5] + q]] for item in best], longest, available
    )
