"""Holds that follow the buyer (issue #16; docs/realtime.md "Presence"), with real sockets against
real server processes (daphne and uvicorn): a buyer who closes the page loses the hold after the
showtime's grace and every watcher sees ``seats.changed`` with reason ``abandoned``; a reload, a
second tab or a socket on another process keeps it; after a server is killed, the holds of buyers
who never came back are released and those of buyers who reconnected are kept; a hold made only
through the API keeps its full time."""

import asyncio
import json
import os
import signal
import time

import pytest
import websockets
from channels.db import database_sync_to_async
from websockets.typing import Origin

from conftest import seat_guids, seat_labels
from realtime.tests.test_live_map import Watcher, _token, call, watch

pytestmark = pytest.mark.django_db(transaction=True)

GRACE = 1  # seconds: the showtimes' abandon_grace_seconds here
# Server processes: a fast sweep and short leases, so a test waits seconds, not minutes.
FAST = {
    "ABANDON_SWEEP_SECONDS": "0.2",
    "PRESENCE_LEASE_SECONDS": "1.5",
    "PRESENCE_REFRESH_SECONDS": "0.3",
}
SERVERS = ["daphne", "uvicorn"]


async def open_map(base, showtime_id, token) -> websockets.ClientConnection:
    """A signed-in seat map socket (a single-use ticket, as the page gets one), snapshot read."""
    status, body, _ = await asyncio.to_thread(
        call, "POST", f"{base}/api/v1/realtime/tickets/", token, {}
    )
    assert status == 201, body
    ws = await websockets.connect(
        f"{base.replace('http', 'ws')}/ws/showtimes/{showtime_id}/?ticket={body['ticket']}",
        max_size=None,
        origin=Origin("http://localhost"),
    )
    first = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert first["type"] == "snapshot"
    return ws


async def hold_seats(base, showtime_id, token, seats) -> dict:
    status, body, _ = await asyncio.to_thread(
        call, "POST", f"{base}/api/v1/showtimes/{showtime_id}/holds/", token, {"seats": seats}
    )
    assert status in (200, 201), body
    return body


async def hold_status(base, hold_id, token) -> str:
    status, body, _ = await asyncio.to_thread(call, "GET", f"{base}/api/v1/holds/{hold_id}/", token)
    assert status == 200, body
    return body["status"]


def abandoned_frames(watcher: Watcher) -> list[dict]:
    return [f for f in watcher.seen if f.get("reason") == "abandoned"]


async def wait_until(check, timeout, every=0.1):
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(every)


@pytest.mark.parametrize("server", SERVERS)
async def test_a_buyer_who_closes_the_page_loses_the_hold_after_the_grace(
    asgi_server, make_showtime, buyer, server
):
    showtime = await database_sync_to_async(make_showtime)(abandon_grace_seconds=GRACE)
    base = await asyncio.to_thread(asgi_server, FAST, server=server)
    token = _token(buyer)
    seats = (await database_sync_to_async(seat_guids)(showtime, 2))[:2]
    labels = await database_sync_to_async(seat_labels)(showtime)
    watcher = await watch(base, showtime.pk)
    page = await open_map(base, showtime.pk, token)
    hold = await hold_seats(base, showtime.pk, token, seats)
    await watcher.wait_for(lambda: all(watcher.map[s] == "held" for s in seats))

    await page.close()
    closed = time.monotonic()
    await asyncio.sleep(GRACE * 0.5)  # inside the grace: still held
    assert await hold_status(base, hold["id"], token) == "active"
    assert all(watcher.map[s] == "held" for s in seats)

    await watcher.wait_for(lambda: bool(abandoned_frames(watcher)), timeout=10)
    waited = time.monotonic() - closed
    (frame,) = abandoned_frames(watcher)
    assert sorted(frame["seats"], key=lambda s: s["id"]) == sorted(
        [{"id": s, "label": labels[s], "status": "available", "version": 3} for s in seats],
        key=lambda s: s["id"],
    )
    assert all(watcher.map[s] == "available" for s in seats)
    assert waited >= GRACE
    assert await hold_status(base, hold["id"], token) == "released"
    # Another buyer can have the seats at once.
    other = await hold_seats(base, showtime.pk, _token(await _user("late")), seats)
    assert other["status"] == "active"
    status, stats, _ = await asyncio.to_thread(
        call, "GET", f"{base}/api/v1/stats/", _token(await _user("ops", staff=True))
    )
    assert status == 200
    assert stats["holds"]["abandoned"] == 1
    assert GRACE <= stats["holds"]["abandoned_release_median_seconds"] < GRACE + 5
    await watcher.ws.close()


@database_sync_to_async
def _user(name, staff=False):
    from django.contrib.auth.models import User

    return User.objects.create_user(name, password="x", is_staff=staff)


