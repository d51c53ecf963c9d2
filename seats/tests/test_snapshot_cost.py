"""The seat map is read with a constant number of queries whatever the plan size (issue: snapshot
cost), and its WebSocket form stays compact."""

import json

import pytest

from seats.layout import plan_layout
from seats.selectors import seat_snapshot, seat_states

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("rows", "per_row"), [(1, 3), (10, 30)])
def test_snapshot_queries_do_not_grow_with_the_plan(
    make_showtime, django_assert_num_queries, rows, per_row
):
    showtime = make_showtime(rows=rows, seats_per_row=per_row)
    with django_assert_num_queries(3):  # prices + seats + general-admission areas
        snapshot = seat_snapshot(showtime.pk)
    assert len(snapshot["seats"]) == rows * per_row
    with django_assert_num_queries(1):
        _, states = seat_states(showtime.pk)
    assert len(states) == rows * per_row


def test_api_snapshot_and_showtime_use_few_queries(
    client, make_showtime, django_assert_max_num_queries
):
    showtime = make_showtime(rows=10, seats_per_row=30)
    with django_assert_max_num_queries(5):  # showtime + categories + prices + seats + GA
        assert client.get(f"/api/v1/showtimes/{showtime.pk}/seats/").status_code == 200
    # The first read of a plan's layout builds it (once per version and process: seats.layout).
    plan_layout(showtime.plan_id)
    with django_assert_max_num_queries(5):
        assert client.get(f"/api/v1/showtimes/{showtime.pk}/").status_code == 200
    with django_assert_max_num_queries(3):  # showtime (with its plan's layout version) + seats + GA
        assert client.get(f"/api/v1/showtimes/{showtime.pk}/live/").status_code == 200


def test_frame_seats_are_compact(make_showtime):
    showtime = make_showtime(rows=10, seats_per_row=30)
    _, states = seat_states(showtime.pk)
    encoded = json.dumps(states, separators=(",", ":"))
    assert len(encoded) / len(states) < 80  # bytes per seat: guid, status, version
