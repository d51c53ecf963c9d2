"""Which buyers have a seat map open, across server processes; and the server side of the early
release of abandoned holds (issue #16, docs/realtime.md "Presence").

Each signed-in seat map socket (session cookie or ticket) is *present* on its showtime under a
token of its own. The store counts the tokens per (showtime, buyer):

- with ``REDIS_URL``, one sorted set per pair, ``{REDIS_PREFIX}:presence:{showtime}:{user}``,
  member = the socket's token, score = the Unix time its lease ends. The process renews the
  leases of its sockets every ``PRESENCE_REFRESH_SECONDS`` for ``PRESENCE_LEASE_SECONDS``; a
  process that dies stops renewing, and its tokens stop counting when their lease ends. Every
  call goes through ``core.redisguard`` (timeout, circuit breaker);
- without it (the embedded single process), a dictionary in the process.

The durable side is the hold row (``seats.services.abandon``): :func:`arrive` counts the socket,
then moves the buyer's hold's ``abandon_at`` a lease ahead; :func:`depart` uncounts it and, when
no socket of the buyer is left on the showtime in any process, starts the grace
(``left_at``/``abandon_at``). A page reload, a reconnect or a second tab therefore keeps the hold;
a buyer who does not come back within ``abandon_grace_seconds`` loses it.

Each server process runs one :class:`PresenceLoop` task per event loop (started by the first
connection, :func:`ensure_started`): it renews the leases of the process's sockets, in Redis and
on the holds, and every ``ABANDON_SWEEP_SECONDS`` releases the holds whose ``abandon_at`` has
passed (``seats.services.hold_abandon_due``, which ``manage.py cleanup`` also runs: whichever
process gets a hold first releases it, exactly once). All of this state is in the database or
expires by itself, so a restart loses nothing: a hold whose buyer never came back is released one
lease plus the grace after the last renewal, and one whose buyer reconnected is kept.

When Redis cannot answer, nothing is released early: an unknown count is taken as "still
present", and the hold then goes at most one lease plus the grace after its last renewal.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
import time
import uuid
import weakref
from collections import defaultdict
from datetime import datetime
from typing import cast

import redis
from channels.db import database_sync_to_async
from django.conf import settings
from django.utils import timezone

from core import redisguard
from seats.models import Hold
from seats.services import (
    hold_abandon_due,
    hold_presence_arrive,
    hold_presence_left,
    hold_presence_refresh,
)

logger = logging.getLogger(__name__)

_PROCESS = uuid.uuid4().hex[:12]
_counter = itertools.count(1)

# The last socket's removal and the count of the others, in one step.
_REMOVE = """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
return redis.call('ZCARD', KEYS[1])
"""


def lease_seconds() -> float:
    """``PRESENCE_LEASE_SECONDS``: how long a socket counts as present without a renewal."""
    return float(settings.PRESENCE_LEASE_SECONDS)


def refresh_seconds() -> float:
    """How often the leases are renewed: ``PRESENCE_REFRESH_SECONDS``, at most a third of the
    lease (a renewal may be late once without the socket ceasing to count)."""
    return min(float(settings.PRESENCE_REFRESH_SECONDS), lease_seconds() / 3)


def new_token() -> str:
    """A socket's presence token: unique across processes (``<process>:<n>``)."""
    return f"{_PROCESS}:{next(_counter)}"


Pair = tuple[int, int]  # (showtime id, user id)


class RedisStore:
    """Presence counts in Redis, shared by every server process of the deployment."""

    def _key(self, pair: Pair) -> str:
        return f"{settings.REDIS_PREFIX}:presence:{pair[0]}:{pair[1]}"

    def add(self, pair: Pair, token: str) -> None:
        now = time.time()
        pipe = redisguard.client().pipeline(transaction=False)
        pipe.zadd(self._key(pair), {token: now + lease_seconds()})
        pipe.expire(self._key(pair), int(lease_seconds()) + 1)
        pipe.execute()

    def renew(self, tokens: dict[Pair, set[str]]) -> None:
        """Renew the leases of ``tokens`` (only those still stored: ``ZADD XX``, so a token
        removed meanwhile is not brought back)."""
        deadline = time.time() + lease_seconds()
        pipe = redisguard.client().pipeline(transaction=False)
        for pair, members in tokens.items():
            pipe.zadd(self._key(pair), dict.fromkeys(members, deadline), xx=True)
            pipe.expire(self._key(pair), int(lease_seconds()) + 1)
        pipe.execute()

    def remove(self, pair: Pair, token: str) -> int:
        """Remove ``token``; return how many sockets of the pair are still present."""
        # The sync client answers at once (its stubs also allow an awaitable): hence the casts.
        left = redisguard.client().eval(_REMOVE, 1, self._key(pair), token, str(time.time()))
        return int(cast(int, left))

    def count(self, pair: Pair) -> int:
        return int(
            cast(int, redisguard.client().zcount(self._key(pair), f"({time.time()}", "+inf"))
        )


