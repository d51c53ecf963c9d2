"""The single place that publishes real-time events (shared/spec/realtime.md).

Services call these functions inside their transaction; each frame is sent only after the
transaction commits (``transaction.on_commit``; domain.md, invariant 5), so a rolled-back change is
never seen. A frame is JSON-encoded once per change, not once per socket: the group message carries
the encoded ``text`` and every consumer forwards it as it is. A failed publish is logged and counted,
never raised: clients resync from the snapshot, which is always the truth. Under the ASGI server
the request does not wait for the publish: the message goes to the server loop's outbox
(:class:`_Outbox`) and is sent from there in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import weakref
from collections import deque
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core import redisguard

from . import sequence

logger = logging.getLogger(__name__)

# Publishes that failed since the process started (read by health/metrics).
publish_failures = 0
PUBLISH_TIMEOUT = 2.0  # seconds


def showtime_group(showtime_id: int) -> str:
    """The Channels group of everyone watching a showtime: ``showtime-<id>``."""
    return f"showtime-{showtime_id}"


def queue_group(showtime_id: int) -> str:
    """The Channels group of everyone in a showtime's waiting room (the queue socket,
    ``ws/showtimes/<id>/queue/``): ``queue-<id>``. Apart from the seat map's group, so a
    queued buyer gets no seat changes and a seat map no queue figures."""
    return f"queue-{showtime_id}"


def user_group(user_id: int) -> str:
    """The personal Channels group of a signed-in user: ``user-<id>``."""
    return f"user-{user_id}"


def encode(frame: dict[str, Any]) -> str:
    """Encode a frame compactly (no spaces)."""
    return json.dumps(frame, separators=(",", ":"), default=str)


async def _publish(group: str, message: dict[str, Any]) -> None:
    """Send a group message through the channel layer. With Redis: within the Redis timeout and
    through the circuit breaker (``core.redisguard``), so a dead or hung Redis costs at most
    one timeout and nothing once the breaker is open. The in-memory layer never waits."""
    layer = get_channel_layer()
    if settings.REDIS_URL:
        await redisguard.guard(layer.group_send(group, message))
    else:
        await asyncio.wait_for(layer.group_send(group, message), PUBLISH_TIMEOUT)


def _deliver_here(group: str, message: dict[str, Any]) -> None:
    """Hand a message to this loop's own sockets of ``group`` when the channel layer could not
    take it (Redis away): same-process watchers keep a live map (issue #13)."""
    from .hub import existing_hub

    hub = existing_hub()
    if hub is not None:
        hub.deliver_local(group, message)


def _failed(frame_type: str, group: str) -> None:
    global publish_failures
    publish_failures += 1
    logger.exception("publishing %s to %s failed", frame_type, group)  # noqa: LOG004 (callers are except clauses)


@dataclass
class _Change:
    """Seat changes of one showtime waiting in an outbox for their ``seats.changed`` frame."""

    showtime_id: int
    reason: str
    seats: list[dict[str, Any]]
    at: datetime  # commit time of the earliest change in it


class _Outbox:
    """The publishes of one server event loop, sent in order by one task, seat changes coalesced.

    A sync view runs in a worker thread while the ASGI server's loop owns the channel layer's
    connections. Waiting there for each ``group_send`` (``async_to_sync``) would cost the request
    a round trip to the loop and to Redis; handing the message to the loop and returning costs
    neither. One task per loop keeps the frames of a process in the order their transactions
    committed.

    Coalescing: seat changes that queue up while the task is busy publishing (a burst, as in an
    on-sale) leave as one ``seats.changed`` frame per showtime and reason, with one ``seq``
    (allocated when the frame leaves, so the process's frames go out in ``seq`` order). A lone
    change leaves at once; after a frame, the showtime's next one waits until
    ``REALTIME_FRAME_INTERVAL_SECONDS`` (50 ms) have passed, collecting what commits meanwhile.
    A seat named twice keeps its newest state (highest ``version``). This merges transactions into one frame, a deviation from
    realtime.md's "one frame per transaction" that issue #7 asks for: watchers then get a few
    frames per second instead of one per sale.
    """

    def __init__(self) -> None:
        self.items: deque[_Change | tuple[str, str, dict[str, Any]]] = deque()
        self.task: asyncio.Task | None = None
        self.coalesced = 0  # changes that rode in another change's frame
        # Seat changes of showtimes whose last frame left less than the frame interval ago,
        # merged per (showtime, reason), in the order they first came; and when each showtime's
        # last frame left (loop time).
        self.waiting: dict[tuple[int, str], _Change] = {}
        self.last_sent: dict[int, float] = {}
        self.wake = asyncio.Event()  # set by put(): a wait for the interval ends early

    def put(self, item: _Change | tuple[str, str, dict[str, Any]]) -> None:
        """Queue a change or a ready message ``(group, frame type, message)``; runs on the
        loop's own thread."""
        self.items.append(item)
        self.wake.set()
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self.drain())

    def _merge(self, merged: dict[tuple[int, str], _Change], item: _Change) -> bool:
        """Merge ``item`` into the change of its (showtime, reason) in ``merged``; False when
        there is none yet (the caller keeps ``item``). A seat named twice keeps its highest
        ``version``; ``at`` is the earliest commit."""
        into = merged.get((item.showtime_id, item.reason))
        if into is None:
            merged[(item.showtime_id, item.reason)] = item
            return False
        self.coalesced += 1
        newest = {s["id"]: s for s in into.seats}
        for seat in item.seats:
            if seat["id"] not in newest or seat["version"] > newest[seat["id"]]["version"]:
                newest[seat["id"]] = seat
        into.seats, into.at = list(newest.values()), min(into.at, item.at)
        return True

    def _batch(self) -> list[_Change | tuple[str, str, dict[str, Any]]]:
        """Take everything queued, seat changes merged per (showtime, reason) at the place of
        the first of them."""
        out: list[_Change | tuple[str, str, dict[str, Any]]] = []
        merged: dict[tuple[int, str], _Change] = {}
        while self.items:
            item = self.items.popleft()
            if not isinstance(item, _Change) or not self._merge(merged, item):
                out.append(item)
        return out

    async def drain(self) -> None:
        """Send everything queued, in order; seat changes of a showtime whose last frame left
        less than ``REALTIME_FRAME_INTERVAL_SECONDS`` ago wait (merged) until the interval is
        over, so a showtime gets at most one frame per reason per interval from this process.
        Personal messages never wait."""
        interval = float(getattr(settings, "REALTIME_FRAME_INTERVAL_SECONDS", 0.05))
        loop = asyncio.get_running_loop()
        while self.items or self.waiting:
            for item in self._batch():
                # A change waits while its showtime is within the interval or already has a
                # change waiting (its frames keep their order).
                if (
                    isinstance(item, _Change)
                    and interval > 0
                    and (
                        any(sid == item.showtime_id for sid, _ in self.waiting)
                        or loop.time() < self.last_sent.get(item.showtime_id, -1e9) + interval
                    )
                ):
                    self._merge(self.waiting, item)
                    continue
                await self._send(item)
            now = loop.time()
            for key, change in list(self.waiting.items()):
                if now >= self.last_sent.get(change.showtime_id, -1e9) + interval:
                    del self.waiting[key]
                    await self._send(change)
            if not self.items and self.waiting:
                due = min(
                    self.last_sent.get(c.showtime_id, -1e9) + interval
                    for c in self.waiting.values()
                )
                self.wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), max(0.0, due - loop.time()))

    async def _send(self, item: _Change | tuple[str, str, dict[str, Any]]) -> None:
        if isinstance(item, _Change):
            group, frame_type = showtime_group(item.showtime_id), "seats.changed"
            epoch, seq = await asyncio.to_thread(sequence.allocate, item.showtime_id)
            message = _change_message(item, epoch, seq)
        else:
            group, frame_type, message = item
        try:
            await _publish(group, message)
        except Exception:  # counted and logged; this process's sockets still get it
            _failed(frame_type, group)
            if isinstance(item, _Change):
                sequence.mark_dirty(item.showtime_id, message["epoch"])
            _deliver_here(group, message)
        if isinstance(item, _Change):
            self.last_sent[item.showtime_id] = asyncio.get_running_loop().time()


