"""A seating plan's layout: its geometry as one immutable JSON document per version (docs/api.md
"Plan layout", ``GET plans/{id}/layouts/{version}/``).

A seat map downloads the layout once per version (it is cached for a year) and then needs only
the live form of the seats (:mod:`seats.livecodec`), which lists the seats in the layout's order:
the plan's seats that are not general-admission places, by ``Seat.pk``.

The version is the first 16 hex digits of the SHA-256 of the layout's canonical JSON (without
``version``), kept in ``SeatingPlan.layout_version`` so that every process agrees on it. Empty
means "not computed": :func:`plan_layout` computes it on first use (the importer leaves it empty),
and any change of the plan's geometry empties it again (:func:`layout_changed`, connected to the
saves and deletes of seats, categories, general-admission areas and plans in
``SeatsConfig.ready``). Built layouts are kept per process, keyed by ``(plan id, version)``, in a
bounded cachetools cache shared by the request threads under its lock (as ``seats.selection``);
a stale entry is never found again, since its version is no longer the plan's.
"""

from __future__ import annotations

import colorsys
import gzip
import hashlib
import json
import math
import threading
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from cachetools import LRUCache
from django.db import transaction
from django.db.models import CharField
from django.db.models.functions import Cast

from .locks import lock_one
from .models import GeneralAdmissionArea, PlanCategory, Seat, SeatingPlan, Venue

# Layouts kept per process (the least recently used goes first). A 20,000-seat layout takes a
# few MB (its JSON and the seat index).
LAYOUT_PLANS = 32
_layouts: LRUCache = LRUCache(maxsize=LAYOUT_PLANS)
_layouts_lock = threading.Lock()

# display_color (docs/api.md "Plan layout"): the colours that replace a plan colour a seat map
# could mistake for a seat state (states are greys with shapes; "your seats" is green #15803d).
# Okabe–Ito-like, no greens or greys.
PALETTE = ("#0072B2", "#D55E00", "#CC79A7", "#E69F00", "#56B4E9", "#8E44AD", "#B8860B", "#C2185B")
PALETTE_RGB = tuple(
    (int(c[1:3], 16), int(c[3:5], 16), int(c[5:7], 16)) for c in PALETTE
)  # in palette order: max() keeps the first of equals
MIN_SATURATION = 0.35
MIN_LIGHTNESS, MAX_LIGHTNESS = 0.30, 0.75
GREEN_HUES = (80.0, 170.0)  # degrees, inclusive
# Two display colours closer than this (Euclidean distance of 0–255 RGB, at most 441) look alike
# on a map (the arena's orange #F28C28 and vermillion #D55E00 are 67 apart).
MIN_DISTANCE = 80.0


def _rgb(color: str) -> tuple[int, int, int] | None:
    """``(r, g, b)`` of ``#rgb`` or ``#rrggbb`` (any case), else None."""
    text = (color or "").strip().lstrip("#")
    if len(text) == 3:
        text = "".join(c * 2 for c in text)
    if len(text) != 6:
        return None
    try:
        value = int(text, 16)
    except ValueError:
        return None
    return value >> 16, (value >> 8) & 0xFF, value & 0xFF


def _looks_like_a_state(rgb: tuple[int, int, int]) -> bool:
    hue, lightness, saturation = colorsys.rgb_to_hls(*(c / 255 for c in rgb))
    return (
        saturation < MIN_SATURATION
        or not MIN_LIGHTNESS <= lightness <= MAX_LIGHTNESS
        or GREEN_HUES[0] <= hue * 360 <= GREEN_HUES[1]
    )


def _near(rgb: tuple[int, int, int], others: list[tuple[int, int, int]]) -> bool:
    return any(math.dist(rgb, other) < MIN_DISTANCE for other in others)


def display_colors(colors: list[str]) -> list[str]:
    """The colour a seat map draws each category in, for the plan colours ``colors`` (in plan
    order): the plan colour (as ``#rrggbb``), unless it could be mistaken for a seat state
    (HSL saturation below 0.35, lightness outside 0.30–0.75, a green hue 80°–170°), is missing or
    unparsable, or is within :data:`MIN_DISTANCE` of an earlier category's kept colour. The
    plan colours kept, each one replaced gets the colour of :data:`PALETTE` farthest from every
    display colour chosen so far (the palette's first when there is none)."""
    kept: list[tuple[int, int, int] | None] = []
    for color in colors:
        rgb = _rgb(color)
        ok = rgb is not None and not _looks_like_a_state(rgb)
        kept.append(rgb if ok and rgb and not _near(rgb, [k for k in kept if k]) else None)
    used = [k for k in kept if k is not None]
    chosen: list[tuple[int, int, int]] = []
    for rgb in kept:
        if rgb is None:
            rgb = max(
                PALETTE_RGB,
                key=lambda c: min((math.dist(c, u) for u in used), default=math.inf),
            )
            used.append(rgb)
        chosen.append(rgb)
    return ["#{:02x}{:02x}{:02x}".format(*rgb) for rgb in chosen]


