"""One channel-layer subscription per group per process, fanned out locally (realtime.hub), seen
from the sockets: every frame exactly once per socket, leaving, personal events, the snapshot
cache, a stalled reader, and the channel layer failing and coming back. Real database, real
channel layers (in-memory; Redis with ``REDIS_URL``; a private ``redis-server`` where Redis has
to die), no mocks."""

import asyncio
import base64
import fcntl
import json
import os
import socket
import struct
import termios
import time
import urllib.request

import pytest
import websockets
from channels.db import database_sync_to_async
from channels.layers import InMemoryChannelLayer, get_channel_layer
from channels_redis.core import RedisChannelLayer
from channels_redis.pubsub import RedisPubSubChannelLayer
from websockets.typing import Origin

from conftest import seat_guids, snapshot_states
from realtime import events
from realtime.hub import get_hub
from seats.services import hold_create, hold_release

from .test_consumers import connect, receive, session_cookie

pytestmark = [pytest.mark.django_db(transaction=True)]

aguids = database_sync_to_async(seat_guids)
ahold = database_sync_to_async(hold_create)
arelease = database_sync_to_async(hold_release)


async def eventually(check, timeout=5.0, every=0.02):
    """Wait until ``check()`` (sync or async) is true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout} s: {check}")
        await asyncio.sleep(every)


async def layer_members(group: str) -> int:
    """Channels of this process in ``group`` on the configured channel layer."""
    layer = get_channel_layer()
    if isinstance(layer, InMemoryChannelLayer):
        return len(layer.groups.get(group, {}))
    if isinstance(layer, RedisPubSubChannelLayer):
        loop_layer = layer._get_layer()
        return len(loop_layer.groups.get(loop_layer._get_group_channel_name(group), ()))
    if isinstance(layer, RedisChannelLayer):
        return await layer.connection(layer.consistent_hash(group)).zcard(layer._group_key(group))
    raise AssertionError(f"unknown layer {layer!r}")


async def seats_frames(ws, n):
    frames = [await receive(ws) for _ in range(n)]
    assert {f["type"] for f in frames} == {"seats.changed"}
    return frames


# --- fan-out ----------------------------------------------------------------------------------


async def test_many_sockets_of_one_showtime_get_each_frame_exactly_once(showtime, buyer):
    sockets = []
    for _ in range(25):
        ws, connected, _ = await connect(showtime.pk)
        assert connected
        assert (await receive(ws))["type"] == "snapshot"
        sockets.append(ws)
    group = events.showtime_group(showtime.pk)
    assert await layer_members(group) == 1  # one subscription for the process, not one per socket

    a, b = await aguids(showtime, 2)
    hold = (await ahold(user=buyer, showtime_id=showtime.pk, seat_ids=[a])).hold
    await ahold(user=buyer, showtime_id=showtime.pk, seat_ids=[b])  # added to the same hold
    await arelease(user=buyer, hold_id=hold.pk)
    for ws in sockets:
        frames = await seats_frames(ws, 3)
        assert [f["reason"] for f in frames] == ["held", "held", "released"]
        assert [f["seq"] for f in frames] == list(range(frames[0]["seq"], frames[0]["seq"] + 3))
        assert await ws.receive_nothing(timeout=0.05)  # no copy of any frame
    for ws in sockets:
        await ws.disconnect()


async def test_a_socket_that_leaves_gets_nothing_more_and_the_last_one_ends_the_subscription(
    showtime, buyer
):
    group = events.showtime_group(showtime.pk)
    first, _, _ = await connect(showtime.pk)
    second, _, _ = await connect(showtime.pk)
    await receive(first)
    await receive(second)
    hub = get_hub()
    assert hub.stats()["members"] == 2

    await first.disconnect()
    assert hub.stats()["members"] == 1
    a, b = await aguids(showtime, 2)
    await ahold(user=buyer, showtime_id=showtime.pk, seat_ids=[a])
    assert (await receive(second))["reason"] == "held"

    await second.disconnect()
    await eventually(lambda: not hub.subscriptions)

    async def left_the_layer():  # group_discard, after the subscription is dropped
        return await layer_members(group) == 0

    await eventually(left_the_layer)  # the layer sends this process nothing more

    # A watcher after that subscribes afresh and is served as before.
    third, _, _ = await connect(showtime.pk)
    snapshot = await receive(third)
    assert snapshot_states(snapshot)[a][0] == "held"
    await ahold(user=buyer, showtime_id=showtime.pk, seat_ids=[b])
    changed = await receive(third)
    assert changed["seats"][0]["id"] == b and changed["seq"] == snapshot["seq"] + 1
    assert await layer_members(group) == 1
    await third.disconnect()


async def test_personal_events_reach_only_the_owners_socket_of_that_showtime(
    make_showtime, buyer, other_buyer
):
    watched, elsewhere = await database_sync_to_async(lambda: (make_showtime(), make_showtime()))()
    cookie = await database_sync_to_async(session_cookie)(buyer)
    mine, _, _ = await connect(watched.pk, cookie=cookie)
    mine_elsewhere, _, _ = await connect(elsewhere.pk, cookie=cookie)  # same personal group
    theirs, _, _ = await connect(
        watched.pk, cookie=await database_sync_to_async(session_cookie)(other_buyer)
    )
    for ws in (mine, mine_elsewhere, theirs):
        await receive(ws)
    assert await layer_members(events.user_group(buyer.pk)) == 1

    hold = (await ahold(user=buyer, showtime_id=watched.pk, seat_ids=await aguids(watched, 1))).hold
    frames = {f["type"]: f for f in [await receive(mine), await receive(mine)]}
    assert set(frames) == {"seats.changed", "hold.updated"}
    assert frames["hold.updated"]["hold"]["id"] == str(hold.pk)
    assert (await receive(theirs))["type"] == "seats.changed"
    assert await theirs.receive_nothing(timeout=0.2)
    assert await mine_elsewhere.receive_nothing(timeout=0.2)
    for ws in (mine, mine_elsewhere, theirs):
        await ws.disconnect()


# --- snapshot cache -----------------------------------------------------------------------------


async def test_a_connect_right_after_a_change_sees_it_in_the_snapshot(showtime, buyer, settings):
    settings.REALTIME_SNAPSHOT_CACHE_SECONDS = 60  # only a change may refresh it here
    first, _, _ = await connect(showtime.pk)
    before = await receive(first)
    again, _, _ = await connect(showtime.pk)
    assert (await receive(again)) == before  # served from the cache: same read, same as_of

    a = (await aguids(showtime, 1))[0]
    await ahold(user=buyer, showtime_id=showtime.pk, seat_ids=[a])
    changed = await receive(first)  # the hub has handed the frame out
    late, _, _ = await connect(showtime.pk)
    snapshot = await receive(late)
    assert snapshot["seq"] >= changed["seq"]
    assert snapshot_states(snapshot)[a] == ("held", 2)
    for ws in (first, again, late):
        await ws.disconnect()


async def test_an_expired_hold_shows_available_once_the_cache_time_is_up(
    make_showtime, buyer, settings, clock
):
    settings.REALTIME_SNAPSHOT_CACHE_SECONDS = 0.3
    showtime = await database_sync_to_async(make_showtime)(hold_ttl=60)
    a = (await aguids(showtime, 1))[0]
    await ahold(user=buyer, showtime_id=showtime.pk, seat_ids=[a])
    watcher, _, _ = await connect(showtime.pk)
    assert snapshot_states(await receive(watcher))[a][0] == "held"
    clock.advance(61)  # expired: available when read, and no frame says so yet

    async def a_new_socket_sees_it_available():
        later, _, _ = await connect(showtime.pk)
        seat = snapshot_states(await receive(later))[a]
        await later.disconnect()
        assert seat[0] in ("held", "available"), seat
        return seat == ("available", 3)

    # The cached snapshot (still "held") ends after 0.3 s; without that rule it never would.
    await eventually(a_new_socket_sees_it_available, timeout=5, every=0.05)
    await watcher.disconnect()


async def test_a_snapshot_read_while_a_frame_arrives_is_not_kept(showtime):
    """The generation rule of ``Hub.snapshot``, on the real layer: a read that a frame overtook
    serves its caller but is not stored for the next one."""

    class Recorder:
        def __init__(self):
            self.messages = []

        def deliver(self, message):
            self.messages.append(message)

        def resync(self, epoch=None, older_than=None):
            pass

    group = events.showtime_group(showtime.pk)
    hub, member, gate = get_hub(), Recorder(), asyncio.Event()
    await hub.join(group, member)

    async def slow_read():
        await gate.wait()
        return "read before the frame"

    async def fresh_read():
        return "read after the frame"

    first = asyncio.ensure_future(hub.snapshot(group, slow_read))
    await asyncio.sleep(0)
    await get_channel_layer().group_send(group, {"type": "seats.changed", "text": "{}"})
    await eventually(lambda: member.messages)
    gate.set()
    assert await first == "read before the frame"
    assert await hub.snapshot(group, fresh_read) == "read after the frame"
    assert await hub.snapshot(group, slow_read) == "read after the frame"  # this one is kept
    hub.leave(group, member)
    await eventually(lambda: not hub.subscriptions)


async def test_a_frame_during_the_snapshot_read_goes_out_after_the_snapshot(showtime, buyer):
    """Joining comes before the snapshot read, so a change may land while the read runs: its
    frame must reach the socket after the snapshot, never before it (the client would overwrite
    it with the older snapshot). The read is held open by sharing one the test starts."""

    class Recorder:
        def deliver(self, message):
            pass

        def resync(self, epoch=None, older_than=None):
            pass

    group = events.showtime_group(showtime.pk)
    hub, gate = get_hub(), asyncio.Event()
    await hub.join(group, Recorder())
    seat = (await aguids(showtime, 1))[0]

    from realtime.consumers import SNAPSHOT_LIVE, Snapshot
    from realtime.sequence import current

    epoch, seq = current(showtime.pk)

    async def held_open_read():
        await gate.wait()
        return Snapshot(
            f'{{"type":"snapshot","epoch":"{epoch}","seq":{seq},"seats":[]}}', epoch, seq, 0.0
        )

    # the form a socket gets by default: the read in flight is shared per form
    reading = asyncio.ensure_future(hub.snapshot(group, held_open_read, form=SNAPSHOT_LIVE))
    await asyncio.sleep(0)
    ws, connected, _ = await connect(showtime.pk)  # shares the read in flight
    assert connected
    await ahold(user=buyer, showtime_id=showtime.pk, seat_ids=[seat])
    await eventually(lambda: hub.subscriptions[group].received)  # the frame is in the hub
    assert await ws.receive_nothing(timeout=0.2)  # held back while the snapshot is not out
    gate.set()
    await reading
    assert (await receive(ws))["type"] == "snapshot"
    assert (await receive(ws))["type"] == "seats.changed"
    await ws.disconnect()


# --- a stalled reader (uvicorn: ``await send`` waits while the socket's buffer is full) ---------


@pytest.fixture
def uvicorn_server(asgi_server):
    """One uvicorn process on the test database; returns its base URL."""
    return asgi_server(server="uvicorn")


def _client_frame(text: str) -> bytes:
    """A masked text frame, as a client must send it (RFC 6455 §5.3); payload < 126 bytes."""
    payload = text.encode()
    mask = os.urandom(4)
    return (
        bytes([0x81, 0x80 | len(payload)])
        + mask
        + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    )


def _stalled_client(port: int, path: str) -> socket.socket:
    """A WebSocket client that handshakes, then never reads again (tiny receive buffer)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\nOrigin: http://localhost\r\n\r\n"
        ).encode()
    )
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += sock.recv(1)  # byte by byte: leave the frames after the headers unread
    assert answer.startswith(b"HTTP/1.1 101"), answer
    return sock


