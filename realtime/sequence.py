"""``epoch`` and ``seq`` of ``seats.changed`` frames, per showtime (docs/realtime.md "Ordering").

``seq`` numbers a showtime's ``seats.changed`` frames 1, 2, 3, …; ``epoch`` is an opaque string that
changes whenever the numbering may have restarted, so a client (or a consumer on its behalf) that
sees a new epoch knows its map may be stale and takes a fresh snapshot.

With ``REDIS_URL`` both live in one Redis hash per showtime, ``{REDIS_PREFIX}:seq:showtime:{id}``
with the fields ``epoch`` and ``seq``, shared by every server process. One ``MULTI`` makes sure the
hash has an epoch (a new random one when Redis lost it: a restart, a failover, an eviction) and
increments ``seq``; the counter and its epoch therefore vanish and come back together. Calls go
through ``core.redisguard`` (timeout, circuit breaker).

While Redis cannot be reached a process numbers on by itself, under the last epoch it saw (or a
process-local one) so its own sockets keep getting gap-free frames, and marks the showtime *dirty*.
The first call after Redis is back *recovers* a dirty showtime: if Redis still holds the epoch the
process numbered under (or none), it starts a new epoch at seq 0, so every socket of every process
resyncs once (:func:`recover` also tells the caller to broadcast a reset for sockets that would get
no frame soon). Without ``REDIS_URL`` (the embedded single process) the numbers live in this process
under an epoch made at start.
"""

from __future__ import annotations

import logging
import threading
import uuid

import redis
from django.conf import settings

from core import redisguard

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_process_epoch = uuid.uuid4().hex[:12]
# showtime id -> (epoch, seq) last allocated or read (the local numbering while Redis is away)
_known: dict[int, tuple[str, int]] = {}
# showtime id -> the epoch this process numbered under while Redis was away
_dirty: dict[int, str] = {}

_RECOVER = """
local current = redis.call('HGET', KEYS[1], 'epoch')
if (not current) or current == ARGV[1] then
  redis.call('HSET', KEYS[1], 'epoch', ARGV[2], 'seq', 0)
  return ARGV[2]
end
return current
"""


def _key(showtime_id: int) -> str:
    return f"{settings.REDIS_PREFIX}:seq:showtime:{showtime_id}"


def _new_epoch() -> str:
    return uuid.uuid4().hex[:12]


def _decode(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def allocate(showtime_id: int) -> tuple[str, int]:
    """The ``(epoch, seq)`` of the showtime's next ``seats.changed`` frame (seq 1, 2, 3, …).
    Never raises: with Redis away it numbers locally and marks the showtime dirty."""
    if not settings.REDIS_URL:
        return _allocate_local(showtime_id, _process_epoch)
    try:
        _recover_if_dirty(showtime_id)
        pipe = redisguard.client().pipeline(transaction=True)
        pipe.hsetnx(_key(showtime_id), "epoch", _new_epoch())
        pipe.hincrby(_key(showtime_id), "seq", 1)
        pipe.hget(_key(showtime_id), "epoch")
        _, seq, epoch = pipe.execute()
    except redis.RedisError:
        logger.warning(
            "seq of showtime %s allocated locally: Redis unavailable", showtime_id, exc_info=True
        )
        return _fallback(showtime_id)
    result = (_decode(epoch), int(seq))
    with _lock:
        _known[showtime_id] = result
    return result


def current(showtime_id: int) -> tuple[str, int]:
    """The ``(epoch, seq)`` of the last frame allocated for the showtime (seq 0 before the first),
    for a snapshot (read before its seats). Never raises (local numbers while Redis is away)."""
    if not settings.REDIS_URL:
        with _lock:
            return _known.get(showtime_id, (_process_epoch, 0))
    try:
        _recover_if_dirty(showtime_id)
        pipe = redisguard.client().pipeline(transaction=True)
        pipe.hsetnx(_key(showtime_id), "epoch", _new_epoch())
        pipe.hmget(_key(showtime_id), ["epoch", "seq"])
        _, (epoch, seq) = pipe.execute()
    except redis.RedisError:
        with _lock:
            known = _known.get(showtime_id)
            if known is None:
                known = _known[showtime_id] = (f"local-{_process_epoch}", 0)
            _dirty.setdefault(showtime_id, known[0])
            return known
    result = (_decode(epoch), int(seq or 0))
    with _lock:
        _known[showtime_id] = result
    return result


def _allocate_local(showtime_id: int, default_epoch: str) -> tuple[str, int]:
    with _lock:
        epoch, seq = _known.get(showtime_id, (default_epoch, 0))
        _known[showtime_id] = (epoch, seq + 1)
        return epoch, seq + 1


def _fallback(showtime_id: int) -> tuple[str, int]:
    epoch, seq = _allocate_local(showtime_id, f"local-{_process_epoch}")
    mark_dirty(showtime_id, epoch)
    return epoch, seq


def observe(showtime_id: int, epoch: str, seq: int) -> None:
    """Note a frame this process received (``realtime.hub``), so that numbering on locally while
    Redis is away continues after the highest frame its sockets have, never below it."""
    with _lock:
        known = _known.get(showtime_id)
        if known is None or known[0] != epoch or known[1] < seq:
            _known[showtime_id] = (epoch, seq)


def mark_dirty(showtime_id: int, epoch: str) -> None:
    """Record that frames of ``epoch`` may not have reached every process (a local number, a
    failed publish): the showtime is recovered when Redis answers again."""
    if settings.REDIS_URL:
        with _lock:
            _dirty.setdefault(showtime_id, epoch)


def dirty() -> list[int]:
    """The showtimes waiting for :func:`recover`."""
    with _lock:
        return list(_dirty)


def _recover_if_dirty(showtime_id: int) -> None:
    if showtime_id in _dirty:
        recover(showtime_id)


def recover(showtime_id: int) -> str | None:
    """Start a new epoch for a dirty showtime if Redis still holds the one this process numbered
    under (or none); returns the epoch Redis holds now, or ``None`` when the showtime was not dirty.
    Raises ``redis.RedisError`` while Redis is away (it stays dirty)."""
    with _lock:
        old = _dirty.get(showtime_id)
    if old is None:
        return None
    now = redisguard.client().eval(_RECOVER, 1, _key(showtime_id), old, _new_epoch())
    epoch = _decode(now)
    with _lock:
        if _dirty.get(showtime_id) == old:
            del _dirty[showtime_id]
        if epoch != old:
            _known.pop(showtime_id, None)
    logger.warning(
        "showtime %s: seq epoch %s after Redis came back (was %s)", showtime_id, epoch, old
    )
    return epoch


def reset_local_state() -> None:
    """Forget every local number and dirty mark (tests)."""
    with _lock:
        _known.clear()
        _dirty.clear()
