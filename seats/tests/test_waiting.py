"""The waiting room (issue #19, docs/waiting-room.md): joining, the shuffle, FIFO, the pass, the
gate on every write that takes seats, the admitter and what finishes a buyer."""

import math
import random
import secrets
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.core import signing
from django.utils import timezone

from conftest import client_for, seat_guids
from core.errors import ApplicationError
from orders.models import Order
from seats.models import Hold, QueueEntry, QueueState
from seats.services import waiting
from seats.services.waiting import (
    QueuePassInvalid,
    queue_admit,
    queue_admit_user,
    queue_join,
    queue_pass_check,
    queue_pass_make,
    shuffle_places,
)

pytestmark = pytest.mark.django_db

CUSTOMER = {"name": "Queue Tester", "email": "queue@example.com"}


def queued(make_showtime, **fields):
    fields.setdefault("queue_enabled", True)
    return make_showtime(**fields)


def positions(showtime) -> dict[int, Any]:
    """``{user id: place}`` (``None`` in the early pool)."""
    return dict(QueueEntry.objects.filter(showtime=showtime).values_list("user_id", "position"))


# --- Joining, the shuffle, FIFO -------------------------------------------------------------------


def test_early_joiners_have_no_place_until_the_onsale_then_a_permutation(make_showtime, make_user):
    now = timezone.now()
    showtime = queued(make_showtime, onsale_at=now + timedelta(minutes=5))
    users = [make_user() for _ in range(8)]
    for i, user in enumerate(users):
        entry = queue_join(user, showtime.pk, now=now + timedelta(seconds=i))
        assert entry.position is None and waiting.entry_state(entry) == "early"
    late = make_user()
    queue_join(late, showtime.pk, now=now + timedelta(minutes=5))  # the first join at on-sale
    assert set(positions(showtime).values()) == {None}  # places come from the admitter
    queue_admit(showtime.pk, now=now + timedelta(minutes=5, seconds=1))
    places = positions(showtime)
    assert sorted(places[u.pk] for u in users) == list(range(1, 9))
    assert places[late.pk] == 9  # after the whole early pool
    assert QueueState.objects.get(pk=showtime.pk).shuffled


def test_the_admitter_shuffles_the_early_pool_without_any_join(make_showtime, make_user):
    now = timezone.now()
    showtime = queued(make_showtime, onsale_at=now + timedelta(minutes=1))
    users = [make_user() for _ in range(3)]
    for user in users:
        queue_join(user, showtime.pk, now=now)
    queue_admit(showtime.pk, now=now)  # before the on-sale: nothing
    assert set(positions(showtime).values()) == {None}
    queue_admit(showtime.pk, now=now + timedelta(minutes=1))
    assert sorted(positions(showtime).values()) == [1, 2, 3]


def test_after_the_onsale_places_follow_arrival_order(make_showtime, make_user):
    now = timezone.now()
    showtime = queued(make_showtime, onsale_at=now - timedelta(minutes=1))
    users = [make_user() for _ in range(6)]
    for i, u in enumerate(reversed(users[3:])):  # inserted in another order than they arrived
        queue_join(u, showtime.pk, now=now + timedelta(seconds=5 - i))
    queue_admit(showtime.pk, now=now + timedelta(seconds=5))  # the draw (nobody early), places
    for i, u in enumerate(users[:3]):  # they arrived first: a slow insert keeps its arrival time
        queue_join(u, showtime.pk, now=now + timedelta(seconds=i))
    queue_admit(showtime.pk, now=now + timedelta(seconds=6))
    places = positions(showtime)
    assert [places[u.pk] for u in users] == [4, 5, 6, 1, 2, 3]  # per step, in arrival order
    later = make_user()
    queue_join(later, showtime.pk, now=now + timedelta(seconds=7))
    queue_admit(showtime.pk, now=now + timedelta(seconds=7))
    assert positions(showtime)[later.pk] == 7  # after everyone placed before


def test_joining_again_keeps_the_place(make_showtime, make_user):
    now = timezone.now()
    showtime = queued(make_showtime, onsale_at=now + timedelta(minutes=1))
    early, other = make_user(), make_user()
    first = queue_join(early, showtime.pk, now=now)
    assert queue_join(early, showtime.pk, now=now + timedelta(seconds=5)).pk == first.pk
    queue_join(other, showtime.pk, now=now + timedelta(minutes=1))
    place = QueueEntry.objects.get(pk=first.pk).position
    for later in (61, 90, 300):  # rejoin / second tab / reconnect after the shuffle
        again = queue_join(early, showtime.pk, now=now + timedelta(seconds=later))
        assert (again.pk, again.position) == (first.pk, place)
    assert QueueEntry.objects.filter(showtime=showtime).count() == 2