def _unread_stopped_growing(sock: socket.socket):
    """A check for :func:`eventually`: true once the bytes waiting unread in ``sock``
    (``FIONREAD``) are more than zero and the same as at the previous call — the sender filled
    the buffers and waits."""
    last: list[int | None] = [None]

    def check() -> bool:
        unread = struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.FIONREAD, b"\0" * 4))[0]
        before, last[0] = last[0], unread
        return unread > 0 and unread == before

    return check


def _post_hold(base: str, showtime_id: int, seat: str, token: str) -> int:
    request = urllib.request.Request(
        f"{base}/api/v1/showtimes/{showtime_id}/holds/",
        data=json.dumps({"seats": [seat]}).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status


async def test_a_stalled_reader_does_not_hold_up_the_others(uvicorn_server, make_showtime, buyer):
    from rest_framework_simplejwt.tokens import RefreshToken

    # ~70 KB snapshots: a few dozen fill the stalled socket's buffers until uvicorn's send waits.
    showtime = await database_sync_to_async(make_showtime)(rows=20, seats_per_row=50)
    seat = (await aguids(showtime, 1))[0]
    token = str(RefreshToken.for_user(buyer).access_token)
    port = int(uvicorn_server.rsplit(":", 1)[1])
    path = f"/ws/showtimes/{showtime.pk}/"

    stalled = await asyncio.to_thread(_stalled_client, port, path)  # first in delivery order
    try:
        await asyncio.to_thread(stalled.sendall, _client_frame('{"type":"resync"}') * 300)
        async with websockets.connect(
            f"ws://127.0.0.1:{port}{path}", origin=Origin("http://localhost"), max_size=None
        ) as watcher:
            assert json.loads(await watcher.recv())["type"] == "snapshot"
            # The stalled socket's sends are waiting once its buffers are full: the server has
            # stopped taking the resyncs' snapshots, so the client's receive queue stops growing.
            await eventually(_unread_stopped_growing(stalled), timeout=10, every=0.1)
            assert (
                await asyncio.to_thread(_post_hold, uvicorn_server, showtime.pk, seat, token) == 201
            )
            # A fan-out blocked behind the stalled socket would never deliver this frame.
            frame = json.loads(await asyncio.wait_for(watcher.recv(), 5))
            assert frame["type"] == "seats.changed" and frame["seats"][0]["id"] == seat
            await watcher.send(json.dumps({"type": "ping"}))
            assert json.loads(await asyncio.wait_for(watcher.recv(), 2))["type"] == "pong"
    finally:
        stalled.close()


# --- the channel layer fails -------------------------------------------------------------------


LAYERS = {
    "pubsub": "channels_redis.pubsub.RedisPubSubChannelLayer",
    "core": "channels_redis.core.RedisChannelLayer",
}


def _use_layer(settings, kind, url):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": LAYERS[kind],
            "CONFIG": {"hosts": [{"address": url, "socket_connect_timeout": 1}]},
        }
    }


