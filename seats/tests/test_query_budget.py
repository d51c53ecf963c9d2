"""The statements a hold costs (issue #7: "a hold or order in a constant, small number of queries").

Each statement is a round trip and ORM work on the busiest path of an on-sale (bench/README.md,
"onsale"), so the counts are pinned: a change that adds one fails here and must say why. The
counts do not grow with the number of seats in the request.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conftest import seat_guids

pytestmark = pytest.mark.django_db

# The buyer lock of the per-buyer caps (seats/locks.py: lock_buyer): one statement on PostgreSQL
# (pg_advisory_xact_lock); none on SQLite, whose IMMEDIATE transaction already serialises writers.
# It cannot share a statement with the count it protects: a statement reads as of its start, so a
# count in the statement that waited for the lock could miss what the lock's holder committed.
BUYER_LOCK = 1 if connection.vendor == "postgresql" else 0

# Statements per request, the same on SQLite and PostgreSQL apart from BUYER_LOCK. A hold:
# showtime, seat ids, (transaction) [buyer lock], the buyer's active hold locked, what the buyer
# has held or in pending orders of the showtime (the per-buyer caps, issue #14: one statement,
# unavoidable, as a cap must be counted under the lock), new hold row, seats locked with their
# prices, claims inserted, seats updated, audit rows inserted (+ BEGIN/COMMIT where the backend
# logs them).
HOLD_NEW = 9 + BUYER_LOCK
# A release: (transaction) hold locked, its live claims, seats locked, claims ended, seats updated,
# audit rows inserted, hold row updated.
RELEASE_ALL = 7


def statements(capture) -> list[str]:
    """The SQL statements of a capture, without transaction control (logged by some backends)."""
    return [
        q["sql"]
        for q in capture.captured_queries
        if q["sql"].split()[0].upper() not in ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE")
    ]


@pytest.mark.parametrize("n", [1, 4])
def test_a_hold_and_its_release_take_a_fixed_number_of_statements(api, showtime, n):
    warm, *seats = seat_guids(showtime, n + 1)
    url = f"/api/v1/showtimes/{showtime.pk}/holds/"
    # Warm up: the first request of a token reads its user row (ticketing/authentication.py).
    api.delete(f"/api/v1/holds/{api.post(url, {'seats': [warm]}, format='json').json()['id']}/")

    with CaptureQueriesContext(connection) as made:
        response = api.post(url, {"seats": seats}, format="json")
    assert response.status_code == 201, response.content
    assert [s["id"] for s in response.json()["seats"]] == seats
    with CaptureQueriesContext(connection) as released:
        response = api.delete(f"/api/v1/holds/{response.json()['id']}/")
    assert response.status_code in (200, 204), response.content

    assert len(statements(made)) == HOLD_NEW, "\n".join(statements(made))
    assert len(statements(released)) == RELEASE_ALL, "\n".join(statements(released))
    assert not any("auth_user" in sql for sql in statements(made) + statements(released))


# A one-step order (api.md ``POST orders/`` with ``seats``) with an Idempotency-Key: showtime, seat
# ids, (transaction) key row claimed, [buyer lock], the buyer's seats and pending orders (the caps,
# as for a hold), hold row, seats locked with prices, claims, seats held, audit, order row, its
# number, claims → order, seats reserved, audit, key answer stored. Both key statements are inside
# the order's transaction (crash safety, orders/idempotency.py).
ORDER_ONE_STEP = 15 + BUYER_LOCK
# Paying it (demo provider): order locked, payment row, claims, seats locked, seats sold, audit,
# tickets, order paid, the confirmation e-mail's outbox row (the worker renders and sends it,
# off the request: orders/emails.py).
PAY = 9


def test_a_one_step_order_and_its_payment_take_a_fixed_number_of_statements(api, showtime):
    warm, seat = seat_guids(showtime, 2)
    body = {
        "showtime": showtime.pk,
        "payment_method": "card",
        "customer": {"name": "A", "email": "a@example.com"},
    }
    api.post("/api/v1/orders/", {**body, "seats": [warm]}, format="json")  # reads the JWT's user

    with CaptureQueriesContext(connection) as ordered:
        response = api.post(
            "/api/v1/orders/",
            {**body, "seats": [seat]},
            format="json",
            HTTP_IDEMPOTENCY_KEY="budget-1",
        )
    assert response.status_code == 201, response.content
    assert [t["seat"]["id"] for t in response.json()["tickets"]] == [seat]
    with CaptureQueriesContext(connection) as paid:
        response = api.post(f"/api/v1/orders/{response.json()['id']}/pay/")
    assert response.status_code == 200 and response.json()["status"] == "paid"

    assert len(statements(ordered)) == ORDER_ONE_STEP, "\n".join(statements(ordered))
    assert len(statements(paid)) == PAY, "\n".join(statements(paid))
