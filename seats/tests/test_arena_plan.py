"""The generated 20,000-seat arena plan (issue #18): its geometry as the importer reads it, the
``generate_arena`` command, ``load_demo --arena`` and the ``arena_showtime`` fixture."""

import itertools
import json
import math
from collections import Counter, defaultdict

import pytest
from django.core.management import call_command

from seats.arena_plan import build_arena_plan
from seats.importer import parse_plan
from seats.models import SeatingPlan, Show, Showtime, ShowtimeSeat, Venue

MIN_SEAT_DISTANCE = 18  # px, centre to centre
MIN_SECTION_GAP = 40  # px between seats of two sections


@pytest.fixture(scope="module")
def parsed(arena_plan):
    """The plan as the importer flattens it: absolute positions, labels, segments."""
    return parse_plan(arena_plan)


def seated(plan: dict) -> list[dict]:
    return [seat for zone in plan["zones"] for row in zone["rows"] for seat in row["seats"]]


def closest_pairs(seats: list[dict], radius: float):
    """Pairs of seats less than ``radius`` apart (grid buckets of ``radius``, not all pairs)."""
    grid: dict[tuple[int, int], list[dict]] = defaultdict(list)
    for seat in seats:
        grid[int(seat["x"] // radius), int(seat["y"] // radius)].append(seat)
    for (gx, gy), bucket in grid.items():
        for seat in bucket:
            for dx in (-1, 0, 1):
                for dy in (-1, 0, 1):
                    for other in grid.get((gx + dx, gy + dy), ()):
                        if other is not seat and id(seat) < id(other):
                            distance = math.dist((seat["x"], seat["y"]), (other["x"], other["y"]))
                            if distance < radius:
                                yield seat, other, distance


def test_seat_count_is_the_target_within_one_percent(arena_plan):
    assert abs(len(seated(arena_plan)) - 20_000) <= 200
    smaller = build_arena_plan(seats_target=8_000)
    assert abs(len(seated(smaller)) - 8_000) <= 80


def test_guids_are_unique_and_the_same_on_every_build(arena_plan):
    guids = [seat["seat_guid"] for seat in seated(arena_plan)]
    assert len(set(guids)) == len(guids)
    assert build_arena_plan() == arena_plan
    other_seed = {seat["seat_guid"] for seat in seated(build_arena_plan(seed=19))}
    assert other_seed.isdisjoint(guids)


def test_labels_are_unique(parsed):
    labels = [seat["label"] for seat in parsed["seats"]]
    assert len(set(labels)) == len(labels)


def test_no_two_seats_closer_than_18_px(parsed):
    assert list(closest_pairs(parsed["seats"], MIN_SEAT_DISTANCE)) == []


def test_sections_are_separate_blocks(parsed):
    """Seats of two sections are at least 40 px apart, so each section is a block of its own."""
    near = [
        (a["label"], b["label"], round(d, 1))
        for a, b, d in closest_pairs(parsed["seats"], MIN_SECTION_GAP)
        if a["zone"] != b["zone"]
    ]
    assert near == []
    zones = Counter(seat["zone"] for seat in parsed["seats"])
    assert len(zones) >= 40 and all(name.startswith("Section ") for name in zones)


def test_every_seat_and_the_floor_lie_inside_the_size(arena_plan, parsed):
    width, height = arena_plan["size"]["width"], arena_plan["size"]["height"]
    assert (parsed["width"], parsed["height"]) == (width, height)  # the importer keeps the size
    for seat in parsed["seats"]:
        assert 0 <= seat["x"] <= width and 0 <= seat["y"] <= height, seat["label"]
    for area in parsed["ga_areas"]:
        assert 0 <= area["x"] <= width and 0 <= area["y"] <= height


def test_categories_have_distinct_colours_and_all_are_used(arena_plan, parsed):
    categories = arena_plan["categories"]
    assert 4 <= len(categories) <= 6
    colours = [c["color"].lower() for c in categories]
    assert len(set(colours)) == len(colours)
    used = {seat["category"] for seat in parsed["seats"]} | {
        area["category"] for area in parsed["ga_areas"]
    }
    assert used == {c["name"] for c in categories}


def test_wheelchair_spaces_and_a_standing_floor(parsed):
    wheelchair = [seat for seat in parsed["seats"] if seat["wheelchair"]]
    assert wheelchair and len(wheelchair) < len(parsed["seats"]) / 10
    (floor,) = parsed["ga_areas"]
    assert 1_000 <= floor["capacity"] <= 10_000
    # A standing category of its own: no seat is sold in it.
    assert floor["category"] not in {seat["category"] for seat in parsed["seats"]}


def test_segment_breaks_are_aisles(parsed):
    """Where a row's segment changes, its seats are further apart than anywhere inside a
    segment: the break is an aisle, not just a number."""
    rows: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for seat in parsed["seats"]:
        rows[seat["zone"], seat["row"]].append(seat)
    aisles = 0
    for seats in rows.values():
        seats.sort(key=lambda s: int(s["number"]))
        steps = [
            (a["segment"] != b["segment"], math.dist((a["x"], a["y"]), (b["x"], b["y"])))
            for a, b in itertools.pairwise(seats)
        ]
        inside = [d for crossing, d in steps if not crossing]
        across = [d for crossing, d in steps if crossing]
        if across and inside:
            assert min(across) > max(inside) + 10, seats[0]["label"]
            aisles += len(across)
    assert aisles >= 100


@pytest.mark.django_db
def test_generate_arena_writes_a_file_that_imports(tmp_path, capsys):
    out = tmp_path / "arena.json"
    call_command("generate_arena", "--seats", "6000", "--seed", "7", "--out", str(out))
    assert "6000 seats" in capsys.readouterr().out
    call_command("import_seating_plan", str(out), "--venue", "Generated Arena")
    plan = SeatingPlan.objects.get(venue__name="Generated Arena")
    assert plan.seats.filter(ga_area=None).count() == 6000
    (area,) = plan.ga_areas.all()
    assert area.places.count() == area.capacity
    assert json.loads(out.read_text())["name"] == plan.name


def test_generate_arena_writes_to_stdout(capsys):
    call_command("generate_arena", "--seats", "5000")
    assert len(seated(json.loads(capsys.readouterr().out))) == 5000


@pytest.mark.django_db
def test_load_demo_arena_is_idempotent(capsys):
    call_command("load_demo")
    assert not Venue.objects.filter(name="Seatline Arena").exists()
    call_command("load_demo", "--arena")
    call_command("load_demo", "--arena")
    plan = SeatingPlan.objects.get(venue__name="Seatline Arena")
    (showtime,) = Showtime.objects.filter(plan=plan)
    assert Show.objects.filter(title=showtime.show.title).count() == 1
    assert showtime.status == Showtime.Status.ON_SALE and showtime.currency == "EUR"
    assert showtime.prices.count() == plan.categories.count()
    assert ShowtimeSeat.objects.filter(showtime=showtime).count() == plan.seats.count()
    assert plan.seats.filter(ga_area=None).count() == 20_000
    assert "of Seatline Arena, 1 showtimes of 'Arena Tour 2027'" in capsys.readouterr().out


def test_arena_showtime_fixture(arena_showtime, arena_plan):
    seats = ShowtimeSeat.objects.filter(showtime=arena_showtime)
    from django.db import connection

    assert connection.in_atomic_block  # the plain ``db`` fixture: rolled back after the test
    assert seats.filter(seat__ga_area=None).count() == len(seated(arena_plan))
    assert seats.filter(seat__ga_area__isnull=False).count() == sum(
        area["capacity"] for area in arena_plan["general_admission"]
    )
    assert arena_showtime.status == Showtime.Status.ON_SALE


def test_arena_showtime_fixture_with_transactional_db(arena_showtime, transactional_db):
    """Requested before ``transactional_db``, the fixture still sets the database up as the
    test asks (committed data that server processes can see)."""
    from django.db import connection

    assert not connection.in_atomic_block  # no test transaction around it: really committed
    assert Showtime.objects.filter(pk=arena_showtime.pk).exists()
