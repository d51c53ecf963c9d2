"""Event counters of the booking paths, kept off the database (issue #15: no hot row).

:func:`bump` counts one event by name (``seat_conflicts``: a 409 ``seat_unavailable``, a double
sale refused; ``idempotent_replays``: an ``Idempotency-Key`` answered from its stored answer):

- in this process's Prometheus counter ``seatline_events_total{name}`` (prometheus_client, shown at
  ``/metrics`` by django-prometheus): per-process rates, ``rate()``/``sum()`` in Prometheus;
- in the deployment's totals (:func:`totals`, shown by ``GET stats/`` and as
  ``seatline_prevented_duplicates_total{kind}``): with ``REDIS_URL`` a Redis hash
  ``{REDIS_PREFIX}:counters`` (one ``HINCRBY`` per event, shared by every process, through the
  guarded client of :mod:`core.redisguard`: short timeout, circuit breaker); without it a dict of
  this process (the embedded single process).

Never raises: while Redis is away the counts wait in this process and go with the next
:func:`bump` that reaches Redis; :func:`totals` adds them to what Redis holds (or shows them alone,
for this process, while Redis cannot be read). Counts waiting in a process that stops are lost;
Redis losing its data (a restart without persistence) starts the totals again at zero.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections import Counter as Tally
from typing import cast

import redis
from django.conf import settings
from prometheus_client import Counter

from core import redisguard

logger = logging.getLogger(__name__)

NAMES = ("seat_conflicts", "idempotent_replays")

events = Counter(
    "seatline_events",
    "Counted booking events of this process "
    "(seat_conflicts: 409 seat_unavailable; idempotent_replays).",
    ["name"],
)

_lock = threading.Lock()
_unsent: Tally[str] = Tally()  # counts not (yet) in Redis; without REDIS_URL, the totals


def _key() -> str:
    return f"{settings.REDIS_PREFIX}:counters"


def bump(name: str, by: int = 1) -> None:
    """Count ``by`` events ``name`` (one of :data:`NAMES`). Never raises; costs one Redis round
    trip within ``REDIS_TIMEOUT_SECONDS`` with ``REDIS_URL`` (none while the breaker is open)."""
    events.labels(name).inc(by)
    with _lock:
        _unsent[name] += by
        if not settings.REDIS_URL:
            return
        sending = dict(_unsent)
        _unsent.clear()
    try:
        pipe = redisguard.client().pipeline(transaction=False)
        for counter, count in sending.items():
            pipe.hincrby(_key(), counter, count)
        pipe.execute()
    except redis.RedisError as exc:
        logger.warning("counter %s kept in this process: Redis unavailable (%s)", name, exc)
        with _lock:
            _unsent.update(sending)


def totals() -> dict[str, int]:
    """``{name: count}`` for every name of :data:`NAMES` (0 when never counted): the
    deployment's totals since Redis last lost its data (with ``REDIS_URL``), else since this
    process started. Never raises: while Redis cannot be read, this process's unsent counts."""
    with _lock:
        result = {name: _unsent[name] for name in NAMES}
    if settings.REDIS_URL:
        try:
            stored = cast(dict, redisguard.client().hgetall(_key()))
        except redis.RedisError as exc:
            logger.warning("counter totals of this process only: Redis unavailable (%s)", exc)
            return result
        for name, value in stored.items():
            name = name.decode() if isinstance(name, bytes) else name
            if name in result:
                result[name] += int(value)
    return result


def reset() -> None:
    """Forget the totals: the Redis hash and this process's unsent counts (tests). The
    Prometheus counters, monotonic by definition, are left alone."""
    with _lock:
        _unsent.clear()
    if settings.REDIS_URL:
        with contextlib.suppress(redis.RedisError):
            redisguard.client().delete(_key())