class LocalStore:
    """Presence counts in this process (the embedded mode: one server process), with leases like
    :class:`RedisStore`'s, so a token that is never removed stops counting. Thread-safe."""

    def __init__(self) -> None:
        self._tokens: dict[Pair, dict[str, float]] = defaultdict(dict)
        self._lock = threading.Lock()

    def add(self, pair: Pair, token: str) -> None:
        with self._lock:
            self._tokens[pair][token] = time.monotonic() + lease_seconds()

    def renew(self, tokens: dict[Pair, set[str]]) -> None:
        deadline = time.monotonic() + lease_seconds()
        with self._lock:
            for pair, members in tokens.items():
                stored = self._tokens.get(pair, {})
                for token in members & stored.keys():
                    stored[token] = deadline

    def remove(self, pair: Pair, token: str) -> int:
        with self._lock:
            stored = self._tokens.get(pair, {})
            stored.pop(token, None)
            return self._live(pair)

    def count(self, pair: Pair) -> int:
        with self._lock:
            return self._live(pair)

    def _live(self, pair: Pair) -> int:
        now = time.monotonic()
        stored = self._tokens.get(pair, {})
        for token in [t for t, until in stored.items() if until <= now]:
            del stored[token]
        if not stored:
            self._tokens.pop(pair, None)
        return len(stored)

    def clear(self) -> None:
        with self._lock:
            self._tokens.clear()


_local_store = LocalStore()


def store() -> RedisStore | LocalStore:
    """The presence store of this deployment: Redis with ``REDIS_URL``, else the process's own."""
    return RedisStore() if settings.REDIS_URL else _local_store


def arrive(pair: Pair, token: str) -> Hold | None:
    """A signed-in socket opened (sync; call in a worker thread): count it, then move the buyer's
    live hold's ``abandon_at`` ahead (``hold_presence_arrive``). Returns that hold, if any. A
    Redis failure is logged: the hold row is still written, and the socket still counts for this
    process's renewals."""
    try:
        store().add(pair, token)
    except (redis.RedisError, OSError):
        logger.warning("presence of %s not stored: Redis unavailable", pair, exc_info=True)
    return hold_presence_arrive(showtime_id=pair[0], user_id=pair[1], lease=lease_seconds())


def depart(pair: Pair, token: str) -> Hold | None:
    """A signed-in socket closed (sync; call in a worker thread): uncount it, and when it was the
    buyer's last on the showtime in every process, start the grace of their hold
    (``hold_presence_left``, which asks the store again under the hold's lock). Returns the hold
    whose grace started, else ``None``. When Redis cannot tell, nothing starts: the hold's lease
    runs out by itself."""
    presence = store()
    try:
        if presence.remove(pair, token) > 0:
            return None
    except (redis.RedisError, OSError):
        logger.warning("presence of %s unknown: Redis unavailable", pair, exc_info=True)
        return None

    def still_present() -> bool:
        try:
            return presence.count(pair) > 0
        except (redis.RedisError, OSError):
            return True  # unknown: do not start the grace; the lease runs out by itself

    return hold_presence_left(showtime_id=pair[0], user_id=pair[1], still_present=still_present)


