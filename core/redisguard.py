"""Redis on request and socket paths: short timeouts and one circuit breaker per process.

Every Redis call that a request or a socket waits for — ``seq`` allocation (``realtime.sequence``),
publishing (``realtime.events``), rate-limit counters (the cache), ``health/`` — goes through here,
so that a Redis that is down or hung (``SIGSTOP``) costs a request at most ``REDIS_TIMEOUT_SECONDS``
(default 0.25 s) before the breaker opens, and nothing once it is open (issue #13):

- :data:`breaker` is a :class:`pybreaker.CircuitBreaker`: after ``REDIS_BREAKER_FAILURES`` (3)
  failures in a row it opens, every guarded call then fails at once with :class:`RedisUnavailable`,
  and after ``REDIS_BREAKER_RESET_SECONDS`` (1 s) one trial call may close it again.
- :class:`GuardedConnection` is the redis-py connection class of every synchronous client of the
  project (the cache's pool and :func:`client`): each command is sent and read inside the breaker.
  :class:`RedisUnavailable` is a ``redis.ConnectionError``, so django-redis turns it into a cache
  miss (``IGNORE_EXCEPTIONS``) and django-ratelimit fails open.
- No retries and no backoff: redis-py's default client retries 3 times with a backoff of up to
  10 s (what made holds take 2–12 s with a hung Redis).
- :func:`guard` bounds an awaited Redis call (the channel layer's publish) the same way.

The methods overridden here (``Connection.connect``, ``send_packed_command``, ``read_response``)
are redis-py's public connection interface; ``ticketing/tests/test_redisguard.py`` checks them.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Awaitable
from typing import Any, TypeVar

import pybreaker
import redis
from django.conf import settings
from redis.backoff import NoBackoff
from redis.retry import Retry

T = TypeVar("T")


class RedisUnavailable(redis.exceptions.ConnectionError):
    """Redis is not tried: the breaker is open after repeated failures (or a call failed)."""


breaker = pybreaker.CircuitBreaker(
    fail_max=int(getattr(settings, "REDIS_BREAKER_FAILURES", 3)),
    reset_timeout=float(getattr(settings, "REDIS_BREAKER_RESET_SECONDS", 1.0)),
    # A Redis error answer (wrong type, script error) is Redis working: not a failure.
    # A cancelled await is not Redis failing.
    exclude=[redis.exceptions.ResponseError, asyncio.CancelledError],
    name="redis",
)


def is_open() -> bool:
    """Whether the breaker stops Redis calls now (``health/``, metrics, the publisher)."""
    return breaker.current_state == pybreaker.STATE_OPEN


def _guarded(call, *args, **kwargs):
    try:
        with breaker.calling():
            return call(*args, **kwargs)
    except pybreaker.CircuitBreakerError as exc:
        raise RedisUnavailable("Redis circuit breaker is open") from exc


class _OpenedAt(pybreaker.CircuitBreakerListener):
    """Remembers when :data:`breaker` last opened (monotonic seconds)."""

    opened_at = 0.0

    def state_change(self, cb, old_state, new_state):  # noqa: ARG002 (pybreaker's signature)
        if new_state is not None and new_state.name == pybreaker.STATE_OPEN:
            self.opened_at = time.monotonic()


_opened = _OpenedAt()
breaker.add_listener(_opened)


class _Failed(Exception):
    pass


def _record_failure() -> None:
    def fail():
        raise _Failed

    with contextlib.suppress(_Failed, pybreaker.CircuitBreakerError):
        breaker.call(fail)


class GuardedConnection(redis.Connection):
    """A redis-py connection guarded by :data:`breaker`: a command is one call, its reply read
    inside the breaker (a success closes it, a failure counts); sending neither opens nor closes
    it, but is refused while the breaker is open and its reset timeout has not passed, and a
    failed send counts as a failure."""

    def connect(self, *args, **kwargs):
        return _guarded(super().connect, *args, **kwargs)

    def send_packed_command(self, *args, **kwargs):
        if (
            breaker.current_state == pybreaker.STATE_OPEN
            and time.monotonic() - _opened.opened_at < breaker.reset_timeout
        ):
            raise RedisUnavailable("Redis circuit breaker is open")
        try:
            return super().send_packed_command(*args, **kwargs)
        except redis.exceptions.RedisError:
            _record_failure()
            raise

    def read_response(self, *args, **kwargs):
        return _guarded(super().read_response, *args, **kwargs)


class GuardedConnectionPool(redis.ConnectionPool):
    """A redis-py connection pool of :class:`GuardedConnection` without retries (the cache's
    ``CONNECTION_POOL_CLASS``; django-redis sets the timeouts)."""

    def __init__(self, *args, **kwargs):
        kwargs["connection_class"] = GuardedConnection
        kwargs["retry"] = Retry(NoBackoff(), 0)
        super().__init__(*args, **kwargs)


def timeout() -> float:
    """``REDIS_TIMEOUT_SECONDS``: the socket (connect and read) timeout of a guarded call."""
    return float(getattr(settings, "REDIS_TIMEOUT_SECONDS", 0.25))


def connection_kwargs() -> dict[str, Any]:
    """Keyword arguments for a redis-py connection pool of a request path: guarded connections,
    short timeouts, no retries (also the cache's ``CONNECTION_POOL_KWARGS``)."""
    return {
        "connection_class": GuardedConnection,
        "socket_timeout": timeout(),
        "socket_connect_timeout": timeout(),
        "retry": Retry(NoBackoff(), 0),
        "health_check_interval": 0,
    }


_client: redis.Redis | None = None
_client_lock = threading.Lock()


def client() -> redis.Redis:
    """The process's synchronous, guarded client of ``REDIS_URL`` (thread-safe; its pool is
    shared by the request threads). Raises ``ValueError`` without ``REDIS_URL``."""
    global _client
    if _client is None:
        with _client_lock:
            if _client is None:
                if not settings.REDIS_URL:
                    raise ValueError("REDIS_URL is not set")
                pool = GuardedConnectionPool.from_url(settings.REDIS_URL, **connection_kwargs())
                _client = redis.Redis(connection_pool=pool)
    return _client


def reset_client() -> None:
    """Forget the client (tests that point ``REDIS_URL`` at another server)."""
    global _client
    with _client_lock:
        if _client is not None:
            _client.connection_pool.disconnect()
        _client = None
    breaker.close()


async def guard(awaitable: Awaitable[T], seconds: float | None = None) -> T:
    """Await a Redis call (e.g. the channel layer's ``group_send``) within ``seconds`` (default
    :func:`timeout`) through :data:`breaker`. Raises :class:`RedisUnavailable` at once while the
    breaker is open (the awaitable is closed unawaited) or when this failure opened it,
    ``asyncio.TimeoutError`` or the call's own error otherwise (each counted as a failure).
    pybreaker's ``calling()`` holds no lock while its block runs, so the block may await."""
    entered = False
    try:
        with breaker.calling():
            entered = True
            return await asyncio.wait_for(awaitable, seconds if seconds is not None else timeout())
    except pybreaker.CircuitBreakerError as exc:
        if not entered and asyncio.iscoroutine(awaitable):
            awaitable.close()
        raise RedisUnavailable("Redis circuit breaker is open") from exc
