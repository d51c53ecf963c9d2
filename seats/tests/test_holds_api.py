"""Holds through the REST API (api.md "Holds"): take, extend, release, conflicts, expiry."""

import pytest

from conftest import seat_guids
from seats.models import Hold, SeatClaim, ShowtimeSeat

pytestmark = pytest.mark.django_db


def statuses(api, showtime):
    snap = api.get(f"/api/v1/showtimes/{showtime.pk}/seats/").json()
    return {s["id"]: (s["status"], s["version"]) for s in snap["seats"]}


def hold(api, showtime, seats):
    return api.post(f"/api/v1/showtimes/{showtime.pk}/holds/", {"seats": seats}, format="json")


def test_hold_takes_seats_and_shows_them_held(api, showtime):
    a, b = seat_guids(showtime, 2)
    response = hold(api, showtime, [a, b])
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "active" and body["showtime"] == showtime.pk
    assert [s["id"] for s in body["seats"]] == [a, b]
    assert body["total"] == "160.00"  # two "Front" seats at 80.00
    assert body["seats"][0]["label"] == "Hall A-1"
    seen = statuses(api, showtime)
    assert seen[a] == ("held", 2) and seen[b] == ("held", 2)
    counts = api.get(f"/api/v1/showtimes/{showtime.pk}/").json()["counts"]
    assert counts == {"available": 8, "held": 2, "reserved": 0, "sold": 0, "blocked": 0}


def test_second_post_extends_the_hold_without_moving_its_expiry(api, showtime):
    a, b = seat_guids(showtime, 2)
    first = hold(api, showtime, [a]).json()
    second = hold(api, showtime, [b])
    assert second.status_code == 200
    assert second.json()["id"] == first["id"]
    assert second.json()["expires_at"] == first["expires_at"]
    assert len(second.json()["seats"]) == 2


def test_second_buyer_gets_409_naming_the_taken_seat_and_takes_nothing(api, other_api, showtime):
    a, b, c = seat_guids(showtime, 3)
    hold(api, showtime, [a])
    response = hold(other_api, showtime, [b, a, c])
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "seat_unavailable"
    assert response.json()["error"]["details"]["seats"] == ["Hall A-1"]
    seen = statuses(other_api, showtime)
    assert seen[b][0] == "available" and seen[c][0] == "available"  # all or nothing
    assert not Hold.objects.filter(user__username="bob", status="active").exists()


def test_release_some_then_all(api, showtime):
    a, b = seat_guids(showtime, 2)
    hold_id = hold(api, showtime, [a, b]).json()["id"]
    response = api.post(f"/api/v1/holds/{hold_id}/release/", {"seats": [a]}, format="json")
    assert response.status_code == 200
    assert [s["id"] for s in response.json()["seats"]] == [b]
    assert statuses(api, showtime)[a] == ("available", 3)
    response = api.post(f"/api/v1/holds/{hold_id}/release/", {}, format="json")
    assert response.json()["status"] == "released" and response.json()["seats"] == []
    assert statuses(api, showtime)[b] == ("available", 3)
    assert api.post(f"/api/v1/holds/{hold_id}/release/", {}, format="json").status_code == 409


def test_delete_releases_everything(api, showtime):
    a, b = seat_guids(showtime, 2)
    hold_id = hold(api, showtime, [a, b]).json()["id"]
    assert api.delete(f"/api/v1/holds/{hold_id}/").status_code == 204
    assert all(s == "available" for s, _ in statuses(api, showtime).values())
    assert api.delete(f"/api/v1/holds/{hold_id}/").status_code == 204
    assert api.get(f"/api/v1/holds/{hold_id}/").json()["status"] == "released"


def test_an_expired_hold_counts_as_available_without_cleanup(api, other_api, showtime, clock):
    a = seat_guids(showtime, 1)[0]
    hold(api, showtime, [a])
    clock.advance(showtime.hold_ttl + 1)
    assert statuses(other_api, showtime)[a] == ("available", 3)  # read time: version + 1
    counts = other_api.get(f"/api/v1/showtimes/{showtime.pk}/").json()["counts"]
    assert counts["available"] == 10 and counts["held"] == 0
    response = hold(other_api, showtime, [a])  # write time: the seat can be taken
    assert response.status_code == 201
    assert statuses(other_api, showtime)[a] == ("held", 4)  # expiry + new hold
    assert SeatClaim.objects.filter(showtime_seat__seat__guid=a, is_live=True).count() == 1


def test_own_expired_hold_is_replaced_by_a_new_one(api, showtime, clock):
    a, b = seat_guids(showtime, 2)
    old = hold(api, showtime, [a]).json()["id"]
    clock.advance(showtime.hold_ttl + 1)
    response = hold(api, showtime, [b])
    assert response.status_code == 201 and response.json()["id"] != old
    assert Hold.objects.get(pk=old).status == "expired"
    assert statuses(api, showtime)[a] == ("available", 3)