def _change_message(change: _Change, epoch: str, seq: int) -> dict[str, Any]:
    """The group message of a ``seats.changed`` frame (docs/realtime.md), encoded once; ``seq``
    and ``epoch`` also ride outside ``text`` for the hub's ordering (``realtime.hub``)."""
    frame = {
        "type": "seats.changed",
        "showtime": change.showtime_id,
        "epoch": epoch,
        "seq": seq,
        "reason": change.reason,
        "seats": change.seats,
        "at": change.at.isoformat(),
    }
    return {
        "type": "seats.changed",
        "text": encode(frame),
        "showtime": change.showtime_id,
        "epoch": epoch,
        "seq": seq,
    }


def reset_message(showtime_id: int, epoch: str) -> dict[str, Any]:
    """A group message telling every process's sockets of a showtime that the numbering moved to
    ``epoch`` (``sequence.recover``): a socket holding another epoch gets a fresh snapshot. It
    never reaches a client as such."""
    return {"type": "realtime.reset", "showtime": showtime_id, "epoch": epoch}


_outboxes: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Outbox] = (
    weakref.WeakKeyDictionary()
)


def _outbox() -> _Outbox:
    """This loop's outbox (made on first use); call on the loop's thread."""
    loop = asyncio.get_running_loop()
    outbox = _outboxes.get(loop)
    if outbox is None:
        outbox = _outboxes[loop] = _Outbox()
    return outbox


