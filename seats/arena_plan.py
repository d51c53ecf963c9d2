"""A 20,000-seat arena plan, "Seatline Arena", to test the seat map and the services at the size
of a real arena (issue #18).

The plan is our own design, generated procedurally by :func:`build_arena_plan`, and returned in
pretix seating-plan JSON format with the extras :mod:`seats.importer` reads (``zone_id``,
``segment_breaks``, ``wheelchair`` and ``general_admission``).

What the arena looks like
-------------------------
A standing floor (a rectangle twice as wide as high, a stage in the round at its centre) is
surrounded by a bowl of seats in two tiers, the lower bowl and, after a concourse, the upper
bowl. Every row of the bowl runs at a constant distance from the floor's edge: straight along
the four sides of the floor, a quarter circle around each corner. So the rows of the long
sides and the ends are straight, those of the corners curved, and every spectator faces the
floor.

Each tier is cut into sections (zones) by lines at right angles to the rows; sections are
numbered clockwise (on screen) from the west end of the north side: ``Section 101`` ...
``Section 124`` in the lower bowl, ``Section 201`` ... ``Section 230`` in the upper bowl. A
section's seats keep 48 px from its edges, so neighbouring sections are at least 96 px apart:
each section is a block of its own, with room for a label. Wide sections have radial aisles
inside, lined up from row to row; seats across an aisle are at least 48 px apart
(``segment_breaks``).
Rows are 28 px apart; seats in a row 22-26 px (spread to fill their block), or 24 px where a
block holds few seats. Corner sections are wedges: their front rows are short.

Categories: ``Premium`` (the middle sections of the lower bowl's long sides), ``Lower Bowl``
(the rest of it), ``Upper Bowl`` (the upper bowl's long sides), ``Upper End`` (its ends and
corners) and ``Standing Floor`` (general admission: the floor). Wheelchair spaces: the whole
last row of the lower bowl's end sections (a platform at the concourse).

The lower bowl has 20 rows; the upper bowl gets as many as the target needs, and its back rows
lose a few seats at the section edges so that exactly ``seats_target`` seats are made.
Smaller or larger targets scale the floor (and with it the bowl) by ``sqrt(target / 20000)``.

Labels
------
Rows are numbered ``"1"``, ``"2"``, ... from the floor outwards in every section; seats
``"1"``, ``"2"``, ... from left to right as a spectator in the row facing the floor sees them;
numbers run on across aisles.

Coordinate system
-----------------
Integer pixels, origin at the top-left corner, x to the right, y downwards. Positions are
relative, as in pretix (zone + row + seat = a seat's centre); a zone's position is the top-left
corner of its seats' bounding box, a row's the top-left corner of its own, relative to the zone.
The canvas keeps a margin of 96 px around the outermost seats. The general-admission area's
position is the centre of the floor.

Identifiers are deterministic: ``seat_guid`` is
``uuid5(uuid5(_NAMESPACE, "arena:{seed}"), "seat:{zone_id}-{row}-{seat}")``, so every call with
the same arguments returns an equal dict; another ``seed`` gives other identifiers only.

``manage.py generate_arena`` writes the plan to a file.

Standard library only; this module does not import Django.
"""

import itertools
import math
import uuid
from typing import Any

__all__ = ["build_arena_plan"]

# Fixed namespace for every uuid5 in the plan. Do not change it: seat GUIDs derived from it may
# already be stored in bookings.
_NAMESPACE = uuid.UUID("5d0c3c64-2f0a-4c36-9a55-0e8f6e1a2b18")

_PLAN_NAME = "Seatline Arena - In the Round"
_DEFAULT_TARGET = 20_000

_CATEGORIES = (
    ("Premium", "#C0392B"),  # red
    ("Lower Bowl", "#F28C28"),  # orange
    ("Upper Bowl", "#1B2A4A"),  # navy
    ("Upper End", "#16A085"),  # teal
    ("Standing Floor", "#8E44AD"),  # purple
)
_STANDING = "Standing Floor"

_FLOOR_HALF_WIDTH = 1440  # half the floor's width at the default target (x)
_FLOOR_HALF_HEIGHT = 720  # half its height (y)
_FLOOR_CAPACITY = 4000  # standing places at the default target, scaled with the floor's area
_SEAT_PITCH = 24  # preferred centre distance of neighbours in a row
_MIN_PITCH, _MAX_PITCH = 22, 26  # a block's seats are spread within these to fill it
_ROW_PITCH = 28  # distance between neighbouring rows
_SECTION_MARGIN = 48  # seats keep this far (along the row) from a section's edges
_AISLE_MARGIN = 24  # ... and this far from an aisle's centre line
_FIRST_ROW = 96  # distance of the lower bowl's first row from the floor's edge
_LOWER_ROWS = 20
_CONCOURSE = 124  # from the lower bowl's last row to the upper bowl's first
_MAX_UPPER_ROWS = 80
_MARGIN = 96  # canvas border around the outermost seats

