"""Extending a hold and listing the buyer's holds (api.md "Holds": ``POST holds/{id}/extend/``,
``GET holds/``; issue 16): the new deadline of the hold and of its seats, the caps
(``max_hold_extensions``, ``max_hold_seconds``), the refusals, the cleanup, ``hold.updated``."""

from datetime import datetime, timedelta

import pytest
from channels.db import database_sync_to_async
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from conftest import assert_inventory_consistent, seat_guids
from seats.models import Hold, SeatEvent, ShowtimeSeat
from seats.tests.test_query_budget import statements

pytestmark = pytest.mark.django_db


def hold(api, showtime, seats):
    response = api.post(f"/api/v1/showtimes/{showtime.pk}/holds/", {"seats": seats}, format="json")
    assert response.status_code in (200, 201), response.content
    return response.json()


def extend(api, hold_id):
    return api.post(f"/api/v1/holds/{hold_id}/extend/")


def error(response) -> dict:
    return response.json()["error"]


def at(iso: str) -> datetime:
    return datetime.fromisoformat(iso)


def seat_deadlines(showtime) -> dict[str, tuple]:
    return {
        str(guid): (status, version, expires_at)
        for guid, status, version, expires_at in ShowtimeSeat.objects.filter(
            showtime=showtime
        ).values_list("seat__guid", "status", "version", "expires_at")
    }


def test_an_extension_moves_the_deadline_of_the_hold_and_of_its_seats(api, showtime, clock):
    a, b = seat_guids(showtime, 2)
    made = hold(api, showtime, [a, b])
    assert made["extensions_left"] == 2 and made["expires_in"] == showtime.hold_ttl
    created_at = Hold.objects.get(pk=made["id"]).created_at
    assert at(made["max_expires_at"]) == created_at + timedelta(seconds=900)
    events = SeatEvent.objects.count()
    clock.advance(100)

    from django.utils import timezone

    before = timezone.now()
    response = extend(api, made["id"])
    after = timezone.now()

    assert response.status_code == 200, response.content
    body = response.json()
    expires_at = at(body["expires_at"])
    ttl = timedelta(seconds=showtime.hold_ttl)
    assert before + ttl <= expires_at <= after + ttl
    assert body["status"] == "active" and [s["id"] for s in body["seats"]] == [a, b]
    assert body["extensions_left"] == 1 and body["expires_in"] == showtime.hold_ttl
    assert body["max_expires_at"] == made["max_expires_at"] and body["total"] == made["total"]
    stored = Hold.objects.get(pk=made["id"])
    assert stored.expires_at == expires_at and stored.extensions == 1
    seats = seat_deadlines(showtime)
    assert seats[a] == seats[b] == ("held", 2, expires_at)  # same status and version
    assert SeatEvent.objects.count() == events  # no status changed: nothing to audit
    assert_inventory_consistent(showtime)
    assert api.get(f"/api/v1/holds/{made['id']}/").json() == body


def test_the_third_extension_is_refused_with_the_default_caps(api, showtime, clock):
    made = hold(api, showtime, seat_guids(showtime, 1))
    for left in (1, 0):
        clock.advance(100)
        response = extend(api, made["id"])
        assert response.status_code == 200 and response.json()["extensions_left"] == left
    last = Hold.objects.get(pk=made["id"])
    clock.advance(100)

    refused = extend(api, made["id"])

    assert refused.status_code == 409
    assert error(refused)["code"] == "extension_limit"
    assert error(refused)["details"] == {
        "extensions": 2,
        "max_extensions": 2,
        "max_expires_at": made["max_expires_at"],
    }
    stored = Hold.objects.get(pk=made["id"])
    assert (stored.expires_at, stored.extensions) == (last.expires_at, 2)
    assert_inventory_consistent(showtime)


def test_max_hold_seconds_caps_the_new_deadline(api, make_showtime, clock):
    showtime = make_showtime(hold_ttl=300, max_hold_seconds=400, max_hold_extensions=5)
    made = hold(api, showtime, seat_guids(showtime, 2))
    created_at = Hold.objects.get(pk=made["id"]).created_at
    clock.advance(50)
    first = extend(api, made["id"]).json()
    assert at(first["expires_at"]) < created_at + timedelta(seconds=400)
    assert first["extensions_left"] == 4
    clock.advance(150)

    capped = extend(api, made["id"])

    assert capped.status_code == 200
    assert at(capped.json()["expires_at"]) == created_at + timedelta(seconds=400)
    assert capped.json()["max_expires_at"] == capped.json()["expires_at"]
    assert capped.json()["extensions_left"] == 0  # nothing could move it any more
    assert_inventory_consistent(showtime)
    clock.advance(50)
    refused = extend(api, made["id"])
    assert refused.status_code == 409 and error(refused)["code"] == "extension_limit"
    assert error(refused)["details"]["extensions"] == 2
    assert Hold.objects.get(pk=made["id"]).extensions == 2