def _enqueue(item: _Change | tuple[str, str, dict[str, Any]]) -> None:
    _outbox().put(item)


# The event loop of the ASGI server that is serving the current request or socket: set by
# :class:`ServerLoopMiddleware` in the request's own context, which ``sync_to_async`` (and
# ``database_sync_to_async``, ``asyncio.to_thread``) copy into the worker thread that runs the
# view (asgiref documents that contextvars propagate), so a sync view can hand its publishes to
# that loop. Unset (None) in management commands and under Django's test client.
_server_loop_var: ContextVar[asyncio.AbstractEventLoop | None] = ContextVar(
    "realtime_server_loop", default=None
)


class ServerLoopMiddleware:
    """ASGI middleware (the outermost layer of ``ticketing.asgi.application``): records the
    running event loop in the context of each connection (HTTP request or WebSocket), where
    :func:`_server_loop` finds it from the worker thread of a sync view; and starts the loop's
    presence task (``realtime.presence.ensure_started``: the sweep of abandoned holds) and its
    waiting-room admitter (``realtime.admitter.ensure_started``). Changes
    nothing else: ``scope``, ``receive`` and ``send`` are passed on as they are."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        bind_server_loop()
        if scope["type"] in ("http", "websocket"):
            from . import admitter, presence

            presence.ensure_started()  # the sweep of abandoned holds runs from the first request
            admitter.ensure_started()  # the waiting room's admitter (QUEUE_ADMITTER_IN_WEB)
        return await self.app(scope, receive, send)


def bind_server_loop() -> None:
    """Record the running loop (``asyncio.get_running_loop()``) as the server loop of the current
    context and of the worker threads it starts with ``sync_to_async``. Call on the loop's
    thread; raises ``RuntimeError`` elsewhere (no running loop)."""
    _server_loop_var.set(asyncio.get_running_loop())


def _server_loop() -> asyncio.AbstractEventLoop | None:
    """The ASGI server's loop when this thread runs a sync view for it (:func:`bind_server_loop`
    ran in the request's context), else ``None`` (management commands, the test client, a loop
    that has stopped since)."""
    loop = _server_loop_var.get()
    if loop is None or loop.is_closed() or not loop.is_running():
        return None
    return loop


def _send(group: str, frame_type: str, build: Any, meta: dict[str, Any]) -> None:
    try:
        frame = build() if callable(build) else build
        message = {"type": frame_type, "text": encode(frame), **meta}
        loop = _server_loop()
        if loop is not None:  # under the server: hand over and return at once
            loop.call_soon_threadsafe(_enqueue, (group, frame_type, message))
        else:
            async_to_sync(_publish)(group, message)
    except Exception:  # a lost broadcast loses no data (invariant 5); never fail the request
        _failed(frame_type, group)


def _on_commit(group: str, frame_type: str, build: Any, **meta: Any) -> None:
    """Send after commit. ``meta`` rides along in the group message for consumers to route on
    (e.g. ``showtime``); only ``text`` goes to the socket."""
    transaction.on_commit(lambda: _send(group, frame_type, build, meta))


def seats_changed(showtime_id: int, reason: str, seats: list[dict[str, Any]]) -> None:
    """Publish one ``seats.changed`` frame after commit.

    Args:
        showtime_id: the showtime whose seats changed.
        reason: ``held``, ``released``, ``abandoned``, ``expired``, ``reserved``, ``sold``,
            ``cancelled``, ``refunded``, ``blocked`` or ``unblocked``.
        seats: ``[{"id": "<guid>", "label", "status", "version": int}]`` as committed; states of
            general-admission places (``"ga_area"`` set) become :func:`availability_changed`
            frames instead.

    The frame's ``seq`` is taken at publish time (after commit), so a snapshot that reads ``seq``
    before its seats includes every frame up to that number. Under the server, changes that
    queue up together are coalesced (:class:`_Outbox`); ``at`` is the commit time of the
    earliest.
    """
    ga_areas = {s["ga_area"] for s in seats if "ga_area" in s}
    seats = [s for s in seats if "ga_area" not in s]
    for area_id in sorted(ga_areas):
        availability_changed(showtime_id, area_id)
    if not seats:
        return

    transaction.on_commit(
        lambda: _publish_change(_Change(showtime_id, reason, seats, timezone.now()))
    )


def _publish_change(change: _Change) -> None:
    """After commit: hand the change to the server loop's outbox, or (no server loop:
    management commands, tests' client) publish its frame now."""
    try:
        loop = _server_loop()
        if loop is not None:
            loop.call_soon_threadsafe(_enqueue, change)
        else:
            message = _change_message(change, *sequence.allocate(change.showtime_id))
            try:
                async_to_sync(_publish)(showtime_group(change.showtime_id), message)
            except Exception:
                sequence.mark_dirty(change.showtime_id, message["epoch"])
                raise
    except Exception:  # a lost broadcast loses no data (invariant 5); never fail the request
        _failed("seats.changed", showtime_group(change.showtime_id))


