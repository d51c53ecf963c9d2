"""Best available seats, the single-seat (orphan) rule and general admission (issue: best
available and GA), on small plans and on the real Riethsporthalle plan."""

import json
import math
import uuid
from collections import Counter
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from conftest import client_for, run_threads
from seats.importer import plan_import
from seats.models import SeatClaim, Show, ShowtimeSeat
from seats.services import hold_best, hold_create, showtime_create

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
NS = uuid.UUID("0f3b0000-0000-4000-8000-00000000abcd")


def plan_with(rows: list[dict], categories=("Front", "Back"), ga=None) -> dict:
    """A one-zone plan: ``rows`` = [{"row": "A", "seats": 6, "category": "Front",
    "breaks": [4]}], seats 30 px apart, rows 40 px apart (row A nearest the stage at y = 0)."""
    plan = {
        "name": "Custom",
        "categories": [{"name": c, "color": "#999"} for c in categories],
        "zones": [
            {
                "name": "Hall",
                "position": {"x": 0, "y": 0},
                "rows": [
                    {
                        "row_number": r["row"],
                        "position": {"x": 0, "y": 40 * (i + 1)},
                        "segment_breaks": r.get("breaks", []),
                        "seats": [
                            {
                                "seat_number": str(n),
                                "seat_guid": str(uuid.uuid5(NS, f"{r['row']}{n}")),
                                "position": {
                                    "x": 30 * n + (30 if n >= min(r.get("breaks") or [99]) else 0),
                                    "y": 0,
                                },
                                "category": r.get("category", categories[0]),
                            }
                            for n in range(1, r["seats"] + 1)
                        ],
                    }
                    for i, r in enumerate(rows)
                ],
            }
        ],
    }
    if ga:
        plan["general_admission"] = ga
    return plan


def make(plan: dict, prices: dict, **fields):
    plan_obj = plan_import(raw=plan, venue_name=f"V-{uuid.uuid4().hex[:6]}")
    plan_obj.focus_x, plan_obj.focus_y = fields.pop("focus", (None, None))
    plan_obj.save()
    return showtime_create(
        show=Show.objects.create(title="Best night"),
        plan=plan_obj,
        starts_at=timezone.now() + timedelta(days=2),
        prices=prices,
        **fields,
    )


def guid(row: str, n: int) -> str:
    return str(uuid.uuid5(NS, f"{row}{n}"))


def labels(hold) -> list[str]:
    return sorted(
        SeatClaim.objects.filter(hold=hold, is_live=True).values_list(
            "showtime_seat__seat__label", flat=True
        )
    )


@pytest.mark.django_db
def test_best_available_prefers_no_orphan_then_category_then_distance(make_user):
    showtime = make(
        plan_with(
            [
                {"row": "A", "seats": 3},
                {"row": "B", "seats": 4},
                {"row": "C", "seats": 6, "category": "Back"},
            ]
        ),
        {"Front": Decimal("90"), "Back": Decimal("30")},
        focus=(60, 0),
    )
    # Row A (dearest, nearest) has 3 free seats: any 2 of them leave 1 alone → not chosen while
    # row B offers a block that leaves no single seat.
    result = hold_best(user=make_user(), showtime_id=showtime.pk, quantity=2)
    hold = result.hold
    assert result.created and labels(hold) == ["Hall B-1", "Hall B-2"]
    # B-3, B-4 are left together; the next buyer gets them (row A would still leave an orphan).
    hold2 = hold_best(user=make_user(), showtime_id=showtime.pk, quantity=2).hold
    assert labels(hold2) == ["Hall B-3", "Hall B-4"]
    # Only row A is left among the Front seats, and any pair there leaves one seat alone: the
    # rule holds across categories, so row C (Back, 6 free) is chosen instead …
    hold3 = hold_best(user=make_user(), showtime_id=showtime.pk, quantity=2).hold
    assert labels(hold3) == ["Hall C-1", "Hall C-2"]
    # … unless the buyer asks for Front: then the orphan cannot be avoided and row A is taken.
    hold4 = hold_best(user=make_user(), showtime_id=showtime.pk, quantity=2, category="Front").hold
    assert labels(hold4) in (["Hall A-1", "Hall A-2"], ["Hall A-2", "Hall A-3"])
    # A category filter picks within it: C-3 … C-6 are free and every block of 3 leaves one seat
    # alone, so the block nearest the focal point (x = 60) wins.
    hold5 = hold_best(user=make_user(), showtime_id=showtime.pk, quantity=3, category="Back").hold
    assert labels(hold5) == ["Hall C-3", "Hall C-4", "Hall C-5"]


@pytest.mark.django_db
def test_best_available_never_spans_an_aisle(make_user):
    showtime = make(
        plan_with([{"row": "A", "seats": 6, "breaks": [4]}]),
        {"Front": Decimal("50"), "Back": Decimal("20")},
    )
    hold_create(user=make_user(), showtime_id=showtime.pk, seat_ids=[guid("A", 1)])
    # free: 2 3 | 4 5 6 — three together exist only right of the aisle
    hold = hold_best(user=make_user(), showtime_id=showtime.pk, quantity=3).hold
    assert labels(hold) == ["Hall A-4", "Hall A-5", "Hall A-6"]