@pytest.mark.parametrize("kind", ["pubsub", "core"])
async def test_joining_fails_with_1011_when_the_layer_is_down(showtime, settings, kind):
    _use_layer(settings, kind, "redis://127.0.0.1:9/0")  # nothing listens there
    ws, connected, _ = await connect(showtime.pk)
    assert connected
    assert (await ws.receive_output(timeout=5)) == {"type": "websocket.close", "code": 1011}


@pytest.mark.parametrize("kind", ["pubsub", "core"])
async def test_frames_flow_again_after_redis_comes_back(
    private_redis, showtime, buyer, other_buyer, settings, caplog, kind
):
    _use_layer(settings, kind, private_redis.url)
    a, b = await aguids(showtime, 2)
    watcher, _, _ = await connect(showtime.pk)
    await receive(watcher)
    held = {"hold": (await ahold(user=buyer, showtime_id=showtime.pk, seat_ids=[a])).hold}
    assert (await receive(watcher))["seats"][0]["id"] == a

    private_redis.stop()
    group = events.showtime_group(showtime.pk)
    if kind == "core":  # its receive raises: logged, the group is refused until it is rejoined
        sub = get_hub().subscriptions[group]
        await eventually(lambda: not sub.healthy)
        assert f"receiving {group} failed" in caplog.text
        refused, _, _ = await connect(showtime.pk)
        assert (await refused.receive_output(timeout=5)) == {
            "type": "websocket.close",
            "code": 1011,
        }
    await asyncio.sleep(0.5)
    private_redis.start()  # empty: the group memberships are gone with the old server
    if kind == "core":
        await eventually(lambda: sub.healthy, timeout=10)

    async def toggle():  # one seat change: release the hold, or hold the seat again
        if held["hold"] is None:
            held["hold"] = (await ahold(user=buyer, showtime_id=showtime.pk, seat_ids=[a])).hold
        else:
            await arelease(user=buyer, hold_id=held["hold"].pk)
            held["hold"] = None

    frame = None
    for _ in range(10):  # the pub/sub layer reconnects on its own schedule (about 1 s)
        await toggle()
        if not await watcher.receive_nothing(timeout=2):  # (a receive timeout ends the app)
            frame = await receive(watcher)
            break
    # A frame, or a fresh snapshot from the server when a frame was lost while the layer was
    # reconnecting (the next frame's seq showed the gap; docs/realtime.md "Ordering").
    assert frame is not None and frame["type"] in ("seats.changed", "snapshot")
    await ahold(user=other_buyer, showtime_id=showtime.pk, seat_ids=[b])
    frames = [frame]
    while not (frames[-1]["type"] == "seats.changed" and frames[-1]["seats"][0]["id"] == b):
        frames.append(await receive(watcher, timeout=5))
    assert frames[-1]["reason"] == "held"
    await watcher.disconnect()


