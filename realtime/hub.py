"""One channel-layer subscription per group per process, fanned out locally (issue #7).

Before, every WebSocket consumer joined ``showtime-<id>`` (and ``user-<id>``) with a channel of its
own: per socket a channel-layer channel, a receive loop, a task, and per frame a deserialization
and a dispatch (with a thread hop to close old database connections). Now the :class:`Hub` of the
event loop holds, per group that at least one local socket needs, one :class:`Subscription`: one
channel (``await layer.new_channel()``), one ``group_add``, one receive task. Each message the
layer delivers there is handed synchronously to every local member (``member.deliver(message)``,
which must not block; see ``realtime.consumers``). The first local socket of a group makes the
subscription, the last one to leave ends it (``group_discard``).

Why one channel per *group* and not one per process: a channel-layer message does not name the
group it was sent to, and the personal events (``hold.updated``, ``hold.expired``,
``order.updated``; realtime.events) carry the showtime they concern but not the user. So a
message is routed by the subscription (channel) it arrived on. The number of channels and tasks
per process is the number of groups with local sockets: the watched showtimes plus the signed-in
users, never the number of sockets.

Works with every layer of this project (realtime.md "Delivery across processes"): Channels'
``InMemoryChannelLayer`` (embedded mode, tests), channels_redis' ``RedisPubSubChannelLayer``
(default with ``REDIS_URL``) and ``RedisChannelLayer`` (``CHANNEL_LAYER=core``). One hub per
running event loop (a server process has one; pytest-asyncio makes one per test), found with
:func:`get_hub`.

Failures: a receive that raises (``RedisChannelLayer`` while Redis is down) is logged, the
subscription is marked unhealthy (new sockets of the group are refused: close 1011, the client
retries with backoff), and the loop retries with exponential backoff, re-joins the group (Redis
may have lost it) and goes on; frames published meanwhile are lost, which clients notice by the
``seq`` gap and repair with ``resync`` (realtime.md). ``RedisPubSubChannelLayer`` reconnects and
resubscribes by itself. The layers forget a group member after ``group_expiry`` (one day by
default; not the pub/sub layer), so a long-lived subscription re-adds itself every quarter of it.

Snapshots: :meth:`Hub.snapshot` keeps the encoded ``snapshot`` frame of a showtime while the hub is
subscribed to the showtime's group, so a connect storm reads the 1,252 seats once instead of once
per socket. See :meth:`Hub.snapshot` for why that is as correct as a fresh read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol

from channels.layers import get_channel_layer
from django.conf import settings

logger = logging.getLogger(__name__)

RETRY_FIRST_SECONDS = 0.1  # first wait after a failed receive; doubles up to RETRY_MAX_SECONDS
RETRY_MAX_SECONDS = 5.0
DEFAULT_SNAPSHOT_CACHE_SECONDS = 1.0  # settings.REALTIME_SNAPSHOT_CACHE_SECONDS; 0 turns it off


class HubUnavailable(Exception):
    """The group cannot be joined now (its subscription is failing); the consumer closes 1011."""


class Member(Protocol):
    """A local socket of a group (``realtime.consumers.ShowtimeConsumer``)."""

    def deliver(self, message: dict[str, Any]) -> None:
        """Take one channel-layer message of a joined group. Called synchronously from the
        subscription's receive task: must not block or await (queue, or send without waiting)."""


class Subscription:
    """The hub's membership of one group: its channel, receive task and local members.

    ``generation`` counts the messages received and the failures, so a snapshot read can tell
    whether anything happened to the group while it ran (see :meth:`Hub.snapshot`).
    """

    def __init__(self, group: str, channel: str) -> None:
        self.group = group
        self.channel = channel
        self.members: dict[Member, None] = {}  # an insertion-ordered set
        self.task: asyncio.Task | None = None
        self.healthy = True
        self.generation = 0
        self.received = 0  # messages received since the subscription was made
        self.teardown: asyncio.Task | None = None
        # snapshot cache: the encoded frame, the generation and loop time its read started
        self.snapshot: str | None = None
        self.snapshot_generation = -1
        self.snapshot_started = 0.0
        self.reading: asyncio.Task | None = None  # a read in flight others may share
        self.reading_generation = -1
        self.reading_started = 0.0

    def invalidate(self) -> None:
        self.generation += 1
        self.snapshot = None


