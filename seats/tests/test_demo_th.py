"""The Thai demo venue of ``manage.py load_demo`` (issue #17): a Muay Thai stadium whose
categories, zones and seat labels are Thai, priced in THB, imported through the pretix importer,
so the Thai text reaches the snapshot API and the tickets."""

from decimal import Decimal

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils.html import strip_tags

from conftest import client_for
from orders.models import Ticket
from seats.demo_plan_th import PLAN_NAME, build_thai_demo_plan
from seats.importer import PlanError, parse_plan
from seats.management.commands.load_demo import THAI_SHOW, THAI_VENUE
from seats.models import PlanCategory, SeatingPlan, Showtime, Venue

THAI_CATEGORIES = ["ริงไซด์", "ชั้น 2", "ชั้น 3"]


@pytest.fixture
def demo(db):
    call_command("load_demo")
    call_command("load_demo")  # idempotent
    return SeatingPlan.objects.get(venue__name=THAI_VENUE)


def test_load_demo_twice_makes_one_thai_venue_with_thai_labels_and_thb_prices(demo):
    assert Venue.objects.filter(name=THAI_VENUE).count() == 1
    assert SeatingPlan.objects.filter(venue__name=THAI_VENUE).count() == 1
    assert demo.name == PLAN_NAME
    names = list(
        PlanCategory.objects.filter(plan=demo).order_by("rank").values_list("name", flat=True)
    )
    assert names == THAI_CATEGORIES
    seat = demo.seats.get(zone="ริงไซด์ โซน A", row="1", number="5")
    assert seat.label == "ริงไซด์ โซน A แถว 1 ที่นั่ง 5"
    assert seat.category.name == "ริงไซด์"
    assert {z.split(" โซน ")[1] for z in demo.seats.values_list("zone", flat=True)} == set("ABCD")
    # The ring in the middle is the focal point (best available prefers seats near it).
    assert (demo.focus_x, demo.focus_y) == (demo.width / 2, demo.height / 2)

    showtimes = Showtime.objects.filter(show__title=THAI_SHOW)
    assert showtimes.count() == 2
    for showtime in showtimes:
        assert showtime.plan_id == demo.pk and showtime.currency == "THB"
        prices = {p.category.name: p.price for p in showtime.prices.select_related("category")}
        assert prices == {
            "ริงไซด์": Decimal("3000.00"),
            "ชั้น 2": Decimal("1500.00"),
            "ชั้น 3": Decimal("800.00"),
        }


def test_the_snapshot_api_returns_the_thai_labels(demo, api):
    showtime = Showtime.objects.filter(show__title=THAI_SHOW).earliest("starts_at")
    body = api.get(f"/api/v1/showtimes/{showtime.pk}/seats/").json()
    assert {s["category"] for s in body["seats"]} == set(THAI_CATEGORIES)
    labels = {s["label"] for s in body["seats"]}
    assert "ชั้น 3 โซน D แถว 4 ที่นั่ง 12" in labels
    assert all(" แถว " in label and " ที่นั่ง " in label for label in labels)
    ringside = next(s for s in body["seats"] if s["category"] == "ริงไซด์")
    assert ringside["price"] == "3000.00"


def test_a_ticket_for_a_thai_seat_renders_in_baht(demo, buyer):
    api = client_for(buyer)
    showtime = Showtime.objects.filter(show__title=THAI_SHOW).earliest("starts_at")
    seat = showtime.seats.select_related("seat").get(seat__label="ริงไซด์ โซน C แถว 2 ที่นั่ง 3")
    body = {
        "showtime": showtime.pk,
        "seats": [str(seat.seat.guid)],
        "customer": {"name": "สมชาย ใจดี", "email": "somchai@example.com", "phone": ""},
        "payment_method": "qr_code",
    }
    order = api.post("/api/v1/orders/", body, format="json", HTTP_ACCEPT_LANGUAGE="th").json()
    assert order["tickets"][0]["seat"]["label"] == "ริงไซด์ โซน C แถว 2 ที่นั่ง 3"
    assert api.post(f"/api/v1/orders/{order['id']}/pay/").status_code == 200
    ticket = Ticket.objects.get(order_id=order["id"])
    page = strip_tags(Client().get(f"/tickets/{ticket.code}/").content.decode())
    assert "ศึกมวยไทยวันศุกร์" in page and "สนามมวยเวทีนครหลวง" in page
    assert "ริงไซด์ โซน C แถว 2 ที่นั่ง 3" in page
    assert "฿3,000.00" in page and "THB" not in page


def test_the_plan_generator_is_deterministic_and_the_label_format_is_checked():
    assert build_thai_demo_plan() == build_thai_demo_plan()
    plan = build_thai_demo_plan() | {"seat_label_format": "{zone} {seat}"}
    with pytest.raises(PlanError, match="seat_label_format"):
        parse_plan(plan)
