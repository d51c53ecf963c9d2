#!/usr/bin/env python
"""Fan-out: N WebSocket watchers of one showtime while its seats change at a set rate.

Starts the server processes itself (or uses --url), connects N watchers (at most
--connect-concurrency handshakes at a time; no permessage-deflate unless --deflate), then changes
seats through the REST API at --rate changes per second for --seconds, from a second process: an
open-loop schedule over several buyers, each holding one seat and releasing it again, so a slow
answer delays no later change (a tick whose buyer is still busy is counted as skipped); the buyers
are spread over the servers. Every
``seats.changed`` frame carries ``at`` (server time when it was published); change-to-screen
latency = arrival − at, over all watchers.

The watchers are a minimal WebSocket client (:class:`Watcher`: an asyncio protocol sending a
browser's upgrade headers, the arrival time taken when the bytes come in, JSON parsed only for
``seats.changed``), so that one process on the same 2 cores can take 5,000 watchers × 10 frames/s;
a general client (aiohttp) needed about 40 µs of CPU per frame and its own queueing became part of
the figures.

Figures (one row per --watchers value):

- ``changes/s``: seat changes the server accepted per second; below --rate when the server could
  not keep up.
- latency p50/p99/max (ms), over every frame every watcher received.
- ``lost``: frames a watcher never received, up to 30 s after the last change (a late frame
  counts in the latency, not as lost). Expected: every watcher gets every frame published during
  the run, i.e. every ``seq`` from the lowest to the highest any watcher saw (the server may merge
  changes of the same moment into one frame, so frames ≤ changes; the JSON has ``frames``,
  ``seat_changes_in_frames``, which must equal ``changes``, and ``out_of_order``).
- ``conn/s``: watchers connected (snapshot received) per second of the connect phase.
- ``KiB/conn``: RSS growth of the server processes from before the connects (after a warm-up of
  a few sockets, so code loading and first-use caches do not count) to 1 s after them, divided by
  the watchers connected: the memory of an idle connection.
- ``srv µs/frame``: CPU time of the server processes during the change phase divided by the frames
  delivered; ``client CPU``: the watchers' process's CPU share then (near 100 % means the load
  generator, not the server, limits the figures).

``--hold-only``: connect, then hold the connections open for --seconds without changes, count how
many are still open, and make one change that every watcher must receive (10,000 connections:
``--watchers 10000 --hold-only``; the open-files limit is raised in-process to fit).

Loopback only, bounded in count and time.

    .venv/bin/python bench/fanout.py --watchers 1000 --rate 10 --seconds 10 \\
        --database-url postgres://postgres@127.0.0.1:5432/bench --redis-url redis://127.0.0.1:6379/0
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing
import os
import resource
import shlex
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from pathlib import Path

import aiohttp
from common import (
    PROCESSES,
    buyers,
    new_showtime,
    open_protocol,
    percentile,
    require_loopback,
    rss_kib,
    setup_django,
    start_servers,
    write_results,
)
from rawws import RawWebSocket

CONNECT_TIMEOUT = 600  # seconds for the whole connect phase
WARM_UP_SOCKETS = 5  # per server, before the memory baseline
DRAIN_SECONDS = 30  # after the last change, wait at most this long for frames still on the way


class Tally:
    """What the watchers saw: latencies (ms) of ``seats.changed`` frames, and per watcher the
    ``seq`` numbers received. The server may merge changes made at the same moment into one frame
    (realtime.events), so frames are counted by ``seq``: every frame published in the run has a
    number between the lowest and the highest any watcher saw, and each watcher must have all."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.by_server: dict[str, list[float]] = {}  # server URL -> latencies of its watchers
        self.received = 0
        self.seats_in_frame: dict[int, int] = {}  # seq -> seat changes the frame carries
        self.parsed: dict[bytes, tuple[int, float, int]] = {}  # frame -> (seq, at, seats)
        self.seen: list[set[int]] = []  # per watcher
        self.out_of_order = 0  # frames that arrived after a frame with a higher seq

    def frames(self) -> range:
        """The seq numbers of the frames published during the run (as far as seen)."""
        return (
            range(min(self.seats_in_frame), max(self.seats_in_frame) + 1)
            if self.seats_in_frame
            else range(0)
        )

    def complete(self, changes: int) -> bool:
        """Every change is in a frame, and every watcher has every frame."""
        frames = self.frames()
        return sum(self.seats_in_frame.values()) >= changes and self.received >= len(frames) * len(
            self.seen
        )


