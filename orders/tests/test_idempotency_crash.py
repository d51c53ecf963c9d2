"""Crash-safe idempotency (issue 14, case 4; docs/api.md "Orders"; domain.md invariant 6): the
answer of an ``Idempotency-Key`` is stored in the order's own transaction, so a server killed at
any point leaves either no order (the key is free at once) or an order that the key replays.

Against real uvicorn processes on the test database (``asgi_server``), killed with SIGKILL in the
middle of a burst of one-step orders, and in-process with a failure injected into the last step
of the order's transaction."""

import random
import threading
import time
import uuid

import pytest
import requests
from django.db import connection, transaction
from rest_framework_simplejwt.tokens import RefreshToken

from conftest import assert_inventory_consistent, client_for, seat_guids
from orders import api as orders_api
from orders.idempotency import KeyInTransaction, fingerprint
from orders.models import IdempotencyKey, Order
from seats.models import ShowtimeSeat

pytestmark = pytest.mark.django_db(transaction=True)

CUSTOMER = {"name": "Alice Buyer", "email": "alice@example.com", "phone": ""}
BUYERS = 6  # one thread per buyer, each with its own token
ORDERS_PER_BUYER = 8  # one seat each; the per-buyer caps are raised to this (CAPS)
KILL_AFTER = 8  # answers received before a kill: the burst is well under way
KILLS = 2


def _body(showtime_id: int, seat: str) -> dict:
    return {
        "showtime": showtime_id,
        "seats": [seat],
        "customer": CUSTOMER,
        "payment_method": "card",
    }


def _post(base: str, token: str, key: str, body: dict) -> requests.Response:
    return requests.post(
        f"{base}/api/v1/orders/",
        json=body,
        timeout=20,
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key},
    )


CAPS = {"MAX_PENDING_ORDERS_PER_BUYER": str(ORDERS_PER_BUYER)}


def test_kill_9_during_a_burst_of_orders_leaves_every_key_replayable_or_free(
    asgi_server, make_user, make_showtime
):
    """SIGKILL of the server in the middle of 6 buyers' bursts of one-step orders (distinct keys,
    distinct seats), twice (a new server, the bursts go on with new keys, killed again); then a
    new server and a retry of every key sent. Each retry answers 201: the first answer replayed
    (same order as any answer the client did receive) or the order made now; every order in the
    database is one a key returns; no key stays "in progress".
    (Was: the key rows of the requests in flight had no answer: 409 ``idempotency_in_progress``
    for 60 s, then 409 ``seat_unavailable`` with the buyer's own order holding the seat.)"""
    # Every order stays unpaid: the per-buyer caps (docs/api.md) are raised to the burst's size.
    showtime = make_showtime(
        rows=BUYERS, seats_per_row=ORDERS_PER_BUYER, max_seats_per_buyer=max(ORDERS_PER_BUYER, 10)
    )
    seats = seat_guids(showtime)
    tokens = [str(RefreshToken.for_user(make_user()).access_token) for _ in range(BUYERS)]
    sent: dict[str, tuple[int, dict]] = {}  # key → (buyer, body)
    answers: dict[str, requests.Response] = {}  # key → the answer the client received
    next_order = [0] * BUYERS
    lock = threading.Lock()

    def burst(base: str, answered: threading.Semaphore, start: threading.Barrier, i: int):
        start.wait()
        while next_order[i] < ORDERS_PER_BUYER:
            n = next_order[i]
            next_order[i] += 1
            key, body = f"crash-{i}-{n}", _body(showtime.pk, seats[i * ORDERS_PER_BUYER + n])
            with lock:
                sent[key] = (i, body)
            try:
                response = _post(base, tokens[i], key, body)
            except requests.RequestException:
                return  # the server died with this request in flight
            with lock:
                answers[key] = response
            answered.release()

    for _ in range(KILLS):
        base = asgi_server(env=CAPS, server="uvicorn")
        server = asgi_server.processes[-1][0]
        answered, start = threading.Semaphore(0), threading.Barrier(BUYERS)
        threads = [
            threading.Thread(target=burst, args=(base, answered, start, i)) for i in range(BUYERS)
        ]
        for t in threads:
            t.start()
        for _ in range(KILL_AFTER):
            assert answered.acquire(timeout=20), "the burst did not get going"
        time.sleep(random.uniform(0, 0.03))  # anywhere inside the next request's transaction
        server.kill()  # SIGKILL: no shutdown, no rollback by the process itself
        server.wait(10)
        for t in threads:
            t.join(30)
        assert not any(t.is_alive() for t in threads)

    in_flight = sent.keys() - answers.keys()
    assert KILLS * KILL_AFTER <= len(answers) < len(sent)
    assert in_flight, "no request was in flight at the kills"
    for key, response in answers.items():
        assert response.status_code == 201, (key, response.status_code, response.text)

    base = asgi_server(env=CAPS, server="uvicorn")
    returned: dict[str, int] = {}
    for key, (i, body) in sorted(sent.items()):
        retry = _post(base, tokens[i], key, body)
        assert retry.status_code == 201, (key, key in answers, retry.status_code, retry.text)
        returned[key] = retry.json()["id"]
        if key in answers:
            assert retry.headers.get("Idempotent-Replayed") == "true", key
            assert retry.json() == answers[key].json(), key

    # Every order is one a key returns, on the seat that key asked for; nothing else is taken.
    orders = {o.pk: o for o in Order.objects.filter(showtime=showtime)}
    assert sorted(orders) == sorted(returned.values())
    for key, order_id in returned.items():
        seat = sent[key][1]["seats"][0]
        assert orders[order_id].status == "pending"
        assert list(
            orders[order_id].claims.values_list("showtime_seat__seat__guid", flat=True)
        ) == [uuid.UUID(seat)], key
    counts = assert_inventory_consistent(showtime)
    assert counts.get("reserved") == len(sent) and "held" not in counts
    assert not IdempotencyKey.objects.filter(response_status__isnull=True).exists()
    assert IdempotencyKey.objects.count() == len(sent)