@pytest.mark.parametrize("server", SERVERS)
async def test_a_reload_and_a_second_tab_keep_the_hold(asgi_server, make_showtime, buyer, server):
    showtime = await database_sync_to_async(make_showtime)(abandon_grace_seconds=GRACE)
    base = await asyncio.to_thread(asgi_server, FAST, server=server)
    token = _token(buyer)
    seats = await database_sync_to_async(seat_guids)(showtime, 1)
    watcher = await watch(base, showtime.pk)
    page = await open_map(base, showtime.pk, token)
    hold = await hold_seats(base, showtime.pk, token, seats)

    # A reload: the page's socket closes and a new one opens at once.
    await page.close()
    page = await open_map(base, showtime.pk, token)
    # A second tab, then the first one closed.
    tab = await open_map(base, showtime.pk, token)
    await page.close()
    await asyncio.sleep(GRACE + 2.5)  # the grace, a lease and some sweeps
    assert await hold_status(base, hold["id"], token) == "active"
    assert abandoned_frames(watcher) == []

    await tab.close()  # the last one: now the grace runs
    await watcher.wait_for(lambda: bool(abandoned_frames(watcher)), timeout=10)
    assert await hold_status(base, hold["id"], token) == "released"
    await watcher.ws.close()


@pytest.mark.parametrize("server", SERVERS)
async def test_a_hold_made_through_the_api_alone_keeps_its_full_time(
    asgi_server, make_showtime, buyer, server
):
    showtime = await database_sync_to_async(make_showtime)(abandon_grace_seconds=GRACE)
    base = await asyncio.to_thread(asgi_server, FAST, server=server)
    token = _token(buyer)
    seats = await database_sync_to_async(seat_guids)(showtime, 1)
    hold = await hold_seats(base, showtime.pk, token, seats)
    await asyncio.sleep(GRACE + 2)
    assert await hold_status(base, hold["id"], token) == "active"


async def test_presence_spans_two_server_processes_sharing_redis(
    asgi_server, private_redis, make_showtime, buyer
):
    showtime = await database_sync_to_async(make_showtime)(abandon_grace_seconds=GRACE)
    env = {**FAST, "REDIS_URL": private_redis.url}
    base_a = await asyncio.to_thread(asgi_server, env)
    base_b = await asyncio.to_thread(asgi_server, env, server="uvicorn")
    token = _token(buyer)
    seats = await database_sync_to_async(seat_guids)(showtime, 1)
    watcher_a = await watch(base_a, showtime.pk)
    watcher_b = await watch(base_b, showtime.pk)
    on_a = await open_map(base_a, showtime.pk, token)
    on_b = await open_map(base_b, showtime.pk, token)
    hold = await hold_seats(base_a, showtime.pk, token, seats)

    await on_a.close()  # the buyer is still on B's seat map
    await asyncio.sleep(GRACE + 2.5)
    assert await hold_status(base_a, hold["id"], token) == "active"
    assert abandoned_frames(watcher_a) == abandoned_frames(watcher_b) == []

    await on_b.close()
    for watcher in (watcher_a, watcher_b):
        await watcher.wait_for(lambda w=watcher: bool(abandoned_frames(w)), timeout=10)
        assert watcher.map[seats[0]] == "available"
    assert len(abandoned_frames(watcher_a)) == len(abandoned_frames(watcher_b)) == 1
    assert await hold_status(base_b, hold["id"], token) == "released"
    for watcher in (watcher_a, watcher_b):
        await watcher.ws.close()


@pytest.mark.parametrize("server", SERVERS)
async def test_after_a_server_is_killed_only_the_buyers_who_came_back_keep_their_holds(
    asgi_server, make_showtime, make_user, server
):
    showtime = await database_sync_to_async(make_showtime)(abandon_grace_seconds=GRACE)
    gone, back = await database_sync_to_async(lambda: (make_user("gone"), make_user("back")))()
    tokens = {"gone": _token(gone), "back": _token(back)}
    a, b = await database_sync_to_async(seat_guids)(showtime, 2)
    first = await asyncio.to_thread(asgi_server, FAST, server=server)
    sockets = {name: await open_map(first, showtime.pk, token) for name, token in tokens.items()}
    holds = {
        "gone": await hold_seats(first, showtime.pk, tokens["gone"], [a]),
        "back": await hold_seats(first, showtime.pk, tokens["back"], [b]),
    }
    await asyncio.sleep(0.5)  # a lease renewal or two

    proc, _log = asgi_server.processes[-1]
    os.kill(proc.pid, signal.SIGKILL)  # no disconnect handler runs: only the leases tell
    proc.wait(10)
    for ws in sockets.values():
        await ws.close()

    second = await asyncio.to_thread(asgi_server, FAST, server=server)
    again = await open_map(second, showtime.pk, tokens["back"])  # this buyer reconnects

    async def gone_released():
        return await hold_status(second, holds["gone"]["id"], tokens["gone"]) == "released"

    await wait_until(gone_released, timeout=15)
    await asyncio.sleep(GRACE + 2)  # longer than the grace and a lease: still kept
    assert await hold_status(second, holds["back"]["id"], tokens["back"]) == "active"
    await again.close()