class Watcher(RawWebSocket):
    """One watcher (``rawws.RawWebSocket``): the ``snapshot`` resolves :attr:`ready`; each
    ``seats.changed`` is recorded in the tally with the time its bytes arrived."""

    def __init__(self, host: str, path: str, tally: Tally | None, server: str, deflate: bool):
        super().__init__(host, path, deflate)
        self.tally, self.server = tally, server
        self.seen: set[int] = set()
        self.latencies: list[float] = []
        self.highest = 0

    def message(self, message: bytes, now: float) -> None:
        if not self.ready.done():
            if b'"snapshot"' not in message[:40]:
                self.ready.set_exception(RuntimeError(f"expected a snapshot: {message[:80]!r}"))
                return
            if self.tally is not None:
                self.tally.seen.append(self.seen)
                self.latencies = self.tally.by_server.setdefault(self.server, [])
            self.ready.set_result(self)
            return
        if self.tally is None:
            return
        tally = self.tally
        parsed = tally.parsed.get(message)  # every watcher gets the same bytes: parse once
        if parsed is None:
            frame = json.loads(message)
            if frame["type"] != "seats.changed":
                return
            parsed = tally.parsed[message] = (
                frame["seq"],
                datetime.fromisoformat(frame["at"]).timestamp(),
                len(frame["seats"]),
            )
            tally.seats_in_frame[parsed[0]] = parsed[2]
        seq, at, _ = parsed
        tally.received += 1
        latency = (now - at) * 1000
        tally.latencies.append(latency)
        self.latencies.append(latency)
        if seq < self.highest:
            tally.out_of_order += 1
        else:
            self.highest = seq
        self.seen.add(seq)


async def open_watcher(url: str, tally: Tally | None, deflate: bool) -> Watcher:
    """Connect a watcher to ``ws://host:port/path`` and wait for its snapshot."""
    return await open_protocol(url, lambda netloc, path: Watcher(netloc, path, tally, url, deflate))


# --- the changes (in a process of their own) ------------------------------------------------


class Lane:
    """One buyer: holds one seat, releases it, holds the next (its own seats: no conflicts)."""

    def __init__(self, base, showtime_id, seats, token):
        self.base, self.showtime_id, self.seats, self.token = base, showtime_id, seats, token
        self.headers = {"Authorization": f"Bearer {token}"}
        self.hold_id = None
        self.next_seat = 0
        self.busy = False

    async def step(self, session, result) -> None:
        started = time.perf_counter()
        try:
            if self.hold_id is None:
                seat = self.seats[self.next_seat % len(self.seats)]
                self.next_seat += 1
                async with session.post(
                    f"{self.base}/api/v1/showtimes/{self.showtime_id}/holds/",
                    json={"seats": [seat]},
                    headers=self.headers,
                ) as r:
                    body = await r.json(content_type=None)
                    ok = r.status in (200, 201)
                    if ok:
                        self.hold_id = body["id"]
            else:
                async with session.delete(
                    f"{self.base}/api/v1/holds/{self.hold_id}/", headers=self.headers
                ) as r:
                    ok = r.status == 204
                self.hold_id = None
            result["changes"] += ok
            result["failed"] += not ok
            result["rest_ms"].append((time.perf_counter() - started) * 1000)
        finally:
            self.busy = False


async def make_changes(bases, showtime_id, guids, tokens, rate, seconds) -> dict:
    """Open loop: tick k at start + k / rate goes to lane k mod len(tokens); lane i sends its
    requests to server i mod len(bases), as a load balancer would spread them. Returns counts,
    REST latencies (ms) and the holds still open (``outstanding``: ``[(server, hold id,
    token)]``)."""
    lanes = [
        Lane(bases[i % len(bases)], showtime_id, guids[i :: len(tokens)], t)
        for i, t in enumerate(tokens)
    ]
    result = {"changes": 0, "failed": 0, "skipped": 0, "rest_ms": []}
    tasks = []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        start, k = time.perf_counter(), 0
        while k < rate * seconds:
            await asyncio.sleep(max(0.0, start + k / rate - time.perf_counter()))
            lane = lanes[k % len(lanes)]
            if lane.busy:
                result["skipped"] += 1
            else:
                lane.busy = True
                tasks.append(asyncio.ensure_future(lane.step(session, result)))
            k += 1
        await asyncio.gather(*tasks, return_exceptions=True)
    result["elapsed"] = time.perf_counter() - start
    result["outstanding"] = [
        (lane.base, lane.hold_id, lane.token) for lane in lanes if lane.hold_id
    ]
    return result


def changes_in_process(*args) -> dict:
    """:func:`make_changes` with an event loop of its own (run in the changes process)."""
    return asyncio.run(make_changes(*args))