# --- order of seats.changed frames (docs/realtime.md "Ordering and faults") ----------------------


class _Recorder:
    def __init__(self):
        self.messages = []
        self.resyncs = []

    def deliver(self, message):
        self.messages.append(message)

    def resync(self, epoch=None, older_than=None):
        self.resyncs.append((epoch, older_than))


def _change(showtime_id, epoch, seq):
    return {
        "type": "seats.changed",
        "showtime": showtime_id,
        "epoch": epoch,
        "seq": seq,
        "text": f'{{"seq":{seq}}}',
    }


async def test_frames_published_out_of_order_reach_members_in_seq_order(showtime, settings):
    """6 published before 5 (two processes): the hub holds 6 until 5 arrives."""
    settings.REALTIME_REORDER_WAIT_SECONDS = 5
    group = events.showtime_group(showtime.pk)
    hub, member = get_hub(), _Recorder()
    await hub.join(group, member)
    for seq in (4, 6, 7, 5, 8):
        hub.deliver_local(group, _change(showtime.pk, "e1", seq))
    assert [m["seq"] for m in member.messages] == [4, 5, 6, 7, 8]
    hub.leave(group, member)


async def test_a_frame_that_never_comes_is_waited_for_briefly(showtime, settings):
    """A seq that was allocated and never published (a crash, a lost publish): the frames after it
    go on once the reorder wait is over, in order, and the members see the gap."""
    settings.REALTIME_REORDER_WAIT_SECONDS = 0.2
    group = events.showtime_group(showtime.pk)
    hub, member = get_hub(), _Recorder()
    await hub.join(group, member)
    for seq in (1, 3, 4):
        hub.deliver_local(group, _change(showtime.pk, "e1", seq))
    assert [m["seq"] for m in member.messages] == [1]
    await eventually(lambda: len(member.messages) == 3, timeout=3)
    assert [m["seq"] for m in member.messages] == [1, 3, 4]
    hub.deliver_local(group, _change(showtime.pk, "e2", 1))  # a new epoch starts afresh
    hub.deliver_local(group, _change(showtime.pk, "e2", 2))
    assert [(m["epoch"], m["seq"]) for m in member.messages[3:]] == [("e2", 1), ("e2", 2)]
    hub.deliver_local(group, {"type": "realtime.reset", "showtime": showtime.pk, "epoch": "e3"})
    assert member.resyncs == [("e3", None)]
    hub.leave(group, member)