def test_a_restart_loses_no_place(make_showtime, make_user):
    """Places are rows: a new process reads them back as they were (nothing is in memory)."""
    showtime = queued(make_showtime, target_active_buyers=1)
    users = [make_user() for _ in range(3)]
    for u in users:
        queue_join(u, showtime.pk)
    queue_admit(showtime.pk)
    before = [QueueEntry.objects.get(showtime=showtime, user=u).position for u in users]
    assert before == [1, 2, 3]
    # What a fresh process sees: only the database; rejoining keeps the place.
    assert [queue_join(u, showtime.pk).position for u in users] == before
    assert QueueState.objects.get(pk=showtime.pk).next_position == 4


def test_same_seed_same_order_and_a_permutation(make_showtime, make_user, monkeypatch):
    """Seeded through ``secrets.SystemRandom`` (the production path calls it at shuffle time)."""
    now = timezone.now()
    users = [make_user() for _ in range(12)]
    orders = []
    for _run in range(2):
        monkeypatch.setattr(secrets, "SystemRandom", lambda: random.Random(1234))
        showtime = queued(make_showtime, onsale_at=now + timedelta(minutes=1))
        for i, user in enumerate(users):
            queue_join(user, showtime.pk, now=now + timedelta(seconds=i))
        queue_admit(showtime.pk, now=now + timedelta(minutes=1))
        places = positions(showtime)
        orders.append([places[u.pk] for u in users])
    assert orders[0] == orders[1]
    assert sorted(orders[0]) == list(range(1, 13))
    assert orders[0] != list(range(1, 13))  # this seed does move people


def test_the_shuffle_gives_arrival_order_no_edge():
    """Over many shuffles of 20 early arrivals with the production generator (no seed): the mean
    Spearman correlation between arrival and place is near 0, and the first place goes to each
    arrival slot about equally often. The bounds are far out (the mean's standard deviation is
    about 0.0037 over 3,000 runs, bound 0.05 ≈ 13σ; chi-square with 19 degrees of freedom, bound
    80, p < 1e-8), so the test does not flake, yet a shuffle that kept any order would fail it."""
    n, runs = 20, 3000
    rhos, first = [], [0] * n
    for _ in range(runs):
        arrivals = list(range(n))
        shuffle_places(arrivals)
        place = {arrival: p for p, arrival in enumerate(arrivals)}
        d2 = sum((a - place[a]) ** 2 for a in range(n))
        rhos.append(1 - 6 * d2 / (n * (n * n - 1)))
        first[arrivals[0]] += 1
    assert abs(sum(rhos) / runs) < 0.05
    expected = runs / n
    chi2 = sum((f - expected) ** 2 / expected for f in first)
    assert chi2 < 80, first


def test_the_statistics_would_catch_a_biased_shuffle():
    """The same statistics on a shuffle that keeps arrival order half the time fail."""
    n, runs = 20, 3000
    rng = random.Random(7)
    rhos = []
    for i in range(runs):
        arrivals = list(range(n))
        if i % 2:
            rng.shuffle(arrivals)
        place = {arrival: p for p, arrival in enumerate(arrivals)}
        rhos.append(1 - 6 * sum((a - place[a]) ** 2 for a in range(n)) / (n * (n * n - 1)))
    assert abs(sum(rhos) / runs) > 0.05


def test_no_queue_no_join(make_showtime, buyer):
    showtime = make_showtime()
    with pytest.raises(ApplicationError) as caught:
        queue_join(buyer, showtime.pk)
    assert caught.value.status == 404


# --- The pass -----------------------------------------------------------------------------------


def admitted(showtime, user, now=None) -> QueueEntry:
    return queue_admit_user(showtime.pk, user, now=now)


