"""Contract of ``realtime.compat`` (the one adapter that relies on how coroutines run) and of the
public replacement of asgiref's private thread-local in ``realtime.events``: these fail loudly on a
Python, uvicorn or daphne upgrade that changes what they rely on."""

import asyncio
import functools
import inspect
import threading

import pytest
from asgiref.sync import sync_to_async

from realtime import compat, events


def test_what_the_adapter_relies_on_exists():
    async def nothing():
        return None

    coro = nothing()
    assert hasattr(coro, "send") and hasattr(coro, "throw")
    coro.close()
    # The servers' WebSocket send callables are coroutine functions (the fast path).
    from daphne.server import Server
    from uvicorn.protocols.websockets.wsproto_impl import WSProtocol

    assert inspect.iscoroutinefunction(WSProtocol.send)
    assert inspect.iscoroutinefunction(Server.handle_reply)
    sending = functools.partial(Server.handle_reply, None, None)({})  # as daphne passes it
    assert asyncio.iscoroutine(sending)
    sending.close()


@pytest.mark.asyncio
async def test_a_send_that_does_not_wait_finishes_on_the_callers_stack():
    done = []

    async def send():
        done.append(1)

    assert compat.start_now(send()) is None and done == [1]


@pytest.mark.asyncio
async def test_a_send_that_waits_is_finished_by_the_awaiting_task_with_its_result():
    gate = asyncio.get_running_loop().create_future()

    async def send():
        return await gate + 1

    pending = compat.start_now(send())
    assert pending is not None
    task = asyncio.ensure_future(pending)
    await asyncio.sleep(0)
    assert not task.done()
    gate.set_result(41)
    assert await task == 42


@pytest.mark.asyncio
async def test_cancelling_the_task_cancels_the_send_and_errors_pass_through():
    cancelled = asyncio.Event()

    async def send():
        try:
            await asyncio.get_running_loop().create_future()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    pending = compat.start_now(send())
    assert pending is not None
    task = asyncio.ensure_future(pending)
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cancelled.is_set()

    async def refused():
        raise RuntimeError("closed")

    with pytest.raises(RuntimeError):
        compat.start_now(refused())

    async def fails_later():
        await asyncio.sleep(0)
        raise RuntimeError("gone")

    pending = compat.start_now(fails_later())
    assert pending is not None
    with pytest.raises(RuntimeError):
        await pending


@pytest.mark.asyncio
async def test_an_awaitable_that_is_not_a_coroutine_is_returned_unstarted():
    future = asyncio.get_running_loop().create_future()
    assert compat.start_now(future) is future
    future.cancel()


@pytest.mark.asyncio
async def test_a_sync_view_finds_the_server_loop_only_under_the_middleware():
    """``ServerLoopMiddleware`` records the loop in the connection's context, which sync_to_async
    carries into the worker thread; without it (or in a plain thread) there is no server loop."""
    loop = asyncio.get_running_loop()
    seen: dict[str, object] = {}

    def view():
        seen["thread"] = threading.get_ident()
        seen["loop"] = events._server_loop()

    async def app(scope, receive, send):
        await sync_to_async(view, thread_sensitive=False)()

    await sync_to_async(view, thread_sensitive=False)()
    # Read into a name of its own: mypy would keep seen["loop"] narrowed to None below.
    loop_outside = seen["loop"]
    assert loop_outside is None  # not bound in this context
    # A server runs each connection in a task of its own (its own copy of the context).
    await asyncio.ensure_future(events.ServerLoopMiddleware(app)({"type": "http"}, None, None))
    assert seen["loop"] is loop and seen["thread"] != threading.get_ident()
    assert events._server_loop_var.get() is None  # nothing leaked into this task's context