async def release(outstanding: list[tuple[str, str, str]]) -> None:
    """Release the holds the lanes still have (after the watchers left: not counted)."""
    async with aiohttp.ClientSession() as session:
        for base, hold_id, token in outstanding:
            async with session.delete(
                f"{base}/api/v1/holds/{hold_id}/", headers={"Authorization": f"Bearer {token}"}
            ):
                pass


# --- one run -------------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def run(urls, showtime_id, guids, tokens, args, watchers, changer) -> dict:
    tally, sockets, failures = Tally(), [], []
    ws_urls = [u.replace("http", "ws", 1) + f"/ws/showtimes/{showtime_id}/" for u in urls]
    for url in ws_urls:  # warm-up: first-use costs are not per-connection memory
        for watcher in await asyncio.gather(
            *(open_watcher(url, None, args.deflate) for _ in range(WARM_UP_SOCKETS))
        ):
            watcher.close()
    await asyncio.sleep(0.5)
    rss_before = sum(rss_kib(p.pid) for p in PROCESSES)

    gate = asyncio.Semaphore(args.connect_concurrency)

    async def connect(i):
        async with gate:
            try:
                sockets.append(await open_watcher(ws_urls[i % len(ws_urls)], tally, args.deflate))
            except (OSError, RuntimeError, TimeoutError) as exc:  # counted; the run goes on
                failures.append(repr(exc))

    started = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*(connect(i) for i in range(watchers))), CONNECT_TIMEOUT)
    connect_seconds = time.perf_counter() - started
    await asyncio.sleep(1)
    rss_after = sum(rss_kib(p.pid) for p in PROCESSES)

    if args.hold_only:
        await asyncio.sleep(args.seconds)
        still_open = sum(not w.closed for w in sockets)
        rate, seconds = 1.0, 1.0  # one change, which every watcher must receive
    else:
        still_open = None
        rate, seconds = args.rate, args.seconds
    cpu0 = sum(cpu_seconds(p.pid) for p in PROCESSES)
    own0, wall0 = own_cpu_seconds(), time.perf_counter()
    made = await asyncio.get_running_loop().run_in_executor(
        changer, changes_in_process, urls, showtime_id, guids, tokens, rate, seconds
    )
    deadline = time.perf_counter() + DRAIN_SECONDS
    while not tally.complete(made["changes"]) and time.perf_counter() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.1)  # let the last frames arrive (late is not lost)
    cpu1 = sum(cpu_seconds(p.pid) for p in PROCESSES)
    own1, wall1 = own_cpu_seconds(), time.perf_counter()
    closed_early = sum(w.closed for w in sockets)
    for watcher in sockets:
        watcher.close()
    await release(made["outstanding"])

    lat = tally.latencies
    connected = len(sockets)
    frames = tally.frames()
    expected = len(frames) * connected
    missing = sum(len(frames) - len(seen.intersection(frames)) for seen in tally.seen)
    if made["changes"] and not frames:  # nobody saw anything: at least one frame per change lost
        expected = missing = made["changes"] * connected
    return {
        "watchers": watchers,
        "connected": connected,
        "connect_failures": len(failures),
        "connect_failure_examples": failures[:3],
        "workers": len(urls),
        "rate": rate,
        "seconds": seconds,
        "deflate": args.deflate,
        "hold_only": args.hold_only,
        "changes": made["changes"],
        "changes_failed": made["failed"],
        "ticks_skipped": made["skipped"],
        "changes_per_second": (
            None if args.hold_only else round(made["changes"] / made["elapsed"], 1)
        ),
        "rest_p50_ms": percentile(made["rest_ms"], 50),
        "rest_p99_ms": percentile(made["rest_ms"], 99),
        "frames": len(frames),
        "seat_changes_in_frames": sum(tally.seats_in_frame.values()),
        "frames_expected": expected,
        "frames_received": tally.received,
        "frames_lost": missing,
        "out_of_order": tally.out_of_order,
        "closed_by_server": closed_early,
        "still_open_after_hold": still_open,
        "p50_ms": percentile(lat, 50),
        "p99_ms": percentile(lat, 99),
        "max_ms": round(max(lat), 1) if lat else None,
        "by_server": {
            url: {"p50_ms": percentile(v, 50), "p99_ms": percentile(v, 99)}
            for url, v in tally.by_server.items()
        },
        "connect_per_second": round(connected / connect_seconds, 1),
        "kib_per_connection": (
            round((rss_after - rss_before) / connected, 1) if PROCESSES and connected else None
        ),
        "server_rss_mib": round(rss_after / 1024, 1) if PROCESSES else None,
        "server_cpu_us_per_frame": (
            round((cpu1 - cpu0) / tally.received * 1e6, 1) if PROCESSES and tally.received else None
        ),
        "client_cpu_percent": round((own1 - own0) / (wall1 - wall0) * 100),
    }