def test_a_pass_is_refused_for_another_user_showtime_tampered_or_expired(make_showtime, make_user):
    showtime, second = queued(make_showtime), queued(make_showtime)
    owner, thief = make_user(), make_user()
    entry = admitted(showtime, owner)
    token = queue_pass_make(entry)
    queue_pass_check(token, owner, showtime.pk)  # valid
    assert entry.pass_expires_at is not None
    cases: dict[str, tuple[str, Any, int, datetime | None]] = {
        "other_user": (token, thief, showtime.pk, None),
        "other_showtime": (token, owner, second.pk, None),
        "tampered": (
            token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
            owner,
            showtime.pk,
            None,
        ),
        "expired": (token, owner, showtime.pk, entry.pass_expires_at + timedelta(seconds=1)),
    }
    forged = signing.dumps({"u": owner.pk, "s": showtime.pk, "e": 9_999_999_999}, salt="other")
    cases["tampered_salt"] = (forged, owner, showtime.pk, None)
    for name, (tok, user, showtime_id, at) in cases.items():
        with pytest.raises(QueuePassInvalid) as caught:
            queue_pass_check(tok, user, showtime_id, at)
        assert caught.value.reason == name.removesuffix("_salt"), name


# --- The gate on every write that takes seats ----------------------------------------------------


def _writes(showtime, api_client, extra, guid, hold_id):
    base = f"/api/v1/showtimes/{showtime.pk}"
    return {
        "holds": lambda: api_client.post(
            f"{base}/holds/", {"seats": [guid]}, format="json", **extra
        ),
        "best": lambda: api_client.post(
            f"{base}/holds/best/", {"quantity": 1}, format="json", **extra
        ),
        "order_seats": lambda: api_client.post(
            "/api/v1/orders/",
            {
                "showtime": showtime.pk,
                "seats": [guid],
                "customer": CUSTOMER,
                "payment_method": "card",
            },
            format="json",
            **extra,
        ),
        "order_hold": lambda: api_client.post(
            "/api/v1/orders/",
            {"hold": str(hold_id), "customer": CUSTOMER, "payment_method": "card"},
            format="json",
            **extra,
        ),
    }


@pytest.mark.parametrize("write", ["holds", "best", "order_seats", "order_hold"])
def test_every_write_refuses_without_a_pass_and_accepts_with_one(make_showtime, make_user, write):
    showtime = make_showtime()
    user = make_user()
    client = client_for(user)
    g = seat_guids(showtime)
    # A hold made before the queue was turned on (for the order-from-hold write).
    hold = client.post(f"/api/v1/showtimes/{showtime.pk}/holds/", {"seats": [g[0]]}, format="json")
    assert hold.status_code == 201
    hold_id = hold.json()["id"]
    showtime.queue_enabled = True
    showtime.save(update_fields=["queue_enabled"])
    entry = queue_join(user, showtime.pk)

    refused = _writes(showtime, client, {}, g[3], hold_id)[write]()
    assert refused.status_code == 403, refused.content
    error = refused.json()["error"]
    assert error["code"] == "queue_required"
    assert error["details"]["position"] == entry.position
    assert error["details"]["admitted_up_to"] == 0

    bad = {"HTTP_X_QUEUE_PASS": "nonsense"}
    assert _writes(showtime, client, bad, g[3], hold_id)[write]().status_code == 403

    token = queue_pass_make(admitted(showtime, user))
    accepted = _writes(showtime, client, {"HTTP_X_QUEUE_PASS": token}, g[3], hold_id)[write]()
    assert accepted.status_code in (200, 201), accepted.content


def test_another_buyers_pass_is_refused_at_the_endpoint(make_showtime, make_user):
    showtime = queued(make_showtime)
    owner, thief = make_user(), make_user()
    token = queue_pass_make(admitted(showtime, owner))
    response = client_for(thief).post(
        f"/api/v1/showtimes/{showtime.pk}/holds/",
        {"seats": seat_guids(showtime, 1)},
        format="json",
        HTTP_X_QUEUE_PASS=token,
    )
    assert response.status_code == 403 and response.json()["error"]["code"] == "queue_required"


def test_with_the_queue_off_nothing_is_asked(api, showtime):
    response = api.post(
        f"/api/v1/showtimes/{showtime.pk}/holds/", {"seats": seat_guids(showtime, 1)}, format="json"
    )
    assert response.status_code == 201
    assert api.get(f"/api/v1/showtimes/{showtime.pk}/queue/").status_code == 404
    assert api.post(f"/api/v1/showtimes/{showtime.pk}/queue/").status_code == 404


