"""One channel-layer subscription per group per process, fanned out locally (issue #7).

Instead of a channel-layer channel, a receive loop and a task per socket (and per frame a
deserialization and a dispatch per socket), the :class:`Hub` of the event loop holds, per group that at least one local socket needs, one :class:`Subscription`: one
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
subscribed to the showtime's group, so a connect storm reads the seats once instead of once per
socket. See :meth:`Hub.snapshot` for why that is as correct as a fresh read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any, Protocol, TypeVar

from channels.layers import get_channel_layer
from django.conf import settings

from core import redisguard

from . import sequence

logger = logging.getLogger(__name__)
_T = TypeVar("_T")

RETRY_FIRST_SECONDS = 0.1  # first wait after a failed receive; doubles up to RETRY_MAX_SECONDS
RETRY_MAX_SECONDS = 5.0
DEFAULT_SNAPSHOT_CACHE_SECONDS = 1.0  # settings.REALTIME_SNAPSHOT_CACHE_SECONDS; 0 turns it off
# How long a showtime's frames wait for a missing seq before they go on without it (the sockets
# then see the gap and get a fresh snapshot): settings.REALTIME_REORDER_WAIT_SECONDS.
DEFAULT_REORDER_WAIT_SECONDS = 1.0
# How often the hub checks its path through Redis (a probe message sent to itself) and recovers
# dirty seq numbering: settings.REALTIME_PROBE_SECONDS. PROBE_FAILURES probes in a row without
# their round trip make an outage (one slow probe under load is not one).
DEFAULT_PROBE_SECONDS = 0.5
PROBE_FAILURES = 2


class HubUnavailable(Exception):
    """The group cannot be joined now (its subscription is failing); the consumer closes 1011."""


class Member(Protocol):
    """A local socket of a group (``realtime.consumers.ShowtimeConsumer``)."""

    def deliver(self, message: dict[str, Any]) -> None:
        """Take one channel-layer message of a joined group. Called synchronously from the
        subscription's receive task: must not block or await (queue, or send without waiting)."""

    def resync(self, epoch: str | None = None, older_than: float | None = None) -> None:
        """Send the client a fresh snapshot if the socket's numbering is not ``epoch`` (when
        given) or its last snapshot was read before loop time ``older_than`` (when given)."""


class _Order:
    """Restores ``seq`` order of one showtime's ``seats.changed`` messages (docs/realtime.md
    "Ordering"). Two processes can publish seq 6 before seq 5 (the number is allocated, then
    published); a message ahead of the next expected seq waits here up to the reorder wait for
    the missing ones, then goes on (its sockets see the gap and resync)."""

    def __init__(self) -> None:
        self.epoch: str | None = None
        self.next: int | None = None
        self.waiting: dict[int, dict[str, Any]] = {}
        self.timer: asyncio.TimerHandle | None = None
        self.reordered = 0  # messages that arrived ahead of a missing seq and waited
        self.skipped = 0  # seqs given up on


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
        # snapshot cache, per form (the consumer's snapshot forms): what the reader returned
        # (the consumer's Snapshot) with the generation and loop time its read started, and a
        # read in flight others may share, with the same two
        self.snapshots: dict[str, tuple[Any, int, float]] = {}
        self.reading: dict[str, tuple[asyncio.Task, int, float]] = {}
        self.order = _Order()

    def invalidate(self) -> None:
        self.generation += 1
        self.snapshots.clear()


