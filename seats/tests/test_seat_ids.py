"""The same seat twice, spelt differently (issue #14, case 10; docs/api.md "Holds": each seat once).

The seat-id parser accepts a GUID in any letter case, with or without hyphens, in braces or as a
``urn:uuid:``; two spellings of one seat in one request are a duplicate, refused with 400
``validation_error`` naming the ``seats`` field, wherever seat ids come in: holds, releasing some
seats of a hold, one-step orders. Nothing is written.
"""

import uuid

import pytest

from conftest import seat_guids
from orders.models import Order
from seats.models import Hold, SeatClaim, ShowtimeSeat

pytestmark = pytest.mark.django_db

CUSTOMER = {"name": "Speller", "email": "speller@example.com", "phone": ""}

SPELLINGS = {
    "upper case": lambda g: g.upper(),
    "braces": lambda g: "{" + g + "}",
    "no hyphens": lambda g: uuid.UUID(g).hex,
    "no hyphens, upper case": lambda g: uuid.UUID(g).hex.upper(),
    "urn": lambda g: uuid.UUID(g).urn,
    "braces, upper case": lambda g: "{" + g.upper() + "}",
}


def assert_duplicate_refused(response, guid):
    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    assert error["code"] == "validation_error", error
    assert list(error["details"]) == ["seats"], error
    assert any(guid in message for message in error["details"]["seats"]), error


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_a_hold_listing_one_seat_in_two_spellings_is_refused(api, showtime, spelling):
    a, b = seat_guids(showtime, 2)
    response = api.post(
        f"/api/v1/showtimes/{showtime.pk}/holds/",
        {"seats": [a, b, SPELLINGS[spelling](a)]},
        format="json",
    )
    assert_duplicate_refused(response, a)
    assert not Hold.objects.exists() and not SeatClaim.objects.exists()
    assert not ShowtimeSeat.objects.filter(showtime=showtime).exclude(status="available").exists()


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_a_one_step_order_listing_one_seat_in_two_spellings_is_refused(api, showtime, spelling):
    a = seat_guids(showtime, 1)[0]
    response = api.post(
        "/api/v1/orders/",
        {
            "showtime": showtime.pk,
            "seats": [SPELLINGS[spelling](a), a],
            "customer": CUSTOMER,
            "payment_method": "card",
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY=f"dup-{spelling}",
    )
    assert_duplicate_refused(response, a)
    assert not Order.objects.exists() and not Hold.objects.exists()


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_releasing_one_seat_in_two_spellings_is_refused(api, showtime, spelling):
    a, b = seat_guids(showtime, 2)
    hold_id = api.post(
        f"/api/v1/showtimes/{showtime.pk}/holds/", {"seats": [a, b]}, format="json"
    ).json()["id"]
    response = api.post(
        f"/api/v1/holds/{hold_id}/release/", {"seats": [a, SPELLINGS[spelling](a)]}, format="json"
    )
    assert_duplicate_refused(response, a)
    assert SeatClaim.objects.filter(hold_id=hold_id, is_live=True).count() == 2


def test_one_spelling_alone_is_the_seat(api, showtime):
    """Any one spelling the parser accepts names the seat: it is held, and released by another."""
    a, b = seat_guids(showtime, 2)
    response = api.post(
        f"/api/v1/showtimes/{showtime.pk}/holds/",
        {"seats": ["{" + a.upper() + "}", uuid.UUID(b).hex]},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert [s["id"] for s in response.json()["seats"]] == [a, b]
    released = api.post(
        f"/api/v1/holds/{response.json()['id']}/release/",
        {"seats": [uuid.UUID(a).urn]},
        format="json",
    )
    assert released.status_code == 200
    assert [s["id"] for s in released.json()["seats"]] == [b]


def test_the_same_text_twice_is_refused_too(api, showtime):
    a = seat_guids(showtime, 1)[0]
    for seats in ([a, a], ["not-a-seat", "not-a-seat"]):
        response = api.post(
            f"/api/v1/showtimes/{showtime.pk}/holds/", {"seats": seats}, format="json"
        )
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "validation_error"
        assert list(response.json()["error"]["details"]) == ["seats"]
