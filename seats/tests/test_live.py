"""The live form of a seat map (``GET showtimes/{id}/live/``; docs/api.md "Live form") says what
the full form ``GET showtimes/{id}/seats/`` says, seat by seat, in a few bytes per seat."""

import gzip
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from conftest import seat_guids, snapshot_states
from seats.layout import plan_layout
from seats.models import Seat, ShowtimeSeat
from seats.selectors import seat_live

pytestmark = pytest.mark.django_db


def _set(showtime, guid, **values):
    ShowtimeSeat.objects.filter(showtime=showtime, seat__guid=guid).update(**values)


def test_the_live_form_decodes_to_exactly_the_full_form(api, client, make_showtime):
    showtime = make_showtime(rows=3, seats_per_row=6)
    guids = seat_guids(showtime)
    now = timezone.now()
    later, earlier = now + timedelta(minutes=5), now - timedelta(seconds=1)
    assert (
        api.post(
            f"/api/v1/showtimes/{showtime.pk}/holds/", {"seats": guids[:2]}, format="json"
        ).status_code
        == 201
    )  # held, version 2
    _set(showtime, guids[2], status="reserved", version=7, expires_at=later)
    _set(showtime, guids[3], status="sold", version=9)
    _set(showtime, guids[4], status="blocked", version=3)
    _set(showtime, guids[5], status="held", version=4, expires_at=earlier)  # lapsed: available, 5
    _set(showtime, guids[6], status="reserved", version=6, expires_at=earlier)  # available, 7
    _set(showtime, guids[7], version=2**31 - 1)  # the largest a version column holds

    full = client.get(f"/api/v1/showtimes/{showtime.pk}/seats/").json()
    body = client.get(f"/api/v1/showtimes/{showtime.pk}/live/").json()
    layout = client.get(body["layout"]["url"]).json()

    assert snapshot_states(body, layout) == snapshot_states(full)
    states = snapshot_states(body, layout)
    assert states[guids[0]] == ("held", 2)
    assert states[guids[2]] == ("reserved", 7)
    assert states[guids[3]] == ("sold", 9)
    assert states[guids[4]] == ("blocked", 3)
    assert states[guids[5]] == ("available", 5)
    assert states[guids[6]] == ("available", 7)
    assert states[guids[7]] == ("available", 2**31 - 1)
    assert body["showtime"] == showtime.pk and body["as_of"]
    assert body["layout"] == client.get(f"/api/v1/showtimes/{showtime.pk}/").json()["layout"]
    assert body["live"]["layout"] == body["layout"]["version"] == layout["version"]
    assert body["ga"] == full["ga"]


def test_a_layout_seat_without_inventory_reads_blocked_at_version_zero(make_showtime):
    showtime = make_showtime(rows=1, seats_per_row=3)
    plan = showtime.plan
    extra = Seat.objects.create(
        plan=plan, guid="00000000-0000-4000-8000-000000000001", label="X", zone="Hall", row="A",
        number="9", category=plan.categories.first(), x=300, y=0,
    )  # fmt: skip
    states = snapshot_states(
        {"layout": plan_layout(plan.pk).ref(), "live": seat_live(showtime.pk).live}
    )
    assert states[str(extra.guid)] == ("blocked", 0)
    assert sum(1 for s in states.values() if s == ("available", 1)) == 3


def test_the_live_form_reads_the_states_in_one_query(make_showtime, django_assert_num_queries):
    showtime = make_showtime(rows=10, seats_per_row=30)
    plan = (showtime.plan_id, plan_layout(showtime.plan_id).version)
    with django_assert_num_queries(1):
        live = seat_live(showtime.pk, plan=plan)
    assert live.live["count"] == 300
    with django_assert_num_queries(2):  # + the plan's current layout version
        seat_live(showtime.pk)


def test_the_live_endpoint_is_small_gzipped(client, make_showtime):
    showtime = make_showtime(rows=10, seats_per_row=30)
    url = f"/api/v1/showtimes/{showtime.pk}/live/"
    plain = client.get(url)
    zipped = client.get(url, HTTP_ACCEPT_ENCODING="gzip")
    assert zipped["Content-Encoding"] == "gzip"
    unzipped = json.loads(gzip.decompress(zipped.content))
    assert {**unzipped, "as_of": None} == {**plain.json(), "as_of": None}
    assert len(plain.content) < 1000  # 300 seats: 400 bytes of base64 and the envelope


def test_unknown_showtime_is_404(client):
    response = client.get("/api/v1/showtimes/999999/live/")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
