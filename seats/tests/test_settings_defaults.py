"""Booking settings that used to do nothing (issue #14, case 9): ``HOLD_TTL_SECONDS`` and
``MAX_SEATS_PER_ORDER`` are the ``hold_ttl`` and ``max_seats_per_order`` of new showtimes (a server
started with ``HOLD_TTL_SECONDS=10`` used to make 300 s holds). ``MAX_PENDING_ORDERS_PER_BUYER``
is tested with the caps (test_buyer_limits.py)."""

from datetime import datetime, timedelta

import pytest

from conftest import seat_guids
from seats.models import Hold, Showtime

pytestmark = pytest.mark.django_db


def test_hold_ttl_seconds_is_the_hold_ttl_of_new_showtimes(api, make_showtime, settings):
    settings.HOLD_TTL_SECONDS = 10
    showtime = make_showtime()  # showtime_create without hold_ttl
    assert showtime.hold_ttl == 10
    assert api.get(f"/api/v1/showtimes/{showtime.pk}/").json()["hold_ttl_seconds"] == 10
    response = api.post(
        f"/api/v1/showtimes/{showtime.pk}/holds/", {"seats": seat_guids(showtime, 1)}, format="json"
    )
    assert response.status_code == 201
    hold = Hold.objects.get()
    assert datetime.fromisoformat(response.json()["expires_at"]) == hold.expires_at
    assert hold.expires_at - hold.created_at < timedelta(seconds=11)
    assert hold.expires_at - hold.created_at > timedelta(seconds=9)


def test_max_seats_per_order_is_the_cap_of_new_showtimes(api, make_showtime, settings):
    settings.MAX_SEATS_PER_ORDER = 3
    showtime = make_showtime()
    assert showtime.max_seats_per_order == 3
    body = api.get(f"/api/v1/showtimes/{showtime.pk}/").json()
    assert (body["max_seats_per_order"], body["max_seats_per_buyer"]) == (3, 3)
    response = api.post(
        f"/api/v1/showtimes/{showtime.pk}/holds/", {"seats": seat_guids(showtime, 4)}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "too_many_seats",
        "message": "At most 3 seats can be bought at once.",
        "details": {"max_seats_per_order": 3},
    }


def test_the_settings_apply_to_new_showtimes_only_and_explicit_values_win(make_showtime, settings):
    old = make_showtime()
    assert (old.hold_ttl, old.max_seats_per_order) == (300, 10)  # the shipped defaults
    settings.HOLD_TTL_SECONDS, settings.MAX_SEATS_PER_ORDER = 45, 6
    old.refresh_from_db()
    assert (old.hold_ttl, old.max_seats_per_order) == (300, 10)
    given = make_showtime(hold_ttl=120, max_seats_per_order=2)
    assert (given.hold_ttl, given.max_seats_per_order) == (120, 2)
    bare = Showtime.objects.create(show=old.show, plan=old.plan, starts_at=old.starts_at)
    assert (bare.hold_ttl, bare.max_seats_per_order, bare.seats_per_buyer) == (45, 6, 6)


def test_the_admin_offers_the_settings_for_a_new_showtime(staff_client, settings):
    settings.HOLD_TTL_SECONDS, settings.MAX_SEATS_PER_ORDER = 75, 7
    form = staff_client.get("/admin/seats/showtime/add/").context["adminform"].form
    assert form["hold_ttl"].value() == 75
    assert form["max_seats_per_order"].value() == 7
    assert form["max_seats_per_buyer"].value() is None
