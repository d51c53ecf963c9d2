"""The waiting room's ``queue.progress`` broadcast (docs/realtime.md, docs/waiting-room.md): one
frame per admitter step that changed something, to the showtime's group, whatever the queue's
length; heartbeats while people wait; nothing from a skipped step."""

import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from seats.services import waiting
from seats.services.waiting import queue_join, queue_pause, queue_tick
from ticketing.asgi import application

pytestmark = [pytest.mark.django_db(transaction=True)]


async def connect(showtime_id):
    ws = WebsocketCommunicator(
        application,
        f"/ws/showtimes/{showtime_id}/",
        headers=[(b"host", b"localhost"), (b"origin", b"http://localhost")],
    )
    connected, _ = await ws.connect()
    assert connected
    assert json.loads(await ws.receive_from(timeout=3))["type"] == "snapshot"
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
        assert frame == {
            "type": "queue.progress",
            "showtime": showtime.pk,
            "admitted_up_to": 3,
            "rate_per_minute": 6000,
            "active": 3,
            "target": 3,
            "paused": False,
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