def test_an_extension_that_would_not_move_the_deadline_is_refused(api, make_showtime):
    """Right after the hold was made, now + ttl is its current deadline: nothing to gain."""
    showtime = make_showtime(hold_ttl=300, max_hold_seconds=300)
    made = hold(api, showtime, seat_guids(showtime, 1))
    assert made["extensions_left"] == 0
    refused = extend(api, made["id"])
    assert refused.status_code == 409 and error(refused)["code"] == "extension_limit"
    assert Hold.objects.get(pk=made["id"]).extensions == 0


def test_a_showtime_without_extensions_refuses_them(api, make_showtime, clock):
    showtime = make_showtime(max_hold_extensions=0)
    made = hold(api, showtime, seat_guids(showtime, 1))
    assert made["extensions_left"] == 0
    clock.advance(10)
    refused = extend(api, made["id"])
    assert refused.status_code == 409
    assert error(refused)["details"]["max_extensions"] == 0


def test_a_lapsed_hold_is_expired_not_extended(api, showtime, clock):
    a = seat_guids(showtime, 1)[0]
    made = hold(api, showtime, [a])
    clock.advance(showtime.hold_ttl)  # exactly at expires_at: lapsed

    refused = extend(api, made["id"])

    assert refused.status_code == 409 and error(refused)["code"] == "hold_expired"
    stored = Hold.objects.get(pk=made["id"])
    assert stored.status == "expired" and stored.extensions == 0  # the expiry is recorded
    read = api.get(f"/api/v1/holds/{made['id']}/").json()
    assert read["status"] == "expired" and read["seats"] == [] and read["expires_in"] == 0
    assert seat_deadlines(showtime)[a] == ("available", 3, None)
    assert_inventory_consistent(showtime)
    again = extend(api, made["id"])
    assert again.status_code == 409 and error(again)["code"] == "hold_expired"


def test_a_released_hold_is_not_active(api, showtime):
    made = hold(api, showtime, seat_guids(showtime, 1))
    api.post(f"/api/v1/holds/{made['id']}/release/", {}, format="json")
    refused = extend(api, made["id"])
    assert refused.status_code == 409
    assert error(refused)["code"] == "hold_not_active"
    assert error(refused)["details"] == {"status": "released"}


def test_another_buyers_hold_and_ids_that_are_not_holds_are_404(api, other_api, showtime, clock):
    made = hold(api, showtime, seat_guids(showtime, 1))
    clock.advance(10)
    for response in (
        extend(other_api, made["id"]),
        extend(api, "not-a-uuid"),
        extend(api, "00000000-0000-0000-0000-000000000000"),
    ):
        assert response.status_code == 404
        assert set(response.json()) == {"error"}
        assert error(response)["code"] == "not_found"
    assert Hold.objects.get(pk=made["id"]).extensions == 0


def test_extensions_count_against_the_hold_rate_limit(settings, api, showtime):
    from django.core.cache import cache

    settings.RATELIMIT_ENABLE = True
    settings.RATELIMIT_HOLDS = "2/m"
    cache.clear()
    made = hold(api, showtime, seat_guids(showtime, 1))  # one of the two
    assert extend(api, made["id"]).status_code == 409  # counted too: nothing to gain yet
    limited = extend(api, made["id"])
    assert limited.status_code == 429 and error(limited)["code"] == "rate_limited"
    assert int(limited["Retry-After"]) > 0


def test_an_extension_needs_sign_in(client, api, showtime):
    made = hold(api, showtime, seat_guids(showtime, 1))
    response = client.post(f"/api/v1/holds/{made['id']}/extend/")
    assert response.status_code == 401


def test_the_cleanup_keeps_an_extended_hold_until_its_new_deadline(api, showtime, clock):
    from seats.services import hold_expire_due

    a = seat_guids(showtime, 1)[0]
    made = hold(api, showtime, [a])
    clock.advance(200)
    extended = extend(api, made["id"]).json()
    clock.advance(showtime.hold_ttl - 200 + 1)  # past the old deadline

    assert hold_expire_due() == []
    assert Hold.objects.get(pk=made["id"]).status == "active"
    assert api.get(f"/api/v1/holds/{made['id']}/").json()["status"] == "active"
    assert seat_deadlines(showtime)[a][0:2] == ("held", 2)

    clock.advance(200)  # past the new one
    assert [str(h.pk) for h in hold_expire_due()] == [extended["id"]]
    assert Hold.objects.get(pk=made["id"]).status == "expired"
    assert seat_deadlines(showtime)[a] == ("available", 3, None)
    assert_inventory_consistent(showtime)


# An extension: (transaction) the hold locked with its showtime, its live claims, its seats
# locked, the seats' deadline, the hold row. Constant in the number of seats.
EXTEND = 5


@pytest.mark.parametrize("n", [1, 4])
def test_an_extension_takes_a_fixed_number_of_statements(api, showtime, clock, n):
    made = hold(api, showtime, seat_guids(showtime, n))
    clock.advance(10)
    with CaptureQueriesContext(connection) as extended:
        assert extend(api, made["id"]).status_code == 200
    assert len(statements(extended)) == EXTEND, "\n".join(statements(extended))


