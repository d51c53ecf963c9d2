#!/usr/bin/env python
"""Abandoned holds (issue #16): an on-sale where a third of the buyers walk away from their hold,
seats sold per minute with the early release on (``abandon_grace_seconds`` 5) against off (0).

Each run makes a fresh showtime on the benchmark plan (the 1,252-seat Riethsporthalle plan, else
the project's demo arena) with every seat blocked but --seats (so demand exceeds supply) and a
``hold_ttl`` of --hold-ttl seconds, starts nothing new (the server processes and the cleanup
worker run for the whole invocation), and keeps --slots buyers at work for --seconds: when one
finishes, a fresh buyer (another account) takes the slot, so demand is constant. A buyer:

1. asks for a socket ticket (``POST realtime/tickets/``, JWT) and opens the signed-in seat map
   (``ws/showtimes/{id}/?ticket=``), which marks it present (docs/realtime.md "Presence"); its
   view of the map is the snapshot plus every ``seats.changed`` frame;
2. holds 2 seats picked at random among those its view shows available (none: waits for a frame;
   409: tries again after 0.2–0.5 s; no hold within --patience seconds: gives up and leaves);
3. with probability --abandon (1/3) closes its socket and disappears, leaving its hold behind;
   otherwise thinks 3–8 s, orders the hold (``POST orders/``), pays (``POST orders/{id}/pay/``)
   and closes its socket.

The servers are --workers uvicorn processes as production runs them (``ABANDON_SWEEP_SECONDS``
0.5), with one ``manage.py cleanup --loop`` worker as the Procfile's (every --cleanup-loop
seconds: it expires lapsed holds and announces them, reason ``expired``). An anonymous watcher
socket records when each seat comes back with reason ``abandoned``.

Figures per run (modes alternate off, on, off, on, … with --repeat; each on a fresh showtime):

- ``sold``: seats paid within --seconds (from the pay answers; the database count after the run
  is ``sold_db``), ``sold/min`` over the run, ``sold 1st min``, and ``t90``: seconds until 90 %
  of the sellable seats were paid for (``None``: never);
- ``buyers``, ``left`` (buyers who walked away from their hold), ``gave up`` (no hold within
  --patience; those still trying when the run ends are ``buyers_waiting_at_end`` in the JSON);
- from the database: holds released as ``abandoned``, holds ``expired`` (stored or lapsed), and
  the median of ``ended_at - left_at`` of the abandoned holds (the grace plus the sweep delay);
- ``close→frame`` (mode on): median and p95 seconds from the abandoning buyer starting to close
  its socket to the watcher receiving the first ``abandoned`` frame naming its seats (the grace
  included);
- ``5xx`` and ``double`` (``common.double_sales``; both must be 0).

    .venv/bin/python bench/abandon.py --database-url postgres://postgres@127.0.0.1:5432/bench_abandon \\
        --redis-url redis://127.0.0.1:6379/0 [--seconds 120 --repeat 2 --seats 150 --slots 40]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections import Counter

import aiohttp
from common import (
    ROOT,
    buyers,
    double_sales,
    new_showtime,
    percentile,
    require_loopback,
    setup_django,
    snapshot_states,
    start_servers,
    write_results,
)

CUSTOMER = {"name": "Bench Buyer", "email": "bench@example.com", "phone": ""}
GRACE_ON = 5  # abandon_grace_seconds of mode "on"


def start_cleanup(loop_seconds: float, env: dict) -> subprocess.Popen:
    """The Procfile's ``worker``: ``manage.py cleanup --loop`` (expires lapsed holds and sends
    their ``expired`` frames; also releases abandoned holds)."""
    import atexit

    proc = subprocess.Popen(
        [sys.executable, "manage.py", "cleanup", "--loop", str(loop_seconds)],
        cwd=ROOT,
        env={**os.environ, "LOG_LEVEL": "WARNING", **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    atexit.register(lambda: (proc.terminate(), proc.wait(10)))
    return proc


def sellable_showtime(seats: int, hold_ttl: int, grace: int):
    """A fresh showtime with every seat blocked but the first ``seats`` (plan order), the given
    ``hold_ttl`` and ``abandon_grace_seconds``; returns ``(showtime id, [sellable guids])``."""
    from seats.models import Showtime, ShowtimeSeat
    from seats.services import seats_block

    showtime, guids = new_showtime(hold_ttl=hold_ttl)
    Showtime.objects.filter(pk=showtime.pk).update(abandon_grace_seconds=grace)
    rows = list(
        ShowtimeSeat.objects.filter(showtime=showtime)
        .order_by("seat_id")
        .values_list("pk", flat=True)
    )
    seats_block(showtime_id=showtime.pk, seat_pks=rows[seats:], reason="bench: not on sale")
    return showtime.pk, guids[:seats]


class Run:
    """What one run's buyers and watcher saw (client side)."""

    def __init__(self, started: float):
        self.started = started
        self.codes: Counter = Counter()
        self.sold_at: list[float] = []  # seconds since start of each paid order (2 seats each)
        self.buyers = 0
        self.abandoned = 0
        self.gave_up = 0
        self.waiting_at_end = 0  # still without a hold when the run ended
        self.holds = 0
        self.conflicts = 0
        self.order_failed = 0
        self.closes: list[tuple[float, list[str]]] = []  # (monotonic time, seats) per abandoner
        self.abandoned_frame_at: dict[str, list[float]] = {}  # seat guid -> "abandoned" frames
        self.frames: Counter = Counter()  # watcher: seats.changed frames per reason
        self.frame_log: list[tuple] = []  # watcher: (seconds, reason, seats) per seats.changed
        self.watcher_snapshots = 0
        self.errors: list[str] = []  # the first few client errors, for the JSON
        self.watcher_last: tuple | None = None  # (seconds, type, reason) of its last frame
        self.watcher_ended: str | None = None  # set if its socket ended before the run did