class Hub:
    """The subscriptions of one event loop (see the module docstring). Use :func:`get_hub`."""

    def __init__(self, layer: Any, loop: asyncio.AbstractEventLoop) -> None:
        self.layer = layer
        self.loop = loop
        self.subscriptions: dict[str, Subscription] = {}
        self._locks: dict[str, list] = {}  # group -> [asyncio.Lock, number of users]
        self._refresher: asyncio.Task | None = None
        expiry = getattr(layer, "group_expiry", None)  # None: the pub/sub layer never forgets
        self.refresh_seconds: float | None = max(1.0, expiry / 4) if expiry else None

    # --- membership ---------------------------------------------------------------------------

    async def join(self, group: str, member: Member) -> None:
        """Make ``member`` receive the messages of ``group`` from now on.

        When this returns the group is joined on the channel layer, so a change published after
        it reaches the member (consumers join before reading the snapshot; realtime.md). Raises
        :class:`HubUnavailable` while the group's subscription is failing, and the layer's error
        when the first ``new_channel``/``group_add`` of the group fails.
        """
        sub = self.subscriptions.get(group)
        if sub is not None and sub.healthy and sub.teardown is None:
            sub.members[member] = None  # joined already: no await, nothing can fall between
            return
        async with self._group_lock(group):
            sub = self.subscriptions.get(group)
            if sub is None:
                sub = await self._subscribe(group)
            elif not sub.healthy:
                raise HubUnavailable(f"{group}: the channel layer is failing")
            sub.members[member] = None

    def leave(self, group: str, member: Member) -> None:
        """Stop delivering ``group`` to ``member`` (at once, synchronously). When it was the
        group's last local member, the subscription is ended in the background
        (``group_discard``; a join meanwhile keeps it)."""
        sub = self.subscriptions.get(group)
        if sub is None or sub.members.pop(member, False) is False:
            return
        if not sub.members and sub.teardown is None:
            sub.teardown = self.loop.create_task(self._unsubscribe(sub))

    def is_subscribed(self, group: str) -> bool:
        """Whether a local socket holds ``group`` now (so it was checked to exist)."""
        sub = self.subscriptions.get(group)
        return sub is not None and sub.teardown is None

    def stats(self) -> dict[str, int]:
        """``{"groups", "members"}``: subscriptions and local memberships of this loop."""
        return {"groups": len(self.subscriptions),
                "members": sum(len(s.members) for s in self.subscriptions.values())}

    @contextlib.asynccontextmanager
    async def _group_lock(self, group: str) -> AsyncIterator[None]:
        """Serialize joining and leaving the layer per group (the lock is dropped when unused)."""
        entry = self._locks.setdefault(group, [asyncio.Lock(), 0])
        entry[1] += 1
        try:
            async with entry[0]:
                yield
        finally:
            entry[1] -= 1
            if entry[1] == 0:
                del self._locks[group]

    async def _subscribe(self, group: str) -> Subscription:
        channel = await self.layer.new_channel()
        await self.layer.group_add(group, channel)
        sub = self.subscriptions[group] = Subscription(group, channel)
        self._start(sub)
        if self.refresh_seconds and (self._refresher is None or self._refresher.done()):
            self._refresher = self.loop.create_task(self._refresh())
        logger.debug("subscribed to %s on %s", group, channel)
        return sub

    async def _unsubscribe(self, sub: Subscription) -> None:
        async with self._group_lock(sub.group):
            if sub.members:  # a socket joined while this waited: keep the subscription
                sub.teardown = None
                return
            del self.subscriptions[sub.group]
            if sub.task is not None:
                sub.task.cancel()  # the pub/sub layer unsubscribes the channel on cancellation
                await asyncio.wait({sub.task})
            try:
                await self.layer.group_discard(sub.group, sub.channel)
            except Exception:  # the layer may be down; the membership expires then
                logger.warning("leaving %s failed", sub.group, exc_info=True)
            logger.debug("unsubscribed from %s", sub.group)

    # --- receiving ----------------------------------------------------------------------------

    def _start(self, sub: Subscription) -> None:
        sub.task = self.loop.create_task(self._receive(sub), name=f"realtime-hub {sub.group}")
        sub.task.add_done_callback(lambda task: self._receive_ended(sub, task))

    def _receive_ended(self, sub: Subscription, task: asyncio.Task) -> None:
        """Never silently: a receive task that ends other than by cancellation is logged and,
        while the group still has local members, started again."""
        if task.cancelled() or self.subscriptions.get(sub.group) is not sub:
            return
        logger.error("receive task of %s ended", sub.group, exc_info=task.exception())
        sub.healthy = False
        sub.invalidate()
        if sub.members and not self.loop.is_closed():
            self._start(sub)

    async def _receive(self, sub: Subscription) -> None:
        """Receive the group's messages and hand each to every local member, in order."""
        failures = 0
        while True:
            try:
                if not sub.healthy:
                    await self.layer.group_add(sub.group, sub.channel)
                    sub.healthy = True
                    logger.warning("rejoined %s after %d failed receive(s)", sub.group, failures)
                    failures = 0
                message = await self.layer.receive(sub.channel)
            except asyncio.CancelledError:
                raise
            except Exception:  # logged and retried: the loop must not die
                failures += 1
                sub.healthy = False
                sub.invalidate()
                delay = min(RETRY_MAX_SECONDS, RETRY_FIRST_SECONDS * 2 ** (failures - 1))
                if failures == 1:
                    logger.exception("receiving %s failed; retrying", sub.group)
                else:
                    logger.warning("receiving %s failed %d times; next try in %.1f s",
                                   sub.group, failures, delay, exc_info=failures % 10 == 0)
                await asyncio.sleep(delay)
                continue
            sub.invalidate()  # before delivering: the snapshot rule of Hub.snapshot
            sub.received += 1
            for member in list(sub.members):
                try:
                    member.deliver(message)
                except Exception:  # one broken socket must not stop the others
                    logger.exception("delivering %s to %r failed", message.get("type"), member)

    async def _refresh(self) -> None:
        """Re-add every healthy subscription before the layer's ``group_expiry`` drops it."""
        while self.subscriptions:
            await asyncio.sleep(self.refresh_seconds)
            for sub in list(self.subscriptions.values()):
                if sub.healthy and sub.teardown is None:
                    try:
                        await self.layer.group_add(sub.group, sub.channel)
                    except Exception:  # the receive loop notices a dead layer
                        logger.warning("refreshing %s failed", sub.group, exc_info=True)

    # --- snapshot cache -----------------------------------------------------------------------

    async def snapshot(self, group: str, read: Callable[[], Awaitable[str]]) -> str:
        """The encoded ``snapshot`` frame of the showtime of ``group``: cached, or ``await
        read()`` (which reads ``seq`` before the seats; realtime.md).

        The caller must have joined ``group`` first. A snapshot is stored only when no message
        of the group arrived (and no receive failed) between the start of its read and its end;
        every arriving message drops it. So a stored snapshot is current to every frame the hub
        has delivered: a change it lacks was published after its read started and its frame
        reaches every member that took the snapshot, since they joined before. The same rule
        lets callers share a read in flight. Kept at most ``REALTIME_SNAPSHOT_CACHE_SECONDS``
        (default 1 s, 0 turns the cache off) from the start of its read, because an expired
        hold turns available when read, without a frame (seats.selectors.effective_state).
        Without a healthy subscription of ``group`` it reads every time.
        """
        ttl = float(getattr(settings, "REALTIME_SNAPSHOT_CACHE_SECONDS",
                            DEFAULT_SNAPSHOT_CACHE_SECONDS))
        sub = self.subscriptions.get(group)
        if ttl <= 0 or sub is None or not sub.healthy:
            return await read()
        now = self.loop.time()
        if (sub.snapshot is not None and sub.snapshot_generation == sub.generation
                and now - sub.snapshot_started < ttl):
            return sub.snapshot
        if (sub.reading is not None and sub.reading_generation == sub.generation
                and now - sub.reading_started < ttl):
            return await asyncio.shield(sub.reading)
        generation, started = sub.generation, now
        reading = self.loop.create_task(read())
        sub.reading, sub.reading_generation, sub.reading_started = reading, generation, started

        def store(task: asyncio.Task) -> None:
            if sub.reading is task:
                sub.reading = None
            if (not task.cancelled() and task.exception() is None
                    and sub.generation == generation and sub.healthy
                    and self.subscriptions.get(group) is sub):
                sub.snapshot = task.result()
                sub.snapshot_generation, sub.snapshot_started = generation, started

        reading.add_done_callback(store)
        return await asyncio.shield(reading)


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = weakref.WeakKeyDictionary()


def get_hub() -> Hub:
    """The hub of the running event loop for the current default channel layer (a new one when
    the layer changed, e.g. a test overriding ``CHANNEL_LAYERS``; sockets keep the hub they
    joined)."""
    loop = asyncio.get_running_loop()
    layer = get_channel_layer()
    if layer is None:
        raise HubUnavailable("no channel layer configured (CHANNEL_LAYERS)")
    hub = _hubs.get(loop)
    if hub is None or hub.layer is not layer:
        hub = _hubs[loop] = Hub(layer, loop)
    return hub
