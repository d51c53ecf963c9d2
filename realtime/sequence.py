"""``seq`` numbers of ``seats.changed`` frames, consecutive per showtime (realtime.md).

With ``REDIS_URL`` the counter is a Redis key shared by every server process (``INCR``); without
it (the embedded single-process mode) a counter in this process.
"""

from __future__ import annotations

import threading
from collections import defaultdict

from django.conf import settings

_local_lock = threading.Lock()
_local: dict[int, int] = defaultdict(int)
_redis_client = None


def _redis():
    global _redis_client
    if _redis_client is None:
        import redis

        _redis_client = redis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1)
    return _redis_client


def _key(showtime_id: int) -> str:
    return f"{settings.CACHE_KEY_PREFIX}:seq:showtime:{showtime_id}"


def next_seq(showtime_id: int) -> int:
    """Allocate the next ``seq`` of a showtime's ``seats.changed`` frames (1, 2, 3, …)."""
    if settings.REDIS_URL:
        return int(_redis().incr(_key(showtime_id)))
    with _local_lock:
        _local[showtime_id] += 1
        return _local[showtime_id]


def current_seq(showtime_id: int) -> int:
    """The last ``seq`` allocated for a showtime (0 before the first frame)."""
    if settings.REDIS_URL:
        value = _redis().get(_key(showtime_id))
        return int(value) if value else 0
    with _local_lock:
        return _local[showtime_id]

