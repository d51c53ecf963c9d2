"""The seat map WebSocket: ``ws/showtimes/{id}/`` (shared/spec/realtime.md).

Thin and async: on connect it joins the showtime's group (and the user's personal group when signed
in with the session cookie), then sends the ``snapshot``; it answers ``ping`` and ``resync`` and
forwards published events, which arrive already encoded (``realtime.events``). All database work
goes through ``database_sync_to_async`` into selectors.
"""

from __future__ import annotations

import json
import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.utils import timezone

from seats.models import Showtime
from seats.selectors import seat_states

from . import events, sequence

logger = logging.getLogger(__name__)

MAX_FRAME_BYTES = 4096  # realtime.md: close 1009 for a client frame over 4 KiB
CLOSE_UNKNOWN_SHOWTIME = 4404
CLOSE_TOO_BIG = 1009

# Open sockets in this process (read by stats and metrics).
connections = 0


@database_sync_to_async
def _showtime_exists(showtime_id: int) -> bool:
    return Showtime.objects.filter(pk=showtime_id).exists()


@database_sync_to_async
def _snapshot(showtime_id: int) -> str:
    # seq first, then seats: every frame numbered up to seq is already in the seats read after it.
    seq = sequence.current_seq(showtime_id)
    as_of, seats = seat_states(showtime_id)
    return events.encode({"type": "snapshot", "showtime": showtime_id, "as_of": as_of.isoformat(),
                          "seq": seq, "seats": seats})


class ShowtimeConsumer(AsyncWebsocketConsumer):
    """One socket per open seat map. Client frames: ``ping``, ``resync``; see realtime.md."""

    groups_joined: list[str]

    async def connect(self):
        global connections
        self.groups_joined = []
        self.showtime_id = int(self.scope["url_route"]["kwargs"]["showtime_id"])
        if not await _showtime_exists(self.showtime_id):
            await self.accept()
            await self.close(code=CLOSE_UNKNOWN_SHOWTIME)
            return
        wanted = [events.showtime_group(self.showtime_id)]
        user = self.scope.get("user")
        if user is not None and user.is_authenticated:
            wanted.append(events.user_group(user.pk))
        for group in wanted:  # join before reading the snapshot, so no change falls between
            await self.channel_layer.group_add(group, self.channel_name)
            self.groups_joined.append(group)
        await self.accept()
        connections += 1
        self.counted = True
        await self.send(text_data=await _snapshot(self.showtime_id))

    async def disconnect(self, code):
        global connections
        if getattr(self, "counted", False):
            connections -= 1
            self.counted = False
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        raw = text_data if text_data is not None else (bytes_data or b"").decode("utf-8", "replace")
        if len(raw.encode()) > MAX_FRAME_BYTES:
            await self.close(code=CLOSE_TOO_BIG)
            return
        try:
            frame = json.loads(raw)
            kind = frame.get("type") if isinstance(frame, dict) else None
        except ValueError:
            await self._error("malformed_json", "Frames must be JSON objects.")
            return
        if kind == "ping":
            await self.send(text_data=events.encode(
                {"type": "pong", "server_time": timezone.now().isoformat()}))
        elif kind == "resync":
            await self.send(text_data=await _snapshot(self.showtime_id))
        else:
            await self._error("unknown_type", "Known frame types: ping, resync.")

    async def _error(self, code: str, message: str):
        await self.send(text_data=events.encode({"type": "error", "code": code, "message": message}))

    async def forward(self, event):
        """Send a published event as it is (encoded once by ``realtime.events``)."""
        await self.send(text_data=event["text"])

    # Channels maps event type "seats.changed" to the handler "seats_changed".
    seats_changed = forward
    hold_updated = forward
    hold_expiring = forward
    hold_expired = forward
    order_updated = forward
