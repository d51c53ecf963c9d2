"""The process-local caches (issue #15, "Caches from a library"): the JWT user cache
(ticketing/authentication.py) and the plan geometry of best available (seats/selection.py) are
``cachetools`` caches that drop the least recently used entry when full and each entry when its
time is up, never everything at once; their signal receivers are connected in ``AppConfig.ready``.
"""

import pytest
from cachetools import TTLCache
from django.db import connection
from django.db.models.signals import post_delete, post_save
from django.test.utils import CaptureQueriesContext

from conftest import client_for
from seats import selection
from seats.models import Showtime
from ticketing import authentication

pytestmark = pytest.mark.django_db


class FakeClock:
    """A monotonic clock the test moves (``clock.now += seconds``)."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def user_reads(client) -> int:
    """How many times one API request read a user row."""
    with CaptureQueriesContext(connection) as capture:
        assert client.get("/api/v1/orders/").status_code == 200
    return sum('FROM "auth_user"' in q["sql"] for q in capture.captured_queries)


def test_a_full_token_cache_drops_the_least_recently_used_token_only(make_user, monkeypatch):
    monkeypatch.setattr(authentication, "_tokens", authentication.new_token_cache(2))
    a, b, c = (client_for(make_user()) for _ in range(3))
    assert [user_reads(a), user_reads(b), user_reads(a)] == [1, 1, 0]
    assert user_reads(c) == 1  # full: b, the least recently used, goes
    assert [user_reads(a), user_reads(c)] == [0, 0]  # not a full wipe
    assert user_reads(b) == 1


def test_a_cached_token_is_read_again_after_its_ttl(api, settings, monkeypatch):
    settings.JWT_USER_CACHE_SECONDS = 30
    clock = FakeClock()
    monkeypatch.setattr(authentication, "_tokens", authentication.new_token_cache(10, clock))
    assert user_reads(api) == 1
    clock.now += 29
    assert user_reads(api) == 0
    clock.now += 2
    assert user_reads(api) == 1


def geometry_reads(showtime_id: int) -> int:
    with CaptureQueriesContext(connection) as capture:
        assert selection._seat_geometry(showtime_id)
    return len(capture.captured_queries)


def test_a_full_geometry_cache_drops_the_least_recently_used_showtime_only(
    make_showtime, monkeypatch
):
    clock = FakeClock()
    monkeypatch.setattr(selection, "_geometry", TTLCache(2, selection.GEOMETRY_SECONDS, clock))
    a, b, c = (make_showtime().pk for _ in range(3))
    assert [geometry_reads(a), geometry_reads(b), geometry_reads(a)] == [1, 1, 0]
    assert geometry_reads(c) == 1  # full: b goes
    assert [geometry_reads(a), geometry_reads(c), geometry_reads(b)] == [0, 0, 1]
    clock.now += selection.GEOMETRY_SECONDS
    assert geometry_reads(a) == 1  # its time is up


def test_saving_a_showtime_drops_its_geometry(showtime):
    selection._seat_geometry(showtime.pk)
    showtime.save()
    assert geometry_reads(showtime.pk) == 1


def test_cache_receivers_are_connected_once_by_the_app_configs():
    from django.contrib.auth import get_user_model

    for signal, kind in ((post_save, "save"), (post_delete, "delete")):
        uids = [key[0] for key, *_ in signal.receivers]
        for name in ("jwt-user-cache", "seat-geometry"):
            assert uids.count(f"{name}-{kind}") == 1
        assert signal.has_listeners(get_user_model()) and signal.has_listeners(Showtime)