# The tiers. ``pieces`` lists, for the eight pieces of the rows' outline in clockwise order
# (north side, NE corner, east side, SE corner, south side, SW corner, west side, NW corner),
# how many sections the piece has and how many blocks (aisles + 1) each of its sections has.
_TIERS: tuple[dict[str, Any], ...] = (
    {
        "first_number": 101,
        "pieces": ((6, 2), (1, 2), (4, 1), (1, 2), (6, 2), (1, 2), (4, 1), (1, 2)),
    },
    {
        "first_number": 201,
        "pieces": ((7, 2), (2, 2), (4, 2), (2, 2), (7, 2), (2, 2), (4, 2), (2, 2)),
    },
)


def _uuid(namespace: uuid.UUID, kind: str, name: str) -> str:
    return str(uuid.uuid5(namespace, f"{kind}:{name}"))


def _outline(cx: float, cy: float, half_w: float, half_h: float) -> list[dict[str, Any]]:
    """The eight pieces of a row's outline, clockwise from the north side's west end.

    A line piece is ``start + t * direction + d * normal``; an arc piece ``centre + d *
    (cos a, sin a)`` with ``a = angle + t / d``; ``t`` is the arc length along the piece and
    ``d`` the row's distance from the floor's edge.
    """
    corners = (  # NE, SE, SW, NW
        (cx + half_w, cy - half_h),
        (cx + half_w, cy + half_h),
        (cx - half_w, cy + half_h),
        (cx - half_w, cy - half_h),
    )
    sides = (((1, 0), (0, -1)), ((0, 1), (1, 0)), ((-1, 0), (0, 1)), ((0, -1), (-1, 0)))
    lengths = (2 * half_w, 2 * half_h, 2 * half_w, 2 * half_h)
    pieces = []
    for i, ((direction, normal), length) in enumerate(zip(sides, lengths, strict=True)):
        start = corners[i - 1]
        pieces.append(
            {"kind": "line", "start": start, "dir": direction, "normal": normal, "len": length}
        )
        pieces.append({"kind": "arc", "centre": corners[i], "angle": (i - 1) * math.pi / 2})
    return pieces


def _length(piece: dict[str, Any], d: float) -> float:
    return piece["len"] if piece["kind"] == "line" else d * math.pi / 2


def _point(piece: dict[str, Any], d: float, t: float) -> tuple[float, float]:
    if piece["kind"] == "line":
        (sx, sy), (dx, dy), (nx, ny) = piece["start"], piece["dir"], piece["normal"]
        return sx + t * dx + d * nx, sy + t * dy + d * ny
    (ox, oy), angle = piece["centre"], piece["angle"] + t / d
    return ox + d * math.cos(angle), oy + d * math.sin(angle)


def _block_offsets(lo: float, hi: float) -> list[float]:
    """Arc-length offsets of the seats of a block whose seats may lie in ``[lo, hi]``."""
    span = hi - lo
    if span < 0:
        return []
    gaps = math.floor(span / _MIN_PITCH)
    if gaps == 0 or span / gaps > _MAX_PITCH:  # too few seats to fill the block: centre them
        gaps = math.floor(span / _SEAT_PITCH)
        first = lo + (span - gaps * _SEAT_PITCH) / 2
        return [first + k * _SEAT_PITCH for k in range(gaps + 1)]
    return [lo + k * span / gaps for k in range(gaps + 1)]


def _section_rows(
    piece: dict[str, Any], start: float, end: float, blocks: int, distances: list[float]
) -> list[list[list[tuple[float, float]]]]:
    """The seats of one section: per row (from the floor outwards), per block (clockwise), the
    seat centres (clockwise). ``start``/``end`` are the section's edges as fractions of the
    piece; rows without seats are left out."""
    rows = []
    for d in distances:
        length = _length(piece, d)
        lo, hi = start * length, end * length
        cuts = [lo + (hi - lo) * k / blocks for k in range(blocks + 1)]
        row = []
        for k in range(blocks):
            left = _SECTION_MARGIN if k == 0 else _AISLE_MARGIN
            right = _SECTION_MARGIN if k == blocks - 1 else _AISLE_MARGIN
            offsets = _block_offsets(cuts[k] + left, cuts[k + 1] - right)
            row.append([_point(piece, d, t) for t in offsets])
        if any(row):
            rows.append([block for block in row if block])
    return rows


