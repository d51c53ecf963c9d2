"""Demo seating plan for "Harbour Arena", a fictional fight-night venue.

The plan is our own design and is generated procedurally by
:func:`build_demo_plan`; it is returned in pretix seating-plan JSON format
(plus a few extension keys, see below).

What the arena looks like
-------------------------
A square boxing ring (120 x 120 px) sits at the centre of a square canvas.
Seating stands are built on all four sides of the ring (North, East, South,
West), in three tiers that move outwards from the ring:

* **Ringside** (category ``Ringside``) - 3 short rows right around the ring
  apron.
* **Club** (category ``Club``) - 4 rows behind Ringside, after a cross-aisle.
* **Stadium** (category ``Stadium``) - 5 long rows further out, after a
  second cross-aisle.

Every tier on every side is its own zone, so there are 12 zones
(``ringside-north`` ... ``stadium-west``). All rows are straight and parallel
to the ring edge they face, so every spectator faces the ring. Rows get longer
further out; their ends stop short of the diagonals through the ring
corners, which leaves diagonal gangways in the four corners and keeps the
stands from running into each other.

Inside the longer rows there are radial aisles, each one seat wide, lined up
from row to row: the Club and Stadium rows are split into three blocks each.
On the South side a walk-in aisle for the fighters also runs straight down the
middle of all three tiers, from the tunnel behind the Stadium stand to the
ring, so there Ringside rows have two blocks and Club/Stadium rows four.

The first and last seat of each Stadium row A, and of Club row D on the North
and South sides, are wheelchair spaces (12 in total).

Labels
------
Rows are lettered ``"A"``, ``"B"``, ... inside every zone, with ``A`` closest
to the ring. Seats are numbered ``"1"``, ``"2"``, ... along each row from left
to right as seen by a spectator in that row looking at the ring; numbers run
on across aisles (an aisle does not skip a number).

Coordinate system
-----------------
All coordinates are integer pixels. The origin is the top-left corner of the
canvas; x grows to the right (East) and y grows downwards (South). Positions
are relative, as in pretix: the absolute position of a seat's centre is
``zone.position + row.position + seat.position``. Each zone's position is the
top-left corner of the bounding box of its seats, and each row's position is
the top-left corner of the bounding box of its seats, relative to the zone,
so all positions are >= 0. Seat centres are 24 px apart along a row (seats
next to an aisle are 48 px apart) and rows are 28 px apart; the canvas keeps
a margin of at least 52 px around the outermost seats.

Extensions to the pretix format
-------------------------------
* ``row["segment_breaks"]``: list of seat numbers (ints) that start a new
  block after an aisle. It is empty for rows without an aisle.
* ``seat["wheelchair"]``: ``True`` on wheelchair spaces. Other seats do not
  have this key.

Identifiers are deterministic: the same plan, with the same GUIDs, comes back
on every call (see :data:`_NAMESPACE`).

Run as a script to write the plan to a file and print a seat count per zone
and category::

    python seats/demo_plan.py out.json

Standard library only; this module does not import Django.
"""

import itertools
import json
import sys
import uuid
from collections import Counter
from typing import Any

__all__ = ["build_demo_plan"]

# Fixed namespace for every uuid5 in the plan. Do not change it: seat GUIDs
# derived from it may already be stored in bookings.
_NAMESPACE = uuid.UUID("1d2619b5-3aa1-4e7d-8b1b-baf6d12a6779")

_PLAN_NAME = "Harbour Arena - Fight Night"

_CATEGORIES = (
    ("Ringside", "#C0392B"),
    ("Club", "#2E86C1"),
    ("Stadium", "#27AE60"),
)

_SEAT_PITCH = 24  # centre-to-centre distance of neighbouring seats in a row
_ROW_PITCH = 28  # distance between neighbouring rows
_RING_SIZE = 120  # the ring is a square of this size at the canvas centre
# Seats stay this far (measured along the row) from the diagonals through the
# ring corners, which keeps a diagonal gangway between neighbouring stands.
_CORNER_CLEARANCE = 28
_MARGIN = 52  # minimum empty border between outermost seat centres and canvas edge

