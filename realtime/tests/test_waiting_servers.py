"""The waiting room (issue #19, docs/waiting-room.md) against real server processes, daphne and
uvicorn, each running its own admitter in the server loop (``QUEUE_ADMITTER_IN_WEB``, the default):

- two processes sharing Redis and the database admit many buyers, never above the target, each
  buyer exactly once, in place order, without a stall, and every watcher on either process sees
  the ``queue.progress`` frames never go back and no step twice (also while nothing changes);
- a server process killed with ``SIGKILL`` and started again loses nobody's place, and its
  admitter carries on in order;
- a socket that reconnects, three tabs joining at once and a second session keep the place;
- the gate through the real server: a hold without a pass, with the buyer's pass, another buyer's
  pass and a tampered one;
- the queue socket: the figures on connect, then the steps; 4404 without a waiting room.

Every test also checks that the servers logged no traceback and no ERROR (a failed admitter
round is only logged).

Timing: nothing here asserts how fast the servers are. Every bound is computed from the
showtime's settings (rate, target, admission window) and the admitter's interval, with a generous
margin for a loaded 2-core machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
import os
import signal
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import websockets
from channels.db import database_sync_to_async
from django.db import connection
from rest_framework_simplejwt.tokens import RefreshToken
from websockets.typing import Origin

from conftest import _free_port, seat_guids
from realtime.tests.test_live_map import _token
from seats.services.waiting import queue_join, queue_pause, queue_resume

pytestmark = pytest.mark.django_db(transaction=True)

SERVERS = ["daphne", "uvicorn"]
ADMITTER_SECONDS = 1.0  # QUEUE_ADMITTER_SECONDS of the server processes (the default)
WAIT = 15  # seconds: the longest a single request, frame or admission step may take here
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


class Servers:
    """Starts server processes through ``asgi_server`` (``await servers.start(env, kind)`` →
    base URL) and checks their logs: ``assert_clean_logs()``, no traceback and no ERROR record
    in what they logged during the test (an admitter round that fails is only logged)."""

    def __init__(self, asgi_server):
        self.asgi_server = asgi_server
        self.logs: list[tuple[Path, int]] = []

    async def start(self, env=None, kind="daphne") -> str:
        port = _free_port()
        log = ARTIFACTS / f"server-{port}.log"
        self.logs.append((log, log.stat().st_size if log.exists() else 0))
        return await asyncio.to_thread(self.asgi_server, env, port=port, server=kind)

    def assert_clean_logs(self) -> None:
        for log, start in self.logs:
            with open(log, "rb") as f:
                f.seek(start)
                text = f.read().decode("utf-8", "replace")
            assert "Traceback" not in text and "ERROR" not in text, text[-4000:]


@pytest.fixture
def servers(asgi_server) -> Servers:
    """Request it after ``private_redis``: the servers then stop before their Redis does."""
    return Servers(asgi_server)


def call(method, url, token=None, body=None, headers=None, timeout=WAIT):
    """``(status, json body)`` of one HTTP call."""
    sent = {"Content-Type": "application/json", **(headers or {})}
    if token:
        sent["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(
        url,
        method=method,
        headers=sent,
        data=json.dumps(body).encode() if body is not None else None,
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw, status = response.read(), response.status
    except urllib.error.HTTPError as answer:
        raw, status = answer.read(), answer.code
    return status, (json.loads(raw) if raw else None)


async def acall(*args, **kwargs):
    return await asyncio.to_thread(call, *args, **kwargs)


def queue_url(base, showtime_id) -> str:
    return f"{base}/api/v1/showtimes/{showtime_id}/queue/"


async def join(base, showtime_id, token) -> dict:
    status, body = await acall("POST", queue_url(base, showtime_id), token)
    assert status == 200, body
    return body


async def status_of(base, showtime_id, token) -> dict:
    status, body = await acall("GET", queue_url(base, showtime_id), token)
    assert status == 200, body
    return body


async def hold(base, showtime_id, token, seats, queue_pass=None) -> tuple[int, dict]:
    headers = {"X-Queue-Pass": queue_pass} if queue_pass is not None else None
    return await acall(
        "POST",
        f"{base}/api/v1/showtimes/{showtime_id}/holds/",
        token,
        {"seats": seats},
        headers=headers,
    )


async def release(base, hold_id, token) -> None:
    status, body = await acall("DELETE", f"{base}/api/v1/holds/{hold_id}/", token)
    assert status in (200, 204), body


async def buy(base, showtime_id, token, seats, queue_pass) -> None:
    """Hold with the pass, order the hold (the pass again) and pay (the demo provider captures at
    once): the admitter's next step ends the buyer's turn (``paid``)."""
    status, held = await hold(base, showtime_id, token, seats, queue_pass)
    assert status == 201, held
    status, order = await acall(
        "POST",
        f"{base}/api/v1/orders/",
        token,
        {
            "hold": held["id"],
            "customer": {"name": "Queue Buyer", "email": "q@example.com", "phone": "+66812345678"},
            "payment_method": "card",
        },
        headers={"Idempotency-Key": str(uuid.uuid4()), "X-Queue-Pass": queue_pass},
    )
    assert status == 201, order
    status, paid = await acall("POST", f"{base}/api/v1/orders/{order['id']}/pay/", token, {})
    assert status == 200 and paid["status"] == "paid", paid


async def wait_until(check, timeout, every=0.1, what="condition"):
    """Await ``check()`` until it returns something true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        assert time.monotonic() < deadline, f"timed out after {timeout:.0f} s waiting for {what}"
        await asyncio.sleep(every)


