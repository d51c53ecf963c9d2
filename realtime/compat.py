"""The one place that relies on how a coroutine is run, not on a documented library API.

:func:`start_now` runs an awaitable up to its first suspension on the caller's stack and, if it
did suspend, hands back an awaitable that finishes it inside whatever task awaits it. The
consumer uses it to write a frame without making a task per frame and socket
(``realtime.consumers.ShowtimeConsumer._write``). Python 3.12's eager tasks
(``asyncio.eager_task_factory``) do the same through a public API; this project runs on 3.11.

What it relies on, checked by ``realtime/tests/test_compat.py`` (fails on an upgrade that
changes it):

- a coroutine object has ``send`` and ``throw`` (PEP 342/492), and what it yields while it
  waits on an asyncio future is that future, which the awaiting task can wait on in its place;
- the servers' WebSocket ``send`` callables are coroutine functions, so the fast path is taken:
  uvicorn's ``WSProtocol.send`` (``--ws wsproto``) and daphne's ``Server.handle_reply`` (which
  daphne passes to the application as ``send`` through ``functools.partial``). Any other
  awaitable is still handled, by the slow path (``None`` is never returned for it).
"""

from __future__ import annotations

import asyncio
import types
from collections.abc import Awaitable, Generator
from typing import Any


@types.coroutine
def _resume(coro: Any, waiting_on: Any) -> Generator[Any, Any, Any]:
    """Drive ``coro``, started by hand and suspended on ``waiting_on``, to its end inside the
    awaiting task: pass up what ``coro`` waits on and pass back whatever the task sends or throws
    (cancellation included). Returns its result."""
    while True:
        try:
            sent = yield waiting_on
        except BaseException as exc:
            try:
                waiting_on = coro.throw(exc)
            except StopIteration as done:
                return done.value
        else:
            try:
                waiting_on = coro.send(sent)
            except StopIteration as done:
                return done.value


def start_now(awaitable: Awaitable[Any]) -> Awaitable[Any] | None:
    """Start ``awaitable`` at once on the caller's stack (call it on the event loop's thread).

    Returns ``None`` when it finished without waiting (its result is dropped); else an awaitable
    that finishes it (await it in a task: the rest of the work, its result, its exception, and a
    cancellation of that task all pass through). An exception raised before the first suspension
    is raised here. An awaitable that is not a coroutine (a future, a custom object) is returned
    as it is, unstarted, for the caller to await.
    """
    if not asyncio.iscoroutine(awaitable):
        return awaitable
    try:
        waiting_on = awaitable.send(None)
    except StopIteration:
        return None
    return _resume(awaitable, waiting_on)
