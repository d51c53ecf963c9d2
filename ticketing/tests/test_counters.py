"""The counters of ``GET stats/`` and ``/metrics`` (core/counters.py, issue #15 "no hot row"):
a Prometheus counter per process, totals in one Redis hash shared by every process (or in the
process without Redis), and a request never fails because Redis is down."""

import time

import pytest
import redis
from prometheus_client import REGISTRY

from conftest import client_for, seat_guids
from core import counters, redisguard

pytestmark = pytest.mark.django_db


def process_count(name: str) -> float:
    return REGISTRY.get_sample_value("seatline_events_total", {"name": name}) or 0.0


@pytest.fixture
def own_redis(settings, private_redis):
    """The counters on a Redis of this test alone (``private_redis``), under a fresh prefix."""
    settings.REDIS_URL = private_redis.url
    settings.REDIS_PREFIX = "counters-test"
    redisguard.reset_client()
    yield private_redis
    redisguard.reset_client()


def test_without_redis_the_process_keeps_the_totals(settings):
    settings.REDIS_URL = ""
    before = process_count("seat_conflicts")
    counters.bump("seat_conflicts")
    counters.bump("seat_conflicts", 2)
    assert counters.totals() == {"seat_conflicts": 3, "idempotent_replays": 0}
    assert process_count("seat_conflicts") == before + 3


def test_with_redis_the_totals_are_one_hash_shared_by_every_process(own_redis):
    counters.bump("idempotent_replays")
    other_process = redis.Redis.from_url(own_redis.url)
    assert other_process.hgetall("counters-test:counters") == {b"idempotent_replays": b"1"}
    other_process.hincrby("counters-test:counters", "idempotent_replays", 5)
    assert counters.totals() == {"seat_conflicts": 0, "idempotent_replays": 6}


def test_redis_down_never_fails_a_count_and_the_counts_wait_for_it(own_redis, settings):
    counters.bump("seat_conflicts")
    own_redis.stop()
    started = time.monotonic()
    for _ in range(5):
        counters.bump("seat_conflicts")  # never raises
    assert time.monotonic() - started < 3 * settings.REDIS_TIMEOUT_SECONDS + 1
    assert counters.totals()["seat_conflicts"] == 5  # this process's unsent counts
    own_redis.start()  # without persistence: the one sent before is gone
    time.sleep(settings.REDIS_BREAKER_RESET_SECONDS + 0.1)
    counters.bump("seat_conflicts")
    stored = redis.Redis.from_url(own_redis.url).hgetall("counters-test:counters")
    assert stored == {b"seat_conflicts": b"6"}
    assert counters.totals()["seat_conflicts"] == 6


def test_a_conflict_and_stats_answer_while_redis_is_down(
    own_redis, api, other_api, make_user, showtime
):
    own_redis.stop()
    url = f"/api/v1/showtimes/{showtime.pk}/holds/"
    seat = seat_guids(showtime, 1)
    assert api.post(url, {"seats": seat}, format="json").status_code == 201
    assert other_api.post(url, {"seats": seat}, format="json").status_code == 409
    stats = client_for(make_user(staff=True)).get("/api/v1/stats/")
    assert stats.status_code == 200
    assert stats.json()["prevented_duplicates"]["seat_conflicts"] == 1