# Tiers, from the ring outwards.
#   first_row: distance from the ring centre to the row A seat centres
#   aisles:    |slot| indexes left free for radial aisles (slot 0 is the row centre)
#   wheelchair: {row index: sides whose row has wheelchair spaces at both ends}
_TIERS: tuple[dict[str, Any], ...] = (
    {
        "key": "ringside",
        "name": "Ringside",
        "category": "Ringside",
        "first_row": 104,
        "rows": 3,
        "aisles": (),
        "wheelchair": {},
    },
    {
        "key": "club",
        "name": "Club",
        "category": "Club",
        "first_row": 216,
        "rows": 4,
        "aisles": (4,),
        "wheelchair": {3: ("north", "south")},
    },
    {
        "key": "stadium",
        "name": "Stadium",
        "category": "Stadium",
        "first_row": 356,
        "rows": 5,
        "aisles": (6,),
        "wheelchair": {0: ("north", "east", "south", "west")},
    },
)

# Sides of the ring. ``place(d, t)`` maps a seat at distance d from the ring
# centre and offset t along its row (t grows from the spectator's left to
# their right, looking at the ring) to an (x, y) offset from the ring centre.
_SIDES = (
    ("north", "North", lambda d, t: (-t, -d)),  # faces south; left is east
    ("east", "East", lambda d, t: (d, -t)),  # faces west; left is south
    ("south", "South", lambda d, t: (t, d)),  # faces north; left is west
    ("west", "West", lambda d, t: (-d, t)),  # faces east; left is north
)

# The fighters' walk-in aisle: slot 0 stays free on these sides in every tier.
_WALKWAY_SIDES = ("south",)


def _row_label(index):
    """Return "A".."Z", then "AA", "AB", ... for a 0-based row index."""
    label = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        label = chr(ord("A") + rest) + label
    return label


def _uuid(kind, name):
    return str(uuid.uuid5(_NAMESPACE, f"{kind}:{name}"))


def _row_slots(distance, free_slots):
    """Return the seat slots of a row, left to right, and the aisle breaks.

    Slots are integers k with the seat at offset ``k * _SEAT_PITCH`` from the
    row centre. Returns ``(slots, breaks)`` where ``breaks`` are the 1-based
    seat numbers that start a new block after a skipped slot.
    """
    reach = (distance - _CORNER_CLEARANCE) // _SEAT_PITCH
    slots = [k for k in range(-reach, reach + 1) if abs(k) not in free_slots]
    breaks = [
        number
        for number, (prev, cur) in enumerate(itertools.pairwise(slots), start=2)
        if cur - prev > 1
    ]
    return slots, breaks


