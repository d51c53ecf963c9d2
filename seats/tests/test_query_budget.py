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

# Statements per request, the same on SQLite and PostgreSQL. A hold: showtime, seat ids,
# (transaction) the buyer's active hold locked, new hold row, seats locked with their prices,
# claims inserted, seats updated, audit rows inserted (+ BEGIN/COMMIT where the backend logs them).
HOLD_NEW = 8
# A release: (transaction) hold locked, its live claims, seats locked, claims ended, seats updated,
# audit rows inserted, hold row updated.
RELEASE_ALL = 7


def statements(capture) -> list[str]:
    """The SQL statements of a capture, without transaction control (logged by some backends)."""
    return [q["sql"] for q in capture.captured_queries
            if q["sql"].split()[0].upper() not in ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE")]


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
