"""The staff sales overview of a showtime (issue: staff side, "Sales overview")."""

import pytest

from conftest import client_for, seat_guids
from orders.services import order_create, order_pay, order_staff_action
from seats.services import hold_create, seats_block

pytestmark = pytest.mark.django_db
CUSTOMER = {"name": "A", "email": "a@example.com", "phone": ""}


def test_sales_overview_after_a_known_sequence(make_user, showtime, clock):
    staff = make_user(staff=True)
    alice, bob, carol = make_user(), make_user(), make_user()
    g = seat_guids(showtime)  # row A = Front (80.00), row B = Back (40.00)
    paid_hold = hold_create(user=alice, showtime_id=showtime.pk, seat_ids=[g[0], g[5]]).hold
    paid = order_create(
        user=alice, hold_id=paid_hold.pk, customer=CUSTOMER, payment_method="card"
    ).order
    order_pay(user=alice, order_id=paid.pk)
    refunded_hold = hold_create(user=bob, showtime_id=showtime.pk, seat_ids=[g[1]]).hold
    refunded = order_create(
        user=bob, hold_id=refunded_hold.pk, customer=CUSTOMER, payment_method="card"
    ).order
    order_pay(user=bob, order_id=refunded.pk)
    order_staff_action(order_id=refunded.pk, action="refund", staff=staff)
    hold_create(user=carol, showtime_id=showtime.pk, seat_ids=[g[2], g[6]])
    seats_block(
        showtime_id=showtime.pk,
        seat_pks=list(showtime.seats.filter(seat__guid__in=[g[9]]).values_list("pk", flat=True)),
        staff=staff,
    )

    body = client_for(staff).get(f"/api/v1/showtimes/{showtime.pk}/sales/").json()
    front, back = body["categories"]
    assert front == {
        "name": "Front",
        "price": "80.00",
        "available": 3,
        "held": 1,
        "reserved": 0,
        "sold": 1,
        "blocked": 0,
        "revenue": "80.00",
    }
    assert back == {
        "name": "Back",
        "price": "40.00",
        "available": 2,
        "held": 1,
        "reserved": 0,
        "sold": 1,
        "blocked": 1,
        "revenue": "40.00",
    }
    assert body["totals"] == {
        "available": 5,
        "held": 2,
        "reserved": 0,
        "sold": 2,
        "blocked": 1,
        "revenue": "120.00",
    }
    assert body["holds_active"] == 1 and body["seats_held"] == 2
    assert body["conversion"] == {"holds_ended": 2, "holds_converted_ratio": 1.0}
    assert body["currency"] == "EUR"

    clock.advance(showtime.hold_ttl + 1)  # carol's hold lapses: read as available at once
    body = client_for(staff).get(f"/api/v1/showtimes/{showtime.pk}/sales/").json()
    assert body["totals"]["held"] == 0 and body["totals"]["available"] == 7
    assert body["conversion"] == {"holds_ended": 3, "holds_converted_ratio": 0.6667}


def test_sales_overview_is_staff_only(api, client, make_user, showtime):
    assert api.get(f"/api/v1/showtimes/{showtime.pk}/sales/").status_code == 403
    staff = client_for(make_user(staff=True))
    assert staff.get("/api/v1/showtimes/999999/sales/").status_code == 404
    client.force_login(make_user(staff=True))
    page = client.get(f"/staff/showtimes/{showtime.pk}/sales/")
    assert page.status_code == 200 and b'id="sales-table"' in page.content
