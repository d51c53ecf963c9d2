"""Attacks on "never sell a seat twice" (domain.md invariants 1–3), with real threads and their own
database connections: an on-sale storm, opposite-order multi-seat holds, a real deadlock that is
retried, and the database constraint on its own."""

import json
import os
import random
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from django.db import IntegrityError, connection, transaction

from conftest import assert_inventory_consistent, client_for, run_threads, seat_guids
from seats.locks import run_in_transaction
from seats.models import Hold, SeatClaim, ShowtimeSeat

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CUSTOMER = {"name": "Storm Buyer", "email": "storm@example.com", "phone": ""}


@pytest.mark.django_db(transaction=True)
def test_onsale_storm_never_sells_a_seat_twice(make_user, make_showtime):
    """8 buyers × 50 requests on a pool of 12 seats: holds, releases, orders, cancels, pays."""
    showtime = make_showtime(rows=2, seats_per_row=6, max_seats_per_order=4)
    pool = seat_guids(showtime)
    buyers, requests_each = 8, 50
    clients = [client_for(make_user()) for _ in range(buyers)]
    base = f"/api/v1/showtimes/{showtime.pk}"

    def buyer(i):
        rnd = random.Random(1000 + i)
        api = clients[i]
        codes: Counter[int | str] = Counter()
        hold_id, orders = None, []
        for n in range(requests_each):
            action = rnd.choice(
                ["hold"] * 4 + ["release", "order", "order", "one_step", "cancel", "cancel", "pay"]
            )
            if action == "hold":
                seats = rnd.sample(pool, rnd.randint(1, 4))
                r = api.post(f"{base}/holds/", {"seats": seats}, format="json")
                if r.status_code in (200, 201):
                    hold_id = r.json()["id"]
            elif action == "release" and hold_id:
                r = api.post(f"/api/v1/holds/{hold_id}/release/", {}, format="json")
            elif action == "order" and hold_id:
                r = api.post(
                    "/api/v1/orders/",
                    {"hold": hold_id, "customer": CUSTOMER, "payment_method": "card"},
                    format="json",
                    HTTP_IDEMPOTENCY_KEY=f"{i}-{n}",
                )
                hold_id = None
                if r.status_code == 201:
                    orders.append(r.json()["id"])
            elif action == "one_step":
                seats = rnd.sample(pool, rnd.randint(1, 3))
                r = api.post(
                    "/api/v1/orders/",
                    {
                        "showtime": showtime.pk,
                        "seats": seats,
                        "customer": CUSTOMER,
                        "payment_method": "cash",
                    },
                    format="json",
                )
                if r.status_code == 201:
                    orders.append(r.json()["id"])
            elif action == "cancel" and orders:
                r = api.post(f"/api/v1/orders/{orders.pop(rnd.randrange(len(orders)))}/cancel/")
            elif action == "pay" and orders:
                r = api.post(f"/api/v1/orders/{orders.pop(rnd.randrange(len(orders)))}/pay/")
            else:
                r = api.get(f"{base}/seats/")
            codes[r.status_code] += 1
            if r.status_code >= 400:
                codes[r.json()["error"]["code"]] += 1
        return codes

    started = time.perf_counter()
    results = run_threads(buyers, buyer)
    duration = time.perf_counter() - started
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, errors
    total: Counter[int | str] = sum(results, Counter())
    assert not [code for code in total if isinstance(code, int) and code >= 500], total
    assert total[201] > 0 and total["seat_unavailable"] > 0, total  # the race really happened
    counts = assert_inventory_consistent(showtime)

    figures = {
        "backend": connection.vendor,
        "buyers": buyers,
        "requests": buyers * requests_each,
        "seconds": round(duration, 2),
        "requests_per_second": round(buyers * requests_each / duration),
        "statuses": {str(k): v for k, v in sorted(total.items(), key=str)},
        "final_seats": counts,
    }
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"storm-{connection.vendor}.json").write_text(json.dumps(figures, indent=2))
    print("storm:", json.dumps(figures))


