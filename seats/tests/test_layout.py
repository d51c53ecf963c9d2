"""A plan's layout (seats.layout; docs/api.md "Plan layout"): its shape, its version (changes
with the geometry and with nothing else), its endpoint's caching, and the display colours."""

import gzip
import json
import math
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from conftest import small_plan
from seats.importer import plan_import
from seats.layout import MIN_DISTANCE, PALETTE, display_colors, plan_layout
from seats.models import PlanCategory, Seat, SeatingPlan, Show
from seats.services import showtime_create

pytestmark = pytest.mark.django_db


# --- display colours ------------------------------------------------------------------------------


def test_a_plan_colour_a_map_could_take_for_a_seat_state_is_replaced():
    # The Riethsporthalle plan: orange, navy, purple.
    shown = display_colors(["#E87722", "#1D3557", "#8E44AD"])
    assert shown[0] == "#e87722"  # orange: kept
    assert shown[1] != "#1d3557"  # navy, as dark as the "sold" grey: replaced
    assert shown[1] in [c.lower() for c in PALETTE]
    assert shown[2] == "#8e44ad"  # purple: kept
    assert_apart(shown)


@pytest.mark.parametrize(
    "color",
    [
        "#9CA3AF",  # a grey (the seat states' colours)
        "#15803d",  # "your seats" green
        "#22C55E",  # another green
        "#FDE68A",  # too light
        "#111827",  # too dark
        "",  # missing
        "red",  # not a colour the plan format writes
        "#12345",
    ],
)
def test_greys_greens_extremes_and_junk_are_replaced(color):
    assert display_colors([color]) == [PALETTE[0].lower()]


def assert_apart(shown: list[str]) -> None:
    """Every two display colours at least MIN_DISTANCE apart (a buyer tells them apart)."""
    rgb = [tuple(int(c[i : i + 2], 16) for i in (1, 3, 5)) for c in shown]
    for i, a in enumerate(rgb):
        for b in rgb[i + 1 :]:
            assert math.dist(a, b) >= MIN_DISTANCE, shown


def test_a_colour_close_to_an_earlier_category_is_replaced_by_a_distant_one():
    shown = display_colors(["#0072B2", "#0075B5", "#123456", "#8E44AD"])
    assert shown[0] == "#0072b2"
    assert shown[1] != "#0075b5"  # near the first: replaced
    assert shown[2] != "#123456"  # dark: replaced
    assert shown[3] == "#8e44ad"
    assert_apart(shown)


def test_the_arena_categories_are_drawn_in_colours_far_apart(arena_plan):
    # Red, orange, navy, teal and purple in the plan: navy (dark) and teal (green) replaced, and
    # no two of the five alike (orange beside vermillion was the complaint).
    shown = display_colors([c["color"] for c in arena_plan["categories"]])
    assert len(shown) == len(arena_plan["categories"])
    assert_apart(shown)


def test_short_hex_and_case_are_normalised():
    assert display_colors(["#E72"]) == ["#ee7722"]


# --- the layout -----------------------------------------------------------------------------------


def _plan(**extra):
    raw = small_plan(2, 3)
    raw["zones"][0]["rows"][0]["seats"][1]["wheelchair"] = True
    raw["zones"][0]["rows"][1]["seats"][2]["position"]["x"] = 61.26
    raw["general_admission"] = [
        {"name": "Standing", "capacity": 5, "category": "Back", "position": {"x": 10, "y": 120}}
    ]
    raw.update(extra)
    return plan_import(raw=raw, venue_name="Layout Hall")