async def placed(base, showtime_id, token) -> dict:
    """The buyer's status once the admitter has given them a place (a join has none until the
    admitter's next step)."""

    async def check():
        body = await status_of(base, showtime_id, token)
        return body if body["position"] is not None else None

    return await wait_until(check, WAIT, what="a place")


@database_sync_to_async
def make_users(make_user, prefix, n):
    return [make_user(f"{prefix}{i}") for i in range(n)]


@database_sync_to_async
def entries(showtime_id) -> dict[int, Any]:
    """``{user id: entry fields}`` of the showtime's queue, from the database."""
    from seats.models import QueueEntry

    return {
        e["user_id"]: e
        for e in QueueEntry.objects.filter(showtime_id=showtime_id).values(
            "pk", "user_id", "position", "admitted_at", "finished_at", "finish_reason"
        )
    }


# --- Watching the progress frames ---------------------------------------------------------------


@dataclass
class ProgressWatcher:
    """A socket that records every ``queue.progress`` frame it receives, in order."""

    ws: Any
    frames: list[dict] = field(default_factory=list)
    task: asyncio.Task | None = None
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def _run(self):
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in self.ws:
                frame = json.loads(raw)
                if frame["type"] == "queue.progress":
                    self.frames.append(frame)
                    self.changed.set()

    async def wait_for(self, check, timeout=WAIT):
        deadline = time.monotonic() + timeout
        while not check():
            left = deadline - time.monotonic()
            assert left > 0, f"timed out waiting for a frame; got {self.frames[-5:]}"
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), min(left, 0.2))

    async def close(self):
        await self.ws.close()
        if self.task is not None:
            await asyncio.wait_for(self.task, WAIT)


def queue_socket_url(base, showtime_id) -> str:
    return f"{base.replace('http', 'ws')}/ws/showtimes/{showtime_id}/queue/"


async def watch_progress(base, showtime_id) -> ProgressWatcher:
    """An anonymous socket on the showtime's waiting room (``ws/showtimes/{id}/queue/``), its
    first frame (the figures as they stand on connect) read and kept as ``frames[0]``."""
    ws = await websockets.connect(
        queue_socket_url(base, showtime_id), max_size=None, origin=Origin("http://localhost")
    )
    first = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
    assert first["type"] == "queue.progress" and first["showtime"] == showtime_id, first
    watcher = ProgressWatcher(ws, [first])
    watcher.task = asyncio.ensure_future(watcher._run())
    return watcher


FIGURES = (
    "admitted_up_to",
    "rate_per_minute",
    "active",
    "target",
    "paused",
    "shuffled",
    "admitting_per_minute",
)


def figures(frame: dict) -> tuple:
    return tuple(frame[k] for k in FIGURES)