@pytest.mark.django_db
def test_no_block_free_answers_409_with_a_suggestion(api, make_user):
    showtime = make(
        plan_with([{"row": "A", "seats": 4}]), {"Front": Decimal("50"), "Back": Decimal("20")}
    )
    hold_create(user=make_user(), showtime_id=showtime.pk, seat_ids=[guid("A", 2)])
    response = api.post(
        f"/api/v1/showtimes/{showtime.pk}/holds/best/", {"quantity": 3}, format="json"
    )
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "seat_unavailable"
    assert error["details"]["suggestion"] == {"max_together": 2, "available": 3}
    ok = api.post(f"/api/v1/showtimes/{showtime.pk}/holds/best/", {"quantity": 2}, format="json")
    assert ok.status_code == 201 and [s["label"] for s in ok.json()["seats"]] == [
        "Hall A-3",
        "Hall A-4",
    ]
    bad = api.post(
        f"/api/v1/showtimes/{showtime.pk}/holds/best/",
        {"quantity": 1, "category": "Gold"},
        format="json",
    )
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "validation_error"


@pytest.mark.django_db
def test_best_available_on_the_riethsporthalle_plan(make_user, shared_venues):
    """The quality order on a real plan: the dearest category (VIP), adjacent seats of one row,
    and no block of the same size in that category nearer the plan's centre."""
    plan = plan_import(
        raw=(shared_venues / "riethsporthalle.json").read_bytes(), venue_name="Riethsporthalle"
    )
    showtime = showtime_create(
        show=Show.objects.create(title="Basketball"),
        plan=plan,
        starts_at=timezone.now() + timedelta(days=2),
        prices={"Kategorie I": Decimal("35"), "Kategorie II": Decimal("25"), "VIP": Decimal("80")},
    )
    seats = list(
        ShowtimeSeat.objects.filter(showtime=showtime).select_related("seat", "seat__category")
    )
    xs, ys = [s.seat.x for s in seats], [s.seat.y for s in seats]
    focus = ((min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2)
    picks = {}
    for quantity in (2, 4, 6):
        hold = hold_best(user=make_user(), showtime_id=showtime.pk, quantity=quantity).hold
        chosen = sorted(
            (
                c.showtime_seat.seat
                for c in SeatClaim.objects.filter(hold=hold, is_live=True).select_related(
                    "showtime_seat__seat__category"
                )
            ),
            key=lambda s: int(s.number),
        )
        picks[quantity] = [s.label for s in chosen]
        assert len(chosen) == quantity
        assert {s.category.name for s in chosen} == {"VIP"}
        assert len({(s.zone, s.row, s.segment) for s in chosen}) == 1
        numbers = [int(s.number) for s in chosen]
        assert numbers == list(range(numbers[0], numbers[0] + quantity))
        centre = (sum(s.x for s in chosen) / quantity, sum(s.y for s in chosen) / quantity)
        distance = math.dist(centre, focus)
        # brute force over every free VIP block of this size that leaves no orphan
        free = {
            (s.seat.zone, s.seat.row, int(s.seat.number)): s.seat
            for s in seats
            if s.seat.category.name == "VIP"
            and not SeatClaim.objects.filter(showtime_seat=s, is_live=True).exists()
        }
        for (zone, row, n), _seat in free.items():
            if any((zone, row, n + k) not in free for k in range(quantity)):
                continue
            left_alone = (zone, row, n - 1) in free and (zone, row, n - 2) not in free
            right_alone = (zone, row, n + quantity) in free and (
                zone,
                row,
                n + quantity + 1,
            ) not in free
            if left_alone or right_alone:
                continue
            block = [free[(zone, row, n + k)] for k in range(quantity)]
            other = (sum(s.x for s in block) / quantity, sum(s.y for s in block) / quantity)
            assert math.dist(other, focus) >= distance - 0.1, (picks[quantity], block)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "best-available-riethsporthalle.json").write_text(json.dumps(picks, indent=2))
    print("best available on Riethsporthalle:", picks)


