"""The WebSocket protocol's edges (docs/realtime.md "Close codes", "Per-socket limits", the Origin
rule of the opening section) against real server processes, daphne and uvicorn (``asgi_server``),
read from a real client (the ``websockets`` library): what a client sees, close codes included.

Why real servers: daphne lets an application close only with 1000 or 3000–4999 (a 1009 raised
inside the consumer and reached the client as 1011), and an unmatched path answered HTTP 500;
Channels' ``WebsocketCommunicator`` shows neither. Every test also checks that the server logged no
traceback and no ERROR.

Timing: nothing here asserts how fast the server is. Limits that depend on time are checked
against bounds computed from the time the client measured (longer on a loaded machine: looser
bound), and every wait has a generous timeout.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import websockets
from channels.db import database_sync_to_async
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Origin

from conftest import _free_port, client_for, seat_guids
from realtime.consumers import (
    FLOOD_MAX_FRAMES,
    PING_BURST,
    PING_PER_SECOND,
    RESYNC_INTERVAL_SECONDS,
)

pytestmark = pytest.mark.django_db(transaction=True)

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
WAIT = 10  # seconds: the longest any single frame or close may take to arrive
MARKER = "{not json"  # answered in order with an error frame: everything sent before it was read


@dataclass
class Server:
    """One server process: its ``http://`` and ``ws://`` base URLs, and its log from where this
    test's part starts."""

    kind: str
    url: str
    log: Path
    log_from: int

    @property
    def ws(self) -> str:
        return self.url.replace("http://", "ws://")

    @property
    def origin(self) -> str:
        return self.url  # the page's own origin: http://127.0.0.1:PORT

    def assert_clean_log(self) -> None:
        """No traceback and no ERROR record in what the server logged during this test."""
        with open(self.log, "rb") as f:
            f.seek(self.log_from)
            text = f.read().decode("utf-8", "replace")
        assert "Traceback" not in text and "ERROR" not in text, text[-4000:]


@pytest.fixture(params=["daphne", "uvicorn"])
def server(request, asgi_server) -> Server:
    """A fresh server process of each kind, on the test database."""
    port = _free_port()
    log = ARTIFACTS / f"server-{port}.log"
    log_from = log.stat().st_size if log.exists() else 0
    url = asgi_server(port=port, server=request.param)
    return Server(request.param, url, log, log_from)


def connect(server: Server, path: str, *, origin: str | None = None, cookie: str | None = None):
    """A ``websockets`` client connection (``async with``); no ``Origin`` header unless given."""
    headers = {"Cookie": cookie} if cookie else None
    return websockets.connect(
        server.ws + path,
        origin=Origin(origin) if origin else None,
        additional_headers=headers,
        open_timeout=WAIT,
        close_timeout=WAIT,
        compression=None,
    )


async def recv(ws) -> dict:
    return json.loads(await asyncio.wait_for(ws.recv(), WAIT))


async def close_code(ws) -> int | None:
    """Read (and drop) frames until the server closes; the close code it sent."""
    try:
        while True:
            await asyncio.wait_for(ws.recv(), WAIT)
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None


async def frames_until_close(ws) -> tuple[list[dict], int | None]:
    """Every frame until the server closes, and the close code it sent."""
    frames = []
    try:
        while True:
            frames.append(json.loads(await asyncio.wait_for(ws.recv(), WAIT)))
    except ConnectionClosed as closed:
        return frames, (closed.rcvd.code if closed.rcvd else None)


async def send_all(ws, frames) -> None:
    """Send frames until done or until the server has closed the socket."""
    try:
        for frame in frames:
            await ws.send(frame)
    except ConnectionClosed:
        pass


def session_cookie(user) -> str:
    from django.test import Client

    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


def access_token(user) -> str:
    from rest_framework_simplejwt.tokens import RefreshToken

    return str(RefreshToken.for_user(user).access_token)


def post_json(url: str, body: dict, token: str) -> int:
    """POST a JSON body with a JWT; the status code."""
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=WAIT) as response:
        return response.status


def socket_ticket(user) -> str:
    response = client_for(user).post("/api/v1/realtime/tickets/")
    assert response.status_code == 201
    return response.json()["ticket"]


# ----------------------------------------------------------------------------------- close codes