async def request(session, run: Run, method: str, url: str, **kwargs):
    try:
        async with session.request(method, url, **kwargs) as response:
            body = await response.json(content_type=None) if response.status != 204 else None
    except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError):
        # a kept-alive connection the server closed while the buyer was idle (uvicorn's 5 s
        # keep-alive timeout): the request never reached the application; a browser retries
        run.codes["retried_on_new_connection"] += 1
        async with session.request(method, url, **kwargs) as response:
            body = await response.json(content_type=None) if response.status != 204 else None
    run.codes[response.status] += 1
    return response.status, body


class MapView:
    """A buyer's view of the seat map: snapshot, then every ``seats.changed`` (by ``version``)."""

    def __init__(self):
        self.state: dict[str, tuple[str, int]] = {}
        self.changed = asyncio.Event()

    def apply(self, frame: dict) -> None:
        for seat in frame["seats"]:
            old = self.state.get(seat["id"])
            if old is None and frame["type"] != "snapshot":
                continue  # a seat not for sale here (blocked at the start)
            if old is None or seat["version"] > old[1]:
                self.state[seat["id"]] = (seat["status"], seat["version"])
        self.changed.set()

    def available(self) -> list[str]:
        return [guid for guid, (status, _) in self.state.items() if status == "available"]


async def read_map(ws, view: MapView, sellable: set[str], base: str) -> None:
    async for msg in ws:
        if msg.type != aiohttp.WSMsgType.TEXT:
            break
        frame = json.loads(msg.data)
        if frame.get("type") == "snapshot":
            # the live form (the default) through its layout, fetched from ``base`` once
            states = await asyncio.to_thread(snapshot_states, frame, base)
            frame["seats"] = [
                {"id": guid, "status": status, "version": version}
                for guid, (status, version) in states.items()
                if guid in sellable
            ]
            view.apply(frame)
        elif frame.get("type") == "seats.changed":
            view.apply(frame)