def build_demo_plan() -> dict:
    """Build the Harbour Arena demo seating plan.

    Returns a new, JSON-serialisable dict in pretix seating-plan format; every
    call returns an equal dict (same GUIDs)::

        {
            "name": str,
            "categories": [{"name": str, "color": "#RRGGBB"}, ...],
            "size": {"width": int, "height": int},   # pixels
            "zones": [
                {
                    "name": str,          # e.g. "Club North"
                    "zone_id": str,       # e.g. "club-north"
                    "uuid": str,          # UUID
                    "position": {"x": int, "y": int},
                    "rows": [
                        {
                            "uuid": str,
                            "row_number": str,            # "A", "B", ...
                            "row_number_position": "both",
                            "position": {"x": int, "y": int},
                            "segment_breaks": [int, ...], # seat numbers
                            "seats": [
                                {
                                    "seat_number": str,   # "1", "2", ...
                                    "seat_guid": str,     # UUID
                                    "uuid": str,          # UUID
                                    "position": {"x": int, "y": int},
                                    "category": str,      # a category name
                                    "wheelchair": True,   # only on wheelchair spaces
                                },
                                ...
                            ],
                        },
                        ...
                    ],
                },
                ...
            ],
        }

    A seat's absolute centre is zone.position + row.position + seat.position,
    in pixels from the top-left canvas corner with y pointing down. The ring
    (not part of the plan data) is the 120 x 120 px square centred on the
    canvas. ``seat_guid`` is ``uuid5(_NAMESPACE, "seat:{zone_id}-{row}-{seat}")``;
    all ``seat_guid`` values are unique and all ``uuid`` values are unique.
    """
    outermost = max(t["first_row"] + (t["rows"] - 1) * _ROW_PITCH for t in _TIERS)
    half = outermost + _MARGIN
    centre_x = centre_y = half

    zones = []
    for tier in _TIERS:
        for side_key, side_name, place in _SIDES:
            zone_id = f"{tier['key']}-{side_key}"
            free_slots = set(tier["aisles"])
            if side_key in _WALKWAY_SIDES:
                free_slots.add(0)

            # First pass: absolute seat centres, row by row.
            rows = []
            for row_index in range(tier["rows"]):
                distance = tier["first_row"] + row_index * _ROW_PITCH
                slots, breaks = _row_slots(distance, free_slots)
                wheelchair = side_key in tier["wheelchair"].get(row_index, ())
                seats = []
                for number, slot in enumerate(slots, start=1):
                    dx, dy = place(distance, slot * _SEAT_PITCH)
                    seats.append(
                        {
                            "number": number,
                            "x": centre_x + dx,
                            "y": centre_y + dy,
                            "wheelchair": wheelchair and number in (1, len(slots)),
                        }
                    )
                rows.append((_row_label(row_index), breaks, seats))

            # Second pass: convert to zone/row/seat relative positions.
            zone_x = min(s["x"] for _, _, seats in rows for s in seats)
            zone_y = min(s["y"] for _, _, seats in rows for s in seats)
            zone_rows = []
            for label, breaks, seats in rows:
                row_x = min(s["x"] for s in seats)
                row_y = min(s["y"] for s in seats)
                row_seats = []
                for seat in seats:
                    key = f"{zone_id}-{label}-{seat['number']}"
                    entry = {
                        "seat_number": str(seat["number"]),
                        "seat_guid": _uuid("seat", key),
                        "uuid": _uuid("seat-uuid", key),
                        "position": {"x": seat["x"] - row_x, "y": seat["y"] - row_y},
                        "category": tier["category"],
                    }
                    if seat["wheelchair"]:
                        entry["wheelchair"] = True
                    row_seats.append(entry)
                zone_rows.append(
                    {
                        "uuid": _uuid("row", f"{zone_id}-{label}"),
                        "row_number": label,
                        "row_number_position": "both",
                        "position": {"x": row_x - zone_x, "y": row_y - zone_y},
                        "segment_breaks": list(breaks),
                        "seats": row_seats,
                    }
                )

            zones.append(
                {
                    "name": f"{tier['name']} {side_name}",
                    "zone_id": zone_id,
                    "uuid": _uuid("zone", zone_id),
                    "position": {"x": zone_x, "y": zone_y},
                    "rows": zone_rows,
                }
            )

    return {
        "name": _PLAN_NAME,
        "categories": [{"name": name, "color": color} for name, color in _CATEGORIES],
        "size": {"width": 2 * half, "height": 2 * half},
        "zones": zones,
    }


def _main(argv):
    if len(argv) != 2 or argv[1] in ("-h", "--help"):
        print(f"usage: python {argv[0]} OUT.json", file=sys.stderr)
        return 2
    plan = build_demo_plan()
    with open(argv[1], "w", encoding="utf-8") as fh:
        json.dump(plan, fh, indent=2)
        fh.write("\n")

    per_category: Counter[str] = Counter()
    wheelchair = 0
    total = 0
    size = plan["size"]
    print(f"{plan['name']}: canvas {size['width']} x {size['height']} px")
    print("Seats per zone:")
    for zone in plan["zones"]:
        count = sum(len(row["seats"]) for row in zone["rows"])
        total += count
        for row in zone["rows"]:
            for seat in row["seats"]:
                per_category[seat["category"]] += 1
                wheelchair += bool(seat.get("wheelchair"))
        print(f"  {zone['name']:<18} {count:5d}  ({len(zone['rows'])} rows)")
    print("Seats per category:")
    for category in plan["categories"]:
        print(f"  {category['name']:<18} {per_category[category['name']]:5d}")
    print(f"Total: {total} seats, {wheelchair} wheelchair spaces -> {argv[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv))
