"""The waiting room's admitter inside the server processes (the embedded mode; docs/waiting-room.md
"The admitter").

Each server process runs one :class:`AdmitterLoop` task per event loop, started by its first
connection (:func:`ensure_started`, called by ``realtime.events.ServerLoopMiddleware`` like the
presence loop): every ``QUEUE_ADMITTER_SECONDS`` (1) it runs one admitter round
(``seats.services.waiting.queue_tick_all``: a step and its ``queue.progress`` frame for every
showtime whose queue is on) in a worker thread. Several processes doing it is safe: a step locks
the showtime's queue row with ``SKIP LOCKED`` (PostgreSQL; SQLite serialises the writers), so
one process admits and broadcasts per showtime and tick, the others skip.

``QUEUE_ADMITTER_IN_WEB`` (default on) switches it: a deployment that runs the ``admit`` process
(Procfile ``admitter``) may turn it off. Nothing lives in this loop but the pace: a restarted
process picks up where the database says.
"""

from __future__ import annotations

import asyncio
import logging
import weakref

from channels.db import database_sync_to_async
from django.conf import settings

from seats.services.waiting import queue_tick_all

logger = logging.getLogger(__name__)


def enabled() -> bool:
    """``QUEUE_ADMITTER_IN_WEB``: whether server processes run the admitter."""
    return bool(getattr(settings, "QUEUE_ADMITTER_IN_WEB", True))


def interval() -> float:
    """``QUEUE_ADMITTER_SECONDS``: the pause between two rounds."""
    return float(getattr(settings, "QUEUE_ADMITTER_SECONDS", 1.0))


class AdmitterLoop:
    """The admitter task of one event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.task: asyncio.Task | None = None
        self.rounds = 0

    def ensure_task(self) -> None:
        if self.task is None or self.task.done():
            self.task = self.loop.create_task(self._run(), name="queue-admitter")

    async def _run(self) -> None:
        """A round every :func:`interval` while :func:`enabled`, on a schedule (a round starts
        ``interval`` after the last one started, not after it ended, so the rounds keep the pace
        the rate cap is counted in; a round that overran is not made up for). A failed round is
        logged and the next one runs as usual."""
        from .events import bind_server_loop

        bind_server_loop()  # the queue.progress frames go through this loop's outbox
        due = self.loop.time()
        while enabled():
            try:
                admitted, finished = await database_sync_to_async(queue_tick_all)(interval())
                self.rounds += 1
                if admitted or finished:
                    logger.info("admitter: %d admitted, %d finished", admitted, finished)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("admitter round failed")
            due = max(due + interval(), self.loop.time())
            await asyncio.sleep(due - self.loop.time())


_loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AdmitterLoop] = (
    weakref.WeakKeyDictionary()
)


def for_loop() -> AdmitterLoop:
    """The :class:`AdmitterLoop` of the running event loop (made on first use)."""
    loop = asyncio.get_running_loop()
    admitter = _loops.get(loop)
    if admitter is None:
        admitter = _loops[loop] = AdmitterLoop(loop)
    return admitter


def ensure_started() -> None:
    """Start the running loop's admitter task if ``QUEUE_ADMITTER_IN_WEB`` and it is not running
    (called for every connection: cheap when running, a dictionary lookup)."""
    if enabled():
        for_loop().ensure_task()
