"""The waiting room under concurrency (issue #19): real threads, each with its own database
connection (``run_threads``). Run on SQLite and on PostgreSQL (docs/waiting-room.md)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from conftest import run_threads
from seats.models import QueueEntry
from seats.services.waiting import AdmitResult, queue_admit, queue_join

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_admitters_racing_never_pass_the_target_nor_admit_twice(make_showtime, make_user):
    showtime = make_showtime(
        queue_enabled=True, target_active_buyers=7, admission_rate_per_minute=60_000
    )
    for _ in range(30):
        queue_join(make_user(), showtime.pk)
    start = timezone.now()
    results: list = []
    for step in range(3):
        at = start + timedelta(seconds=step)
        results += run_threads(2, lambda _i, at=at: queue_admit(showtime.pk, now=at))
    assert all(isinstance(r, AdmitResult) for r in results), results
    ids = [pk for r in results for pk in r.admitted]
    assert len(ids) == len(set(ids)) == 7  # no entry twice, the target exactly, no stall
    admitted = QueueEntry.objects.filter(showtime=showtime, admitted_at__isnull=False)
    assert sorted(p or 0 for p in admitted.values_list("position", flat=True)) == list(range(1, 8))
    assert max(r.active for r in results) <= 7


def test_many_joins_at_once_get_distinct_consecutive_places(make_showtime, make_user):
    showtime = make_showtime(queue_enabled=True)
    users = [make_user() for _ in range(12)]
    results = run_threads(12, lambda i: queue_join(users[i], showtime.pk))
    assert all(isinstance(r, QueueEntry) for r in results), results
    queue_admit(showtime.pk)  # the admitter hands out the places
    places = QueueEntry.objects.filter(showtime=showtime).values_list("position", flat=True)
    assert sorted(p or 0 for p in places) == list(range(1, 13))


def test_the_same_buyer_joining_from_many_tabs_at_once_gets_one_place(make_showtime, make_user):
    showtime = make_showtime(queue_enabled=True)
    buyer = make_user()
    results = run_threads(6, lambda _i: queue_join(buyer, showtime.pk))
    assert len({r.pk for r in results if isinstance(r, QueueEntry)}) == 1, results
    queue_admit(showtime.pk)
    assert QueueEntry.objects.filter(showtime=showtime).count() == 1
    assert QueueEntry.objects.get(showtime=showtime).position == 1
