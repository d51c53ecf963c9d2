"""The seat map WebSocket: ``ws/showtimes/{id}/`` (shared/spec/realtime.md).

Thin and async: on connect it signs the socket in (session cookie, or a single-use ``?ticket=``),
joins the showtime's group (and the user's personal group), then sends the ``snapshot``; it answers
``ping`` and ``resync``, forwards published events, which arrive already encoded
(``realtime.events``), and tells the owner ``hold.expiring`` 60 s before their hold's
``expires_at``. All database work goes through ``database_sync_to_async`` into selectors/services.

Close codes: 4401 ticket invalid, used or expired; 4404 unknown showtime; 1009 client frame over
4 KiB; 1011 server error.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime, timedelta
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from seats.models import Showtime
from seats.selectors import active_hold_for, ga_availability, seat_states

from . import events, sequence
from .services import socket_ticket_redeem

logger = logging.getLogger(__name__)

MAX_FRAME_BYTES = 4096  # realtime.md: close 1009 for a client frame over 4 KiB
CLOSE_TICKET_INVALID = 4401
CLOSE_UNKNOWN_SHOWTIME = 4404
CLOSE_TOO_BIG = 1009
CLOSE_SERVER_ERROR = 1011

# Open sockets in this process (read by stats and metrics).
connections = 0


@database_sync_to_async
def _showtime_exists(showtime_id: int) -> bool:
    return Showtime.objects.filter(pk=showtime_id).exists()


@database_sync_to_async
def _active_hold(user, showtime_id: int) -> tuple[str, datetime] | None:
    hold = active_hold_for(user, showtime_id)
    return (str(hold.pk), hold.expires_at) if hold else None


def _current_seq(showtime_id: int) -> int:
    try:
        return sequence.current_seq(showtime_id)
    except Exception:  # Redis down: 0 makes every later frame look like a gap, so clients resync
        logger.warning("seq unavailable for showtime %s", showtime_id, exc_info=True)
        return 0


@database_sync_to_async
def _snapshot(showtime_id: int) -> str:
    # seq first, then seats: every frame numbered up to seq is already in the seats read after it.
    seq = _current_seq(showtime_id)
    as_of, seats = seat_states(showtime_id)
    return events.encode({"type": "snapshot", "showtime": showtime_id, "as_of": as_of.isoformat(),
                          "seq": seq, "seats": seats, "ga": ga_availability(showtime_id)})


class ShowtimeConsumer(AsyncWebsocketConsumer):
    """One socket per open seat map. Client frames: ``ping``, ``resync``; see realtime.md."""

    async def connect(self):
        global connections
        self.groups_joined: list[str] = []
        self.counted = False
        self.expiring_task: asyncio.Task | None = None
        self.showtime_id = int(self.scope["url_route"]["kwargs"]["showtime_id"])
        self.user = self.scope.get("user")
        ticket = parse_qs(self.scope.get("query_string", b"").decode()).get("ticket")
        if ticket:
            self.user = await database_sync_to_async(socket_ticket_redeem)(ticket[0])
            if self.user is None:
                await self.accept()
                await self.close(code=CLOSE_TICKET_INVALID)
                return
        if not await _showtime_exists(self.showtime_id):
            await self.accept()
            await self.close(code=CLOSE_UNKNOWN_SHOWTIME)
            return
        wanted = [events.showtime_group(self.showtime_id)]
        signed_in = self.user is not None and self.user.is_authenticated
        if signed_in:
            wanted.append(events.user_group(self.user.pk))
        try:
            for group in wanted:  # join before reading the snapshot, so no change falls between
                await self.channel_layer.group_add(group, self.channel_name)
                self.groups_joined.append(group)
        except Exception:
            logger.exception("joining %s failed", wanted)
            await self.accept()
            await self.close(code=CLOSE_SERVER_ERROR)
            return
        await self.accept()
        connections += 1
        self.counted = True
        await self.send(text_data=await _snapshot(self.showtime_id))
        if signed_in:
            hold = await _active_hold(self.user, self.showtime_id)
            if hold:
                self._schedule_expiring(*hold)

    async def disconnect(self, code):
        global connections
        if self.counted:
            connections -= 1
            self.counted = False
        self._cancel_expiring()
        for group in self.groups_joined:
            try:
                await self.channel_layer.group_discard(group, self.channel_name)
            except Exception:  # the layer may be down; the membership then expires by itself
                logger.warning("leaving %s failed", group, exc_info=True)

    async def receive(self, text_data=None, bytes_data=None):
        raw = text_data if text_data is not None else (bytes_data or b"").decode("utf-8", "replace")
        if len(raw.encode()) > MAX_FRAME_BYTES:
            await self.close(code=CLOSE_TOO_BIG)
            return
        try:
            frame = json.loads(raw)
        except ValueError:
            await self._error("malformed_json", "Frames must be JSON objects.")
            return
        kind = frame.get("type") if isinstance(frame, dict) else None
        if kind == "ping":
            await self.send(text_data=events.encode(
                {"type": "pong", "server_time": timezone.now().isoformat()}))
        elif kind == "resync":
            await self.send(text_data=await _snapshot(self.showtime_id))
        else:
            await self._error("unknown_type", "Known frame types: ping, resync.")

    async def _error(self, code: str, message: str):
        await self.send(text_data=events.encode({"type": "error", "code": code, "message": message}))

    # --- hold.expiring ---------------------------------------------------------------------------

    def _cancel_expiring(self):
        if self.expiring_task is not None:
            self.expiring_task.cancel()
            self.expiring_task = None

    def _schedule_expiring(self, hold_id: str, expires_at: datetime):
        self._cancel_expiring()
        notice_at = expires_at - timedelta(seconds=settings.HOLD_EXPIRING_NOTICE_SECONDS)
        self.expiring_task = asyncio.ensure_future(self._expiring(hold_id, expires_at, notice_at))

    async def _expiring(self, hold_id: str, expires_at: datetime, notice_at: datetime):
        delay = (notice_at - timezone.now()).total_seconds()
        if delay > 0:
            await asyncio.sleep(delay)
        if timezone.now() < expires_at:
            await self.send(text_data=events.encode(
                {"type": "hold.expiring", "hold": hold_id, "expires_at": expires_at.isoformat()}))

    # --- events from the channel layer -----------------------------------------------------------

    async def seats_changed(self, event):
        """Forward a ``seats.changed`` frame as it is (encoded once by ``realtime.events``)."""
        await self.send(text_data=event["text"])

    availability_changed = seats_changed

    async def _personal(self, event):
        """Forward the owner's event for this showtime only (personal groups span showtimes)."""
        if event.get("showtime") != self.showtime_id:
            return
        hold = event.get("hold")
        if hold:
            if hold.get("status") == "active" and hold.get("expires_at"):
                self._schedule_expiring(hold["id"], parse_datetime(hold["expires_at"]))
            else:
                self._cancel_expiring()
        await self.send(text_data=event["text"])

    # Channels maps event type "hold.updated" to the handler "hold_updated", and so on.
    hold_updated = _personal
    hold_expired = _personal
    order_updated = _personal
