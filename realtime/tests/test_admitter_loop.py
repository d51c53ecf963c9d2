"""The waiting room's admitter inside the server process (``realtime.admitter``,
docs/waiting-room.md): started by a connection like the presence loop, it admits every second and
broadcasts ``queue.progress``; ``QUEUE_ADMITTER_IN_WEB`` off leaves it to the ``admit`` process."""

import asyncio
import json

import pytest
from channels.db import database_sync_to_async

from realtime import admitter
from seats.models import QueueEntry
from seats.services.waiting import queue_join

from .test_queue_progress import connect

pytestmark = [pytest.mark.django_db(transaction=True)]


@database_sync_to_async
def admitted(showtime) -> int:
    return QueueEntry.objects.filter(showtime=showtime, admitted_at__isnull=False).count()


async def test_the_server_loop_admits_and_broadcasts(make_showtime, make_user, settings):
    settings.QUEUE_ADMITTER_IN_WEB = True
    settings.QUEUE_ADMITTER_SECONDS = 0.2
    showtime = await database_sync_to_async(make_showtime)(
        queue_enabled=True, target_active_buyers=2
    )
    for _ in range(3):
        await database_sync_to_async(queue_join)(
            await database_sync_to_async(make_user)(), showtime.pk
        )
    ws = await connect(showtime.pk)  # the connection starts the loop's admitter
    frame: dict = {"admitted_up_to": 0}
    while frame["admitted_up_to"] < 2:  # the figures on connect may predate the first round
        frame = json.loads(await ws.receive_from(timeout=5))
    assert frame["type"] == "queue.progress" and frame["admitted_up_to"] == 2
    assert frame["active"] == 2 and frame["target"] == 2
    assert await admitted(showtime) == 2  # never above the target
    task = admitter.for_loop().task
    assert task is not None and not task.done()
    settings.QUEUE_ADMITTER_IN_WEB = False  # the loop ends at its next round
    await asyncio.wait_for(task, 2)
    await ws.disconnect()


async def test_off_when_the_admit_process_runs_it(make_showtime, make_user, settings):
    settings.QUEUE_ADMITTER_IN_WEB = False
    showtime = await database_sync_to_async(make_showtime)(queue_enabled=True)
    await database_sync_to_async(queue_join)(await database_sync_to_async(make_user)(), showtime.pk)
    ws = await connect(showtime.pk)
    assert await ws.receive_nothing(timeout=1.2)
    assert await admitted(showtime) == 0
    assert admitter.for_loop().task is None
    await ws.disconnect()