# --- The API ------------------------------------------------------------------------------------


def test_join_and_status_through_the_api(make_showtime, make_user, clock):
    showtime = queued(
        make_showtime,
        onsale_at=timezone.now() + timedelta(seconds=30),
        admission_rate_per_minute=60,
    )
    client = client_for(make_user())
    url = f"/api/v1/showtimes/{showtime.pk}/queue/"
    assert client.get(url).status_code == 404  # not queued yet
    body = client.post(url).json()
    assert body["state"] == "early" and body["position"] is None and body["pass"] is None
    assert body["estimated_wait_seconds"] is None
    assert client.post(url).json() == body  # joining again: the same
    clock.advance(31)
    waiting.queue_pause(showtime.pk)
    queue_admit(showtime.pk)  # paused: shuffles the early pool, admits no one
    body = client.get(url).json()
    assert body["state"] == "waiting" and body["position"] == 1 and body["paused"]
    assert body["estimated_wait_seconds"] == 1 and body["target"] == 500  # 1 ahead at 60/min
    waiting.queue_resume(showtime.pk)
    queue_admit(showtime.pk)
    body = client.get(url).json()
    assert body["state"] == "admitted" and body["admitted_up_to"] == 1 and body["active"] == 1
    assert body["pass"] and body["pass_expires_at"]
    response = client.post(
        f"/api/v1/showtimes/{showtime.pk}/holds/",
        {"seats": seat_guids(showtime, 1)},
        format="json",
        HTTP_X_QUEUE_PASS=body["pass"],
    )
    assert response.status_code == 201, response.content


def test_joins_are_rate_limited_per_address(make_showtime, make_user, settings):
    settings.RATELIMIT_ENABLE, settings.RATELIMIT_QUEUE = True, "2/m"
    showtime = queued(make_showtime)
    url = f"/api/v1/showtimes/{showtime.pk}/queue/"
    answers = [
        client_for(make_user()).post(url, REMOTE_ADDR="10.9.8.7").status_code for _ in range(3)
    ]
    assert answers == [200, 200, 429]
    assert client_for(make_user()).post(url, REMOTE_ADDR="10.9.8.6").status_code == 200


# --- The admitter -------------------------------------------------------------------------------


def join_many(showtime, make_user, n, now=None):
    return [queue_join(make_user(), showtime.pk, now=now) for _ in range(n)]


def test_admission_stops_at_the_target_and_follows_the_places(make_showtime, make_user):
    showtime = queued(make_showtime, target_active_buyers=3, admission_rate_per_minute=6000)
    entries = join_many(showtime, make_user, 5)
    result = queue_admit(showtime.pk)
    assert result.admitted == [e.pk for e in entries[:3]]
    assert (result.admitted_up_to, result.active) == (3, 3)
    assert queue_admit(showtime.pk).admitted == []  # full


def test_the_rate_cap(make_showtime, make_user):
    now = timezone.now()
    showtime = queued(make_showtime, target_active_buyers=100, admission_rate_per_minute=120)
    join_many(showtime, make_user, 20, now=now)
    admitted_per_step = [
        len(queue_admit(showtime.pk, now=now + timedelta(seconds=s)).admitted) for s in range(6)
    ]
    # 2 a second (a second's worth to start with, then 2 per second).
    assert admitted_per_step == [2, 2, 2, 2, 2, 2]
    assert len(queue_admit(showtime.pk, now=now + timedelta(seconds=5.4)).admitted) == 0
    # a step that comes 2 s late loses none of the cap (the bucket holds two seconds' worth) …
    assert len(queue_admit(showtime.pk, now=now + timedelta(seconds=7.4)).admitted) == 4
    # … and no more than that after a longer gap
    assert len(queue_admit(showtime.pk, now=now + timedelta(seconds=17.4)).admitted) == 4


