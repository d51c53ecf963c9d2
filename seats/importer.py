"""Import pretix seating-plan JSON (zones → rows → seats) into a venue's seating plan.

The format (see shared/venues/SOURCES.md): top level ``name``, ``categories`` (``name``,
``color``), ``size`` (``width``, ``height``), ``zones``; a zone has ``name``, ``position {x, y}``
and ``rows``; a row has ``row_number``, ``position`` and ``seats``; a seat has ``seat_guid``,
``seat_number``, ``position`` and ``category``. Optional extras that are used: ``zone_id``,
``segment_breaks`` on rows (seat numbers where an aisle-separated cluster starts), ``wheelchair``
on seats, and general-admission areas: the extended format's ``standing: {name, capacity}`` or a
list ``general_admission: [{name, capacity, category?, position?}]``; an area without a category
gets one of its own name. Other keys are ignored.

A seat's coordinates are absolute: zone position + row position + seat position (plan pixels).
A seat's label is ``"<zone name> <row>-<seat number>"``, e.g. ``"Block A 12-5"``, unless the plan
has a ``seat_label_format`` (an extension): a ``str.format`` pattern over ``{zone}``, ``{row}`` and
``{number}``, for labels as the venue's language writes them, e.g. ``"{zone} แถว {row} ที่นั่ง
{number}"`` (``seats/demo_plan_th.py``).
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections import Counter
from typing import Any

from django.db import transaction

from .models import GeneralAdmissionArea, PlanCategory, Seat, SeatingPlan, Venue


class PlanError(ValueError):
    """A seating-plan file that cannot be imported; the message names the problem and values."""


def _require(obj: Any, key: str, where: str, kind: type | tuple[type, ...]) -> Any:
    if not isinstance(obj, dict):
        raise PlanError(f"{where}: expected an object, got {type(obj).__name__}.")
    if key not in obj:
        raise PlanError(f"{where}: missing key {key!r}.")
    value = obj[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise PlanError(f"{where}.{key}: expected {names}, got {value!r:.60}.")
    return value


def _xy(obj: dict, where: str) -> tuple[float, float]:
    if "position" not in obj:
        return 0.0, 0.0
    pos = obj["position"]
    x = _require(pos, "x", f"{where}.position", (int, float))
    y = _require(pos, "y", f"{where}.position", (int, float))
    return float(x), float(y)


def _number(value: object) -> int:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


def _separate_overlapping_zones(seats: list[dict[str, Any]]) -> tuple[int, int]:
    """Move zones whose seats would be drawn on top of another zone's seats to the right.

    Some real plans place zones schematically, so that long rows reach into the next zone (the
    Riethsporthalle file: zones 350 px apart, rows up to 675 px wide). Zones are taken in the
    order of their top-left corner; a zone with a seat closer than half a seat spacing to a seat
    of a zone already placed is shifted right past that zone, with a gap of two seat spacings.
    Plans whose seats do not collide are unchanged. Returns the plan's ``(width, height)`` in
    pixels as drawn.
    """
    zones: dict[str, list[dict[str, Any]]] = {}
    for seat in seats:
        zones.setdefault(seat["zone"], []).append(seat)
    xs = sorted({s["x"] for s in seats})
    steps = [b - a for a, b in itertools.pairwise(xs) if b - a > 0]
    spacing = sorted(steps)[len(steps) // 2] if steps else 20.0
    near = spacing / 2
    cell = max(near, 1.0)
    grid: dict[tuple[int, int], list[tuple[float, float, str]]] = {}

    def collides(zone_seats: list[dict[str, Any]], dx: float) -> str | None:
        for seat in zone_seats:
            x, y = seat["x"] + dx, seat["y"]
            cx, cy = int(x // cell), int(y // cell)
            for gx in (cx - 1, cx, cx + 1):
                for gy in (cy - 1, cy, cy + 1):
                    for ox, oy, other in grid.get((gx, gy), ()):
                        if abs(ox - x) < near and abs(oy - y) < near:
                            return other
        return None

    right_edge: dict[str, float] = {}
    order = sorted(
        zones, key=lambda z: (min(s["y"] for s in zones[z]), min(s["x"] for s in zones[z]))
    )
    for zone in order:
        members, dx = zones[zone], 0.0
        for _ in range(len(order)):
            other = collides(members, dx)
            if other is None:
                break
            dx = right_edge[other] + 2 * spacing - min(s["x"] for s in members)
        for seat in members:
            seat["x"] += dx
            grid.setdefault((int(seat["x"] // cell), int(seat["y"] // cell)), []).append(
                (seat["x"], seat["y"], zone)
            )
        right_edge[zone] = max(s["x"] for s in members)
    margin = 2 * spacing
    return (int(max(s["x"] for s in seats) + margin), int(max(s["y"] for s in seats) + margin))


def _ga_areas(
    data: dict, cats: list[dict[str, str]], width: int, height: int
) -> list[dict[str, Any]]:
    """General-admission areas of the plan (see the module docstring); appends missing categories
    to ``cats``. Areas without a position are placed under the seats, side by side."""
    raw = list(data.get("general_admission") or [])
    standing = data.get("standing")
    if isinstance(standing, dict):
        raw.append(standing)
    areas = []
    for i, area in enumerate(raw):
        where = f"general_admission[{i}]"
        name = str(_require(area, "name", where, str))
        capacity = _require(area, "capacity", where, int)
        if capacity < 1 or capacity > 100_000:
            raise PlanError(f"{where}.capacity: must be between 1 and 100000, got {capacity}.")
        category = area.get("category") or name
        if category not in {c["name"] for c in cats}:
            cats.append({"name": category, "color": str(area.get("color", "#6B7280"))})
        x, y = (
            _xy(area, where)
            if "position" in area
            else ((i + 0.5) * width / (len(raw) or 1), height + 40)
        )
        areas.append({"name": name, "capacity": capacity, "category": category, "x": x, "y": y})
    names = [a["name"] for a in areas]
    if len(set(names)) != len(names):
        raise PlanError(f"Duplicate general-admission area names: {', '.join(names)}.")
    return areas


def parse_plan(raw: str | bytes | dict) -> dict[str, Any]:
    """Validate a pretix seating plan and return it flattened.

    Returns ``{"name", "width", "height", "categories": [{"name", "color"}], "seats": [{"guid",
    "label", "zone", "row", "number", "category", "x", "y", "segment", "wheelchair"}]}``.

    Raises:
        PlanError: not JSON, missing or mistyped keys (with their path, e.g.
            ``zones[1].rows[3].seats[0]``), unknown categories, duplicate or malformed
            ``seat_guid``s (listed), or no seats at all.
    """
    if isinstance(raw, (str, bytes)):
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise PlanError(f"The file is not JSON: {exc}.") from exc
    else:
        data = raw
    if not isinstance(data, dict):
        raise PlanError(f"The plan must be a JSON object, got {type(data).__name__}.")
    zones = _require(data, "zones", "plan", list)
    categories = _require(data, "categories", "plan", list)
    cats = []
    for i, cat in enumerate(categories):
        cats.append(
            {
                "name": str(_require(cat, "name", f"categories[{i}]", str)),
                "color": str(cat.get("color", "")) if isinstance(cat, dict) else "",
            }
        )
    cat_names = {c["name"] for c in cats}
    duplicated_cats = [n for n, k in Counter(c["name"] for c in cats).items() if k > 1]
    if duplicated_cats:
        raise PlanError(f"Duplicate category names: {', '.join(duplicated_cats)}.")
    size = data.get("size")
    if not isinstance(size, dict):
        size = {}
    label_format = data.get("seat_label_format") or "{zone} {row}-{number}"
    try:
        str(label_format).format(zone="", row="", number="")
    except (AttributeError, KeyError, IndexError, ValueError) as exc:
        raise PlanError(
            f"seat_label_format {label_format!r} may only use {{zone}}, {{row}} and {{number}}."
        ) from exc
    seats: list[dict[str, Any]] = []
    bad_guids, unknown_cats = [], set()
    for zi, zone in enumerate(zones):
        zw = f"zones[{zi}]"
        zone_name = str(_require(zone, "name", zw, str))
        zx, zy = _xy(zone, zw)
        for ri, row in enumerate(_require(zone, "rows", zw, list)):
            rw = f"{zw}.rows[{ri}]"
            row_number = str(_require(row, "row_number", rw, (str, int)))
            rx, ry = _xy(row, rw)
            breaks = sorted(
                int(b) for b in row.get("segment_breaks") or [] if str(b).lstrip("-").isdigit()
            )
            for si, seat in enumerate(_require(row, "seats", rw, list)):
                sw = f"{rw}.seats[{si}]"
                guid = _require(seat, "seat_guid", sw, str)
                number = str(_require(seat, "seat_number", sw, (str, int)))
                category = _require(seat, "category", sw, str)
                sx, sy = _xy(seat, sw)
                if "position" not in seat:
                    raise PlanError(f"{sw}: missing key 'position'.")
                try:
                    parsed_guid = uuid.UUID(guid)
                except ValueError:
                    bad_guids.append(guid)
                    continue
                if category not in cat_names:
                    unknown_cats.add(category)
                seat_no = int(number) if number.isdigit() else None
                segment = sum(1 for b in breaks if seat_no is not None and seat_no >= b)
                seats.append(
                    {
                        "guid": parsed_guid,
                        "label": str(label_format).format(
                            zone=zone_name, row=row_number, number=number
                        ),
                        "zone": zone_name,
                        "row": row_number,
                        "number": number,
                        "category": category,
                        "x": zx + rx + sx,
                        "y": zy + ry + sy,
                        "segment": segment,
                        "wheelchair": seat.get("wheelchair") is True,
                    }
                )
    if bad_guids:
        raise PlanError(f"seat_guid is not a UUID: {', '.join(map(str, bad_guids[:10]))}.")
    if unknown_cats:
        raise PlanError(f"Seats name unknown categories: {', '.join(sorted(unknown_cats))}.")
    duplicates = [str(g) for g, n in Counter(s["guid"] for s in seats).items() if n > 1]
    if duplicates:
        raise PlanError(
            f"{len(duplicates)} duplicate seat_guid(s): {', '.join(sorted(duplicates)[:10])}."
        )
    if not seats:
        raise PlanError("The plan has no seats.")
    width, height = _separate_overlapping_zones(seats)
    ga_areas = _ga_areas(data, cats, width, height)
    if ga_areas:
        height += 80
    return {
        "ga_areas": ga_areas,
        "name": str(data.get("name") or "Seating plan"),
        "width": max(width, _number(size.get("width"))),
        "height": max(height, _number(size.get("height"))),
        "categories": cats,
        "seats": seats,
    }


def plan_import(
    *, raw: str | bytes | dict, venue_name: str, plan_name: str | None = None
) -> SeatingPlan:
    """Validate a pretix plan and store venue (created if new), plan, categories and seats in one
    transaction. Nothing is written when anything is wrong.

    Raises:
        PlanError: see :func:`parse_plan`; also when the venue already has a plan of that name.
    """
    parsed = parse_plan(raw)
    name = plan_name or parsed["name"]
    with transaction.atomic():
        venue, _ = Venue.objects.get_or_create(name=venue_name)
        if SeatingPlan.objects.filter(venue=venue, name=name).exists():
            raise PlanError(f"Venue {venue_name!r} already has a seating plan named {name!r}.")
        plan = SeatingPlan.objects.create(
            venue=venue, name=name, width=parsed["width"], height=parsed["height"]
        )
        categories = {
            c["name"]: PlanCategory.objects.create(
                plan=plan, name=c["name"], color=c["color"], rank=i
            )
            for i, c in enumerate(parsed["categories"])
        }
        Seat.objects.bulk_create(
            (Seat(plan=plan, category=categories[s.pop("category")], **s) for s in parsed["seats"]),
            batch_size=500,
        )
        for area in parsed["ga_areas"]:
            ga = GeneralAdmissionArea.objects.create(
                plan=plan,
                name=area["name"],
                capacity=area["capacity"],
                category=categories[area["category"]],
                x=area["x"],
                y=area["y"],
            )
            # The places of the area: pre-created, so claiming n of them can never exceed it.
            Seat.objects.bulk_create(
                (
                    Seat(
                        plan=plan,
                        ga_area=ga,
                        category=ga.category,
                        zone=ga.name,
                        row="",
                        number=str(n),
                        label=f"{ga.name} #{n}",
                        x=ga.x,
                        y=ga.y,
                        guid=uuid.uuid5(uuid.NAMESPACE_URL, f"ga:{plan.pk}:{ga.name}:{n}"),
                    )
                    for n in range(1, ga.capacity + 1)
                ),
                batch_size=500,
            )
    return plan