async def test_frame_over_4_kib_closes_with_4009(server, showtime):
    async with connect(server, f"/ws/showtimes/{showtime.pk}/", origin=server.origin) as ws:
        assert (await recv(ws))["type"] == "snapshot"
        await ws.send(json.dumps({"type": "ping", "pad": "x" * 5000}))
        assert await close_code(ws) == 4009
    path = f"/ws/showtimes/{showtime.pk}/"
    async with connect(server, path, origin=server.origin) as ws:  # 4 KiB exactly is fine
        assert (await recv(ws))["type"] == "snapshot"
        frame = json.dumps({"type": "ping", "pad": ""})
        await ws.send(json.dumps({"type": "ping", "pad": "x" * (4096 - len(frame))}))
        assert (await recv(ws))["type"] == "pong"
    server.assert_clean_log()


async def test_unmatched_paths_and_unknown_showtimes_close_with_4404(server, db):
    for path in [
        "/ws/showtimes/-1/",
        "/ws/showtimes/abc/",
        "/ws/nope/",
        "/ws/",
        "/",
        "/ws/showtimes/999999/",
        "/ws/showtimes/99999999999999999999/",
    ]:
        for origin in (None, server.origin):
            async with connect(server, path, origin=origin) as ws:
                assert await close_code(ws) == 4404, (path, origin)
    server.assert_clean_log()


async def test_the_queue_socket_under_each_server(server, make_showtime):
    """The waiting room's socket (docs/realtime.md "The queue socket"): the figures first, the
    figures again on resync, 4009 for an oversize frame like the seat map's; 4404 for a showtime
    without a waiting room or none at all."""
    queued = await database_sync_to_async(make_showtime)(queue_enabled=True)
    plain = await database_sync_to_async(make_showtime)()
    path = f"/ws/showtimes/{queued.pk}/queue/"
    async with connect(server, path) as ws:  # no sign-in, no Origin: the figures are public
        first = await recv(ws)
        assert first["type"] == "queue.progress" and first["showtime"] == queued.pk
        assert {"admitted_up_to", "rate_per_minute", "active", "target", "paused"} <= set(first)
        await ws.send(json.dumps({"type": "resync"}))
        assert (await recv(ws))["type"] == "queue.progress"
        await ws.send(json.dumps({"type": "ping", "pad": "x" * 5000}))
        assert await close_code(ws) == 4009
    for other in (f"/ws/showtimes/{plain.pk}/queue/", "/ws/showtimes/999999/queue/"):
        async with connect(server, other) as ws:
            assert await close_code(ws) == 4404, other
    server.assert_clean_log()


async def test_bad_ticket_closes_with_4401_and_a_good_one_needs_no_origin(server, showtime, buyer):
    async with connect(server, f"/ws/showtimes/{showtime.pk}/?ticket=forged") as ws:
        assert await close_code(ws) == 4401
    ticket = await database_sync_to_async(socket_ticket)(buyer)
    async with connect(server, f"/ws/showtimes/{showtime.pk}/?ticket={ticket}") as ws:
        assert (await recv(ws))["type"] == "snapshot"
        seat = (await database_sync_to_async(seat_guids)(showtime, 1))[0]
        status = await asyncio.to_thread(  # through this server: its channel layer publishes
            post_json,
            f"{server.url}/api/v1/showtimes/{showtime.pk}/holds/",
            {"seats": [seat]},
            await database_sync_to_async(access_token)(buyer),
        )
        assert status == 201
        assert {(await recv(ws))["type"], (await recv(ws))["type"]} == {
            "seats.changed",
            "hold.updated",
        }  # signed in by the ticket
    async with connect(server, f"/ws/showtimes/{showtime.pk}/?ticket={ticket}") as ws:
        assert await close_code(ws) == 4401  # single use
    server.assert_clean_log()


# ------------------------------------------------------------------------------------ Origin rule


async def test_origin_is_needed_only_where_a_cookie_could_sign_in(server, showtime, buyer):
    path = f"/ws/showtimes/{showtime.pk}/"
    cookie = await database_sync_to_async(session_cookie)(buyer)
    ticket = await database_sync_to_async(socket_ticket)(buyer)

    async def accepted(**kwargs) -> bool:
        try:
            async with connect(server, kwargs.pop("path", path), **kwargs) as ws:
                assert (await recv(ws))["type"] == "snapshot"
                return True
        except InvalidStatus as refused:
            assert refused.response.status_code == 403  # noqa: PT017 (a helper: False is the answer)
            return False

    assert await accepted()  # an anonymous watcher (kiosk, app): no Origin, no cookie
    assert await accepted(origin="http://elsewhere.example")  # no credential to borrow
    assert await accepted(path=f"{path}?ticket={ticket}")  # the ticket signs in; no Origin
    assert await accepted(origin=server.origin, cookie=cookie)  # the seat map page
    assert await accepted(origin="http://localhost", cookie=cookie)  # a host in ALLOWED_HOSTS
    assert not await accepted(cookie=cookie)  # a cookie without Origin
    assert not await accepted(origin="http://evil.example", cookie=cookie)
    ticket = await database_sync_to_async(socket_ticket)(buyer)
    assert not await accepted(
        path=f"{path}?ticket={ticket}", origin="http://evil.example", cookie=cookie
    )  # a foreign page sends its Origin: still checked
    server.assert_clean_log()