def test_the_estimated_wait_follows_the_pace_when_the_target_holds_admission_back(
    make_showtime, make_user
):
    now = timezone.now()
    # a cap of 120 a minute, but only 2 may be active: admission goes as fast as buyers finish
    showtime = queued(
        make_showtime,
        target_active_buyers=2,
        admission_rate_per_minute=120,
        admission_window_seconds=30,
    )
    entries = join_many(showtime, make_user, 12, now=now)
    first = queue_admit(showtime.pk, now=now)
    assert len(first.admitted) == 2 and first.admitting == 120  # the first minute: the cap
    for step in (30, 60, 90):  # the window frees both slots every 30 s: 4 admissions a minute
        queue_admit(showtime.pk, now=now + timedelta(seconds=step))
    at = now + timedelta(seconds=90)
    result = queue_admit(showtime.pk, now=at)
    assert result.admitting == 4  # admitted within the last minute (at 60 and 90 s)
    last = QueueEntry.objects.get(pk=entries[-1].pk)
    status = waiting.queue_status(last, showtime, now=at)
    assert (status["rate_per_minute"], status["admitting_per_minute"]) == (120, 4)
    ahead = (last.position or 0) - result.admitted_up_to
    assert status["estimated_wait_seconds"] == math.ceil(ahead * 60 / 4)  # not ahead × 60 / 120


def test_below_the_target_the_pace_is_the_cap_however_few_came_lately(make_showtime, make_user):
    now = timezone.now()
    showtime = queued(make_showtime, target_active_buyers=100, admission_rate_per_minute=120)
    (first,) = join_many(showtime, make_user, 1, now=now)
    assert queue_admit(showtime.pk, now=now).admitted == [first.pk]
    later = now + timedelta(minutes=5)  # one admission in 5 minutes: demand, not capacity
    (late,) = join_many(showtime, make_user, 1, now=later)
    queue_admit(showtime.pk, now=later)
    status = waiting.queue_status(QueueEntry.objects.get(pk=late.pk), showtime, now=later)
    assert status["admitting_per_minute"] == 120
    assert waiting.queue_figures(showtime, now=later)["admitting_per_minute"] == 120


def test_loops_of_several_processes_keep_one_pace(make_showtime, make_user):
    """Each process's loop calls ``queue_tick_all(interval)``: a step within 0.9 × interval of
    another process's is skipped, so two loops a second make about one step a second."""
    now = timezone.now()
    showtime = queued(make_showtime, target_active_buyers=100, admission_rate_per_minute=6000)
    join_many(showtime, make_user, 5, now=now)
    assert not queue_admit(showtime.pk, now=now, min_gap=0.9).skipped  # process A
    later = now + timedelta(seconds=0.3)
    assert queue_admit(showtime.pk, now=later, min_gap=0.9).skipped  # B, 0.3 s after A
    assert not queue_admit(showtime.pk, now=now + timedelta(seconds=1), min_gap=0.9).skipped
    assert not queue_admit(showtime.pk, now=now + timedelta(seconds=1)).skipped  # no gap asked


def test_pause_resume_and_configure(make_showtime, make_user):
    showtime = queued(make_showtime, target_active_buyers=1)
    join_many(showtime, make_user, 3)
    waiting.queue_pause(showtime.pk)
    assert queue_admit(showtime.pk).admitted == []
    waiting.queue_resume(showtime.pk)
    assert len(queue_admit(showtime.pk).admitted) == 1
    waiting.queue_configure(showtime.pk, target=3)
    assert len(queue_admit(showtime.pk, now=timezone.now() + timedelta(seconds=2)).admitted) == 2
    with pytest.raises(ApplicationError) as caught:
        waiting.queue_configure(showtime.pk, rate_per_minute=0)
    assert caught.value.code == "validation_error"


def test_staff_admit_a_named_buyer_out_of_turn(make_showtime, make_user):
    showtime = queued(make_showtime, target_active_buyers=1)
    _first, vip = join_many(showtime, make_user, 2)
    entry = queue_admit_user(showtime.pk, vip.user)
    assert entry.admitted_at is not None
    assert queue_admit(showtime.pk).admitted == []  # vip takes the one slot
    assert QueueState.objects.get(pk=showtime.pk).admitted_up_to == 0


def test_a_buyer_who_makes_no_hold_in_the_window_frees_the_slot(make_showtime, make_user):
    now = timezone.now()
    showtime = queued(make_showtime, target_active_buyers=1, admission_window_seconds=60)
    first, second = join_many(showtime, make_user, 2, now=now)
    assert queue_admit(showtime.pk, now=now).admitted == [first.pk]
    assert queue_admit(showtime.pk, now=now + timedelta(seconds=59)).admitted == []
    result = queue_admit(showtime.pk, now=now + timedelta(seconds=60))
    assert result.admitted == [second.pk] and result.finished == 1
    assert QueueEntry.objects.get(pk=first.pk).finish_reason == "window"