async def buyer(run, base, ws_base, showtime_id, token, sellable, rnd, args, deadline) -> None:
    run.buyers += 1
    headers = {"Authorization": f"Bearer {token}"}
    api = f"{base}/api/v1"
    async with aiohttp.ClientSession(headers=headers) as session:
        status, body = await request(session, run, "POST", f"{api}/realtime/tickets/")
        if status != 201:
            return
        ws = await session.ws_connect(
            f"{ws_base}/ws/showtimes/{showtime_id}/?ticket={body['ticket']}", autoping=True
        )
        view = MapView()
        reader = asyncio.create_task(read_map(ws, view, sellable, base))
        try:
            hold = None
            give_up = min(deadline, time.monotonic() + args.patience)
            while hold is None and time.monotonic() < give_up:
                free = view.available()
                if len(free) < 2:
                    view.changed.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(view.changed.wait(), 1)
                    continue
                seats = rnd.sample(free, 2)
                status, body = await request(
                    session,
                    run,
                    "POST",
                    f"{api}/showtimes/{showtime_id}/holds/",
                    json={"seats": seats},
                )
                if status == 201:
                    hold = body
                    run.holds += 1
                else:
                    run.conflicts += status == 409
                    await asyncio.sleep(rnd.uniform(0.2, 0.5))
            if hold is None:
                if time.monotonic() < deadline:
                    run.gave_up += 1
                else:
                    run.waiting_at_end += 1
                return
            if rnd.random() < args.abandon:
                run.abandoned += 1
                left = time.monotonic()
                await ws.close()
                run.closes.append((left, [seat["id"] for seat in hold["seats"]]))
                return
            await asyncio.sleep(rnd.uniform(3, 8))  # the buyer decides
            status, order = await request(
                session,
                run,
                "POST",
                f"{api}/orders/",
                json={"hold": hold["id"], "customer": CUSTOMER, "payment_method": "card"},
                headers={"Idempotency-Key": f"abandon-{showtime_id}-{hold['id']}"},
            )
            if status != 201:
                run.order_failed += 1
                return
            status, _ = await request(session, run, "POST", f"{api}/orders/{order['id']}/pay/")
            if status == 200:
                run.sold_at.append(time.monotonic() - run.started)
            else:
                run.order_failed += 1
        finally:
            reader.cancel()
            if not ws.closed:
                await ws.close()


async def watcher(run: Run, ws_base: str, showtime_id: int, ready: asyncio.Event) -> None:
    """An anonymous seat map socket: the arrival time of every ``abandoned`` seat."""
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(f"{ws_base}/ws/showtimes/{showtime_id}/") as ws,
    ):
        async for msg in ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            now = time.monotonic()
            frame = json.loads(msg.data)
            run.watcher_last = (now - run.started, frame.get("type"), frame.get("reason"))
            if frame.get("type") == "snapshot":
                run.watcher_snapshots += 1  # after the first: the server's repairs
                ready.set()
            elif frame.get("type") == "seats.changed":
                run.frames[frame["reason"]] += 1
                run.frame_log.append(
                    (round(now - run.started, 2), frame["reason"], len(frame["seats"]))
                )
                if frame["reason"] == "abandoned":
                    for seat in frame["seats"]:
                        run.abandoned_frame_at.setdefault(seat["id"], []).append(now)


async def slot(i, run, urls, showtime_id, sellable, tokens, args, deadline) -> None:
    rnd = random.Random(f"{showtime_id}-{i}")
    n = 0
    while time.monotonic() < deadline:
        if not tokens:
            return  # out of accounts (the JSON says how many buyers there were)
        token = tokens.pop()
        base = urls[(i + n) % len(urls)]
        n += 1
        try:
            await buyer(
                run,
                base,
                base.replace("http", "ws", 1),
                showtime_id,
                token,
                sellable,
                rnd,
                args,
                deadline,
            )
        except (aiohttp.ClientError, TimeoutError) as exc:
            run.codes[type(exc).__name__] += 1
            if len(run.errors) < 10:
                run.errors.append(f"{time.monotonic() - run.started:.1f}s {exc!r}")


