"""The database side of holds that follow the buyer (issue #16; ``seats.services.abandon``) and the
presence stores (``realtime.presence``): when a hold starts its grace, when it is released as
abandoned, exactly once across processes, never instead of its expiry, never with the feature off;
and presence counts that survive a dead process only for one lease."""

import io
import uuid
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from conftest import assert_inventory_consistent, run_threads, seat_guids
from realtime import presence
from seats.models import Hold, SeatEvent, ShowtimeSeat
from seats.services import (
    hold_abandon_due,
    hold_create,
    hold_expire_due,
    hold_presence_arrive,
    hold_presence_left,
    hold_presence_refresh,
)

pytestmark = pytest.mark.django_db(transaction=True)
LEASE = 30.0


def hold_for(user, showtime, n=1, skip=0):
    seats = seat_guids(showtime)[skip : skip + n]
    return hold_create(user=user, showtime_id=showtime.pk, seat_ids=seats).hold


def left(user, showtime, present=False):
    return hold_presence_left(
        user_id=user.pk, showtime_id=showtime.pk, still_present=lambda: present
    )


def test_a_hold_without_a_socket_has_no_abandon_deadline(showtime, buyer, clock):
    hold = hold_for(buyer, showtime)
    clock.advance(showtime.hold_ttl - 1)
    assert hold_abandon_due() == []
    hold.refresh_from_db()
    assert (hold.status, hold.abandon_at, hold.left_at) == ("active", None, None)


def test_the_grace_starts_when_the_last_socket_closes_and_ends_in_a_release(
    make_showtime, buyer, clock
):
    showtime = make_showtime(abandon_grace_seconds=60)
    hold = hold_for(buyer, showtime, n=2)
    arrived = hold_presence_arrive(user_id=buyer.pk, showtime_id=showtime.pk, lease=LEASE)
    assert arrived is not None and arrived.pk == hold.pk
    hold.refresh_from_db()
    assert hold.left_at is None
    # Present: a lease plus the grace ahead, so a dead process's buyer goes in time.
    assert timedelta(seconds=89) < hold.abandon_at - hold.created_at < timedelta(seconds=91)

    assert left(buyer, showtime, present=True) is None  # another socket is open somewhere
    marked = left(buyer, showtime)
    assert marked is not None and marked.left_at is not None
    assert marked.abandon_at == marked.left_at + timedelta(seconds=60)

    clock.advance(59)
    assert hold_abandon_due() == []
    clock.advance(2)
    (released,) = hold_abandon_due()
    assert released.pk == hold.pk
    hold.refresh_from_db()
    assert (hold.status, hold.abandoned) == ("released", True)
    events = SeatEvent.objects.filter(hold=hold, to_status="available")
    assert [(e.reason, e.actor_kind) for e in events] == [("abandoned", "system")] * 2
    assert ShowtimeSeat.objects.filter(showtime=showtime, status="available").count() == 10
    assert_inventory_consistent(showtime)
    assert hold_abandon_due() == []  # once


def test_coming_back_within_the_grace_keeps_the_hold(make_showtime, buyer, clock):
    showtime = make_showtime(abandon_grace_seconds=60)
    hold = hold_for(buyer, showtime)
    hold_presence_arrive(user_id=buyer.pk, showtime_id=showtime.pk, lease=LEASE)
    left(buyer, showtime)
    clock.advance(50)
    hold_presence_arrive(user_id=buyer.pk, showtime_id=showtime.pk, lease=LEASE)
    clock.advance(20)  # past the first grace
    assert hold_abandon_due() == []
    hold.refresh_from_db()
    assert hold.status == "active" and hold.left_at is None