def test_a_buyer_who_pays_or_releases_frees_the_slot_and_loses_the_pass(make_showtime, make_user):
    showtime = queued(make_showtime, target_active_buyers=1)
    a, b, c = join_many(showtime, make_user, 3)
    g = seat_guids(showtime)
    assert queue_admit(showtime.pk).admitted == [a.pk]
    a_client = client_for(a.user)
    a_pass: dict[str, Any] = {"HTTP_X_QUEUE_PASS": queue_pass_make(QueueEntry.objects.get(pk=a.pk))}
    hold = a_client.post(
        f"/api/v1/showtimes/{showtime.pk}/holds/", {"seats": [g[0]]}, format="json", **a_pass
    )
    assert hold.status_code == 201
    assert queue_admit(showtime.pk).admitted == []  # a holds: still active
    order = a_client.post(
        "/api/v1/orders/",
        {"hold": hold.json()["id"], "customer": CUSTOMER, "payment_method": "card"},
        format="json",
        **a_pass,
    )
    assert order.status_code == 201, order.content
    assert queue_admit(showtime.pk).admitted == []  # a pending order: still active
    assert a_client.post(f"/api/v1/orders/{order.json()['id']}/pay/").status_code == 200
    assert queue_admit(showtime.pk).admitted == [b.pk]
    a_done, b_in = QueueEntry.objects.get(pk=a.pk), QueueEntry.objects.get(pk=b.pk)
    assert a_done.finish_reason == "paid"
    # in order in the entries' own times: the order, then a's turn ends, then b's begins
    assert a_done.finished_at is not None and b_in.admitted_at is not None
    assert Order.objects.get(pk=order.json()["id"]).created_at <= a_done.finished_at
    assert a_done.finished_at <= b_in.admitted_at
    again = a_client.post(
        f"/api/v1/showtimes/{showtime.pk}/holds/", {"seats": [g[5]]}, format="json", **a_pass
    )
    assert again.status_code == 403  # finished: the pass no longer admits

    b_client = client_for(b.user)
    b_pass: dict[str, Any] = {"HTTP_X_QUEUE_PASS": queue_pass_make(QueueEntry.objects.get(pk=b.pk))}
    b_hold = b_client.post(
        f"/api/v1/showtimes/{showtime.pk}/holds/", {"seats": [g[1]]}, format="json", **b_pass
    )
    assert b_hold.status_code == 201
    assert b_client.delete(f"/api/v1/holds/{b_hold.json()['id']}/").status_code in (200, 204)
    assert Hold.objects.get(pk=b_hold.json()["id"]).status == Hold.Status.RELEASED
    # released by the buyer: the admission window again to hold other seats, then the slot goes
    assert queue_admit(showtime.pk).admitted == []
    later = timezone.now() + timedelta(seconds=showtime.admission_window_seconds + 1)
    assert queue_admit(showtime.pk, now=later).admitted == [c.pk]
    assert QueueEntry.objects.get(pk=b.pk).finish_reason == "window"


def test_a_buyer_who_releases_their_only_seat_to_choose_another_keeps_the_turn(
    make_showtime, make_user
):
    showtime = queued(make_showtime, target_active_buyers=1, admission_window_seconds=60)
    a, _b = join_many(showtime, make_user, 2)
    assert queue_admit(showtime.pk).admitted == [a.pk]
    g = seat_guids(showtime)
    client = client_for(a.user)
    a_pass: dict[str, Any] = {"HTTP_X_QUEUE_PASS": queue_pass_make(QueueEntry.objects.get(pk=a.pk))}
    url = f"/api/v1/showtimes/{showtime.pk}/holds/"
    first = client.post(url, {"seats": [g[0]]}, format="json", **a_pass).json()
    released = client.post(
        f"/api/v1/holds/{first['id']}/release/", {"seats": [g[0]]}, format="json"
    )
    assert released.status_code == 200 and released.json()["status"] == "released"
    assert queue_admit(showtime.pk).admitted == []  # still a's turn (the seat map's deselect)
    again = client.post(url, {"seats": [g[3]]}, format="json", **a_pass)
    assert again.status_code == 201  # the pass still admits
    assert QueueEntry.objects.get(pk=a.pk).finished_at is None