def assert_progress_consistent(frames: list[dict], showtime_id: int, target: int) -> None:
    """What every watcher must see: its own showtime, every field of the contract,
    ``admitted_up_to`` never going back, ``active`` never above the target."""
    assert frames, "no queue.progress frame"
    for f in frames:
        assert set(f) == {"type", "showtime", "at", *FIGURES}, f
        assert f["type"] == "queue.progress" and f["showtime"] == showtime_id, f
        assert 0 <= f["active"] <= target and f["target"] == target, f
    ups = [f["admitted_up_to"] for f in frames]
    assert ups == sorted(ups), f"admitted_up_to went back: {ups}"


def repeated_steps(steps: list[dict]) -> list[tuple[dict, dict]]:
    """The frames of admitter steps (not the one sent on connect) that repeat the figures of the
    frame before them sooner than a heartbeat may (``PROGRESS_HEARTBEAT_SECONDS`` after the
    last frame of any process, less a second for the time from a step to its frame's ``at``):
    a step broadcast twice. Only for frames of steps that placed nobody (a step that gives
    joiners their places sends a frame without changing the figures): every other step that
    changes something changes the figures here, it admits someone (``admitted_up_to`` grows)
    or only finishes someone (``active`` falls)."""
    from seats.services.waiting import PROGRESS_HEARTBEAT_SECONDS

    return [
        (before, after)
        for before, after in itertools.pairwise(steps)
        if figures(before) == figures(after)
        and (at(after) - at(before)).total_seconds() < PROGRESS_HEARTBEAT_SECONDS - 1
    ]


def at(frame: dict) -> datetime:
    return datetime.fromisoformat(frame["at"])


# --- The sampler --------------------------------------------------------------------------------