def test_the_layout_lists_the_seats_in_seat_order_without_general_admission_places():
    plan = _plan()
    assert plan.layout_version == ""  # the importer leaves it to the first use
    layout = plan_layout(plan.pk)
    data = layout.data()
    seats = list(Seat.objects.filter(plan=plan, ga_area=None).order_by("pk"))
    assert data["plan"] == plan.pk and data["version"] == layout.version
    assert len(layout.version) == 16 and int(layout.version, 16) >= 0
    assert data["venue"] == "Layout Hall" and data["name"] == "Small hall"
    assert data["size"] == {"width": plan.width, "height": plan.height}
    assert data["focus"] is None
    assert data["categories"] == [
        {"name": "Front", "color": "#123456", "display_color": PALETTE[0].lower()},
        # the same dark navy again: the palette's colour farthest from the first one's blue
        {"name": "Back", "color": "#123456", "display_color": "#e69f00"},
    ]
    assert data["seats"]["count"] == 6 == layout.count
    assert data["seats"]["id"] == [str(s.guid) for s in seats]
    assert data["seats"]["label"] == [s.label for s in seats]
    assert data["seats"]["row"] == ["A", "A", "A", "B", "B", "B"]
    assert data["seats"]["number"] == ["1", "2", "3", "1", "2", "3"]
    assert data["seats"]["zone"] == [0] * 6
    assert data["seats"]["category"] == [0, 0, 0, 1, 1, 1]
    assert data["seats"]["x"] == [0, 30, 60, 0, 30, 61.3]  # ints when whole, else 1 decimal
    assert data["seats"]["y"] == [0, 0, 0, 40, 40, 40]
    assert data["seats"]["wheelchair"] == [1]
    assert data["bounds"] == {"min_x": 0, "min_y": 0, "max_x": 61.3, "max_y": 40}
    assert data["zones"] == [{"name": "Hall", "seats": 6, "bounds": data["bounds"]}]
    assert data["ga"] == [{"zone": "Standing", "capacity": 5, "category": 1, "x": 10, "y": 120}]
    assert layout.seat_ids == tuple(s.pk for s in seats)
    plan.refresh_from_db()
    assert plan.layout_version == layout.version  # saved: every process agrees


def test_the_version_is_the_hash_of_the_canonical_json():
    import hashlib

    layout = plan_layout(_plan().pk)
    data = layout.data()
    del data["version"]
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert layout.version == hashlib.sha256(canonical.encode()).hexdigest()[:16]


def test_another_process_finds_the_same_version(monkeypatch):
    """The version is in the database: a process without the layout cached (a fresh cache here)
    builds the same layout under the same version, and writes nothing."""
    from cachetools import LRUCache

    from seats import layout as module

    plan = _plan()
    first = plan_layout(plan.pk)
    monkeypatch.setattr(module, "_layouts", LRUCache(maxsize=4))
    again = plan_layout(plan.pk)
    assert again is not first
    assert (again.version, again.body) == (first.version, first.body)


def _version(plan) -> str:
    return plan_layout(plan.pk).version


def test_moving_a_seat_changes_the_version(staff_client):
    plan = _plan()
    before = _version(plan)
    seat = Seat.objects.filter(plan=plan, ga_area=None).order_by("pk")[0]
    seat.x += 5
    seat.save()  # what any form or admin saving a seat does
    assert SeatingPlan.objects.get(pk=plan.pk).layout_version == ""
    after = _version(plan)
    assert after != before
    assert plan_layout(plan.pk).data()["seats"]["x"][0] == 5


@pytest.mark.parametrize(
    "change",
    [
        lambda plan: PlanCategory.objects.filter(plan=plan)[0].save(),  # no-op save counts too
        lambda plan: setattr_save(PlanCategory.objects.filter(plan=plan)[0], color="#E87722"),
        lambda plan: setattr_save(plan, focus_x=60.0, focus_y=-20.0, fields=["focus_x", "focus_y"]),
        lambda plan: setattr_save(plan, width=500),
        lambda plan: plan.ga_areas.all()[0].delete(),
        lambda plan: setattr_save(plan.venue, name="Renamed Hall"),
    ],
)
def test_any_change_of_the_geometry_empties_the_version(change):
    plan = _plan()
    _version(plan)
    change(SeatingPlan.objects.get(pk=plan.pk))
    assert SeatingPlan.objects.get(pk=plan.pk).layout_version == ""


def setattr_save(obj, fields=None, **values):
    for name, value in values.items():
        setattr(obj, name, value)
    obj.save(update_fields=fields)