async def test_a_socket_gets_a_fresh_snapshot_instead_of_a_frame_of_a_new_epoch(showtime, buyer):
    """The numbering restarted (e.g. Redis lost the counter): the socket is told by a snapshot,
    not by a frame it would have to recognise as a restart."""
    from django.conf import settings as django_settings

    from core import redisguard
    from realtime import sequence

    ws, _, _ = await connect(showtime.pk)
    first = await receive(ws)
    old = sequence._process_epoch
    if django_settings.REDIS_URL:  # Redis lost the counter (a restart without persistence)
        await database_sync_to_async(redisguard.client().delete)(sequence._key(showtime.pk))
    else:  # the embedded process's numbering starts over
        sequence.reset_local_state()
        sequence._process_epoch = "restarted"
    try:
        seat = (await aguids(showtime, 1))[0]
        await ahold(user=buyer, showtime_id=showtime.pk, seat_ids=[seat])
        fresh = await receive(ws)
        assert fresh["type"] == "snapshot" and fresh["epoch"] != first["epoch"]
        assert fresh["seq"] == 1
        assert snapshot_states(fresh)[seat][0] == "held"
        assert await ws.receive_nothing(timeout=0.3)  # the frame itself is not sent after it
    finally:
        sequence._process_epoch = old
    await ws.disconnect()