def test_renewals_keep_a_present_buyer_and_skip_one_who_left(make_showtime, make_user, clock):
    showtime = make_showtime(abandon_grace_seconds=10)
    stay, go = make_user("stay"), make_user("go")
    kept, lost = hold_for(stay, showtime), hold_for(go, showtime, skip=1)
    for user in (stay, go):
        hold_presence_arrive(user_id=user.pk, showtime_id=showtime.pk, lease=LEASE)
    seen_at = timezone.now()  # a renewal's snapshot of the sockets, taken before "go" left
    left(go, showtime)
    for _ in range(4):  # 4 × 20 s: far past one lease, with a renewal every 20 s
        clock.advance(20)
        hold_presence_refresh(
            showtime_id=showtime.pk, user_ids=[stay.pk, go.pk], lease=LEASE, seen_at=seen_at
        )
        hold_abandon_due()
        seen_at = timezone.now()
    kept.refresh_from_db()
    lost.refresh_from_db()
    assert kept.status == "active"
    assert (lost.status, lost.abandoned) == ("released", True)


def test_a_renewal_brings_back_a_buyer_whose_arrival_was_not_written(make_showtime, buyer, clock):
    """The buyer left, then reconnected, but the arrival's write failed (a lock wait past the
    limit): the next renewal, which sees the socket, clears the departure."""
    showtime = make_showtime(abandon_grace_seconds=10)
    hold = hold_for(buyer, showtime)
    left(buyer, showtime)
    clock.advance(5)  # back, unrecorded
    hold_presence_refresh(
        showtime_id=showtime.pk, user_ids=[buyer.pk], lease=LEASE, seen_at=timezone.now()
    )
    clock.advance(20)
    assert hold_abandon_due() == []
    hold.refresh_from_db()
    assert hold.left_at is None and hold.status == "active"


def test_without_renewals_a_present_buyer_counts_as_gone_one_lease_later(
    make_showtime, buyer, clock
):
    """A server process that died renews nothing: its buyers' holds go one lease plus the grace
    after its last renewal (and no sooner)."""
    showtime = make_showtime(abandon_grace_seconds=10)
    hold = hold_for(buyer, showtime)
    hold_presence_arrive(user_id=buyer.pk, showtime_id=showtime.pk, lease=LEASE)
    clock.advance(LEASE + 9)
    assert hold_abandon_due() == []
    clock.advance(2)
    assert [h.pk for h in hold_abandon_due()] == [hold.pk]


def test_grace_zero_turns_it_off(make_showtime, buyer, clock):
    showtime = make_showtime(abandon_grace_seconds=0)
    hold = hold_for(buyer, showtime)
    hold_presence_arrive(user_id=buyer.pk, showtime_id=showtime.pk, lease=LEASE)
    left(buyer, showtime)
    clock.advance(showtime.hold_ttl - 1)
    assert hold_abandon_due() == []
    hold.refresh_from_db()
    assert (hold.status, hold.abandon_at) == ("active", None)


def test_a_hold_past_its_ttl_is_expired_not_abandoned(make_showtime, buyer, clock):
    showtime = make_showtime(abandon_grace_seconds=600, hold_ttl=60)
    hold = hold_for(buyer, showtime)
    hold_presence_arrive(user_id=buyer.pk, showtime_id=showtime.pk, lease=LEASE)
    left(buyer, showtime)
    clock.advance(61)  # the TTL ends long before the grace
    assert hold_abandon_due() == []
    assert [h.pk for h in hold_expire_due()] == [hold.pk]
    hold.refresh_from_db()
    assert (hold.status, hold.abandoned) == ("expired", False)


def test_many_sweepers_at_once_release_each_hold_exactly_once(make_showtime, make_user, clock):
    """The server processes and the cleanup worker sweep at the same time; a hold is released,
    and its seats freed and audited, once."""
    showtime = make_showtime(rows=4, seats_per_row=5, abandon_grace_seconds=5)
    users = [make_user(f"b{i}") for i in range(6)]
    holds = [hold_for(user, showtime, n=2, skip=2 * i) for i, user in enumerate(users)]
    for user in users:
        hold_presence_arrive(user_id=user.pk, showtime_id=showtime.pk, lease=LEASE)
        left(user, showtime)
    clock.advance(6)
    connection.close()
    results = run_threads(4, lambda i: [h.pk for h in hold_abandon_due()])
    assert not [r for r in results if isinstance(r, BaseException)], results
    released = [pk for result in results for pk in result]
    assert sorted(released) == sorted(h.pk for h in holds)
    assert SeatEvent.objects.filter(reason="abandoned").count() == 12
    assert Hold.objects.filter(abandoned=True, status="released").count() == 6
    assert_inventory_consistent(showtime)