def test_a_failure_in_the_last_step_of_the_order_leaves_no_order_and_frees_the_key(
    buyer, showtime, monkeypatch
):
    """The answer is rendered and stored inside the order's transaction: a failure there (as a
    crash would be) rolls the order back with the key, and the retry creates the order.
    (Was: the order committed, the key was forgotten, the retry got 409 ``seat_unavailable``.)"""
    api = client_for(buyer)
    seat = seat_guids(showtime, 1)[0]
    body = _body(showtime.pk, seat)
    real = orders_api.order_answer

    def broken(order):
        raise OSError("the process died while answering")

    monkeypatch.setattr(orders_api, "order_answer", broken)
    with pytest.raises(OSError, match="the process died"):
        api.post("/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="last-step")
    assert not Order.objects.exists() and not IdempotencyKey.objects.exists()
    assert ShowtimeSeat.objects.get(seat__guid=seat).status == "available"

    monkeypatch.setattr(orders_api, "order_answer", real)
    retry = api.post("/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="last-step")
    assert retry.status_code == 201 and "Idempotent-Replayed" not in retry
    assert retry.json()["id"] == Order.objects.get().pk
    replay = api.post("/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="last-step")
    assert replay["Idempotent-Replayed"] == "true" and replay.json() == retry.json()


def test_a_duplicate_while_the_first_transaction_runs(buyer, showtime):
    """While another transaction holds the key (claimed, not committed): on PostgreSQL the
    duplicate answers 409 ``idempotency_in_progress`` at once (the advisory lock of the claim);
    on SQLite, whose writers are serialised, it waits and runs once the holder is gone. Either
    way, the holder rolling back (or dying) leaves the key free: no stale "in progress"."""
    api = client_for(buyer)
    body = _body(showtime.pk, seat_guids(showtime, 1)[0])
    claimed, release = threading.Event(), threading.Event()

    def holder():
        try:
            with transaction.atomic():
                KeyInTransaction(
                    user_id=buyer.pk,
                    key="busy",
                    digest=fingerprint(body),
                    render=lambda order: (201, {}),
                ).claim()
                claimed.set()
                release.wait(5 if connection.vendor == "postgresql" else 0.5)
                transaction.set_rollback(True)  # as a crash: nothing of it commits
        finally:
            connection.close()

    thread = threading.Thread(target=holder)
    thread.start()
    assert claimed.wait(10)
    first = api.post("/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="busy")
    if connection.vendor == "postgresql":
        assert first.status_code == 409, first.content
        assert first.json()["error"]["code"] == "idempotency_in_progress"
        assert first["Retry-After"] == "1" and not Order.objects.exists()
        release.set()
        thread.join(10)
        first = api.post("/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="busy")
    thread.join(10)
    assert first.status_code == 201 and "Idempotent-Replayed" not in first, first.content
    assert Order.objects.get().pk == first.json()["id"]
    assert IdempotencyKey.objects.get().response_status == 201
