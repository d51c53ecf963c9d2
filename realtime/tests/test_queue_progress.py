"""The waiting room's socket and its ``queue.progress`` broadcast (docs/realtime.md "The queue
socket", docs/waiting-room.md): the figures on connect; one frame per admitter step that changed
something, to the showtime's waiting room, whatever the queue's length; heartbeats while people
wait; nothing from a skipped step; no seat changes on it and no queue figures on the seat map."""

import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.utils.dateparse import parse_datetime

from seats.models import ShowtimeSeat
from seats.services import seats_block, waiting
from seats.services.waiting import queue_join, queue_pause, queue_tick
from ticketing.asgi import application

pytestmark = [pytest.mark.django_db(transaction=True)]


def communicator(path):
    return WebsocketCommunicator(
        application, path, headers=[(b"host", b"localhost"), (b"origin", b"http://localhost")]
    )


async def connect(showtime_id) -> WebsocketCommunicator:
    """The queue socket, after its first frame (the figures as they stand)."""
    ws = communicator(f"/ws/showtimes/{showtime_id}/queue/")
    connected, _ = await ws.connect()
    assert connected
    assert json.loads(await ws.receive_from(timeout=3))["type"] == "queue.progress"
    return ws


async def frames(ws, timeout=0.5) -> list[dict]:
    """Every frame that arrives within ``timeout`` of the last one."""
    got = []
    while not await ws.receive_nothing(timeout=timeout):
        got.append(json.loads(await ws.receive_from()))
    return got


async def test_one_progress_frame_per_step_whatever_the_queue_length(make_showtime, make_user):
    showtime = await database_sync_to_async(make_showtime)(
        queue_enabled=True, target_active_buyers=3, admission_rate_per_minute=6000
    )
    users = [await database_sync_to_async(make_user)() for _ in range(20)]
    for user in users:
        await database_sync_to_async(queue_join)(user, showtime.pk)
    watchers = [await connect(showtime.pk) for _ in range(3)]

    await database_sync_to_async(queue_tick)(showtime.pk)  # admits 3 of 20
    for ws in watchers:
        (frame,) = await frames(ws)  # one frame for the step, not one per queued buyer
        assert parse_datetime(frame.pop("at")) is not None
        assert frame == {
            "type": "queue.progress",
            "showtime": showtime.pk,
            "admitted_up_to": 3,
            "rate_per_minute": 6000,
            "admitting_per_minute": 6000,  # admission's first minute: the cap
            "active": 3,
            "target": 3,
            "paused": False,
            "shuffled": True,
        }

    await database_sync_to_async(queue_tick)(showtime.pk)  # nothing changed, heartbeat not due
    assert await frames(watchers[0]) == []

    await database_sync_to_async(queue_pause)(showtime.pk)
    await database_sync_to_async(queue_tick)(showtime.pk)  # the figures changed: paused
    (frame,) = await frames(watchers[1])
    assert frame["paused"] is True and frame["admitted_up_to"] == 3
    for ws in watchers:
        await ws.disconnect()


async def test_a_heartbeat_while_people_wait(make_showtime, make_user, monkeypatch):
    showtime = await database_sync_to_async(make_showtime)(
        queue_enabled=True, target_active_buyers=1
    )
    for _ in range(2):
        await database_sync_to_async(queue_join)(
            await database_sync_to_async(make_user)(), showtime.pk
        )
    ws = await connect(showtime.pk)
    await database_sync_to_async(queue_tick)(showtime.pk)
    assert [f["admitted_up_to"] for f in await frames(ws)] == [1]
    await database_sync_to_async(queue_tick)(showtime.pk)  # target full, nothing changed
    assert await frames(ws) == []
    monkeypatch.setattr(waiting, "PROGRESS_HEARTBEAT_SECONDS", 0)  # the heartbeat is due
    await database_sync_to_async(queue_tick)(showtime.pk)
    (frame,) = await frames(ws)
    assert frame["type"] == "queue.progress" and frame["active"] == 1
    await ws.disconnect()


async def test_a_skipped_step_sends_nothing(make_showtime, make_user, monkeypatch):
    showtime = await database_sync_to_async(make_showtime)(queue_enabled=True)
    await database_sync_to_async(queue_join)(await database_sync_to_async(make_user)(), showtime.pk)
    ws = await connect(showtime.pk)
    # another process holds the queue's row (SKIP LOCKED): this one does nothing, sends nothing
    monkeypatch.setattr(waiting, "lock_queue_state", lambda *_a, **_k: None)
    result = await database_sync_to_async(queue_tick)(showtime.pk)
    assert result.skipped
    assert await frames(ws) == []
    await ws.disconnect()


async def test_the_queue_socket_gives_the_figures_on_connect_and_only_queue_frames(
    make_showtime, make_user
):
    from datetime import timedelta

    from django.utils import timezone

    onsale = timezone.now() + timedelta(minutes=5)
    showtime = await database_sync_to_async(make_showtime)(
        queue_enabled=True, target_active_buyers=2, onsale_at=onsale
    )
    early = await database_sync_to_async(make_user)()
    await database_sync_to_async(queue_join)(early, showtime.pk)
    ws = communicator(f"/ws/showtimes/{showtime.pk}/queue/")
    assert (await ws.connect())[0]
    first = json.loads(await ws.receive_from(timeout=3))
    assert first["type"] == "queue.progress" and first["showtime"] == showtime.pk
    assert (first["admitted_up_to"], first["active"], first["target"]) == (0, 0, 2)
    assert first["shuffled"] is False  # before onsale_at: the early pool has no places yet

    seat_map = communicator(f"/ws/showtimes/{showtime.pk}/")
    assert (await seat_map.connect())[0]
    assert json.loads(await seat_map.receive_from(timeout=3))["type"] == "snapshot"

    seat_pks = await database_sync_to_async(
        lambda: list(ShowtimeSeat.objects.filter(showtime=showtime).values_list("pk", flat=True))
    )()
    await database_sync_to_async(seats_block)(showtime_id=showtime.pk, seat_pks=seat_pks[:1])
    await database_sync_to_async(queue_tick)(showtime.pk, onsale + timedelta(seconds=1))
    queue_frames = await frames(ws)
    assert [f["type"] for f in queue_frames] == ["queue.progress"]  # no seats.changed here
    assert queue_frames[0]["shuffled"] is True and queue_frames[0]["admitted_up_to"] == 1
    map_frames = await frames(seat_map)
    assert "queue.progress" not in [f["type"] for f in map_frames]
    assert "seats.changed" in [f["type"] for f in map_frames]

    await ws.send_to(text_data=json.dumps({"type": "resync"}))  # the figures again
    again = json.loads(await ws.receive_from(timeout=3))
    assert again["type"] == "queue.progress" and again["admitted_up_to"] == 1
    await ws.disconnect()
    await seat_map.disconnect()


@pytest.mark.parametrize("queued", [False, None], ids=["no-waiting-room", "no-showtime"])
async def test_the_queue_socket_of_a_showtime_without_a_waiting_room_closes_4404(
    make_showtime, queued
):
    showtime = await database_sync_to_async(make_showtime)(queue_enabled=False)
    showtime_id = showtime.pk if queued is not None else showtime.pk + 1000
    ws = communicator(f"/ws/showtimes/{showtime_id}/queue/")
    connected, _ = await ws.connect()
    assert connected
    assert (await ws.receive_output(timeout=3)) == {"type": "websocket.close", "code": 4404}