@pytest.mark.django_db
def test_orphan_rule_for_manual_picks(api, make_user):
    showtime = make(
        plan_with([{"row": "A", "seats": 5}]),
        {"Front": Decimal("50"), "Back": Decimal("20")},
        forbid_single_seats=True,
    )
    url = f"/api/v1/showtimes/{showtime.pk}/holds/"
    response = api.post(url, {"seats": [guid("A", 2)]}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "orphan_seat"
    assert response.json()["error"]["details"]["seats"] == ["Hall A-1"]
    assert not ShowtimeSeat.objects.filter(showtime=showtime, status="held").exists()
    assert api.post(url, {"seats": [guid("A", 1), guid("A", 2)]}, format="json").status_code == 201
    # without the setting the same pick is allowed
    other = make(
        plan_with([{"row": "A", "seats": 5}]), {"Front": Decimal("50"), "Back": Decimal("20")}
    )
    assert (
        client_for(make_user())
        .post(f"/api/v1/showtimes/{other.pk}/holds/", {"seats": [guid("A", 2)]}, format="json")
        .status_code
        == 201
    )


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_best_available_requests_never_overlap(make_user):
    showtime = make(
        plan_with([{"row": r, "seats": 6} for r in "ABCD"]),
        {"Front": Decimal("50"), "Back": Decimal("20")},
    )
    clients = [client_for(make_user()) for _ in range(20)]

    def ask(i):
        r = clients[i].post(
            f"/api/v1/showtimes/{showtime.pk}/holds/best/", {"quantity": 2}, format="json"
        )
        return r.status_code, [s["id"] for s in r.json().get("seats", [])]

    results = run_threads(20, ask)
    assert all(isinstance(r, tuple) for r in results), results
    assert {status for status, _ in results} <= {201, 409}
    taken = [seat for status, seats in results if status == 201 for seat in seats]
    assert len(taken) == len(set(taken))
    assert len(taken) >= 12 and len(taken) % 2 == 0  # 24 seats: at least 6 pairs went out
    assert ShowtimeSeat.objects.filter(showtime=showtime, status="held").count() == len(taken)


GA = [{"name": "Standing", "capacity": 30, "category": "Floor"}]


@pytest.mark.django_db
def test_ga_places_are_held_ordered_and_ticketed_like_seats(api, buyer):
    showtime = make(
        plan_with([{"row": "A", "seats": 4}], ga=GA),
        {"Front": Decimal("50"), "Back": Decimal("20"), "Floor": Decimal("15")},
    )
    url = f"/api/v1/showtimes/{showtime.pk}/holds/"
    hold = api.post(
        url, {"seats": [guid("A", 1)], "ga": [{"zone": "Standing", "quantity": 2}]}, format="json"
    )
    assert hold.status_code == 201, hold.json()
    assert hold.json()["total"] == "80.00"
    assert sorted(s["label"] for s in hold.json()["seats"]) == [
        "Hall A-1",
        "Standing #1",
        "Standing #2",
    ]
    snapshot = api.get(f"/api/v1/showtimes/{showtime.pk}/seats/").json()
    assert len(snapshot["seats"]) == 4  # places are not seats on the map
    assert snapshot["ga"] == [
        {"zone": "Standing", "capacity": 30, "available": 28, "category": "Floor", "price": "15.00"}
    ]
    order = api.post(
        "/api/v1/orders/",
        {
            "hold": hold.json()["id"],
            "payment_method": "card",
            "customer": {"name": "A", "email": "a@example.com"},
        },
        format="json",
    ).json()
    api.post(f"/api/v1/orders/{order['id']}/pay/")
    tickets = api.get(f"/api/v1/orders/{order['id']}/tickets/").json()
    assert sorted(t["seat"]["label"] for t in tickets) == ["Hall A-1", "Standing #1", "Standing #2"]
    too_many = api.post(url, {"ga": [{"zone": "Standing", "quantity": 29}]}, format="json")
    assert too_many.status_code in (400, 409)
    unknown = api.post(url, {"ga": [{"zone": "Balcony", "quantity": 1}]}, format="json")
    assert unknown.status_code == 400 and unknown.json()["error"]["details"]["zones"] == ["Balcony"]


@pytest.mark.django_db(transaction=True)
def test_ga_capacity_is_never_exceeded_under_a_storm(make_user):
    showtime = make(
        plan_with(
            [{"row": "A", "seats": 2}],
            ga=[{"name": "Standing", "capacity": 40, "category": "Floor"}],
        ),
        {"Front": Decimal("50"), "Back": Decimal("20"), "Floor": Decimal("15")},
        max_seats_per_order=4,
    )
    clients = [client_for(make_user()) for _ in range(12)]
    customer = {"name": "A", "email": "a@example.com"}

    def buyer(i):
        codes: Counter[int] = Counter()
        for _ in range(5):  # 12 buyers × 5 tries × 3 places = 180 wanted, 40 exist
            h = clients[i].post(
                f"/api/v1/showtimes/{showtime.pk}/holds/",
                {"ga": [{"zone": "Standing", "quantity": 3}]},
                format="json",
            )
            codes[h.status_code] += 1
            if h.status_code in (200, 201):
                o = clients[i].post(
                    "/api/v1/orders/",
                    {"hold": h.json()["id"], "customer": customer, "payment_method": "card"},
                    format="json",
                )
                codes[o.status_code] += 1
                if o.status_code == 201:
                    codes[clients[i].post(f"/api/v1/orders/{o.json()['id']}/pay/").status_code] += 1
        return codes

    results = run_threads(12, buyer)
    assert all(isinstance(r, Counter) for r in results), results
    total: Counter[int] = sum(results, Counter())
    assert not [c for c in total if c >= 500], total
    places = ShowtimeSeat.objects.filter(showtime=showtime, seat__ga_area__isnull=False)
    sold = places.filter(status="sold").count()
    assert sold == 39  # 13 orders of 3; the 40th place cannot make a group of 3
    assert SeatClaim.objects.filter(showtime_seat__in=places, is_live=True).count() == 39
    assert places.filter(status="available").count() == 1