# ------------------------------------------------------------------------------ per-socket limits


async def test_resyncs_within_a_second_are_coalesced_into_one_snapshot(server, showtime):
    async with connect(server, f"/ws/showtimes/{showtime.pk}/", origin=server.origin) as ws:
        assert (await recv(ws))["type"] == "snapshot"
        started = time.monotonic()
        for _ in range(30):  # below the flood limit
            await ws.send(json.dumps({"type": "resync"}))
        await ws.send(MARKER)
        frames: list[dict[str, Any]] = []
        while not frames or frames[-1]["type"] != "error":  # all 30 resyncs read by the server
            frames.append(await recv(ws))
        read_within = time.monotonic() - started
        # One more snapshot is due at the end of the window unless the last one closed it; wait
        # for it, then for quiet (a late one would only make the count smaller).
        try:
            while True:
                frames.append(
                    json.loads(await asyncio.wait_for(ws.recv(), RESYNC_INTERVAL_SECONDS + 2))
                )
        except TimeoutError:
            pass
    snapshots = [f for f in frames if f["type"] == "snapshot"]
    # At most one per interval while the resyncs were being read, plus the one at its end.
    bound = 2 + math.floor(read_within / RESYNC_INTERVAL_SECONDS)
    assert 1 <= len(snapshots) <= bound, (len(snapshots), read_within)
    assert {f["type"] for f in frames} == {"snapshot", "error"}
    server.assert_clean_log()


async def test_pings_beyond_the_bucket_are_not_answered(server, showtime):
    async with connect(server, f"/ws/showtimes/{showtime.pk}/", origin=server.origin) as ws:
        assert (await recv(ws))["type"] == "snapshot"
        started = time.monotonic()
        for _ in range(40):  # below the flood limit
            await ws.send(json.dumps({"type": "ping"}))
        await ws.send(MARKER)
        frames: list[dict[str, Any]] = []
        while not frames or frames[-1]["type"] != "error":
            frames.append(await recv(ws))
        elapsed = time.monotonic() - started
        pongs = sum(f["type"] == "pong" for f in frames)
        assert PING_BURST <= pongs <= PING_BURST + math.ceil(elapsed * PING_PER_SECOND), (
            pongs,
            elapsed,
        )
        # The bucket refills: a ping later is answered again.
        await asyncio.sleep(1.5 / PING_PER_SECOND)
        await ws.send(json.dumps({"type": "ping"}))
        assert (await recv(ws))["type"] == "pong"
    server.assert_clean_log()


@pytest.mark.parametrize(("kind", "count"), [("ping", 1000), ("resync", 300)])
async def test_a_flooding_socket_is_closed_with_4429(server, showtime, kind, count):
    async with connect(server, f"/ws/showtimes/{showtime.pk}/", origin=server.origin) as ws:
        assert (await recv(ws))["type"] == "snapshot"
        started = time.monotonic()
        await send_all(ws, [json.dumps({"type": kind})] * count)
        frames, code = await frames_until_close(ws)
        elapsed = time.monotonic() - started
    assert code == 4429
    answers = [f for f in frames if f["type"] == ("pong" if kind == "ping" else "snapshot")]
    if kind == "ping":
        assert len(answers) <= PING_BURST + math.ceil(elapsed * PING_PER_SECOND)
    else:
        assert len(answers) <= 2 + math.floor(elapsed / RESYNC_INTERVAL_SECONDS)
    assert len(answers) < FLOOD_MAX_FRAMES
    path = f"/ws/showtimes/{showtime.pk}/"
    async with connect(server, path, origin=server.origin) as ws:  # others unaffected
        assert (await recv(ws))["type"] == "snapshot"
    server.assert_clean_log()
