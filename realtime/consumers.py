"""The seat map WebSocket: ``ws/showtimes/{id}/`` (docs/realtime.md).

Thin and async: on connect it signs the socket in (session cookie, or a single-use ``?ticket=``),
joins the showtime's group (and the user's personal group) through the process's hub
(``realtime.hub``), then sends the ``snapshot``; it answers ``ping`` and ``resync``, forwards
published events, which arrive already encoded (``realtime.events``), and tells the owner
``hold.expiring`` 60 s before their hold's ``expires_at``. A signed-in socket also marks its
buyer present on the showtime while it is open (``realtime.presence``: their hold is released as
abandoned only once their last socket has been closed for the showtime's grace). All database work
goes through ``database_sync_to_async`` into selectors/services.

A plain ASGI application (the ASGI WebSocket spec is its whole interface; Channels' ``URLRouter``
routes to it like to any other): :meth:`ShowtimeConsumer.__call__` reads the connection's events
with ``await receive()`` and calls ``connect``, ``receive`` and ``disconnect`` one at a time. It
has no channel-layer channel and no receive task of its own: the hub's one subscription per group
(``realtime.hub``) calls :meth:`ShowtimeConsumer.deliver` for each group message. It is not a
Channels consumer because a consumer either gets a channel-layer channel per socket or, without a
layer, a receive task per socket and a database-connection check in a worker thread per event
(bench/README.md "Issue #15").

Sending without waiting: a published frame (the ``text`` of the group message, encoded once for
all sockets) is written to the socket at once when the server takes it without waiting (daphne
always does: Twisted buffers without bound; uvicorn unless the socket's write buffer is over its
high-water mark, 64 KiB, when ``await send`` waits on ``writable`` until the client reads). The
send is started on the caller's stack (:func:`realtime.compat.start_now`), without a task per
frame and socket. Only a socket whose send does wait gets a task, which finishes that send and
then the frames queued behind it; at most ``MAX_QUEUED_FRAMES`` are queued (shared strings, not
copies), later ones are dropped, and the client notices the ``seq`` gap and resyncs (realtime.md)
— a stalled client never holds up the others (test_hub.py). Every text frame of a socket
(snapshot, pong, events) goes through this one queue, so they leave in order. ``send`` is the
server's own: no session wrapper sits between (``realtime.middleware``).

Snapshot forms (docs/realtime.md "Snapshot forms"): by default the ``snapshot`` frame carries the
live form (``layout`` and ``live``: a few bytes per seat, aligned with the plan's layout, which the
client fetches once per version); ``?snapshot=full`` gets the full list ``seats`` instead.

Close codes (docs/realtime.md "Close codes"): 4400 a ``?snapshot=`` value other than ``full``;
4401 ticket invalid, used or expired; 4404 unknown
showtime (unmatched paths: :func:`unknown_path`); 4009 client frame over 4 KiB; 4429 a socket that
floods; 1011 server error (also: joining the channel layer failed). Not 1009: daphne lets an
application close only with 1000 or 3000–4999 (any other code raises inside the consumer and the
client gets 1011).

Per-socket limits (docs/realtime.md "Per-socket limits"), module constants below: more than
``FLOOD_MAX_FRAMES`` client frames within ``FLOOD_WINDOW_SECONDS`` closes the socket with 4429;
``ping`` is answered from a token bucket (``PING_BURST`` at once, then ``PING_PER_SECOND``), pings
beyond it get no ``pong``; ``resync`` sends at most one snapshot per ``RESYNC_INTERVAL_SECONDS``
(the connect snapshot included): requests inside the window are coalesced into one snapshot, read
and sent when the window ends.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from seats.models import Showtime
from seats.selectors import ga_availability, seat_live, seat_states
from seats.services.waiting import queue_progress_now

from . import events, presence, sequence
from .compat import start_now
from .hub import Hub, get_hub
from .services import socket_ticket_redeem

logger = logging.getLogger(__name__)

MAX_FRAME_BYTES = 4096  # realtime.md "Close codes": close 4009 for a client frame over 4 KiB
CLOSE_TICKET_INVALID = 4401
CLOSE_UNKNOWN_SHOWTIME = 4404  # also unmatched paths (unknown_path)
CLOSE_TOO_BIG = 4009  # not 1009: daphne refuses 1xxx codes other than 1000 from an application
CLOSE_FLOOD = 4429
CLOSE_BAD_QUERY = 4400  # a ?snapshot= value other than "full"
# The snapshot forms a socket can ask for with ?snapshot= (docs/realtime.md "Snapshot forms"):
# the live form by default, the full seat list with ?snapshot=full.
SNAPSHOT_LIVE = "live"
SNAPSHOT_FULL = "full"
CLOSE_SERVER_ERROR = 1011
# Per-socket limits (docs/realtime.md "Per-socket limits"). The seat map page sends a ping every
# 25 s and one resync per gap it sees; these leave it far inside them.
FLOOD_MAX_FRAMES = 50  # client frames of any kind within FLOOD_WINDOW_SECONDS; one more: 4429
FLOOD_WINDOW_SECONDS = 1.0
PING_BURST = 10  # pings answered at once (token bucket size) …
PING_PER_SECOND = 2.0  # … refilled at this rate; a ping without a token gets no pong
RESYNC_INTERVAL_SECONDS = 1.0  # one snapshot per socket per interval at most; more resyncs coalesce
MAX_QUEUED_FRAMES = 100  # per socket, behind a send that waits (like a channel's capacity)

SHOWTIME_EVENTS = frozenset({"seats.changed", "availability.changed"})
PERSONAL_EVENTS = frozenset({"hold.updated", "hold.expired", "order.updated"})

# Open sockets in this process (read by stats and metrics).
connections = 0
# Frames not sent because the socket had MAX_QUEUED_FRAMES waiting already (this process).
frames_dropped = 0


@database_sync_to_async
def _showtime_exists(showtime_id: int) -> bool:
    return Showtime.objects.filter(pk=showtime_id).exists()


@database_sync_to_async
def _queue_exists(showtime_id: int) -> bool:
    return Showtime.objects.filter(pk=showtime_id, queue_enabled=True).exists()


@dataclass(frozen=True)
class Snapshot:
    """An encoded ``snapshot`` frame with the numbering it is current to and the monotonic time
    (``time.monotonic``, the event loop's clock) its read started."""

    text: str
    epoch: str
    seq: int
    read_at: float


def snapshot_frame(showtime_id: int, form: str = SNAPSHOT_LIVE) -> Snapshot:
    """Read and encode a ``snapshot`` frame of ``form`` (:data:`SNAPSHOT_LIVE` or
    :data:`SNAPSHOT_FULL`): the live form
    (``layout`` and ``live``: seats.selectors.seat_live) or the full list (``seats``)."""
    # epoch and seq first, then seats: every frame numbered up to seq is in the seats read after.
    read_at = time.monotonic()
    epoch, seq = sequence.current(showtime_id)
    frame: dict[str, Any] = {"type": "snapshot", "showtime": showtime_id}
    if form == SNAPSHOT_FULL:
        as_of, seats = seat_states(showtime_id)
        frame.update(as_of=as_of.isoformat(), epoch=epoch, seq=seq, seats=seats)
    else:
        live = seat_live(showtime_id)
        frame.update(
            as_of=live.as_of.isoformat(),
            epoch=epoch,
            seq=seq,
            layout=live.layout.ref(),
            live=live.live,
        )
    frame["ga"] = ga_availability(showtime_id)
    return Snapshot(events.encode(frame), epoch, seq, read_at)


_snapshot = database_sync_to_async(snapshot_frame)


class ShowtimeConsumer:
    """One socket per open seat map, an ASGI application per connection (route it with
    :meth:`as_asgi`). Client frames: ``ping``, ``resync``; see realtime.md."""

    def __init__(self) -> None:
        self.scope: dict[str, Any] = {}
        self.user: Any = None
        self._send_frame: Any = None  # the server's ASGI send
        self.hub: Hub | None = None
        self.groups_joined: list[str] = []
        self.counted = False
        self.expiring_task: asyncio.Task | None = None
        self.showtime_id = 0
        self.snapshot_form = SNAPSHOT_LIVE  # ?snapshot=full: SNAPSHOT_FULL
        # Presence (realtime.presence): the loop's registry and this socket's token, while a
        # signed-in socket counts as its buyer being on the seat map.
        self.presence: presence.PresenceLoop | None = None
        self.presence_token: str | None = None
        # Group messages that arrive while a snapshot is read: handled after it is sent, so
        # no frame newer than the snapshot goes out before it (None: handle at once).
        self._held: list[dict[str, Any]] | None = None
        self._writer: asyncio.Task | None = None  # finishes a send that had to wait
        self._queued: deque[str] | None = None  # frames behind that send (made when needed)
        self._gone = False  # the server refused a send: the socket is closing
        # The numbering of the last snapshot or seats.changed frame sent (docs/realtime.md
        # "Ordering"), and when that snapshot's read started.
        self.epoch: str | None = None
        self.seq = 0
        self.snapshot_read_at = 0.0
        self._refreshing: asyncio.Task | None = None  # a fresh snapshot on its way
        # Per-socket limits (module constants; monotonic seconds).
        self._window_started = 0.0  # start of the current flood-counting window
        self._window_frames = 0  # client frames in it
        self._ping_tokens = float(PING_BURST)
        self._ping_refilled = 0.0  # when _ping_tokens was last topped up (0: never yet)
        self._snapshot_sent = 0.0  # when the last snapshot went out
        self._resync_task: asyncio.Task | None = None  # a coalesced resync waiting for its window

    @classmethod
    def as_asgi(cls) -> Any:
        """The ASGI application for a route: a new consumer per connection, as Channels'
        ``AsyncConsumer.as_asgi()`` gives."""

        async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
            await cls()(scope, receive, send)

        app.__doc__ = cls.__doc__
        return app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Serve one socket (ASGI WebSocket spec): ``websocket.connect`` → :meth:`connect`,
        ``websocket.receive`` → :meth:`receive`, ``websocket.disconnect`` → :meth:`disconnect`,
        one at a time, until the disconnect. An exception of a handler propagates (the server
        closes with 1011); the hub's groups are left in every case (cancellation included)."""
        self.scope = scope
        self._send_frame = send
        try:
            while True:
                message = await receive()
                kind = message["type"]
                if kind == "websocket.connect":
                    await self.connect()
                elif kind == "websocket.receive":
                    await self.receive(message.get("text"), message.get("bytes"))
                elif kind == "websocket.disconnect":
                    await self.disconnect(message.get("code", 1000))
                    return
        finally:
            self._leave()

    async def accept(self) -> None:
        """Accept the handshake (``websocket.accept``)."""
        await self._send_frame({"type": "websocket.accept"})

    async def close(self, code: int) -> None:
        """Close the socket with ``code`` (``websocket.close``; docs/realtime.md "Close codes")."""
        await self._send_frame({"type": "websocket.close", "code": code})

    async def connect(self):
        global connections
        self.showtime_id = int(self.scope["url_route"]["kwargs"]["showtime_id"])
        self.user = self.scope.get("user")
        query = parse_qs(self.scope.get("query_string", b"").decode(), keep_blank_values=True)
        forms = query.get("snapshot")
        if forms is not None:
            if any(form != SNAPSHOT_FULL for form in forms):  # checked before a ticket is used
                await self._refuse(CLOSE_BAD_QUERY)
                return
            self.snapshot_form = SNAPSHOT_FULL
        ticket = [value for value in query.get("ticket", ()) if value]  # "?ticket=": none
        if ticket:
            self.user = await database_sync_to_async(socket_ticket_redeem)(ticket[0])
            if self.user is None:
                await self._refuse(CLOSE_TICKET_INVALID)
                return
        group = events.showtime_group(self.showtime_id)
        if not await self._take_hub(group):
            return
        assert self.hub is not None  # taken above
        # A showtime some socket of this process watches was checked when that one connected.
        if not self.hub.is_subscribed(group) and not await _showtime_exists(self.showtime_id):
            await self._refuse(CLOSE_UNKNOWN_SHOWTIME)
            return
        wanted = [group]
        signed_in = self.user is not None and self.user.is_authenticated
        if signed_in:
            wanted.append(events.user_group(self.user.pk))
        if not await self._join(wanted):
            return
        await self.accept()
        connections += 1
        self.counted = True
        self._sent_snapshot(await self._read_snapshot())
        if signed_in:
            # The buyer is on the seat map: their hold here stops counting down to an
            # abandonment (docs/realtime.md "Presence").
            self.presence = presence.for_loop()
            self.presence_token = presence.new_token()
            hold = await self.presence.arrive(self._presence_pair(), self.presence_token)
            if hold is not None:
                self._schedule_expiring(str(hold.pk), hold.expires_at)
        self._release_held()

    async def _refuse(self, code: int) -> None:
        """Accept the handshake, then close with ``code`` (docs/realtime.md "Close codes": every
        code is sent after the handshake, so a client reads it as a close code)."""
        await self.accept()
        await self._close(code)

    async def _take_hub(self, group: str) -> bool:
        """Take the running loop's hub (``realtime.hub.get_hub``); without one, close with 1011
        and return False."""
        try:
            self.hub = get_hub()
        except Exception:  # answered with 1011
            logger.exception("no hub for %s", group)
            await self._refuse(CLOSE_SERVER_ERROR)
            return False
        return True

    async def _join(self, groups: list[str]) -> bool:
        """Join ``groups`` through the hub, before the snapshot is read, so no change falls
        between (later messages are held until it is sent); on a failure leave what was joined,
        close with 1011 and return False."""
        assert self.hub is not None  # taken first (_take_hub)
        self._held = []
        try:
            for name in groups:
                await self.hub.join(name, self)
                self.groups_joined.append(name)
        except Exception:  # answered with 1011
            logger.exception("joining %s failed", groups)
            self._leave()
            await self._refuse(CLOSE_SERVER_ERROR)
            return False
        return True

    def _presence_pair(self) -> tuple[int, int]:
        return (self.showtime_id, self.user.pk)

    async def disconnect(self, code):
        self._leave()

    def _leave(self) -> None:
        global connections
        if self.counted:
            connections -= 1
            self.counted = False
        if self.presence_token is not None:
            assert self.presence is not None  # set together
            self.presence.depart(self._presence_pair(), self.presence_token)
            self.presence_token = None
        self._cancel_expiring()
        if self._refreshing is not None:
            self._refreshing.cancel()
            self._refreshing = None
        if self._resync_task is not None:
            self._resync_task.cancel()
            self._resync_task = None
        if self._writer is not None:
            self._writer.cancel()
            self._writer = None
        self._queued = None
        self._held = None
        for group in self.groups_joined:
            assert self.hub is not None  # joined through it
            self.hub.leave(group, self)
        self.groups_joined = []

    async def receive(self, text_data=None, bytes_data=None):
        """One client frame (realtime.md "Client → server"): ``ping`` or ``resync``, within the
        per-socket limits (module docstring); a frame over ``MAX_FRAME_BYTES`` closes with 4009,
        a flood with 4429. Frames that arrive after we closed are ignored."""
        if self._gone:
            return
        size = len(text_data.encode()) if text_data is not None else len(bytes_data or b"")
        if size > MAX_FRAME_BYTES:
            await self._close(CLOSE_TOO_BIG)
            return
        now = time.monotonic()
        if now - self._window_started >= FLOOD_WINDOW_SECONDS:
            self._window_started, self._window_frames = now, 0
        self._window_frames += 1
        if self._window_frames > FLOOD_MAX_FRAMES:
            logger.info(
                "showtime %s: a socket sent over %d frames in %.0f s; closing with %d",
                self.showtime_id,
                FLOOD_MAX_FRAMES,
                FLOOD_WINDOW_SECONDS,
                CLOSE_FLOOD,
            )
            await self._close(CLOSE_FLOOD)
            return
        raw = text_data if text_data is not None else bytes_data.decode("utf-8", "replace")
        try:
            frame = json.loads(raw)
        except ValueError:
            self._error("malformed_json", "Frames must be JSON objects.")
            return
        kind = frame.get("type") if isinstance(frame, dict) else None
        if kind == "ping":
            if self._take_ping_token(now):
                self._write(
                    events.encode({"type": "pong", "server_time": timezone.now().isoformat()})
                )
        elif kind == "resync":
            await self._resync(now)
        else:
            self._error("unknown_type", "Known frame types: ping, resync.")

    async def _close(self, code: int) -> None:
        """Close the socket with ``code`` and send nothing more on it (no pending resync)."""
        if self._resync_task is not None:
            self._resync_task.cancel()
            self._resync_task = None
        self._gone = True
        await self.close(code=code)

    def _take_ping_token(self, now: float) -> bool:
        """Token bucket of pings: ``PING_BURST`` tokens, refilled at ``PING_PER_SECOND``
        (``now``: monotonic seconds). True when this ping may be answered."""
        if self._ping_refilled:
            self._ping_tokens = min(
                float(PING_BURST), self._ping_tokens + (now - self._ping_refilled) * PING_PER_SECOND
            )
        self._ping_refilled = now
        if self._ping_tokens < 1:
            return False
        self._ping_tokens -= 1
        return True

    async def _resync(self, now: float) -> None:
        """Answer ``resync`` with a snapshot, at most one per ``RESYNC_INTERVAL_SECONDS``: at once
        when the last snapshot is older than that, else once when the interval ends, for all the
        resyncs received until then (``now``: monotonic seconds)."""
        if self._resync_task is not None:
            return  # one is already due at the end of the window: this request rides along
        wait = self._snapshot_sent + RESYNC_INTERVAL_SECONDS - now
        if wait <= 0:
            await self._send_fresh_snapshot()
        else:
            self._resync_task = asyncio.get_running_loop().create_task(self._resync_later(wait))

    async def _resync_later(self, wait: float) -> None:
        """The coalesced resync: sleep ``wait`` seconds, then send the snapshot (runs as a task;
        a failure closes the socket with 1011, as one in a handler does)."""
        try:
            await asyncio.sleep(wait)
            await self._send_fresh_snapshot()
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("resync of showtime %s failed", self.showtime_id)
            self._resync_task = None
            await self._close(CLOSE_SERVER_ERROR)
        finally:
            if self._resync_task is asyncio.current_task():
                self._resync_task = None

    def _error(self, code: str, message: str) -> None:
        self._write(events.encode({"type": "error", "code": code, "message": message}))

    # --- events from the hub ---------------------------------------------------------------------

    def deliver(self, message: dict[str, Any]) -> None:
        """Take a message of a joined group (called by the hub; must not block). Held while a
        snapshot is on its way (at most ``MAX_QUEUED_FRAMES``: later ones are dropped like a
        full channel's, and the client resyncs on the ``seq`` gap)."""
        global frames_dropped
        if self._held is None:
            self._handle(message)
        elif len(self._held) < MAX_QUEUED_FRAMES:
            self._held.append(message)
        else:
            frames_dropped += 1

    def _release_held(self) -> None:
        held, self._held = self._held or [], None
        for i, message in enumerate(held):
            if self._held is not None:  # a fresh snapshot was asked meanwhile: wait behind it
                self._held[:0] = held[i:]  # type: ignore[unreachable]  # _handle() may set it
                return
            self._handle(message)

    # --- snapshots and numbering (docs/realtime.md "Ordering") -----------------------------------

    async def _read_snapshot(self) -> Snapshot:
        """This socket's form of the showtime's snapshot, through the hub's cache (one per
        form)."""
        assert self.hub is not None  # set on connect, before any snapshot
        form = self.snapshot_form
        return await self.hub.snapshot(
            events.showtime_group(self.showtime_id),
            lambda: _snapshot(self.showtime_id, form),
            form=form,
        )

    def _sent_snapshot(self, snapshot: Snapshot) -> None:
        self._write(snapshot.text)
        self._snapshot_sent = time.monotonic()
        self.epoch, self.seq, self.snapshot_read_at = snapshot.epoch, snapshot.seq, snapshot.read_at

    async def _send_fresh_snapshot(self) -> None:
        """Send a snapshot now; group messages arriving meanwhile wait behind it and those it
        already covers are skipped."""
        if self._held is None:
            self._held = []
        assert self.hub is not None  # set on connect, before any snapshot
        try:
            self._sent_snapshot(await self._read_snapshot())
        finally:
            self._release_held()

    def resync(self, epoch: str | None = None, older_than: float | None = None) -> None:
        """Called by the hub after a fault (see ``realtime.hub.Member``): send a fresh snapshot
        unless the socket is current (same ``epoch``; snapshot read after ``older_than``)."""
        if epoch is not None and epoch == self.epoch:
            return
        if older_than is not None and self.snapshot_read_at >= older_than:
            return
        self._refresh()

    def _refresh(self) -> None:
        if self._refreshing is None and self.counted and not self._gone:
            self._held = [] if self._held is None else self._held
            self._refreshing = asyncio.ensure_future(self._refresh_now())

    async def _refresh_now(self) -> None:
        try:
            await self._send_fresh_snapshot()
        except Exception:  # the client still sees the gap or new epoch and asks itself
            logger.warning("fresh snapshot for showtime %s failed", self.showtime_id, exc_info=True)
        finally:
            self._refreshing = None

    def _handle(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "seats.changed" and "seq" in message:
            seq = int(message["seq"])
            if message.get("epoch") != self.epoch or seq > self.seq + 1:
                # Numbering moved on (a Redis restart, a lost frame): a fresh snapshot, which
                # covers this change too, instead of a frame the client would have to resync on.
                self._refresh()
            elif seq > self.seq:
                self.seq = seq
                self._write(message["text"])
            # else: already in the snapshot this socket got
        elif kind in SHOWTIME_EVENTS:
            self._write(message["text"])  # encoded once by realtime.events, sent as it is
        elif kind in PERSONAL_EVENTS:
            # Personal groups span showtimes: forward the owner's event on this showtime's
            # socket only.
            if message.get("showtime") != self.showtime_id:
                return
            hold = message.get("hold")
            if hold:
                if hold.get("status") == "active" and hold.get("expires_at"):
                    expires_at = parse_datetime(hold["expires_at"])
                    assert expires_at is not None, hold  # the hub's own ISO timestamp
                    self._schedule_expiring(hold["id"], expires_at)
                else:
                    self._cancel_expiring()
            self._write(message["text"])
        else:
            logger.debug("ignoring a %r message on showtime %s", kind, self.showtime_id)

    # --- sending ---------------------------------------------------------------------------------

    def _write(self, text: str) -> None:
        """Send a text frame without waiting: written now if the server takes it at once, else
        finished by a task, with later frames queued behind it (see the module docstring)."""
        global frames_dropped
        if self._gone:
            return
        if self._writer is not None:
            if self._queued is None:
                self._queued = deque()
            if len(self._queued) < MAX_QUEUED_FRAMES:
                self._queued.append(text)
            else:
                frames_dropped += 1
            return
        try:
            pending = start_now(self._send_frame({"type": "websocket.send", "text": text}))
        except Exception:  # the server refused it: the socket is going away
            logger.debug("send on a closing socket", exc_info=True)
            self._gone = True
            return
        if pending is None:
            return  # sent: the usual case
        logger.debug("showtime %s: a send waits (the socket's buffer is full)", self.showtime_id)
        self._writer = asyncio.ensure_future(self._finish(pending))

    async def _finish(self, pending: Awaitable[None]) -> None:
        try:
            await pending
            while self._queued:
                await self._send_frame({"type": "websocket.send", "text": self._queued.popleft()})
        except asyncio.CancelledError:
            raise
        except Exception:  # the socket went away while the send waited
            logger.debug("send on a closed socket", exc_info=True)
            self._gone = True
        finally:
            if self._writer is asyncio.current_task():
                self._writer = None
                self._queued = None

    # --- hold.expiring ---------------------------------------------------------------------------

    def _cancel_expiring(self):
        if self.expiring_task is not None:
            self.expiring_task.cancel()
            self.expiring_task = None

    def _schedule_expiring(self, hold_id: str, expires_at: datetime) -> None:
        self._cancel_expiring()
        notice_at = expires_at - timedelta(seconds=settings.HOLD_EXPIRING_NOTICE_SECONDS)
        self.expiring_task = asyncio.ensure_future(self._expiring(hold_id, expires_at, notice_at))

    async def _expiring(self, hold_id: str, expires_at: datetime, notice_at: datetime) -> None:
        delay = (notice_at - timezone.now()).total_seconds()
        if delay > 0:
            await asyncio.sleep(delay)
        if timezone.now() < expires_at:
            self._write(
                events.encode(
                    {"type": "hold.expiring", "hold": hold_id, "expires_at": expires_at.isoformat()}
                )
            )


def queue_snapshot(showtime_id: int) -> Snapshot | None:
    """The ``queue.progress`` frame a queue socket gets on connect and on ``resync``: the figures
    as they stand (``seats.services.waiting.queue_progress_now``), or ``None`` without a waiting
    room."""
    read_at = time.monotonic()
    progress = queue_progress_now(showtime_id)
    if progress is None:
        return None
    return Snapshot(
        events.encode(events.queue_progress_frame(showtime_id, progress)), "", 0, read_at
    )


_queue_snapshot = database_sync_to_async(queue_snapshot)


class QueueConsumer(ShowtimeConsumer):
    """The waiting room's socket, ``ws/showtimes/{id}/queue/`` (docs/realtime.md "The queue
    socket"): on connect one ``queue.progress`` frame with the figures as they stand, then the
    admitter's ``queue.progress`` frames (group ``queue-<id>``), nothing else: no seat snapshot,
    no seat changes, no personal events, no presence. The figures are the same for everyone, so
    the socket needs no sign-in; a buyer computes their place from their own ``position``.
    Client frames, per-socket limits and close codes as the seat map socket's (``resync`` sends
    the figures again); 4404 for a showtime without a waiting room."""

    async def connect(self):
        global connections
        self.showtime_id = int(self.scope["url_route"]["kwargs"]["showtime_id"])
        group = events.queue_group(self.showtime_id)
        if not await self._take_hub(group):
            return
        assert self.hub is not None  # taken above
        # Checked before joining, so a stranger's guesses cost no channel-layer subscription.
        if not self.hub.is_subscribed(group) and not await _queue_exists(self.showtime_id):
            await self._refuse(CLOSE_UNKNOWN_SHOWTIME)
            return
        if not await self._join([group]):
            return
        try:
            snapshot = await self._read_queue()
        except Exception:  # answered with 1011
            logger.exception("reading the waiting room of showtime %s failed", self.showtime_id)
            self._leave()
            await self._refuse(CLOSE_SERVER_ERROR)
            return
        if snapshot is None:
            self._leave()
            await self._refuse(CLOSE_UNKNOWN_SHOWTIME)
            return
        await self.accept()
        connections += 1
        self.counted = True
        self._sent_snapshot(snapshot)
        self._release_held()

    async def _read_queue(self) -> Snapshot | None:
        assert self.hub is not None  # set on connect
        return await self.hub.snapshot(
            events.queue_group(self.showtime_id),
            lambda: _queue_snapshot(self.showtime_id),
            form="queue",
        )

    async def _send_fresh_snapshot(self) -> None:
        """Send the figures again (``resync``, a fault the hub saw); close with 4404 when the
        waiting room has been switched off meanwhile."""
        if self._held is None:
            self._held = []
        try:
            snapshot = await self._read_queue()
            if snapshot is None:
                await self._close(CLOSE_UNKNOWN_SHOWTIME)
                return
            self._sent_snapshot(snapshot)
        finally:
            self._release_held()

    def _handle(self, message: dict[str, Any]) -> None:
        if message.get("type") == "queue.progress":
            self._write(message["text"])  # encoded once by realtime.events, sent as it is


async def unknown_path(
    scope: dict[str, Any],
    receive: Callable[[], Awaitable[dict[str, Any]]],
    send: Callable[[dict[str, Any]], Awaitable[None]],
) -> None:
    """ASGI app for every WebSocket path no route matches (``realtime.routing``): accept, then
    close with 4404 (docs/realtime.md "Close codes"), instead of Channels' ``URLRouter`` raising
    ``ValueError: No route found`` (an HTTP 500 and a traceback in the server log). Keeps no
    state and joins no group; returns when the client is gone."""
    while True:
        message = await receive()
        if message["type"] == "websocket.connect":
            await send({"type": "websocket.accept"})
            await send({"type": "websocket.close", "code": CLOSE_UNKNOWN_SHOWTIME})
        elif message["type"] == "websocket.disconnect":
            return
