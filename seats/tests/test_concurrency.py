"""Real threads, each with its own database connection, racing for the same seats (domain.md,
invariants 1–3). Runs on whichever database the settings name: SQLite (WAL, IMMEDIATE) by default,
PostgreSQL in the second pass of ``.ci/run``."""

from collections import Counter

import pytest

from conftest import client_for, run_threads, seat_guids
from seats.models import SeatClaim, ShowtimeSeat

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 12


def test_many_buyers_one_seat_exactly_one_wins(make_user, showtime):
    seat = seat_guids(showtime, 1)[0]
    clients = [client_for(make_user()) for _ in range(THREADS)]

    def attempt(i):
        response = clients[i].post(
            f"/api/v1/showtimes/{showtime.pk}/holds/", {"seats": [seat]}, format="json"
        )
        return response.status_code, response.json()

    results = run_threads(THREADS, attempt)
    assert not [r for r in results if isinstance(r, BaseException)], results
    codes = Counter(status for status, _ in results)
    assert codes[201] == 1, codes
    assert codes[409] == THREADS - 1, codes
    losers = [body for status, body in results if status == 409]
    assert {b["error"]["code"] for b in losers} <= {"seat_unavailable", "busy"}
    row = ShowtimeSeat.objects.get(showtime=showtime, seat__guid=seat)
    assert row.status == "held" and row.version == 2
    assert SeatClaim.objects.filter(showtime_seat=row, is_live=True).count() == 1


def test_overlapping_multi_seat_holds_never_share_a_seat(make_user, showtime):
    guids = seat_guids(showtime)
    clients = [client_for(make_user()) for _ in range(THREADS)]

    def attempt(i):
        # Thread i wants seats i..i+2 (mod 10), half of them listed in reverse order.
        wanted = [guids[(i + k) % len(guids)] for k in range(3)]
        if i % 2:
            wanted.reverse()
        response = clients[i].post(
            f"/api/v1/showtimes/{showtime.pk}/holds/", {"seats": wanted}, format="json"
        )
        return response.status_code, wanted

    results = run_threads(THREADS, attempt)
    assert all(not isinstance(r, BaseException) for r in results), results
    assert {status for status, _ in results} <= {201, 409}
    won = [set(wanted) for status, wanted in results if status == 201]
    assert won
    taken = [seat for seats in won for seat in seats]
    assert len(taken) == len(set(taken))  # no seat in two holds
    held = {
        str(g)
        for g in ShowtimeSeat.objects.filter(showtime=showtime, status="held").values_list(
            "seat__guid", flat=True
        )
    }
    assert held == set(taken)
    assert SeatClaim.objects.filter(is_live=True).count() == len(taken)