@dataclass(frozen=True)
class Layout:
    """A built layout: ``body`` is its JSON (what the endpoint sends), ``seat_ids`` the
    ``Seat.pk`` of each layout seat in order and ``index`` the way back (not in the JSON: for
    reading the live form, :func:`seats.selectors.seat_live`)."""

    plan_id: int
    version: str
    body: bytes
    seat_ids: tuple[int, ...]
    index: dict[int, int]

    @property
    def count(self) -> int:
        return len(self.seat_ids)

    @property
    def url(self) -> str:
        return layout_url(self.plan_id, self.version)

    def ref(self) -> dict[str, Any]:
        """``{"version", "url", "seats"}``: how a showtime, a live form or a snapshot frame
        names its layout."""
        return {"version": self.version, "url": self.url, "seats": self.count}

    @cached_property
    def gzipped(self) -> bytes:
        """``body`` gzipped, once per process and version (1.6 MB of JSON takes the CPU about
        0.1 s to compress: not once per buyer). ``mtime=0``: the same bytes in every process."""
        return gzip.compress(self.body, compresslevel=6, mtime=0)

    def data(self) -> dict[str, Any]:
        """The layout as a dict (decoded from ``body``; for tests and tools)."""
        return json.loads(self.body)


def layout_url(plan_id: int, version: str) -> str:
    """The path of a layout (on the API's host)."""
    return f"/api/v1/plans/{plan_id}/layouts/{version}/"


def _num(value: float) -> int | float:
    """A coordinate as the layout writes it: an int when whole, else rounded to 1 decimal."""
    rounded = round(float(value), 1)
    return int(rounded) if rounded.is_integer() else rounded


def _bounds(xs: list[int | float], ys: list[int | float]) -> dict[str, int | float]:
    if not xs:
        return {"min_x": 0, "min_y": 0, "max_x": 0, "max_y": 0}
    return {"min_x": min(xs), "min_y": min(ys), "max_x": max(xs), "max_y": max(ys)}


def _guid(text: str) -> str:
    """A guid column read as text (SQLite: 32 hex digits; PostgreSQL: hyphenated) as
    ``str(uuid.UUID)`` writes it."""
    text = text.lower()
    if len(text) == 32:
        return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
    return text


def _canonical(data: dict[str, Any]) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _build(plan: SeatingPlan) -> tuple[dict[str, Any], tuple[int, ...]]:
    """The layout dict of ``plan`` (without ``version``) and its seats' pks, from the database
    (three queries: categories, seats, general-admission areas)."""
    categories = list(PlanCategory.objects.filter(plan=plan).order_by("rank", "pk"))
    category_index = {c.pk: i for i, c in enumerate(categories)}
    # The guid as text: 20,000 uuid.UUID objects would cost a third of the build.
    rows = (
        Seat.objects.filter(plan=plan, ga_area=None)
        .annotate(guid_text=Cast("guid", output_field=CharField()))
        .order_by("pk")
    )
    ids: list[int] = []
    seats: dict[str, list[Any]] = {
        k: [] for k in ("id", "label", "zone", "row", "number", "category", "x", "y", "wheelchair")
    }
    zones: dict[str, dict[str, Any]] = {}
    zone_xy: dict[str, tuple[list, list]] = {}
    for i, (pk, guid, label, zone, row, number, category_id, x, y, wheelchair) in enumerate(
        rows.values_list(
            "pk",
            "guid_text",
            "label",
            "zone",
            "row",
            "number",
            "category_id",
            "x",
            "y",
            "wheelchair",
        )
    ):
        ids.append(pk)
        if zone not in zones:
            zones[zone] = {"name": zone, "seats": 0, "index": len(zones)}
            zone_xy[zone] = ([], [])
        zones[zone]["seats"] += 1
        x, y = _num(x), _num(y)
        zone_xy[zone][0].append(x)
        zone_xy[zone][1].append(y)
        seats["id"].append(_guid(guid))
        seats["label"].append(label)
        seats["zone"].append(zones[zone]["index"])
        seats["row"].append(row)
        seats["number"].append(number)
        seats["category"].append(category_index.get(category_id, -1))
        seats["x"].append(x)
        seats["y"].append(y)
        if wheelchair:
            seats["wheelchair"].append(i)
    ga = [
        {
            "zone": area.name,
            "capacity": area.capacity,
            "category": category_index.get(area.category_id, -1),
            "x": _num(area.x),
            "y": _num(area.y),
        }
        for area in GeneralAdmissionArea.objects.filter(plan=plan).order_by("name")
    ]
    focus = (
        {"x": _num(plan.focus_x), "y": _num(plan.focus_y)}
        if plan.focus_x is not None and plan.focus_y is not None
        else None
    )
    data = {
        "plan": plan.pk,
        "venue": plan.venue.name,
        "name": plan.name,
        "size": {"width": plan.width, "height": plan.height},
        "bounds": _bounds(seats["x"], seats["y"]),
        "focus": focus,
        "categories": [
            {"name": c.name, "color": c.color, "display_color": shown}
            for c, shown in zip(
                categories, display_colors([c.color for c in categories]), strict=True
            )
        ],
        "zones": [
            {"name": z["name"], "seats": z["seats"], "bounds": _bounds(*zone_xy[z["name"]])}
            for z in zones.values()
        ],
        "seats": {"count": len(ids), **seats},
        "ga": ga,
    }
    return data, tuple(ids)