def run_once(mode: str, urls: list[str], tokens: list[str], args) -> dict:
    from seats.models import Hold, ShowtimeSeat

    grace = GRACE_ON if mode == "on" else 0
    showtime_id, guids = sellable_showtime(args.seats, args.hold_ttl, grace)
    sellable = set(guids)
    pool = list(tokens)
    random.Random(showtime_id).shuffle(pool)

    async def go() -> Run:
        ready = asyncio.Event()
        run = Run(time.monotonic())
        watch = asyncio.create_task(
            watcher(run, urls[0].replace("http", "ws", 1), showtime_id, ready)
        )
        await asyncio.wait_for(ready.wait(), 30)
        run.started = time.monotonic()
        deadline = run.started + args.seconds
        slots = [
            asyncio.create_task(slot(i, run, urls, showtime_id, sellable, pool, args, deadline))
            for i in range(args.slots)
        ]
        # buyers still thinking at the deadline finish (their sales count in sold_db only)
        _, late = await asyncio.wait(slots, timeout=args.seconds + 20)
        for task in late:
            task.cancel()
        await asyncio.sleep(GRACE_ON + 2)  # abandoned frames of the last leavers
        if watch.done():  # the watcher's socket ended early: say so in the JSON
            run.watcher_ended = repr(watch.exception()) if watch.exception() else "closed"
        watch.cancel()
        return run

    run = asyncio.run(go())
    sold_in_time = [t for t in run.sold_at if t <= args.seconds]
    sold = 2 * len(sold_in_time)
    t90 = None
    target = 0.9 * len(guids)
    for k, t in enumerate(sorted(run.sold_at), 1):
        if 2 * k >= target:
            t90 = round(t, 1)
            break
    # each walk-away against the first "abandoned" frame after it naming one of its seats (a
    # seat can be held and abandoned more than once in a run)
    delays = []
    for left, seats in run.closes:
        after = [t for seat in seats for t in run.abandoned_frame_at.get(seat, []) if t >= left]
        if after:
            delays.append(min(after) - left)
    holds = Hold.objects.filter(showtime_id=showtime_id)
    db_delays = [
        (end - left).total_seconds()
        for left, end in holds.filter(abandoned=True)
        .exclude(left_at=None)
        .exclude(ended_at=None)
        .values_list("left_at", "ended_at")
    ]
    return {
        "mode": mode,
        "abandon_grace_seconds": grace,
        "showtime": showtime_id,
        "sellable_seats": len(guids),
        "seconds": args.seconds,
        "slots": args.slots,
        "sold": sold,
        "sold_per_minute": round(sold * 60 / args.seconds, 1),
        "sold_first_minute": 2 * sum(1 for t in sold_in_time if t <= 60),
        "sold_db": ShowtimeSeat.objects.filter(showtime_id=showtime_id, status="sold").count(),
        "t90_seconds": t90,
        "sold_at_seconds": [round(t, 2) for t in sorted(run.sold_at)],
        "buyers": run.buyers,
        "buyers_abandoned": run.abandoned,
        "buyers_gave_up": run.gave_up,
        "buyers_waiting_at_end": run.waiting_at_end,
        "holds_made": run.holds,
        "hold_conflicts_409": run.conflicts,
        "orders_failed": run.order_failed,
        "holds_abandoned_db": holds.filter(abandoned=True).count(),
        "holds_expired_db": holds.filter(status=Hold.Status.EXPIRED).count()
        + holds.lapsed().count(),
        "abandon_left_to_release_median_s": round(statistics.median(db_delays), 2)
        if db_delays
        else None,
        "abandon_close_to_frame_median_s": round(statistics.median(delays), 2) if delays else None,
        "abandon_close_to_frame_p95_s": round(percentile(delays, 95), 2) if delays else None,
        "abandon_frames_matched": len(delays),
        "buyers_abandoned_matched_of": len(run.closes),
        "watcher_frames": dict(run.frames),
        "watcher_last_frame": run.watcher_last,
        "watcher_snapshots": run.watcher_snapshots,
        "client_errors": run.errors,
        "watcher_frame_log": run.frame_log,
        "watcher_ended_early": run.watcher_ended,
        "codes": {str(k): v for k, v in run.codes.items()},
        "server_errors_5xx": sum(
            v for k, v in run.codes.items() if isinstance(k, int) and k >= 500
        ),
        "double_sales": double_sales(showtime_id),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1],
    )
    parser.add_argument("--database-url", help="DATABASE_URL of the servers (loopback)")
    parser.add_argument("--redis-url", help="REDIS_URL of the servers (loopback)")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn processes to start")
    parser.add_argument("--seats", type=int, default=150, help="sellable seats (the rest blocked)")
    parser.add_argument("--hold-ttl", type=int, default=60, help="hold_ttl of the showtime (s)")
    parser.add_argument("--slots", type=int, default=40, help="buyers at work at any time")
    parser.add_argument("--seconds", type=float, default=120, help="length of each run")
    parser.add_argument("--abandon", type=float, default=1 / 3, help="share of buyers who leave")
    parser.add_argument("--patience", type=float, default=20, help="seconds a buyer tries to hold")
    parser.add_argument("--repeat", type=int, default=2, help="pairs of runs (off, on)")
    parser.add_argument("--modes", nargs="+", default=["off", "on"], choices=["off", "on"])
    parser.add_argument(
        "--cleanup-loop", type=float, default=15, help="the cleanup worker's --loop (Procfile: 15)"
    )
    parser.add_argument("--accounts", type=int, default=1500, help="buyer accounts per run")
    parser.add_argument("--out", default="abandon")
    args = parser.parse_args(argv)
    require_loopback(parser, args.database_url, args.redis_url)
    setup_django(args.database_url, args.redis_url)
    env = {"ABANDON_SWEEP_SECONDS": "0.5"}
    urls = start_servers(args.workers, "uvicorn", env=env)
    start_cleanup(args.cleanup_loop, env)
    print(
        f"{'mode':4} {'sold':>5} {'sold/min':>8} {'1st min':>7} {'t90 s':>6} {'buyers':>6} "
        f"{'left':>5} {'gave up':>7} {'aband.':>6} {'expired':>7} {'close→frame':>11} "
        f"{'left→release':>12} {'5xx':>4} {'double':>6}"
    )
    rows = []
    for _ in range(args.repeat):
        for mode in args.modes:
            tokens = buyers(args.accounts)
            row = run_once(mode, urls, tokens, args)
            rows.append(row)
            print(
                f"{mode:4} {row['sold']:5} {row['sold_per_minute']:8} "
                f"{row['sold_first_minute']:7} {row['t90_seconds']!s:>6} {row['buyers']:6} "
                f"{row['buyers_abandoned']:5} {row['buyers_gave_up']:7} "
                f"{row['holds_abandoned_db']:6} {row['holds_expired_db']:7} "
                f"{row['abandon_close_to_frame_median_s']!s:>11} "
                f"{row['abandon_left_to_release_median_s']!s:>12} {row['server_errors_5xx']:4} "
                f"{row['double_sales']:6}",
                flush=True,
            )
    path = write_results(
        args.out,
        rows,
        {
            "workers": len(urls),
            "server": "uvicorn",
            "seats": args.seats,
            "hold_ttl": args.hold_ttl,
            "slots": args.slots,
            "seconds": args.seconds,
            "abandon": args.abandon,
            "patience": args.patience,
            "cleanup_loop": args.cleanup_loop,
            "grace_on": GRACE_ON,
            "ABANDON_SWEEP_SECONDS": env["ABANDON_SWEEP_SECONDS"],
        },
    )
    print(f"written {path}")
    return 1 if any(r["double_sales"] or r["server_errors_5xx"] for r in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
