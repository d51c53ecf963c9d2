"""The Redis guard (core/redisguard.py): a contract test of the redis-py and pybreaker parts
it relies on, and its behaviour against a Redis this test starts, pauses and stops itself."""

import asyncio
import inspect
import time

import pybreaker
import pytest
import redis

from core import redisguard


def test_the_library_interfaces_it_overrides_are_still_there():
    """Fails loudly on an upgrade of redis-py or pybreaker that changes what the guard uses."""
    for name in ("connect", "send_packed_command", "read_response"):
        assert callable(getattr(redis.Connection, name)), name
    assert "connection_class" in inspect.signature(redis.ConnectionPool).parameters
    assert issubclass(redisguard.RedisUnavailable, redis.exceptions.ConnectionError)
    assert hasattr(pybreaker.CircuitBreaker, "calling")
    assert pybreaker.STATE_OPEN == "open"
    assert redisguard.breaker.current_state in (
        pybreaker.STATE_CLOSED,
        pybreaker.STATE_OPEN,
        pybreaker.STATE_HALF_OPEN,
    )


@pytest.fixture
def guarded(settings, private_redis):
    settings.REDIS_URL = private_redis.url
    redisguard.reset_client()
    yield private_redis
    redisguard.reset_client()


def test_a_hung_redis_costs_one_timeout_per_call_then_nothing(guarded, settings):
    client = redisguard.client()
    assert client.ping()
    guarded.pause()
    try:
        timings = []
        for _ in range(6):
            started = time.monotonic()
            with pytest.raises(redis.exceptions.RedisError):
                client.incr("x")
            timings.append(time.monotonic() - started)
        # at most the socket timeout (plus scheduling) until the breaker opens, then at once
        assert max(timings) < settings.REDIS_TIMEOUT_SECONDS + 0.5
        assert redisguard.is_open() and max(timings[settings.REDIS_BREAKER_FAILURES :]) < 0.05
    finally:
        guarded.resume()
    time.sleep(settings.REDIS_BREAKER_RESET_SECONDS + 0.1)
    assert client.ping() and not redisguard.is_open()  # one trial call closes it again


async def test_an_awaited_call_is_bounded_and_counted(guarded):
    async def never():
        await asyncio.sleep(10)

    for _ in range(3):
        with pytest.raises((asyncio.TimeoutError, redisguard.RedisUnavailable)):
            await redisguard.guard(never(), 0.05)
    assert redisguard.is_open()
    started = time.monotonic()
    with pytest.raises(redisguard.RedisUnavailable):
        await redisguard.guard(never())
    assert time.monotonic() - started < 0.05