def test_the_version_stays_when_nothing_in_the_geometry_changes(api, make_user):
    plan = _plan()
    version = _version(plan)
    showtime = showtime_create(
        show=Show.objects.create(title="Night"),
        plan=plan,
        starts_at=timezone.now() + timedelta(days=1),
        prices={"Front": Decimal("10"), "Back": Decimal("5")},
    )
    guid = plan_layout(plan.pk).data()["seats"]["id"][0]
    assert api.post(f"/api/v1/showtimes/{showtime.pk}/holds/", {"seats": [guid]}, format="json")
    plan.save(update_fields=["created_at"])  # a save of no geometry field
    assert SeatingPlan.objects.get(pk=plan.pk).layout_version == version
    assert _version(plan) == version


# --- the endpoint ---------------------------------------------------------------------------------


def test_the_layout_endpoint_is_public_and_cacheable_for_good(client):
    layout = plan_layout(_plan().pk)
    url = layout.url
    assert url == f"/api/v1/plans/{layout.plan_id}/layouts/{layout.version}/"
    response = client.get(url)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response["ETag"] == f'"{layout.version}"'
    assert response.json() == layout.data()

    again = client.get(url, HTTP_IF_NONE_MATCH=f'"{layout.version}"')
    assert again.status_code == 304 and again.content == b""
    assert again["ETag"] == f'"{layout.version}"'
    assert again["Cache-Control"] == "public, max-age=31536000, immutable"
    # the weak form a browser sends back for a gzipped answer, and a list of tags
    weak = client.get(url, HTTP_IF_NONE_MATCH=f'"0000000000000000", W/"{layout.version}"')
    assert weak.status_code == 304
    assert client.get(url, HTTP_IF_NONE_MATCH='"0000000000000000"').status_code == 200


def test_the_layout_gzipped_once_keeps_a_weak_etag_that_still_matches(client):
    layout = plan_layout(_plan().pk)
    response = client.get(layout.url, HTTP_ACCEPT_ENCODING="gzip")
    assert response["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(response.content)) == layout.data()
    assert response["ETag"] == f'W/"{layout.version}"'  # another representation: weak
    assert "Accept-Encoding" in response["Vary"]
    # Compressed once per process and version, not once per buyer: the same bytes again.
    again = client.get(layout.url, HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    assert again.content == response.content == plan_layout(layout.plan_id).gzipped
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"
    assert (
        client.get(
            layout.url, HTTP_IF_NONE_MATCH=response["ETag"], HTTP_ACCEPT_ENCODING="gzip"
        ).status_code
        == 304
    )


def test_a_stale_version_is_404_and_the_showtime_names_the_current_one(client, showtime):
    old = plan_layout(showtime.plan_id)
    seat = Seat.objects.filter(plan_id=showtime.plan_id).order_by("pk")[0]
    seat.y += 1
    seat.save()
    response = client.get(old.url)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert "layout.url" in response.json()["error"]["message"]
    current = client.get(f"/api/v1/showtimes/{showtime.pk}/").json()["layout"]
    assert current["version"] != old.version
    assert client.get(current["url"]).status_code == 200


@pytest.mark.parametrize(
    "path", ["999999/layouts/0000000000000000/", "1/layouts/x/", "abc/layouts/x/"]
)
def test_unknown_plans_and_versions_are_404(client, path):
    response = client.get(f"/api/v1/plans/{path}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_the_showtime_names_its_layout_and_display_colours(client, showtime):
    body = client.get(f"/api/v1/showtimes/{showtime.pk}/").json()
    layout = plan_layout(showtime.plan_id)
    assert body["layout"] == {"version": layout.version, "url": layout.url, "seats": 10}
    assert [c["display_color"] for c in body["categories"]] == [
        c["display_color"] for c in layout.data()["categories"]
    ]
    listed = client.get("/api/v1/showtimes/").json()["results"][0]
    assert listed["layout"] == body["layout"]


def test_renaming_the_venue_in_the_admin_changes_the_layout(staff_client, client):
    """The admin edits no seat (plans are imported files, read-only there); what it can change
    that a layout shows is the venue's name."""
    plan = _plan()
    old = plan_layout(plan.pk)
    response = staff_client.post(
        f"/admin/seats/venue/{plan.venue_id}/change/", {"name": "Layout Hall II"}
    )
    assert response.status_code == 302, response.content
    assert client.get(old.url).status_code == 404
    new = plan_layout(plan.pk)
    assert new.version != old.version and new.data()["venue"] == "Layout Hall II"
    assert client.get(new.url).status_code == 200