@pytest.mark.parametrize("how", ["expired", "abandoned"])
def test_a_buyer_whose_hold_lapses_or_who_leaves_frees_the_slot_at_once(
    make_showtime, make_user, how
):
    showtime = queued(make_showtime, target_active_buyers=1, admission_window_seconds=600)
    a, b = join_many(showtime, make_user, 2)
    assert queue_admit(showtime.pk).admitted == [a.pk]
    a_pass = queue_pass_make(QueueEntry.objects.get(pk=a.pk))
    hold = client_for(a.user).post(
        f"/api/v1/showtimes/{showtime.pk}/holds/",
        {"seats": seat_guids(showtime, 1)},
        format="json",
        HTTP_X_QUEUE_PASS=a_pass,
    )
    assert hold.status_code == 201
    if how == "expired":  # the hold ran out (the cleanup has not recorded it yet)
        Hold.objects.filter(pk=hold.json()["id"]).update(expires_at=timezone.now())
    else:  # released as abandoned: the buyer left the seat map (realtime.presence)
        Hold.objects.filter(pk=hold.json()["id"]).update(
            status=Hold.Status.RELEASED, abandoned=True, ended_at=timezone.now()
        )
    assert queue_admit(showtime.pk).admitted == [b.pk]
    assert QueueEntry.objects.get(pk=a.pk).finish_reason == "lapsed"


def test_the_admit_command_runs_a_step_for_every_queued_showtime(make_showtime, make_user):
    from io import StringIO

    from django.core.management import call_command

    one, two, off = queued(make_showtime), queued(make_showtime), make_showtime()
    for showtime in (one, two):
        join_many(showtime, make_user, 2)
    out = StringIO()
    call_command("admit", stdout=out)
    assert out.getvalue().strip() == "admit: 4 admitted, 0 finished"
    assert not QueueState.objects.filter(pk=off.pk).exists()


def test_an_order_refused_for_want_of_a_pass_can_be_retried_with_the_same_key(
    make_showtime, make_user
):
    """The 403 rolls the idempotency key's claim back: the same key then succeeds with a pass."""
    showtime = queued(make_showtime)
    user = make_user()
    client = client_for(user)
    body = {
        "showtime": showtime.pk,
        "seats": seat_guids(showtime, 1),
        "customer": CUSTOMER,
        "payment_method": "card",
    }
    key: dict[str, Any] = {"HTTP_IDEMPOTENCY_KEY": "queue-key-1"}
    assert client.post("/api/v1/orders/", body, format="json", **key).status_code == 403
    token = queue_pass_make(admitted(showtime, user))
    again = client.post("/api/v1/orders/", body, format="json", HTTP_X_QUEUE_PASS=token, **key)
    assert again.status_code == 201, again.content


def test_the_admin_sets_the_waiting_room(make_showtime, staff_client):
    from seats.tests.test_admin import SHOWTIMES

    showtime = make_showtime()
    url = f"{SHOWTIMES}{showtime.pk}/change/"
    assert "Waiting room" in staff_client.get(url).content.decode()
    from seats.tests.test_waiting_staff import change_form_data

    data = change_form_data(
        showtime,
        onsale_at_0="2031-05-01",
        onsale_at_1="10:00:00",
        target_active_buyers="50",
        admission_rate_per_minute="120",
        admission_window_seconds="90",
    )
    response = staff_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    showtime.refresh_from_db()
    assert showtime.queue_enabled and showtime.onsale_at is not None
    assert (
        showtime.target_active_buyers,
        showtime.admission_rate_per_minute,
        showtime.admission_window_seconds,
    ) == (50, 120, 90)
    refused = staff_client.post(url, data | {"target_active_buyers": "0"})
    assert refused.status_code == 200  # the form again, with the error
    showtime.refresh_from_db()
    assert showtime.target_active_buyers == 50


def test_staff_pause_and_resume_from_the_showtime_list(make_showtime, staff_client):
    from seats.tests.test_admin import SHOWTIMES

    on, off = queued(make_showtime), make_showtime()
    for action, paused in (("queue_pause", True), ("queue_resume", False)):
        response = staff_client.post(
            SHOWTIMES, {"action": action, "_selected_action": [on.pk, off.pk]}, follow=True
        )
        assert response.status_code == 200
        text = response.content.decode()
        assert "1 showtime has no waiting room." in text
        assert QueueState.objects.get(pk=on.pk).paused is paused
    assert not QueueState.objects.filter(pk=off.pk).exists()