def test_too_many_seats_counts_the_whole_hold(api, make_showtime):
    showtime = make_showtime(max_seats_per_order=3)
    guids = seat_guids(showtime)
    assert hold(api, showtime, guids[:4]).json()["error"]["code"] == "too_many_seats"
    hold(api, showtime, guids[:2])
    response = hold(api, showtime, guids[2:4])
    assert response.status_code == 400 and response.json()["error"]["code"] == "too_many_seats"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"seats": ["not-a-seat"]}, "unknown_seats"),
        ({"seats": ["2d0b0c83-9d52-4a43-9b1c-000000000000"]}, "unknown_seats"),
        ({"seats": []}, "validation_error"),
        ({"seats": "A-1"}, "validation_error"),
        ({"seats": [1, 2]}, "unknown_seats"),
        ({"seats": ["x"] * 101}, "validation_error"),
        ({}, "validation_error"),
    ],
)
def test_bad_hold_input_is_a_clear_400(api, showtime, body, code):
    response = api.post(f"/api/v1/showtimes/{showtime.pk}/holds/", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert not Hold.objects.exists()


def test_duplicated_seats_are_refused(api, showtime):
    a = seat_guids(showtime, 1)[0]
    response = hold(api, showtime, [a, a])
    assert response.status_code == 400 and response.json()["error"]["code"] == "validation_error"


def test_malformed_json_is_400(api, showtime):
    response = api.post(
        f"/api/v1/showtimes/{showtime.pk}/holds/", "{oops", content_type="application/json"
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "malformed_json"


def test_holds_need_sign_in_and_unknown_showtime_is_404(api, client, showtime):
    a = seat_guids(showtime, 1)[0]
    response = client.post(
        f"/api/v1/showtimes/{showtime.pk}/holds/", {"seats": [a]}, content_type="application/json"
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert hold(api, type(showtime)(pk=999999), [a]).status_code == 404


def test_closed_showtime_refuses_holds(api, showtime):
    showtime.status = "closed"
    showtime.save()
    response = hold(api, showtime, seat_guids(showtime, 1))
    assert response.status_code == 409 and response.json()["error"]["code"] == "sales_closed"


def test_another_buyers_hold_is_404(api, other_api, showtime):
    hold_id = hold(api, showtime, seat_guids(showtime, 1)).json()["id"]
    assert other_api.get(f"/api/v1/holds/{hold_id}/").status_code == 404
    assert other_api.post(f"/api/v1/holds/{hold_id}/release/", {}, format="json").status_code == 404
    assert other_api.delete(f"/api/v1/holds/{hold_id}/").status_code == 404
    assert api.get(f"/api/v1/holds/{hold_id}/").status_code == 200
    assert ShowtimeSeat.objects.filter(status="held").count() == 1


def test_catalog_is_public(client, showtime):
    shows = client.get("/api/v1/shows/").json()
    assert shows["count"] == 1 and shows["results"][0]["title"] == "Test Night"
    listing = client.get(f"/api/v1/showtimes/?show={showtime.show_id}").json()
    assert [s["id"] for s in listing["results"]] == [showtime.pk]
    detail = client.get(f"/api/v1/showtimes/{showtime.pk}/").json()
    assert detail["categories"] == [
        # the plan's dark navy, twice: drawn in two colours a seat state never has
        {"name": "Front", "price": "80.00", "color": "#123456", "display_color": "#0072b2"},
        {"name": "Back", "price": "40.00", "color": "#123456", "display_color": "#e69f00"},
    ]
    assert detail["hold_ttl_seconds"] == 300 and detail["max_seats_per_order"] == 10
    assert client.get("/api/v1/showtimes/?starts_after=yesterday").status_code == 400


# --- Reads apply the lapse rule (domain.md, invariant 4; issue 13) ---------------------------------


def test_a_lapsed_hold_reads_expired_without_cleanup_and_as_the_cleanup_records_it(
    api, showtime, clock
):
    """Before its deadline the hold reads ``active`` with its seats; from its ``expires_at`` on it
    reads ``expired`` with no seats (as its seat map does), although nothing was written; the
    cleanup then writes exactly what was read."""
    from seats.services import hold_expire_due

    a, b = seat_guids(showtime, 2)
    hold_id = hold(api, showtime, [a, b]).json()["id"]
    clock.advance(showtime.hold_ttl - 1)
    before = api.get(f"/api/v1/holds/{hold_id}/").json()
    assert before["status"] == "active" and [s["id"] for s in before["seats"]] == [a, b]
    assert before["total"] == "160.00"

    clock.advance(1)  # exactly at expires_at: gone
    lapsed = api.get(f"/api/v1/holds/{hold_id}/")
    assert lapsed.status_code == 200
    assert before["expires_in"] == 1 and before["extensions_left"] == 2
    ended = {"status": "expired", "seats": [], "total": "0.00", "expires_in": 0}
    assert lapsed.json() == {**before, **ended, "extensions_left": 0}
    assert Hold.objects.get(pk=hold_id).status == "active"  # a read writes nothing
    assert statuses(api, showtime)[a] == ("available", 3)

    assert [str(h.pk) for h in hold_expire_due()] == [hold_id]
    assert api.get(f"/api/v1/holds/{hold_id}/").json() == lapsed.json()


def test_writes_on_a_lapsed_hold_keep_their_behaviour(api, showtime, clock):
    """Releasing a lapsed hold records its expiry (200, ``expired``), then 409 ``hold_not_active``;
    ordering it is 409 ``hold_expired``; DELETE stays 204."""
    a, b = seat_guids(showtime, 2)
    first = hold(api, showtime, [a]).json()["id"]
    clock.advance(showtime.hold_ttl + 1)
    response = api.post(f"/api/v1/holds/{first}/release/", {}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "expired"
    assert Hold.objects.get(pk=first).status == "expired"
    again = api.post(f"/api/v1/holds/{first}/release/", {}, format="json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "hold_not_active"
    assert api.delete(f"/api/v1/holds/{first}/").status_code == 204

    second = hold(api, showtime, [b]).json()["id"]
    clock.advance(showtime.hold_ttl + 1)
    order = api.post(
        "/api/v1/orders/",
        {
            "hold": second,
            "payment_method": "card",
            "customer": {"name": "A", "email": "a@example.com"},
        },
        format="json",
    )
    assert order.status_code == 409 and order.json()["error"]["code"] == "hold_expired"
    assert api.delete(f"/api/v1/holds/{second}/").status_code == 204
    assert api.get(f"/api/v1/holds/{second}/").json()["status"] == "expired"