def _category(tier_index: int, piece_index: int, section: int, count: int) -> str:
    long_side = piece_index in (0, 4)
    if tier_index == 0:
        return "Premium" if long_side and 0 < section < count - 1 else "Lower Bowl"
    return "Upper Bowl" if long_side else "Upper End"


def _sections(
    pieces: list[dict[str, Any]], lower_rows: int, upper_rows: int
) -> list[tuple[int, int, int, str, list[list[list[tuple[float, float]]]]]]:
    """Every section as ``(tier, piece, number, category, rows)``, in numbering order."""
    sections = []
    for tier_index, tier in enumerate(_TIERS):
        distances = _distances(tier_index, lower_rows, upper_rows)
        number = tier["first_number"]
        for piece_index, (count, blocks) in enumerate(tier["pieces"]):
            for s in range(count):
                rows = _section_rows(
                    pieces[piece_index], s / count, (s + 1) / count, blocks, distances
                )
                category = _category(tier_index, piece_index, s, count)
                sections.append((tier_index, piece_index, number, category, rows))
                number += 1
    return sections


def _distances(tier_index: int, lower_rows: int, upper_rows: int) -> list[float]:
    """The distances of a tier's rows from the floor's edge."""
    if tier_index == 0:
        return [_FIRST_ROW + r * _ROW_PITCH for r in range(lower_rows)]
    first = _FIRST_ROW + (lower_rows - 1) * _ROW_PITCH + _CONCOURSE
    return [first + r * _ROW_PITCH for r in range(upper_rows)]


def _row_seats(pieces: list[dict[str, Any]], tier_index: int, d: float) -> int:
    """The seats of all of a tier's rows at distance ``d`` from the floor."""
    seats = 0
    for piece, (count, blocks) in zip(pieces, _TIERS[tier_index]["pieces"], strict=True):
        for s in range(count):
            rows = _section_rows(piece, s / count, (s + 1) / count, blocks, [d])
            seats += sum(len(block) for row in rows for block in row)
    return seats


def _seated(sections: list) -> int:
    return sum(len(block) for *_, rows in sections for row in rows for block in row)


def _depth(pieces: list[dict[str, Any]], seats_target: int) -> tuple[int, int]:
    """The rows of the lower and the upper bowl: the lower bowl's rows (at most
    ``_LOWER_ROWS``) first, then the fewest upper rows that reach ``seats_target`` seats."""
    seated = 0
    for lower_rows, d in enumerate(_distances(0, _LOWER_ROWS, 0)):
        if seated >= seats_target:
            return lower_rows, 0
        seated += _row_seats(pieces, 0, d)
    for upper_rows, d in enumerate(_distances(1, _LOWER_ROWS, _MAX_UPPER_ROWS)):
        if seated >= seats_target:
            return _LOWER_ROWS, upper_rows
        seated += _row_seats(pieces, 1, d)
    raise ValueError(f"seats_target {seats_target} needs more than {_MAX_UPPER_ROWS} rows.")


def _trim(sections: list, excess: int) -> None:
    """Remove ``excess`` seats at the section edges of the outermost tier's back rows: in pass
    ``n``, each of the last ``n`` rows of every section loses one seat, at the row's left end in
    odd passes and its right end in even ones, so the back corners of the sections are stepped.
    A row keeps at least three quarters of its seats."""
    outer = max(tier for tier, *_, rows in sections if rows)
    backs = [rows for tier, *_, rows in sections if tier == outer and rows]
    keep = {id(row): 0.75 * sum(len(b) for b in row) for rows in backs for row in rows}
    depth = max(len(rows) for rows in backs)
    for n in itertools.count(1):
        progressed = False
        for rows in backs:
            for row in reversed(rows[-n:]):
                if excess == 0:
                    return
                if sum(len(b) for b in row) - 1 < keep[id(row)]:
                    continue
                block = row[0] if n % 2 else row[-1]
                block.pop(0 if n % 2 else -1)
                if not block:
                    row.remove(block)
                excess -= 1
                progressed = True
        if not progressed and n >= depth:
            raise ValueError("Cannot trim the plan's back rows to the target.")