def plan_layout(plan_id: int, version: str | None = None) -> Layout:
    """The current layout of a plan. ``version``: the plan's ``layout_version`` when the caller
    has read it with the plan (saves a query; "" counts as not computed); else it is read.

    A cached layout of that version is returned as it is. Otherwise the layout is built from the
    database under the plan's row lock (so a change of the geometry committing meanwhile waits,
    then empties the version again), its version computed and, when it differs from the stored
    one, saved with a conditional ``UPDATE``.

    Raises:
        SeatingPlan.DoesNotExist: no such plan.
    """
    if version is None:
        version = (
            SeatingPlan.objects.filter(pk=plan_id).values_list("layout_version", flat=True).first()
        )
        if version is None:
            raise SeatingPlan.DoesNotExist(plan_id)
    if version:
        with _layouts_lock:
            hit = _layouts.get((plan_id, version))
        if hit is not None:
            return hit
    with transaction.atomic():
        plan = lock_one(SeatingPlan, {"id": plan_id}, related="venue")
        if plan is None:
            raise SeatingPlan.DoesNotExist(plan_id)
        data, ids = _build(plan)
        canonical = _canonical(data)
        version = hashlib.sha256(canonical).hexdigest()[:16]
        if plan.layout_version != version:
            SeatingPlan.objects.filter(pk=plan_id, layout_version=plan.layout_version).update(
                layout_version=version
            )
    # The body: the canonical JSON with "version" added as its last key (one encoding, not two).
    body = canonical[:-1] + b',"version":' + json.dumps(version).encode() + b"}"
    layout = Layout(plan_id, version, body, ids, {pk: i for i, pk in enumerate(ids)})
    with _layouts_lock:
        _layouts[(plan_id, version)] = layout
    return layout


def layout_changed(sender: type, instance: Any, **kwargs: Any) -> None:
    """Empty the plan's ``layout_version`` after a change of its geometry (a receiver of
    ``post_save``/``post_delete`` of :class:`Seat`, :class:`PlanCategory`,
    :class:`GeneralAdmissionArea` and :class:`SeatingPlan`, and ``post_save`` of :class:`Venue`,
    whose name the layout shows; ``SeatsConfig.ready``). A plan's own
    save that names only other fields in ``update_fields`` changes nothing, nor does the deletion
    of a whole plan. An ``UPDATE``, so it sends no signal itself."""
    origin = kwargs.get("origin")
    if isinstance(origin, SeatingPlan) or getattr(origin, "model", None) is SeatingPlan:
        return  # the plan itself is being deleted: its seats go with it
    if sender is Venue:  # its name is in its plans' layouts
        if not kwargs.get("created"):
            SeatingPlan.objects.filter(venue_id=instance.pk).exclude(layout_version="").update(
                layout_version=""
            )
        return
    if sender is SeatingPlan:
        fields = kwargs.get("update_fields")
        if kwargs.get("created") or (fields is not None and not set(fields) & PLAN_GEOMETRY):
            return
        plan_id = instance.pk
    else:
        plan_id = instance.plan_id
    if plan_id is not None:
        SeatingPlan.objects.filter(pk=plan_id).exclude(layout_version="").update(layout_version="")


# The SeatingPlan fields the layout shows (a save naming none of them keeps the version).
PLAN_GEOMETRY = frozenset({"venue", "venue_id", "name", "width", "height", "focus_x", "focus_y"})