class Sampler:
    """A thread (its own database connection) that reads the showtime's queue every ``every``
    seconds and records: the most active buyers seen at once, the first ``admitted_at`` seen
    of each entry (and any change of it), and any moment the admitted places were not exactly
    the first ones."""

    def __init__(self, showtime_id: int, expected: int, every: float = 0.1):
        self.showtime_id = showtime_id
        self.expected = expected
        self.all_placed_at: datetime | None = None  # wall clock: all ``expected`` had places
        self.every = every
        self.samples = 0
        self.max_active = 0
        self.first_admitted: dict[int, datetime] = {}  # entry id → admitted_at first seen
        self.readmitted: list[tuple[int, datetime, datetime]] = []
        self.out_of_order: list[tuple[list[int], list[int]]] = []
        self.latest: list[tuple[int, int, int | None, datetime | None, datetime | None]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.error: BaseException | None = None

    def start(self) -> Sampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(WAIT)
        if self.error is not None:
            raise self.error

    def _run(self):
        from seats.models import QueueEntry

        try:
            while not self._stop.is_set():
                rows = list(
                    QueueEntry.objects.filter(showtime_id=self.showtime_id).values_list(
                        "pk", "user_id", "position", "admitted_at", "finished_at"
                    )
                )
                self.samples += 1
                self.latest = rows
                active = sum(1 for r in rows if r[3] is not None and r[4] is None)
                self.max_active = max(self.max_active, active)
                for pk, _user, _position, admitted_at, _finished in rows:
                    if admitted_at is None:
                        continue
                    first = self.first_admitted.setdefault(pk, admitted_at)
                    if first != admitted_at:
                        self.readmitted.append((pk, first, admitted_at))
                admitted = sorted(r[2] or 0 for r in rows if r[3] is not None)
                placed = sorted(r[2] or 0 for r in rows if r[2] is not None)
                if self.all_placed_at is None and len(placed) == self.expected:
                    self.all_placed_at = datetime.now(UTC)
                if admitted != placed[: len(admitted)]:
                    self.out_of_order.append((admitted, placed))
                self._stop.wait(self.every)
        except BaseException as exc:  # reported by stop()
            self.error = exc
        finally:
            connection.close()


# --- 1. Two processes, one queue ----------------------------------------------------------------


@pytest.mark.parametrize("kinds", [("daphne", "uvicorn"), ("uvicorn", "daphne")])
async def test_two_processes_sharing_redis_admit_everyone_once_in_order_never_above_target(
    private_redis, servers, make_showtime, make_user, kinds
):
    n, target, rate, window = 40, 8, 240, 2
    showtime = await database_sync_to_async(make_showtime)(
        rows=2,
        seats_per_row=10,
        queue_enabled=True,
        target_active_buyers=target,
        admission_rate_per_minute=rate,
        admission_window_seconds=window,
    )
    sid = showtime.pk
    guids = await database_sync_to_async(seat_guids)(showtime)
    users = await make_users(make_user, "q", n)
    tokens = {u.pk: _token(u) for u in users}
    env = {"REDIS_URL": private_redis.url, "QUEUE_ADMITTER_SECONDS": str(ADMITTER_SECONDS)}
    bases = [await servers.start(env, kind) for kind in kinds]
    watchers = [await watch_progress(base, sid) for base in bases for _ in range(2)]
    sampler = Sampler(sid, n).start()

    # Everyone joins through the real API, alternating between the processes, one after the
    # other: first come, first served (no on-sale time: no early pool), the places given by
    # the admitter's steps.
    started = time.monotonic()
    for i, user in enumerate(users):
        await join(bases[i % 2], sid, tokens[user.pk])

    # Buyers who are admitted take a seat with their pass and let it go at once (the admitter
    # ends their turn one admission window later: ``window``); every eighth does nothing (the
    # window after admission).
    free = list(guids)
    idlers = {u.pk for i, u in enumerate(users) if i % 8 == 3}
    handled: set[int] = set()
    outcomes: dict[int, str] = {}
    tasks: list[asyncio.Task] = []

    async def take_turn(user_id: int, i: int):
        base = bases[i % 2]
        token = tokens[user_id]
        body = await status_of(base, sid, token)
        if body["state"] != "admitted":
            # Finished by the window before this buyer came back: possible on a loaded machine.
            assert body["state"] == "finished", body
            outcomes[user_id] = "finished before holding"
            return
        assert body["pass"] and body["position"] <= body["admitted_up_to"], body
        seat = free.pop()
        try:
            status, held = await hold(base, sid, token, [seat], body["pass"])
            if status == 403:  # same: the window ran out between the status and the hold
                assert held["error"]["code"] == "queue_required", held
                outcomes[user_id] = "window ran out"
                return
            assert status == 201, held
            await release(bases[(i + 1) % 2], held["id"], token)
            outcomes[user_id] = "held and released"
        finally:
            free.append(seat)

    index = {u.pk: i for i, u in enumerate(users)}
    # No stall: at the rate cap everyone is admitted within (n − bucket) × 60 / rate seconds;
    # the target holds it back at most one admission window (after admission for the idlers,
    # after the release for the others) plus a hold and release and an admitter step or two to
    # notice, per round of ``target`` buyers.
    bucket = max(1, rate // 60)
    turnover = window + 3 * ADMITTER_SECONDS + 3
    bound = (n - bucket) * 60 / rate + math.ceil(n / target) * turnover + WAIT
    deadline = started + bound
    while True:
        rows = sampler.latest
        for _pk, user_id, _position, admitted_at, _finished in rows:
            if admitted_at is not None and user_id not in handled:
                handled.add(user_id)
                if user_id not in idlers:
                    tasks.append(asyncio.ensure_future(take_turn(user_id, index[user_id])))
        if len(handled) == n:
            break
        assert time.monotonic() < deadline, (
            f"stalled: {len(handled)} of {n} admitted after {bound:.0f} s; "
            f"{sorted((r[2], r[3] is not None, r[4] is not None) for r in rows)}"
        )
        await asyncio.sleep(0.1)
    await asyncio.gather(*tasks)
    admitted_in = time.monotonic() - started
    sampler.stop()

    final = await entries(sid)
    assert [final[u.pk]["position"] for u in users] == list(range(1, n + 1))  # arrival order
    # Never more than the target active at any sampled moment; nobody admitted twice; the
    # admitted were always exactly the first places.
    assert sampler.samples > 10
    assert 1 <= sampler.max_active <= target, sampler.max_active
    assert sampler.readmitted == []
    assert sampler.out_of_order == []
    assert all(
        final[u.pk]["admitted_at"] == sampler.first_admitted[final[u.pk]["pk"]] for u in users
    )
    # In place order: admission times never go back along the places.
    by_place = sorted(final.values(), key=lambda e: e["position"])
    times = [e["admitted_at"] for e in by_place]
    assert times == sorted(times)
    # The buyers who held through the real API did so with their pass.
    assert sum(1 for o in outcomes.values() if o == "held and released") >= (n - len(idlers)) // 2
    assert admitted_in < bound

    # Every watcher, on either process, ends at the last place, never went back, and saw no
    # step twice (once everyone had a place: see repeated_steps).
    for w in watchers:
        await w.wait_for(lambda w=w: bool(w.frames) and w.frames[-1]["admitted_up_to"] == n)
    for w in watchers:
        await w.close()
    assert sampler.all_placed_at is not None
    since = sampler.all_placed_at + timedelta(seconds=1)
    for w in watchers:
        assert_progress_consistent(w.frames, sid, target)
        later = [f for f in w.frames[1:] if at(f) > since]
        assert len(later) >= 3, w.frames  # admissions went on after the last place was given
        assert repeated_steps(later) == [], f"steps broadcast twice: {repeated_steps(later)[:3]}"
    servers.assert_clean_logs()


async def test_one_frame_per_step_whatever_the_number_of_processes(
    private_redis, servers, make_showtime, make_user
):
    """Two processes step in turn while nothing changes (the target is reached, nobody
    finishes): the step that admitted is broadcast once, not once more by the other process."""
    target = 2
    showtime = await database_sync_to_async(make_showtime)(
        queue_enabled=True, target_active_buyers=target, admission_window_seconds=300
    )
    sid = showtime.pk
    # Everyone has joined, the waiting room paused, before the servers start: their first
    # steps place everyone and admit nobody. The watchers connect, then the resume: the next
    # step admits two, and from then on nothing changes.
    for user in await make_users(make_user, "d", 4):
        await database_sync_to_async(queue_join)(user, sid)
    await database_sync_to_async(queue_pause)(sid)
    env = {"REDIS_URL": private_redis.url, "QUEUE_ADMITTER_SECONDS": str(ADMITTER_SECONDS)}
    bases = [await servers.start(env, kind) for kind in SERVERS]
    watchers = [await watch_progress(base, sid) for base in bases]
    assert all(w.frames[0]["admitted_up_to"] == 0 for w in watchers)
    await database_sync_to_async(queue_resume)(sid)
    for w in watchers:
        await w.wait_for(lambda w=w: w.frames[-1]["admitted_up_to"] == target)
    # Both processes step several times more (skipped steps aside) with nothing to change.
    await asyncio.sleep(4 * ADMITTER_SECONDS)
    for w in watchers:
        await w.close()
    for w in watchers:
        assert_progress_consistent(w.frames, sid, target)
        first = next(i for i, f in enumerate(w.frames) if f["admitted_up_to"] == target)
        assert first >= 1 and figures(w.frames[first])[:3] == (target, 1000, target), w.frames
        assert repeated_steps(w.frames[first:]) == [], w.frames
    servers.assert_clean_logs()


# --- 2. A restart -------------------------------------------------------------------------------


@pytest.mark.parametrize(("first", "second"), [("daphne", "uvicorn"), ("uvicorn", "daphne")])
async def test_a_killed_server_loses_no_place_and_the_next_one_admits_in_order(
    servers, make_showtime, make_user, first, second
):
    n, target = 8, 2
    showtime = await database_sync_to_async(make_showtime)(
        queue_enabled=True,
        target_active_buyers=target,
        admission_rate_per_minute=600,
        admission_window_seconds=300,  # the admitted stay active until they buy
    )
    sid = showtime.pk
    guids = await database_sync_to_async(seat_guids)(showtime)
    users = await make_users(make_user, "r", n)
    tokens = [_token(u) for u in users]
    env = {"QUEUE_ADMITTER_SECONDS": str(ADMITTER_SECONDS)}
    base_a = await servers.start(env, first)
    for token in tokens:
        await join(base_a, sid, token)
    assert [(await placed(base_a, sid, t))["position"] for t in tokens] == list(range(1, n + 1))

    async def admitted_count():
        rows = await entries(sid)
        return sum(1 for e in rows.values() if e["admitted_at"] is not None) == target

    await wait_until(admitted_count, WAIT, what="the first admissions")
    before = [await status_of(base_a, sid, token) for token in tokens]

    proc, _log = servers.asgi_server.processes[-1]
    os.kill(proc.pid, signal.SIGKILL)  # no shutdown code runs
    proc.wait(WAIT)
    base_b = await servers.start(env, second)

    after = [await status_of(base_b, sid, token) for token in tokens]
    for b, a in zip(before, after, strict=True):
        assert a["position"] == b["position"]
        assert a["state"] == b["state"]
    assert [a["state"] for a in after] == ["admitted"] * target + ["waiting"] * (n - target)
    # A buyer who joins again after the restart keeps the place.
    again = await join(base_b, sid, tokens[-1])
    assert again["position"] == n and again["state"] == "waiting"

    # The new process's admitter carries on in order: as each admitted buyer buys, the next
    # place is admitted, never above the target.
    for i in range(n):
        body = await wait_until(
            lambda i=i: _admitted_status(base_b, sid, tokens[i]),
            WAIT,
            what=f"place {i + 1} to be admitted",
        )
        assert body["position"] == i + 1
        rows = await entries(sid)
        admitted = sorted(e["position"] for e in rows.values() if e["admitted_at"] is not None)
        assert admitted == list(range(1, len(admitted) + 1))
        assert sum(1 for e in rows.values() if e["admitted_at"] and not e["finished_at"]) <= target
        await buy(base_b, sid, tokens[i], guids[i : i + 1], body["pass"])
    rows = await entries(sid)
    assert all(e["admitted_at"] is not None for e in rows.values())
    servers.assert_clean_logs()


async def _admitted_status(base, sid, token) -> dict | None:
    body = await status_of(base, sid, token)
    return body if body["state"] == "admitted" else None


# --- 3. Reconnecting ----------------------------------------------------------------------------


@pytest.mark.parametrize("server", SERVERS)
async def test_a_reconnect_and_a_second_session_keep_the_place(
    servers, make_showtime, make_user, server
):
    showtime = await database_sync_to_async(make_showtime)(
        queue_enabled=True, target_active_buyers=1, admission_window_seconds=300
    )
    sid = showtime.pk
    first, buyer = await make_users(make_user, "c", 2)
    guids = await database_sync_to_async(seat_guids)(showtime)
    base = await servers.start(kind=server)
    await join(base, sid, _token(first))
    assert (await placed(base, sid, _token(first)))["position"] == 1
    token = _token(buyer)
    # The buyer opens the queue page in three tabs at once: one place.
    tabs = [token, _token(buyer), _token(buyer)]
    await asyncio.gather(*(join(base, sid, t) for t in tabs))
    assert (await placed(base, sid, token))["position"] == 2
    for t in tabs:
        assert (await status_of(base, sid, t))["position"] == 2

    watcher = await watch_progress(base, sid)
    await watcher.wait_for(lambda: any(f["admitted_up_to"] == 1 for f in watcher.frames))
    await watcher.close()  # the page's socket drops …
    watcher = await watch_progress(base, sid)  # … and comes back: the figures at once
    assert watcher.frames[0]["admitted_up_to"] == 1 and watcher.frames[0]["active"] == 1
    # A second tab: another session of the same buyer (a refresh token of its own, exchanged
    # for an access token by the server).
    status, body = await acall(
        "POST",
        f"{base}/api/v1/auth/token/refresh/",
        body={"refresh": str(RefreshToken.for_user(buyer))},
    )
    assert status == 200, body
    tab = body["access"]
    assert tab != token
    for again in (await join(base, sid, tab), await status_of(base, sid, token)):
        assert again["position"] == 2 and again["state"] == "waiting", again
    # Still in line behind the first buyer, and admitted when the first one is done: the
    # reconnected socket sees it.
    pass_first = (await status_of(base, sid, _token(first)))["pass"]
    await buy(base, sid, _token(first), guids[:1], pass_first)
    await watcher.wait_for(lambda: any(f["admitted_up_to"] == 2 for f in watcher.frames))
    body = await status_of(base, sid, tab)
    assert body["position"] == 2 and body["state"] == "admitted" and body["pass"], body
    await watcher.close()
    servers.assert_clean_logs()


# --- 4. The gate --------------------------------------------------------------------------------


@pytest.mark.parametrize("server", SERVERS)
async def test_holds_need_the_buyers_own_valid_pass(servers, make_showtime, make_user, server):
    showtime = await database_sync_to_async(make_showtime)(
        queue_enabled=True, target_active_buyers=2, admission_window_seconds=300
    )
    sid = showtime.pk
    a, b, c = await make_users(make_user, "g", 3)
    ta, tb, tc = _token(a), _token(b), _token(c)
    guids = await database_sync_to_async(seat_guids)(showtime)
    base = await servers.start(kind=server)
    for token in (ta, tb, tc):
        await join(base, sid, token)
    assert (await placed(base, sid, tc))["position"] == 3

    async def admitted(token):
        body = await status_of(base, sid, token)
        return body if body["state"] == "admitted" else None

    pass_a = (await wait_until(lambda: admitted(ta), WAIT, what="a's admission"))["pass"]
    pass_b = (await wait_until(lambda: admitted(tb), WAIT, what="b's admission"))["pass"]

    def refused(status, body, reason, position):
        assert status == 403, body
        assert body["error"]["code"] == "queue_required", body
        assert body["error"]["details"]["position"] == position, body
        assert body["error"]["details"]["reason"] == reason, body

    refused(*await hold(base, sid, ta, guids[:1]), "missing", 1)
    refused(*await hold(base, sid, tc, guids[:1]), "missing", 3)  # still waiting
    refused(*await hold(base, sid, ta, guids[:1], pass_b), "other_user", 1)
    refused(*await hold(base, sid, tc, guids[:1], pass_a), "other_user", 3)
    tampered = pass_a[:-2] + ("AA" if pass_a[-2:] != "AA" else "BB")
    refused(*await hold(base, sid, ta, guids[:1], tampered), "tampered", 1)
    refused(*await hold(base, sid, ta, guids[:1], "not-a-pass"), "tampered", 1)
    status, body = await hold(base, sid, ta, guids[:1], pass_a)
    assert status == 201, body
    status, body = await hold(base, sid, tb, guids[1:2], pass_b)
    assert status == 201, body
    # Nothing was written by the refusals: only the two holds made with a pass.
    status, seats = await acall("GET", f"{base}/api/v1/showtimes/{sid}/seats/")
    assert status == 200
    held = sorted(s["id"] for s in seats["seats"] if s["status"] == "held")
    assert held == sorted(guids[:2])
    servers.assert_clean_logs()


# --- 5. The queue socket ------------------------------------------------------------------------


@pytest.mark.parametrize("server", SERVERS)
async def test_the_queue_socket_sends_the_figures_then_the_steps_and_4404_without_a_queue(
    servers, make_showtime, make_user, server
):
    queued = await database_sync_to_async(make_showtime)(
        queue_enabled=True, target_active_buyers=1, admission_rate_per_minute=90
    )
    plain = await database_sync_to_async(make_showtime)()
    a, b = await make_users(make_user, "s", 2)
    guids = await database_sync_to_async(seat_guids)(queued)
    base = await servers.start(kind=server)
    for showtime_id in (plain.pk, 999_999):
        async with websockets.connect(
            queue_socket_url(base, showtime_id), origin=Origin("http://localhost")
        ) as ws:
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), WAIT)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4404

    ta, tb = _token(a), _token(b)
    await join(base, queued.pk, ta)
    await join(base, queued.pk, tb)
    body = await wait_until(lambda: _admitted_status(base, queued.pk, ta), WAIT, what="a's turn")
    watcher = await watch_progress(base, queued.pk)
    first = watcher.frames[0]
    assert figures(first) == (1, 90, 1, 1, False, True, 90), first  # b waits behind a
    assert datetime.fromisoformat(first["at"]).tzinfo is not None
    # a has bought: the next step finishes a and admits b, in one frame.
    await buy(base, queued.pk, ta, guids[:1], body["pass"])
    await watcher.wait_for(lambda: watcher.frames[-1]["admitted_up_to"] == 2)
    assert figures(watcher.frames[-1]) == (2, 90, 1, 1, False, True, 90), watcher.frames
    await watcher.close()
    assert_progress_consistent(watcher.frames, queued.pk, 1)
    servers.assert_clean_logs()