def build_arena_plan(*, seats_target: int = _DEFAULT_TARGET, seed: int = 18) -> dict:
    """Build the Seatline Arena plan with exactly ``seats_target`` seats (plus the standing
    floor's places, which are general admission).

    Returns a new, JSON-serialisable dict in pretix seating-plan format (the shape of
    :func:`seats.demo_plan.build_demo_plan`'s, plus ``general_admission``)::

        {
            "name": str,
            "categories": [{"name": str, "color": "#RRGGBB"}, ...],   # 5
            "size": {"width": int, "height": int},                     # pixels
            "general_admission": [
                {"name": str, "capacity": int, "category": str, "position": {"x", "y"}},
            ],
            "zones": [                      # "Section 101", ..., "Section 230"
                {"name", "zone_id", "uuid", "position", "rows": [
                    {"uuid", "row_number", "row_number_position", "position",
                     "segment_breaks": [int, ...],
                     "seats": [{"seat_number", "seat_guid", "uuid", "position", "category",
                                "wheelchair": True (only on wheelchair spaces)}, ...]},
                ]},
            ],
        }

    Raises:
        ValueError: ``seats_target`` outside 5,000-100,000 (smaller plans leave the floor's
            sides without room for a section).
    """
    if not 5_000 <= seats_target <= 100_000:
        raise ValueError(f"seats_target must be between 5000 and 100000, got {seats_target}.")
    namespace = uuid.uuid5(_NAMESPACE, f"arena:{seed}")
    scale = math.sqrt(seats_target / _DEFAULT_TARGET)
    half_w, half_h = round(_FLOOR_HALF_WIDTH * scale), round(_FLOOR_HALF_HEIGHT * scale)
    lower_rows, upper_rows = _depth(_outline(0, 0, half_w, half_h), seats_target)
    depth = _FIRST_ROW + (lower_rows - 1) * _ROW_PITCH + _CONCOURSE
    depth += max(upper_rows - 1, 0) * _ROW_PITCH + _MARGIN
    cx, cy = half_w + depth, half_h + depth
    sections = _sections(_outline(cx, cy, half_w, half_h), lower_rows, upper_rows)
    _trim(sections, _seated(sections) - seats_target)

    zones = []
    for tier, piece_index, number, category, rows in sections:
        if not rows:
            continue
        zone_id = f"section-{number}"
        wheelchair_row = tier == 0 and piece_index in (2, 6)
        absolute = []
        for row_index, blocks in enumerate(rows):
            # Clockwise on screen is to the left of a spectator facing the floor: number the
            # seats from the last block's last seat backwards.
            seats: list[tuple[float, float]] = []
            breaks: list[int] = []
            for block in reversed(blocks):
                if seats:
                    breaks.append(len(seats) + 1)
                seats.extend(reversed(block))
            absolute.append((str(row_index + 1), breaks, [(round(x), round(y)) for x, y in seats]))
        zone_x = min(x for *_, centres in absolute for x, _ in centres)
        zone_y = min(y for *_, centres in absolute for _, y in centres)
        zone_rows = []
        for row_index, (label, row_breaks, centres) in enumerate(absolute):
            row_x, row_y = min(x for x, _ in centres), min(y for _, y in centres)
            row_seats = []
            for seat_number, (x, y) in enumerate(centres, start=1):
                key = f"{zone_id}-{label}-{seat_number}"
                entry: dict[str, Any] = {
                    "seat_number": str(seat_number),
                    "seat_guid": _uuid(namespace, "seat", key),
                    "uuid": _uuid(namespace, "seat-uuid", key),
                    "position": {"x": x - row_x, "y": y - row_y},
                    "category": category,
                }
                if wheelchair_row and row_index == len(absolute) - 1:
                    entry["wheelchair"] = True
                row_seats.append(entry)
            zone_rows.append(
                {
                    "uuid": _uuid(namespace, "row", f"{zone_id}-{label}"),
                    "row_number": label,
                    "row_number_position": "both",
                    "position": {"x": row_x - zone_x, "y": row_y - zone_y},
                    "segment_breaks": row_breaks,
                    "seats": row_seats,
                }
            )
        zones.append(
            {
                "name": f"Section {number}",
                "zone_id": zone_id,
                "uuid": _uuid(namespace, "zone", zone_id),
                "position": {"x": zone_x, "y": zone_y},
                "rows": zone_rows,
            }
        )

    capacity = max(50, round(_FLOOR_CAPACITY * scale * scale / 50) * 50)
    return {
        "name": _PLAN_NAME,
        "categories": [{"name": name, "color": color} for name, color in _CATEGORIES],
        "size": {"width": 2 * cx, "height": 2 * cy},
        "general_admission": [
            {
                "name": _STANDING,
                "capacity": capacity,
                "category": _STANDING,
                "position": {"x": cx, "y": cy},
            }
        ],
        "zones": zones,
    }