def availability_changed(showtime_id: int, area_id: int) -> None:
    """Publish ``availability.changed`` ``{"showtime", "zone", "capacity", "available", "at"}``
    for a general-admission area after commit; the count is read when publishing, so the last
    frame of a burst always carries the committed figure (an addition to realtime.md)."""
    from seats.selectors import ga_availability

    def build() -> dict[str, Any]:
        (area,) = ga_availability(showtime_id, area_id=area_id)
        return {
            "type": "availability.changed",
            "showtime": showtime_id,
            "zone": area["zone"],
            "capacity": area["capacity"],
            "available": area["available"],
            "at": timezone.now().isoformat(),
        }

    _on_commit(showtime_group(showtime_id), "availability.changed", build, showtime=showtime_id)


def hold_updated(user_id: int, hold: dict[str, Any]) -> None:
    """Send ``hold.updated`` ``{"hold": {...as in the API}}`` to the owner after commit."""
    _on_commit(
        user_group(user_id),
        "hold.updated",
        {"type": "hold.updated", "hold": hold},
        showtime=hold["showtime"],
        hold=hold,
    )


def hold_expired(
    user_id: int, showtime_id: int, hold_id: Any, expires_at: str | None = None
) -> None:
    """Send ``hold.expired`` ``{"hold": id, "expires_at": ISO time}`` (the deadline it passed) to
    the owner after commit."""
    _on_commit(
        user_group(user_id),
        "hold.expired",
        {"type": "hold.expired", "hold": str(hold_id), "expires_at": expires_at},
        showtime=showtime_id,
        hold={"id": str(hold_id), "status": "expired"},
    )


def order_updated(user_id: int, showtime_id: int, order: dict[str, Any]) -> None:
    """Send ``order.updated`` ``{"order": {"id", "number", "status", "expires_at"}}`` to the owner
    after commit."""
    _on_commit(
        user_group(user_id),
        "order.updated",
        {"type": "order.updated", "order": order},
        showtime=showtime_id,
    )


def queue_progress_frame(showtime_id: int, progress: dict[str, Any]) -> dict[str, Any]:
    """A ``queue.progress`` frame: ``{"type", "showtime", "admitted_up_to", "rate_per_minute",
    "active", "target", "paused", "shuffled", "at"}``; ``at`` is now (ISO 8601), when the
    figures were read or the admitter step committed (docs/realtime.md "The queue socket")."""
    return {
        "type": "queue.progress",
        "showtime": showtime_id,
        **progress,
        "at": timezone.now().isoformat(),
    }


def queue_progress(showtime_id: int, progress: dict[str, Any]) -> None:
    """Send a ``queue.progress`` frame (:func:`queue_progress_frame`) to everyone in the
    showtime's waiting room (:func:`queue_group`) after commit: one frame per admitter step,
    encoded once, whatever the queue's length (docs/realtime.md)."""
    _on_commit(
        queue_group(showtime_id),
        "queue.progress",
        lambda: queue_progress_frame(showtime_id, progress),
        showtime=showtime_id,
    )