class PresenceLoop:
    """The presence work of one event loop: the tokens of its open signed-in sockets, and the
    task that renews their leases and sweeps abandoned holds."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.tokens: dict[Pair, set[str]] = defaultdict(set)
        self.task: asyncio.Task | None = None
        self.pending: set[asyncio.Future] = set()  # departures on their way (kept referenced)

    def sweeping(self) -> bool:
        return float(settings.ABANDON_SWEEP_SECONDS) > 0

    def ensure_task(self) -> None:
        if self.task is None or self.task.done():
            self.task = self.loop.create_task(self._run(), name="presence")

    async def _run(self) -> None:
        """Renew leases every :func:`refresh_seconds` while this loop has signed-in sockets;
        sweep abandoned holds every ``ABANDON_SWEEP_SECONDS`` (when above 0). Ends when there is
        neither to do. A failed round is logged and the next one runs as usual."""
        from .events import bind_server_loop

        bind_server_loop()  # publishes of the sweep go through this loop's outbox
        renewed = self.loop.time()
        while self.tokens or self.sweeping():
            sweep = float(settings.ABANDON_SWEEP_SECONDS)
            await asyncio.sleep(min(sweep, refresh_seconds()) if sweep > 0 else refresh_seconds())
            try:
                if self.tokens and self.loop.time() - renewed >= refresh_seconds() - 0.01:
                    renewed = self.loop.time()
                    await database_sync_to_async(_renew)(
                        {pair: set(t) for pair, t in self.tokens.items()}, timezone.now()
                    )
                if self.sweeping():
                    released = await database_sync_to_async(hold_abandon_due)()
                    if released:
                        logger.info("released %d abandoned holds", len(released))
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("presence round failed")

    async def arrive(self, pair: Pair, token: str) -> Hold | None:
        """Count a signed-in socket of ``pair`` under ``token`` (:func:`new_token`, kept by the
        caller before this awaits, so that :meth:`depart` can always be called); returns the
        buyer's live hold on the showtime (see :func:`arrive`)."""
        self.tokens[pair].add(token)
        self.ensure_task()
        return await database_sync_to_async(arrive)(pair, token)

    def depart(self, pair: Pair, token: str) -> None:
        """Uncount a socket (from its ``finally``: does not wait). The store and the hold are
        written by a task; if the loop stops first, the lease runs out instead."""
        members = self.tokens.get(pair)
        if members is not None:
            members.discard(token)
            if not members:
                del self.tokens[pair]
        if self.loop.is_closed():
            return
        future = asyncio.ensure_future(_depart_logged(pair, token))
        self.pending.add(future)
        future.add_done_callback(self.pending.discard)


async def _depart_logged(pair: Pair, token: str) -> None:
    try:
        await database_sync_to_async(depart)(pair, token)
    except Exception:
        logger.exception("presence departure of %s failed", pair)


def _renew(tokens: dict[Pair, set[str]], seen_at: datetime) -> None:
    """Renew the leases of ``tokens`` (this loop's sockets at ``seen_at``) in the store and on
    the holds (sync)."""
    try:
        store().renew(tokens)
    except (redis.RedisError, OSError):
        logger.warning("presence leases not renewed in Redis", exc_info=True)
    by_showtime: dict[int, list[int]] = defaultdict(list)
    for showtime_id, user_id in tokens:
        by_showtime[showtime_id].append(user_id)
    for showtime_id, users in by_showtime.items():
        hold_presence_refresh(
            showtime_id=showtime_id, user_ids=users, lease=lease_seconds(), seen_at=seen_at
        )


_loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, PresenceLoop] = (
    weakref.WeakKeyDictionary()
)


def for_loop() -> PresenceLoop:
    """The :class:`PresenceLoop` of the running event loop (made on first use)."""
    loop = asyncio.get_running_loop()
    presence = _loops.get(loop)
    if presence is None:
        presence = _loops[loop] = PresenceLoop(loop)
    return presence


def ensure_started() -> None:
    """Start the running loop's presence task if sweeping is on (``ABANDON_SWEEP_SECONDS`` >
    0) and it is not running: called for every connection the server takes
    (``realtime.events.ServerLoopMiddleware``), so a restarted process sweeps from its first
    request on. Cheap when running (a dictionary lookup)."""
    if float(settings.ABANDON_SWEEP_SECONDS) > 0:
        for_loop().ensure_task()


def reset_local_state() -> None:
    """Forget the in-process presence counts (tests)."""
    _local_store.clear()
