"""Idempotency under concurrency (api.md "Orders"; domain.md invariant 6): the unique constraint
on (user, key) lets exactly one of many simultaneous requests create the order; the others get 409
``idempotency_in_progress`` (PostgreSQL, while the first runs) or the replayed answer."""

from collections import Counter

import pytest

from conftest import client_for, run_threads, seat_guids
from orders.models import IdempotencyKey, Order

pytestmark = pytest.mark.django_db(transaction=True)


def test_same_key_from_ten_threads_creates_one_order(buyer, showtime):
    api = client_for(buyer)
    hold_id = api.post(
        f"/api/v1/showtimes/{showtime.pk}/holds/", {"seats": seat_guids(showtime, 2)}, format="json"
    ).json()["id"]
    body = {
        "hold": hold_id,
        "customer": {"name": "A", "email": "a@example.com"},
        "payment_method": "card",
    }
    clients = [client_for(buyer) for _ in range(10)]

    def send(i):
        r = clients[i].post(
            "/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="one-order-please"
        )
        code = r.json().get("error", {}).get("code")
        return r.status_code, code, r.headers.get("Idempotent-Replayed"), r.json().get("id")

    results = run_threads(10, send)
    assert all(isinstance(r, tuple) for r in results), results
    assert Order.objects.count() == 1
    order_id = Order.objects.get().pk
    kinds: Counter[str] = Counter()
    for status, code, replayed, body_id in results:
        if status == 201:
            assert body_id == order_id
            kinds["replayed" if replayed == "true" else "created"] += 1
        else:
            assert (status, code) == (409, "idempotency_in_progress"), (status, code)
            kinds["in_progress"] += 1
    assert kinds["created"] == 1, kinds
    assert IdempotencyKey.objects.get().response_status == 201
    # once the first answer is stored every repeat replays it
    r = clients[0].post(
        "/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="one-order-please"
    )
    assert (
        r.status_code == 201 and r["Idempotent-Replayed"] == "true" and r.json()["id"] == order_id
    )
