"""Demo seating plan in Thai: "สนามมวยเวทีนครหลวง", a fictional Muay Thai stadium (issue #17).

Like :mod:`seats.demo_plan`, generated in code and returned in pretix seating-plan JSON, so the
Thai names go through the importer (:func:`seats.importer.plan_import`), the snapshot, the seat
map and the tickets like any imported plan.

What the stadium looks like
---------------------------
A square ring (120 x 120 px) sits at the centre of the canvas: the plan's focal point (``load_demo``
sets it). Stands on its four sides, zones ``โซน A`` (north), ``โซน B`` (east), ``โซน C`` (south)
and ``โซน D`` (west), in three tiers from the ring outwards, each tier its own price category:

* ``ริงไซด์`` (ringside): 2 short rows around the ring apron;
* ``ชั้น 2`` (second tier): 3 rows behind it, after a cross-aisle;
* ``ชั้น 3`` (third tier): 4 long rows further out, split into three blocks by two radial aisles.

Rows face the ring and are numbered 1, 2, … from the ring outwards; seats 1, 2, … from left to
right as seen from the row. Labels read as Thai tickets write them, e.g.
``"ริงไซด์ โซน A แถว 1 ที่นั่ง 5"``: the plan's ``seat_label_format`` (an extension the importer
reads) is ``"{zone} แถว {row} ที่นั่ง {number}"``, the zone being ``"<tier> โซน <letter>"``.

Identifiers are deterministic (uuid5 in :data:`_NAMESPACE`): every call returns an equal plan.
Standard library only; this module does not import Django.
"""

from __future__ import annotations

import itertools
import uuid
from typing import Any

__all__ = ["PLAN_NAME", "build_thai_demo_plan"]

_NAMESPACE = uuid.UUID("4b1f0c1e-7d0a-4c55-9a53-5e3f2c6a7d10")

PLAN_NAME = "เวทีนครหลวง - ศึกมวยไทย"

_CATEGORIES = (("ริงไซด์", "#C0392B"), ("ชั้น 2", "#2E86C1"), ("ชั้น 3", "#27AE60"))

_SEAT_PITCH = 24
_ROW_PITCH = 28
_CORNER_CLEARANCE = 28
_MARGIN = 52

# (category, distance of row 1 from the ring centre, rows, radial aisle slots)
_TIERS = (("ริงไซด์", 104, 2, ()), ("ชั้น 2", 188, 3, ()), ("ชั้น 3", 300, 4, (5,)))

# Zone letter and the place of a seat at distance d from the ring centre, offset t along its row
# (growing to the spectator's right, looking at the ring), relative to the ring centre.
_SIDES = (
    ("A", lambda d, t: (-t, -d)),  # north stand
    ("B", lambda d, t: (d, -t)),  # east
    ("C", lambda d, t: (t, d)),  # south
    ("D", lambda d, t: (-d, t)),  # west
)


def _uuid(kind: str, name: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{kind}:{name}"))


def build_thai_demo_plan() -> dict[str, Any]:
    """The stadium's plan: a new JSON-serialisable dict in pretix format (as
    :func:`seats.demo_plan.build_demo_plan`, rows numbered ``"1"``, ``"2"``, …) plus
    ``"seat_label_format"``. A seat's absolute centre is zone + row + seat position, in pixels
    from the top-left corner; the ring is centred on the canvas."""
    outermost = max(first + (rows - 1) * _ROW_PITCH for _, first, rows, _ in _TIERS)
    centre = outermost + _MARGIN
    zones = []
    for category, first, n_rows, aisles in _TIERS:
        for letter, place in _SIDES:
            zone_key = f"{category}-{letter}"
            rows = []
            for index in range(n_rows):
                distance = first + index * _ROW_PITCH
                reach = (distance - _CORNER_CLEARANCE) // _SEAT_PITCH
                slots = [k for k in range(-reach, reach + 1) if abs(k) not in aisles]
                breaks = [
                    number
                    for number, (a, b) in enumerate(itertools.pairwise(slots), start=2)
                    if b - a > 1
                ]
                seats = []
                for number, slot in enumerate(slots, start=1):
                    dx, dy = place(distance, slot * _SEAT_PITCH)
                    seats.append((number, centre + dx, centre + dy))
                rows.append((str(index + 1), breaks, seats))
            zone_x = min(x for _, _, seats in rows for _, x, _ in seats)
            zone_y = min(y for _, _, seats in rows for _, _, y in seats)
            zone_rows = []
            for row, breaks, seats in rows:
                row_x = min(x for _, x, _ in seats)
                row_y = min(y for _, _, y in seats)
                zone_rows.append(
                    {
                        "uuid": _uuid("row", f"{zone_key}-{row}"),
                        "row_number": row,
                        "row_number_position": "both",
                        "position": {"x": row_x - zone_x, "y": row_y - zone_y},
                        "segment_breaks": breaks,
                        "seats": [
                            {
                                "seat_number": str(number),
                                "seat_guid": _uuid("seat", f"{zone_key}-{row}-{number}"),
                                "uuid": _uuid("seat-uuid", f"{zone_key}-{row}-{number}"),
                                "position": {"x": x - row_x, "y": y - row_y},
                                "category": category,
                            }
                            for number, x, y in seats
                        ],
                    }
                )
            zones.append(
                {
                    "name": f"{category} โซน {letter}",
                    "zone_id": zone_key,
                    "uuid": _uuid("zone", zone_key),
                    "position": {"x": zone_x, "y": zone_y},
                    "rows": zone_rows,
                }
            )
    return {
        "name": PLAN_NAME,
        "seat_label_format": "{zone} แถว {row} ที่นั่ง {number}",
        "categories": [{"name": name, "color": color} for name, color in _CATEGORIES],
        "size": {"width": 2 * centre, "height": 2 * centre},
        "zones": zones,
    }