def test_lock_one_reads_the_related_row_in_the_same_statement(api, showtime):
    from seats.locks import lock_one

    made = hold(api, showtime, seat_guids(showtime, 1))
    with transaction.atomic(), CaptureQueriesContext(connection) as read:
        locked = lock_one(Hold, {"pk": made["id"]}, related="showtime")
        assert locked is not None
        assert locked.showtime.max_hold_seconds == showtime.max_hold_seconds
        assert locked.showtime.hold_ttl == showtime.hold_ttl
    assert len(statements(read)) == 1, statements(read)
    if connection.vendor == "postgresql":
        assert statements(read)[0].rstrip().endswith("FOR UPDATE OF t")


# ------------------------------------------------------------------------------------ GET holds/


def test_the_list_shows_the_buyers_live_holds_across_showtimes_newest_first(
    api, other_api, make_showtime, clock
):
    first, second, third = make_showtime(), make_showtime(), make_showtime(hold_ttl=60)
    older = hold(api, first, seat_guids(first, 2))
    clock.advance(1)
    lapsing = hold(api, third, seat_guids(third, 1))
    clock.advance(1)
    newer = hold(api, second, seat_guids(second, 1))
    hold(other_api, second, seat_guids(second, 3)[1:])  # another buyer's
    clock.advance(60)  # the hold on ``third`` lapses

    response = api.get("/api/v1/holds/")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 2 and body["next"] is None and body["previous"] is None
    assert [h["id"] for h in body["results"]] == [newer["id"], older["id"]]
    assert lapsing["id"] not in {h["id"] for h in body["results"]}
    for listed in body["results"]:
        assert listed == api.get(f"/api/v1/holds/{listed['id']}/").json()
    assert [s["id"] for s in body["results"][1]["seats"]] == seat_guids(first, 2)


def test_the_list_is_paginated_like_orders(api, make_showtime):
    for showtime in (make_showtime(), make_showtime(), make_showtime()):
        hold(api, showtime, seat_guids(showtime, 1))
    page = api.get("/api/v1/holds/?limit=2").json()
    assert page["count"] == 3 and len(page["results"]) == 2
    assert "offset=2" in page["next"] and page["previous"] is None
    rest = api.get(page["next"]).json()
    assert len(rest["results"]) == 1 and rest["next"] is None
    ids = {h["id"] for h in page["results"] + rest["results"]}
    assert len(ids) == 3


def test_the_list_reads_the_claims_of_a_page_in_one_query(api, make_showtime):
    showtimes = [make_showtime() for _ in range(3)]
    hold(api, showtimes[0], seat_guids(showtimes[0], 2))
    api.get("/api/v1/holds/")  # warm up: the first request of a token reads its user
    with CaptureQueriesContext(connection) as one:
        assert api.get("/api/v1/holds/").json()["count"] == 1
    for showtime in showtimes[1:]:
        hold(api, showtime, seat_guids(showtime, 3))
    with CaptureQueriesContext(connection) as three:
        assert api.get("/api/v1/holds/").json()["count"] == 3
    assert len(statements(three)) == len(statements(one))


def test_the_list_needs_sign_in_and_is_empty_without_holds(client, api):
    assert client.get("/api/v1/holds/").status_code == 401
    assert api.get("/api/v1/holds/").json() == {
        "count": 0,
        "next": None,
        "previous": None,
        "results": [],
    }


# ------------------------------------------------------------------------------ hold.updated


@pytest.mark.django_db(transaction=True)
async def test_the_owner_gets_hold_updated_with_the_new_deadline(showtime, buyer, clock):
    from realtime.tests.test_consumers import connect, receive, session_cookie
    from seats.services import hold_create, hold_extend

    ws, connected, _ = await connect(
        showtime.pk, cookie=await database_sync_to_async(session_cookie)(buyer)
    )
    assert connected
    await receive(ws)  # the snapshot
    seats = await database_sync_to_async(seat_guids)(showtime, 1)
    made = (
        await database_sync_to_async(hold_create)(
            user=buyer, showtime_id=showtime.pk, seat_ids=seats
        )
    ).hold
    assert {(await receive(ws))["type"] for _ in range(2)} == {"seats.changed", "hold.updated"}
    clock.advance(30)

    extended = await database_sync_to_async(hold_extend)(user=buyer, hold_id=made.pk)

    frame = await receive(ws)
    assert frame["type"] == "hold.updated"
    assert frame["hold"] == extended.detail
    assert frame["hold"]["expires_at"] == extended.hold.expires_at.isoformat()
    assert at(frame["hold"]["expires_at"]) > made.expires_at
    assert frame["hold"]["extensions_left"] == 1
    assert await ws.receive_nothing(timeout=0.2)  # no seats.changed: no seat changed status
    await ws.disconnect()