def _showtime_of(group: str) -> int | None:
    """The showtime id of a ``showtime-<id>`` group (``realtime.events.showtime_group``)."""
    prefix, _, rest = group.partition("-")
    return int(rest) if prefix == "showtime" and rest.isdigit() else None


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
        self.reorder_wait = float(
            getattr(settings, "REALTIME_REORDER_WAIT_SECONDS", DEFAULT_REORDER_WAIT_SECONDS)
        )
        self.probe_seconds = float(
            getattr(settings, "REALTIME_PROBE_SECONDS", DEFAULT_PROBE_SECONDS)
        )
        self._monitor: asyncio.Task | None = None
        self.redis_ok = True  # the last probe through the channel layer came back
        self.down_since: float | None = None  # loop time of the first failed probe of an outage
        self.recoveries = 0  # outages ended (each pushed fresh snapshots)

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
        return {
            "groups": len(self.subscriptions),
            "members": sum(len(s.members) for s in self.subscriptions.values()),
        }

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
        showtime_id = _showtime_of(group)
        if showtime_id is not None:
            # The order starts after the last seq allocated now: every later frame was
            # published after the group was joined, so it arrives here (docs/realtime.md).
            sub.order.epoch, last = await asyncio.to_thread(sequence.current, showtime_id)
            sub.order.next = last + 1
        self._start(sub)
        if self.refresh_seconds and (self._refresher is None or self._refresher.done()):
            self._refresher = self.loop.create_task(self._refresh())
        if settings.REDIS_URL and (self._monitor is None or self._monitor.done()):
            self._monitor = self.loop.create_task(self._watch_redis(), name="realtime-hub monitor")
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
                    logger.warning(
                        "receiving %s failed %d times; next try in %.1f s",
                        sub.group,
                        failures,
                        delay,
                        exc_info=failures % 10 == 0,
                    )
                await asyncio.sleep(delay)
                continue
            self._route(sub, message)

    def deliver_local(self, group: str, message: dict[str, Any]) -> None:
        """Deliver a message to this loop's sockets of ``group`` without the channel layer
        (``realtime.events`` while Redis is away), in the same order as layer messages."""
        sub = self.subscriptions.get(group)
        if sub is not None:
            self._route(sub, message)

    def _route(self, sub: Subscription, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "seats.changed" and "seq" in message:
            self._ordered(sub, message)
        elif kind == "realtime.reset":
            sub.invalidate()
            for member in list(sub.members):
                member.resync(epoch=message.get("epoch"))
        elif kind != "realtime.probe":
            self._fanout(sub, message)

    def _fanout(self, sub: Subscription, message: dict[str, Any]) -> None:
        sub.invalidate()  # before delivering: the snapshot rule of Hub.snapshot
        sub.received += 1
        for member in list(sub.members):
            try:
                member.deliver(message)
            except Exception:  # one broken socket must not stop the others
                logger.exception("delivering %s to %r failed", message.get("type"), member)

    def _ordered(self, sub: Subscription, message: dict[str, Any]) -> None:
        """Deliver ``seats.changed`` messages in ``seq`` order per epoch (see :class:`_Order`)."""
        order, epoch, seq = sub.order, message["epoch"], int(message["seq"])
        sequence.observe(message["showtime"], epoch, seq)
        if epoch != order.epoch:  # a new numbering: what waited belongs to the old one
            self._flush(sub)
            order.epoch, order.next = epoch, seq
        if order.next is None:
            order.next = seq
        if seq < order.next:  # late or twice: the sockets skip what their snapshot has
            self._fanout(sub, message)
            return
        if seq > order.next:
            order.waiting[seq] = message
            order.reordered += 1
            if order.timer is None:
                order.timer = self.loop.call_later(self.reorder_wait, self._give_up, sub)
            return
        self._fanout(sub, message)
        order.next = seq + 1
        while order.next in order.waiting:
            self._fanout(sub, order.waiting.pop(order.next))
            order.next += 1
        if not order.waiting and order.timer is not None:
            order.timer.cancel()
            order.timer = None

    def _give_up(self, sub: Subscription) -> None:
        sub.order.timer = None
        if sub.order.waiting:
            sub.order.skipped += 1
            self._flush(sub)

    def _flush(self, sub: Subscription) -> None:
        """Deliver every waiting message in seq order, past the missing ones."""
        order = sub.order
        if order.timer is not None:
            order.timer.cancel()
            order.timer = None
        for seq in sorted(order.waiting):
            self._fanout(sub, order.waiting.pop(seq))
            order.next = seq + 1

    async def _refresh(self) -> None:
        """Re-add every healthy subscription before the layer's ``group_expiry`` drops it."""
        while self.subscriptions and self.refresh_seconds:
            await asyncio.sleep(self.refresh_seconds)
            for sub in list(self.subscriptions.values()):
                if sub.healthy and sub.teardown is None:
                    try:
                        await self.layer.group_add(sub.group, sub.channel)
                    except Exception:  # the receive loop notices a dead layer
                        logger.warning("refreshing %s failed", sub.group, exc_info=True)

    # --- Redis faults -------------------------------------------------------------------------

    async def _watch_redis(self) -> None:
        """While this loop has subscriptions: every ``probe_seconds`` send a probe message to a
        channel of the hub's own through the layer and wait for it (so the probe succeeds only
        when publishing *and* the subscription work). After an outage (a probe failed, then one
        came back) every local socket whose snapshot is older than the outage gets a fresh one:
        frames of other processes may have been lost meanwhile. Also recovers dirty seq
        numbering (``realtime.sequence``) and broadcasts the new epoch (``realtime.reset``)."""
        from . import events

        seen = asyncio.Event()
        state: dict[str, Any] = {"n": 0, "channel": None, "receiver": None}
        failed, first_failed = 0, None

        async def receive_probes(channel: str) -> None:
            while True:
                try:
                    message = await self.layer.receive(channel)
                except asyncio.CancelledError:
                    raise
                except Exception:  # the core layer raises while Redis is down
                    await asyncio.sleep(self.probe_seconds)
                    continue
                if message.get("n") == state["n"]:
                    seen.set()

        try:
            while self.subscriptions:
                await asyncio.sleep(self.probe_seconds)
                ok = False
                try:
                    if state["channel"] is None:
                        channel: str = await redisguard.guard(self.layer.new_channel(), 1.0)
                        state["channel"] = channel
                        state["receiver"] = self.loop.create_task(receive_probes(channel))
                    state["n"] += 1
                    seen.clear()
                    await redisguard.guard(
                        self.layer.send(
                            state["channel"], {"type": "realtime.probe", "n": state["n"]}
                        ),
                        0.5,
                    )
                    await asyncio.wait_for(seen.wait(), 0.5)
                    ok = True
                except asyncio.CancelledError:
                    raise
                except Exception:
                    logger.debug("realtime probe %s failed", state["n"], exc_info=True)
                if not ok:
                    failed += 1
                    first_failed = first_failed or self.loop.time() - self.probe_seconds
                    if self.redis_ok and failed >= PROBE_FAILURES:
                        logger.warning(
                            "realtime: no round trip through Redis; sockets will "
                            "get fresh snapshots when it is back"
                        )
                        self.redis_ok = False
                        self.down_since = first_failed
                    continue
                failed, first_failed = 0, None
                if not self.redis_ok:
                    self.redis_ok = True
                    self._recovered(self.down_since or self.loop.time())
                    self.down_since = None
                for showtime_id in sequence.dirty():
                    try:
                        epoch = await asyncio.to_thread(sequence.recover, showtime_id)
                    except Exception:
                        logger.warning(
                            "recovering seq of showtime %s failed", showtime_id, exc_info=True
                        )
                        break
                    if epoch is None:
                        continue
                    group = events.showtime_group(showtime_id)
                    message = events.reset_message(showtime_id, epoch)
                    self.deliver_local(group, message)
                    try:
                        await redisguard.guard(self.layer.group_send(group, message))
                    except Exception:
                        sequence.mark_dirty(showtime_id, epoch)
        finally:
            if state["receiver"] is not None:
                state["receiver"].cancel()

    def _recovered(self, down_since: float) -> None:
        """Redis is back: every local socket with a snapshot read before ``down_since`` gets a
        fresh one (one read per showtime, shared through the snapshot cache)."""
        self.recoveries += 1
        logger.warning("realtime: Redis is back; refreshing the sockets' snapshots")
        for sub in list(self.subscriptions.values()):
            sub.invalidate()
            sub.order = _Order()
            for member in list(sub.members):
                member.resync(older_than=down_since)

    # --- snapshot cache -----------------------------------------------------------------------

    async def snapshot(
        self, group: str, read: Callable[[], Coroutine[Any, Any, _T]], form: str = ""
    ) -> _T:
        """The encoded ``snapshot`` frame of the showtime of ``group`` in ``form`` (each form is
        cached on its own: sockets of one showtime may ask for different forms): cached, or
        ``await read()`` (which reads ``seq`` before the seats; realtime.md).

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
        ttl = float(
            getattr(settings, "REALTIME_SNAPSHOT_CACHE_SECONDS", DEFAULT_SNAPSHOT_CACHE_SECONDS)
        )
        sub = self.subscriptions.get(group)
        if ttl <= 0 or sub is None or not sub.healthy:
            return await read()
        now = self.loop.time()
        stored = sub.snapshots.get(form)
        if stored is not None and stored[1] == sub.generation and now - stored[2] < ttl:
            return stored[0]
        flight = sub.reading.get(form)
        if flight is not None and flight[1] == sub.generation and now - flight[2] < ttl:
            return await asyncio.shield(flight[0])
        generation, started = sub.generation, now
        reading = self.loop.create_task(read())
        sub.reading[form] = (reading, generation, started)

        def store(task: asyncio.Task) -> None:
            flight = sub.reading.get(form)
            if flight is not None and flight[0] is task:
                del sub.reading[form]
            if (
                not task.cancelled()
                and task.exception() is None
                and sub.generation == generation
                and sub.healthy
                and self.subscriptions.get(group) is sub
            ):
                sub.snapshots[form] = (task.result(), generation, started)

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


def existing_hub() -> Hub | None:
    """The hub of the running event loop if it has one (``None`` off the loop or before the
    first socket)."""
    try:
        return _hubs.get(asyncio.get_running_loop())
    except RuntimeError:
        return None


def all_hubs() -> list[Hub]:
    """The hubs of this process (one per running event loop; metrics)."""
    return list(_hubs.values())