def test_the_cleanup_worker_releases_abandoned_holds(make_showtime, buyer, clock):
    showtime = make_showtime(abandon_grace_seconds=5)
    hold = hold_for(buyer, showtime)
    hold_presence_arrive(user_id=buyer.pk, showtime_id=showtime.pk, lease=LEASE)
    left(buyer, showtime)
    clock.advance(6)
    out = io.StringIO()
    call_command("cleanup", stdout=out)
    assert "1 abandoned holds released" in out.getvalue()
    hold.refresh_from_db()
    assert hold.abandoned


# --- the presence stores ---------------------------------------------------------------------


@pytest.fixture(params=["local", "redis"])
def store(request, settings):
    if request.param == "redis":
        url = request.getfixturevalue("redis_url")
        settings.REDIS_URL = url
        settings.REDIS_PREFIX = f"test-presence-{uuid.uuid4().hex[:8]}"
        from core import redisguard

        redisguard.reset_client()
        yield presence.RedisStore()
        redisguard.reset_client()
    else:
        settings.REDIS_URL = ""
        yield presence.LocalStore()


def test_a_store_counts_sockets_per_buyer_and_showtime(store):
    pair, other = (1, 7), (2, 7)
    store.add(pair, "p:1")
    store.add(pair, "p:2")
    store.add(other, "p:3")
    assert (store.count(pair), store.count(other)) == (2, 1)
    assert store.remove(pair, "p:1") == 1
    assert store.remove(pair, "p:1") == 1  # twice: no harm
    assert store.remove(pair, "p:2") == 0
    store.renew({pair: {"p:2"}})  # a renewal racing the removal brings nothing back
    assert store.count(pair) == 0


def test_a_token_never_removed_stops_counting_after_its_lease(store, settings, monkeypatch):
    """A process killed mid-socket removes nothing; its tokens count one lease, no longer."""

    class Clock:  # the stores' clock (time.time for Redis scores, time.monotonic locally)
        now = 1_000_000.0

        def time(self):
            return self.now

        def monotonic(self):
            return self.now

    clock = Clock()
    monkeypatch.setattr(presence, "time", clock)
    settings.PRESENCE_LEASE_SECONDS = 30.0
    store.add((1, 1), "dead:1")
    store.add((1, 1), "alive:1")
    clock.now += 20
    store.renew({(1, 1): {"alive:1"}})
    clock.now += 20  # the dead token's lease ended 10 s ago; the renewed one has 10 s left
    assert store.count((1, 1)) == 1
    assert store.remove((1, 1), "alive:1") == 0


def test_with_redis_down_a_departure_starts_no_grace(
    make_showtime, buyer, private_redis, settings, clock
):
    """When the store cannot say whether another socket is open, nothing is released early: the
    hold goes one lease plus the grace after the last renewal, as for a dead process."""
    from core import redisguard

    settings.REDIS_URL = private_redis.url
    settings.REDIS_PREFIX = f"test-presence-{uuid.uuid4().hex[:8]}"
    redisguard.reset_client()
    showtime = make_showtime(abandon_grace_seconds=10)
    hold = hold_for(buyer, showtime)
    pair = (showtime.pk, buyer.pk)
    try:
        presence.arrive(pair, "p:1")
        private_redis.stop()
        assert presence.depart(pair, "p:1") is None
        hold.refresh_from_db()
        assert hold.left_at is None  # no grace started
        clock.advance(settings.PRESENCE_LEASE_SECONDS + 9)
        assert hold_abandon_due() == []
        clock.advance(2)
        assert [h.pk for h in hold_abandon_due()] == [hold.pk]
    finally:
        redisguard.reset_client()