def raise_open_files(watchers: int) -> None:
    """Raise this process's open-files limit (inherited by the servers it starts) to fit the
    watchers: one descriptor per socket on each side, plus room for the rest."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = watchers + 1024
    if soft < wanted:
        new = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
        if new < wanted:
            print(
                f"warning: open files limited to {new} (hard limit); {watchers} watchers "
                "may not all connect"
            )


def analyze() -> None:
    """Refresh PostgreSQL's planner statistics after the set-up: on a fresh benchmark database
    autovacuum has not analyzed the new plan yet, and the snapshot query then nests loops over
    1,252 × 626 rows (155 ms instead of 2 ms), which measured the planner, not the fan-out."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1],
    )
    parser.add_argument("--database-url")
    parser.add_argument("--redis-url")
    parser.add_argument("--url", nargs="*", help="running servers (else --workers are started)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--server", choices=["daphne", "uvicorn"], default="uvicorn")
    parser.add_argument(
        "--server-args",
        default="",
        help="more arguments for each server command, e.g. '--ws wsproto' (split like a shell)",
    )
    parser.add_argument("--watchers", type=int, nargs="+", default=[1000])
    parser.add_argument("--rate", type=float, default=20, help="seat changes per second")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument(
        "--connect-concurrency",
        type=int,
        default=100,
        help="WebSocket handshakes in flight at once",
    )
    parser.add_argument(
        "--hold-only",
        action="store_true",
        help="no change stream: hold the connections --seconds, then one change",
    )
    parser.add_argument("--deflate", action="store_true", help="offer permessage-deflate")
    parser.add_argument("--out", default="fanout")
    args = parser.parse_args(argv)
    if not (0 < args.rate <= 200 and 0 < args.seconds <= 120 and max(args.watchers) <= 20_000):
        parser.error("bounded: 0 < --rate ≤ 200, 0 < --seconds ≤ 120, --watchers ≤ 20,000")
    require_loopback(parser, args.database_url, args.redis_url, *(args.url or []))
    raise_open_files(max(args.watchers))
    setup_django(args.database_url, args.redis_url)
    showtime, guids = new_showtime()
    tokens = buyers(max(2, math.ceil(args.rate)))  # each buyer acts about once a second at most
    analyze()
    rows = []
    print(
        f"{'watchers':>8} {'chg/s':>6} {'p50':>7} {'p99':>7} {'max':>7} {'lost':>6} "
        f"{'recv/expected':>17} {'conn/s':>7} {'KiB/conn':>8} {'srv µs/frame':>12} "
        f"{'client CPU':>10}"
    )
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as changer:
        changer.submit(abs, 0).result()  # start it now, not during a run
        for n in args.watchers:
            urls = args.url or start_servers(
                args.workers, args.server, extra_args=shlex.split(args.server_args)
            )
            row = asyncio.run(run(urls, showtime.pk, guids, tokens, args, n, changer))
            rows.append(row)
            print(
                f"{n:8} {row['changes_per_second']!s:>6} {row['p50_ms']!s:>7} "
                f"{row['p99_ms']!s:>7} {row['max_ms']!s:>7} {row['frames_lost']:6} "
                f"{row['frames_received']:>8}/{row['frames_expected']:<8} "
                f"{row['connect_per_second']:7} {row['kib_per_connection']!s:>8} "
                f"{row['server_cpu_us_per_frame']!s:>12} {row['client_cpu_percent']:>9}%",
                flush=True,
            )
            if row["seat_changes_in_frames"] != row["changes"]:
                print(
                    f"         {row['changes']} changes, but the frames seen carry "
                    f"{row['seat_changes_in_frames']} seat changes: frames lost for everyone"
                )
            if row["connect_failures"] or row["closed_by_server"] or args.hold_only:
                print(
                    f"         connected {row['connected']}/{n}, failures "
                    f"{row['connect_failures']} {row['connect_failure_examples']}, closed by "
                    f"server {row['closed_by_server']}, open after hold "
                    f"{row['still_open_after_hold']}"
                )
            for proc in list(PROCESSES):
                proc.terminate()
                proc.wait(10)
                PROCESSES.remove(proc)
    path = write_results(
        args.out,
        rows,
        {
            "server": args.server,
            "workers": args.workers,
            "at": datetime.now().astimezone().isoformat(),
        },
    )
    print(f"written {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