@pytest.mark.django_db(transaction=True)
def test_opposite_order_multi_seat_holds_never_deadlock(make_user, showtime):
    """Two buyers take the same four seats in opposite orders, 40 times each, at once."""
    four = seat_guids(showtime, 4)
    clients = [client_for(make_user()) for _ in range(2)]

    def buyer(i):
        seats = four if i == 0 else list(reversed(four))
        codes: Counter[int | str] = Counter()
        for _ in range(40):
            r = clients[i].post(
                f"/api/v1/showtimes/{showtime.pk}/holds/", {"seats": seats}, format="json"
            )
            codes[r.status_code] += 1
            if r.status_code == 201:
                hold_id = r.json()["id"]
                codes[clients[i].delete(f"/api/v1/holds/{hold_id}/").status_code] += 1
        return codes

    started = time.perf_counter()
    results = run_threads(2, buyer)
    assert time.perf_counter() - started < 120
    assert all(isinstance(r, Counter) for r in results), results
    total: Counter[int | str] = sum(results, Counter())
    assert set(total) <= {201, 204, 409}, total
    assert total[201] >= 2, total
    assert_inventory_consistent(showtime)


@pytest.mark.skipif(
    os.environ.get("DATABASE_URL", "").startswith("postgres") is False,
    reason="PostgreSQL only: SQLite has no row locks, so no deadlock can occur",
)
@pytest.mark.django_db(transaction=True)
def test_a_real_deadlock_is_retried_not_a_500(showtime):
    """Two transactions lock two seats in opposite orders on purpose; PostgreSQL aborts one
    (deadlock_detected) and ``run_in_transaction`` runs it again, so both finish."""
    a, b = ShowtimeSeat.objects.filter(showtime=showtime).order_by("pk")[:2]
    barrier = threading.Barrier(2)
    attempts: Counter[int] = Counter()

    def transfer(i):
        first, second = (a, b) if i == 0 else (b, a)

        def txn():
            attempts[i] += 1
            list(ShowtimeSeat.objects.select_for_update().filter(pk=first.pk))
            if attempts[i] == 1:
                barrier.wait(timeout=10)
            list(ShowtimeSeat.objects.select_for_update().filter(pk=second.pk))
            ShowtimeSeat.objects.filter(pk__in=[a.pk, b.pk]).update(block_reason=f"t{i}")
            return "done"

        return run_in_transaction(txn)

    results = run_threads(2, transfer)
    assert results == ["done", "done"]
    assert sum(attempts.values()) == 3  # exactly one of the two was retried once


@pytest.mark.django_db
def test_the_database_refuses_a_second_live_claim_even_without_the_services(showtime, make_user):
    """Raw ORM writes, no locks, no services: the partial unique index still says no."""
    seat = ShowtimeSeat.objects.filter(showtime=showtime)[0]
    holds = [
        Hold.objects.create(user=make_user(), showtime=showtime, expires_at=showtime.starts_at)
        for _ in range(2)
    ]
    SeatClaim.objects.create(showtime_seat=seat, hold=holds[0], price=1, category="Front")
    with pytest.raises(IntegrityError), transaction.atomic():
        SeatClaim.objects.create(showtime_seat=seat, hold=holds[1], price=1, category="Front")
    # An ended claim does not count: the seat can be claimed again once released.
    SeatClaim.objects.filter(showtime_seat=seat).update(is_live=False)
    SeatClaim.objects.create(showtime_seat=seat, hold=holds[1], price=1, category="Front")
    assert SeatClaim.objects.filter(showtime_seat=seat, is_live=True).count() == 1


@pytest.mark.django_db
def test_the_database_refuses_a_second_active_hold_per_buyer_and_showtime(showtime, buyer):
    Hold.objects.create(user=buyer, showtime=showtime, expires_at=showtime.starts_at)
    with pytest.raises(IntegrityError), transaction.atomic():
        Hold.objects.create(user=buyer, showtime=showtime, expires_at=showtime.starts_at)
