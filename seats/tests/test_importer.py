"""The pretix seating-plan importer: the real shared plans, and broken files refused whole."""

import json

import pytest
from django.core.management import CommandError, call_command

from conftest import small_plan
from seats.importer import PlanError, plan_import
from seats.models import PlanCategory, Seat, SeatingPlan, Venue


@pytest.mark.django_db
@pytest.mark.parametrize("filename", ["riethsporthalle.json", "riethsporthalle-extended.json"])
def test_imports_both_shared_plans(shared_venues, filename, capsys):
    call_command("import_seating_plan", str(shared_venues / filename), "--venue", "Riethsporthalle")
    plan = SeatingPlan.objects.get(venue__name="Riethsporthalle")
    seats = plan.seats.filter(ga_area=None)
    assert seats.count() == 1252
    assert set(seats.values_list("zone", flat=True)) == {f"Block {z}" for z in "ABCDEF"}
    by_category = {
        c.name: c.seats.filter(ga_area=None).count() for c in PlanCategory.objects.filter(plan=plan)
    }
    assert {k: v for k, v in by_category.items() if v} == {
        "Kategorie I": 310,
        "Kategorie II": 861,
        "VIP": 81,
    }
    seat = plan.seats.get(zone="Block D", row="14", number="2")
    assert seat.label == "Block D 14-2"
    assert (seat.x, seat.y) == (25.0, 0.0)  # zone (0,0) + row (0,0) + seat (25,0)
    # The file's zones overlap when drawn (SOURCES.md): the importer moves them apart, so no two
    # seats share a spot and every seat can be clicked.
    positions = list(seats.values_list("x", "y"))
    assert len(set(positions)) == 1252
    assert plan.height == 1200 and plan.width >= max(x for x, _ in positions)
    assert "Imported 1252 seats in 6 zones" in capsys.readouterr().out


@pytest.mark.django_db
def test_extended_plan_keeps_wheelchair_and_aisles_and_ignores_unknown_keys(shared_venues):
    plan = plan_import(
        raw=(shared_venues / "riethsporthalle-extended.json").read_bytes(),
        venue_name="Riethsporthalle",
    )
    assert plan.seats.filter(wheelchair=True).count() == 21
    assert plan.seats.filter(segment__gt=0).exists()  # segment_breaks split rows at aisles
    # "standing": {"name": "Stehplatz", "capacity": 248} becomes a general-admission area with
    # 248 pre-created places in a category of its own.
    (area,) = plan.ga_areas.all()
    assert (area.name, area.capacity, area.category.name) == ("Stehplatz", 248, "Stehplatz")
    assert area.places.count() == 248 and plan.seats.count() == 1252 + 248


@pytest.mark.django_db
def test_same_guids_may_exist_in_two_plans(shared_venues):
    plan_import(raw=(shared_venues / "riethsporthalle.json").read_bytes(), venue_name="A")
    plan_import(raw=(shared_venues / "riethsporthalle-extended.json").read_bytes(), venue_name="B")
    assert Seat.objects.filter(ga_area=None).count() == 2 * 1252


def _broken(mutate):
    plan = small_plan()
    mutate(plan)
    return json.dumps(plan)


BROKEN = {
    "not JSON": (b"{not json", "not JSON"),
    "not an object": (b"[1, 2]", "must be a JSON object"),
    "no zones key": (_broken(lambda p: p.pop("zones")), "missing key 'zones'"),
    "seat without guid": (
        _broken(lambda p: p["zones"][0]["rows"][1]["seats"][2].pop("seat_guid")),
        "zones[0].rows[1].seats[2]: missing key 'seat_guid'",
    ),
    "row without seats": (
        _broken(lambda p: p["zones"][0]["rows"][0].pop("seats")),
        "zones[0].rows[0]: missing key 'seats'",
    ),
    "duplicate guid": (
        _broken(
            lambda p: p["zones"][0]["rows"][1]["seats"][0].update(
                seat_guid=p["zones"][0]["rows"][0]["seats"][0]["seat_guid"]
            )
        ),
        "1 duplicate seat_guid(s)",
    ),
    "guid not a uuid": (
        _broken(lambda p: p["zones"][0]["rows"][0]["seats"][0].update(seat_guid="seat-1")),
        "seat_guid is not a UUID: seat-1",
    ),
    "unknown category": (
        _broken(lambda p: p["zones"][0]["rows"][0]["seats"][0].update(category="Gold")),
        "unknown categories: Gold",
    ),
    "no seats": (_broken(lambda p: p["zones"][0].update(rows=[])), "no seats"),
    "position not a number": (
        _broken(lambda p: p["zones"][0]["rows"][0]["seats"][0]["position"].update(x="left")),
        "zones[0].rows[0].seats[0].position.x: expected int or float",
    ),
}


@pytest.mark.django_db
@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_file_is_refused_with_its_problem_and_nothing_is_written(case, tmp_path):
    raw, expected = BROKEN[case]
    path = tmp_path / "plan.json"
    path.write_bytes(raw if isinstance(raw, bytes) else raw.encode())
    with pytest.raises(CommandError) as failure:
        call_command("import_seating_plan", str(path), "--venue", "Broken Hall")
    assert expected in str(failure.value)
    assert "Nothing was imported" in str(failure.value)
    assert not Venue.objects.exists() and not Seat.objects.exists()


@pytest.mark.django_db
def test_duplicate_guids_are_named():
    plan = small_plan()
    dup = plan["zones"][0]["rows"][0]["seats"][0]["seat_guid"]
    plan["zones"][0]["rows"][1]["seats"][3]["seat_guid"] = dup
    with pytest.raises(PlanError, match=dup):
        plan_import(raw=plan, venue_name="Dup Hall")


@pytest.mark.django_db
def test_a_plan_name_is_imported_once_per_venue():
    plan_import(raw=small_plan(), venue_name="Hall")
    with pytest.raises(PlanError, match="already has a seating plan"):
        plan_import(raw=small_plan(), venue_name="Hall")
    assert SeatingPlan.objects.count() == 1


@pytest.mark.django_db
def test_missing_file_is_a_clear_command_error(tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_seating_plan", str(tmp_path / "nope.json"), "--venue", "X")


@pytest.mark.django_db
def test_load_demo_is_idempotent(capsys):
    call_command("load_demo")
    call_command("load_demo")
    out = capsys.readouterr().out
    assert SeatingPlan.objects.count() == 2  # Harbour Arena and the Thai stadium (test_demo_th.py)
    plan = SeatingPlan.objects.get(venue__name="Harbour Arena")
    assert plan.seats.count() >= 800
    assert plan.showtimes.count() == 2
    assert all(s.seats.count() == plan.seats.count() for s in plan.showtimes.all())
    assert "Staff user:  staff / " in out


def test_plans_without_collisions_keep_their_coordinates():
    from seats.demo_plan import build_demo_plan
    from seats.importer import parse_plan

    plan = build_demo_plan()
    zone = plan["zones"][0]
    row = zone["rows"][0]
    seat = row["seats"][0]
    expected = (
        zone["position"]["x"] + row["position"]["x"] + seat["position"]["x"],
        zone["position"]["y"] + row["position"]["y"] + seat["position"]["y"],
    )
    parsed = parse_plan(plan)
    first = next(s for s in parsed["seats"] if str(s["guid"]) == seat["seat_guid"])
    assert (first["x"], first["y"]) == expected
    assert parsed["width"] == plan["size"]["width"]
