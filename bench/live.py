#!/usr/bin/env python
"""Live on-sale: N watchers that behave like the seat-map page while buyers hold, order and release.

The on-sale as it really happens (issue #13): 2 uvicorn server processes (each its own process on
its own port, started like ``fanout.py`` does, with the Procfile's uvicorn flags) sharing one
PostgreSQL database and one Redis — by default a redis-server of the benchmark's own on a free
loopback port (no persistence), so that a fault can be injected; ``--redis-url`` uses one that
runs already (no faults then).

Watchers (in 1–2 client processes of their own, spread over the servers): each opens
``ws://…/ws/showtimes/{id}/``, applies the ``snapshot``, then applies ``seats.changed`` frames, as
the page does. The decision per frame (``Page.message``):

- a ``snapshot`` (asked for or pushed by the server unprompted) resets the map: seat states, ``seq``
  and ``epoch`` (missing ``epoch`` = None, so the benchmark runs on code with and without it);
- a frame whose ``epoch`` differs from the one held → ``resync`` (the frame is not applied);
- ``seq`` ≤ current → ignored (old); ``seq`` = current + 1 → applied (each seat only when its
  ``version`` is higher than the one held, realtime.md); ``seq`` > current + 1 → a gap → ``resync``.
  While a resync is outstanding (until the next snapshot, at most RESYNC_RETRY_SECONDS) a further
  gap or epoch change sends no second one.

Buyers (``--buyers`` asyncio tasks with a JWT each, spread over the servers, each on its own seats
so there are no conflicts): hold 1–2 seats; then a quarter of the time order the hold and pay
(the seats are sold), else release it; as fast as the servers answer, for ``--seconds``.

Figures:

- frame latency p50/p99/max (ms): arrival at the watcher − the frame's ``at`` (like fanout.py), all
  ``seats.changed`` frames of all watchers (also those ignored as old);
- per watcher (mean / max): frames received, out-of-order arrivals (a ``seq`` lower than the
  highest seen, in the same epoch), gaps, resyncs sent, snapshots received (the first one
  included) and their bytes;
- frames lost: after the writes stop and ``--settle`` seconds, each watcher's map (seat id →
  status) is compared with the REST ``GET /api/v1/showtimes/{id}/seats/``: watchers whose map
  differs, and seats that differ (summed over watchers);
- write rate: successful writes (hold, order, pay, release) per second, holds and orders per
  second; HTTP 5xx and connection errors; double sales (the database check of onsale.py).

``--fault redis-restart``: halfway through, the benchmark's Redis is killed (SIGKILL, no
persistence: every key, the ``seq`` counters included, is gone) and started again on the same port
after ``--fault-down`` seconds; reported: resyncs per watcher after the restart (the goal: exactly
one), watchers with exactly one, and whether every final map is correct.

Loopback only, bounded in count and time, stops by itself.

    .venv/bin/python bench/live.py --database-url postgres://postgres@127.0.0.1:5432/bench_live \\
        --watchers 1000 --buyers 8 --seconds 30 [--fault redis-restart]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from datetime import datetime

import aiohttp
from common import (
    PROCESSES,
    buyers,
    double_sales,
    free_port,
    http_base_of,
    new_showtime,
    open_protocol,
    percentile,
    require_loopback,
    setup_django,
    snapshot_states,
    start_servers,
    write_results,
)
from fanout import analyze, cpu_seconds, raise_open_files
from rawws import RawWebSocket, client_frame

REDIS_SERVER = "/usr/bin/redis-server"
CONNECT_TIMEOUT = 600  # seconds for the whole connect phase
RESYNC_RETRY_SECONDS = 5.0  # an unanswered resync may be repeated after this long
RESYNC = client_frame(0x1, b'{"type":"resync"}')
SEND_RESYNC = True  # False with --no-resync (a diagnostic: fan-out without the resync traffic)
CUSTOMER = {"name": "Live Buyer", "email": "live@example.com", "phone": ""}
ORDER_SHARE = 0.25  # of the holds a buyer makes, ordered and paid (the rest released)
MAX_OPS_PER_BUYER = 100_000
COUNTERS = (
    "frames",
    "out_of_order",
    "old",
    "gaps",
    "epoch_changes",
    "resyncs",
    "snapshots",
    "snapshot_bytes",
)


# --- the watchers (in client processes of their own) ------------------------------------------


class Parsed:
    """Every watcher of a process gets the same bytes: each message is parsed once."""

    def __init__(self, http_base: str) -> None:
        self.cache: dict[bytes, tuple] = {}
        self.http_base = http_base  # where layouts are fetched (the live snapshot form)

    def get(self, raw: bytes) -> tuple:
        parsed = self.cache.get(raw)
        if parsed is not None:
            return parsed
        if len(self.cache) > 1000:
            self.cache.clear()
        msg = json.loads(raw)
        kind = msg.get("type")
        if kind == "snapshot":
            base = snapshot_states(msg, self.http_base)
            parsed = ("snapshot", msg.get("seq"), msg.get("epoch"), base)
        elif kind == "seats.changed":
            at = datetime.fromisoformat(msg["at"]).timestamp() if msg.get("at") else None
            seats = tuple((s["id"], s["status"], s["version"]) for s in msg.get("seats", ()))
            parsed = ("seats.changed", msg.get("seq"), msg.get("epoch"), at, seats)
        else:
            parsed = (kind,)
        self.cache[raw] = parsed
        return parsed


class Page(RawWebSocket):
    """One watcher (``rawws.RawWebSocket``: browser upgrade headers, no permessage-deflate)
    with the page's seat map and its resync rule (module docstring)."""

    def __init__(self, host: str, path: str, parsed: Parsed, latencies: list[float]):
        super().__init__(host, path)
        self.parsed, self.latencies = parsed, latencies
        # the map
        self.states: dict[str, tuple[str, int]] = {}
        self.seq: int | None = None
        self.epoch = None
        self.highest: int | None = None  # highest frame seq seen in this epoch
        self.resync_sent_at: float | None = None  # outstanding resync (until a snapshot)
        self.counts = dict.fromkeys(COUNTERS, 0)
        self.marked: dict[str, int] | None = None  # counts at the fault (--fault)
        self.marked_at: float | None = None
        self.snapshot_after_mark: float | None = None  # seconds from the fault to a snapshot
        self.errors = 0

    # -- the page --

    def resync(self, now: float) -> None:
        if self.resync_sent_at is not None and now - self.resync_sent_at < RESYNC_RETRY_SECONDS:
            return  # one is on its way
        self.resync_sent_at = now
        self.counts["resyncs"] += 1
        if SEND_RESYNC:
            self.transport.write(RESYNC)

    def message(self, raw: bytes, now: float) -> None:
        try:
            self._apply(raw, now)
        except Exception:  # a malformed frame is counted, the watcher goes on
            self.errors += 1

    def _apply(self, raw: bytes, now: float) -> None:
        parsed = self.parsed.get(raw)
        kind, counts = parsed[0], self.counts
        if kind == "snapshot":
            _, seq, epoch, base = parsed
            counts["snapshots"] += 1
            counts["snapshot_bytes"] += len(raw)
            if epoch != self.epoch or (
                self.highest is not None and seq is not None and seq < self.highest
            ):
                self.highest = seq  # a new numbering: out of order is counted anew
            self.states = dict(base)
            self.seq, self.epoch = seq, epoch
            self.resync_sent_at = None
            if self.marked_at is not None and self.snapshot_after_mark is None:
                self.snapshot_after_mark = now - self.marked_at
            if not self.ready.done():
                self.ready.set_result(self)
            return
        if kind != "seats.changed" or not self.ready.done():
            return
        _, seq, epoch, at, seats = parsed
        counts["frames"] += 1
        if at is not None:
            self.latencies.append((now - at) * 1000)
        if epoch != self.epoch:
            counts["epoch_changes"] += 1
            self.resync(now)
            return
        if seq is None:
            return
        if self.highest is not None and seq < self.highest:
            counts["out_of_order"] += 1
        else:
            self.highest = seq
        if self.seq is not None and seq <= self.seq:
            counts["old"] += 1
            return
        if self.seq is not None and seq > self.seq + 1:
            counts["gaps"] += 1
            self.resync(now)
            return
        states = self.states
        for seat_id, status, version in seats:
            held = states.get(seat_id)
            if held is None or version > held[1]:
                states[seat_id] = (status, version)
        self.seq = seq


async def open_page(url: str, parsed: Parsed, latencies: list[float]) -> Page:
    return await open_protocol(url, lambda netloc, path: Page(netloc, path, parsed, latencies))


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def watch(
    conn, ws_urls: list[str], count: int, offset: int, concurrency: int, send_resync: bool = True
) -> None:
    """A client process: connect ``count`` watchers (watcher k to ``ws_urls[(offset + k) %
    len]``), report ready, then follow the commands of the main process over ``conn``: ``mark``
    (the fault happens now), ``final`` (with the REST map: compare and report), ``stop``."""
    global SEND_RESYNC
    SEND_RESYNC = send_resync
    loop = asyncio.get_running_loop()
    parsed, latencies, pages, failures = Parsed(http_base_of(ws_urls[0])), [], [], []
    gate = asyncio.Semaphore(concurrency)

    async def connect(k: int) -> None:
        async with gate:
            try:
                url = ws_urls[(offset + k) % len(ws_urls)]
                page = await open_page(url, parsed, latencies)
                page.server = url
                pages.append(page)
            except (OSError, RuntimeError, TimeoutError) as exc:
                failures.append(repr(exc))

    started = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*(connect(k) for k in range(count))), CONNECT_TIMEOUT)
    commands: asyncio.Queue = asyncio.Queue()
    loop.add_reader(conn.fileno(), lambda: commands.put_nowait(conn.recv()))
    conn.send(
        ("ready", len(pages), failures[:3], len(failures), round(time.perf_counter() - started, 2))
    )
    cpu0, wall0 = own_cpu_seconds(), time.perf_counter()
    latencies.clear()  # frames of the connect phase (none: nobody writes yet)
    while True:
        command = await commands.get()
        if command[0] == "mark":
            for page in pages:
                page.marked, page.marked_at = dict(page.counts), time.time()
        elif command[0] == "final":
            truth: dict[str, str] = command[1]
            per_page = []
            for page in pages:
                differ = sum(
                    1
                    for seat_id, status in truth.items()
                    if page.states.get(seat_id, (None,))[0] != status
                )
                after = (
                    {k: page.counts[k] - page.marked[k] for k in COUNTERS}
                    if page.marked is not None
                    else None
                )
                per_page.append(
                    {
                        "counts": page.counts,
                        "after_mark": after,
                        "differ": differ,
                        "closed": page.closed,
                        "snapshot_after_mark_s": page.snapshot_after_mark,
                        "server": page.server,
                        "errors": page.errors,
                    }
                )
            cpu = own_cpu_seconds() - cpu0
            conn.send(
                ("result", per_page, latencies, round(cpu / (time.perf_counter() - wall0) * 100))
            )
        elif command[0] == "stop":
            break
    loop.remove_reader(conn.fileno())
    for page in pages:
        page.close()
    await asyncio.sleep(0.2)


def watcher_process(conn, *args) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the main process ends the run
    asyncio.run(watch(conn, *args))


# --- Redis of the benchmark's own ------------------------------------------------------------


class OwnRedis:
    """A redis-server on a free loopback port, without persistence; :meth:`restart` kills it
    and starts it again on the same port, empty."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="live-redis-")
        self.proc: subprocess.Popen | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.dir,
                "--logfile",
                "",
                "--daemonize",
                "no",
                "--maxclients",
                "10000",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not self.ping():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise SystemExit(f"redis-server on port {self.port} did not start")
            time.sleep(0.05)

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def restart(self, down: float) -> None:
        self.stop()
        time.sleep(down)
        self.start()


# --- the buyers (in the main process) --------------------------------------------------------


class Writes:
    def __init__(self) -> None:
        self.codes: Counter = Counter()
        self.ok = Counter()  # hold, order, pay, release
        self.errors = 0  # connection errors, timeouts
        self.error_examples: list[str] = []
        self.fault_window: tuple[float, float] | None = None
        self.server_errors_in_window = 0

    def record(self, status: int) -> None:
        self.codes[status] += 1
        if (
            status >= 500
            and self.fault_window
            and self.fault_window[0] <= time.monotonic() <= self.fault_window[1] + 5
        ):
            self.server_errors_in_window += 1


async def call(session, method, url, writes: Writes, what: str, ok=(200, 201, 204), **kwargs):
    try:
        async with session.request(method, url, **kwargs) as response:
            body = await response.json(content_type=None) if response.status != 204 else None
    except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
        writes.errors += 1
        if len(writes.error_examples) < 3:
            writes.error_examples.append(f"{what}: {exc!r}")
        return None, None
    writes.record(response.status)
    if response.status in ok:
        writes.ok[what] += 1
    return response.status, body


async def buyer(i, base, token, seats, showtime_id, writes: Writes, deadline) -> None:
    rnd = random.Random(i)
    free = list(seats)
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(
        headers={"Authorization": f"Bearer {token}"}, timeout=timeout
    ) as session:
        for op in range(MAX_OPS_PER_BUYER):
            if time.monotonic() >= deadline or not free:
                return
            wanted = [free[(op + j) % len(free)] for j in range(min(len(free), rnd.choice((1, 2))))]
            status, hold = await call(
                session,
                "POST",
                f"{base}/api/v1/showtimes/{showtime_id}/holds/",
                writes,
                "hold",
                json={"seats": list(dict.fromkeys(wanted))},
            )
            if status not in (200, 201):
                await asyncio.sleep(0.05)  # an error (Redis down?): do not spin
                continue
            if rnd.random() < ORDER_SHARE:
                status, order = await call(
                    session,
                    "POST",
                    f"{base}/api/v1/orders/",
                    writes,
                    "order",
                    json={"hold": hold["id"], "customer": CUSTOMER, "payment_method": "card"},
                    headers={"Idempotency-Key": f"live-{showtime_id}-{i}-{op}"},
                )
                if status == 201:
                    await call(
                        session, "POST", f"{base}/api/v1/orders/{order['id']}/pay/", writes, "pay"
                    )
                    free = [s for s in free if s not in wanted]
                    continue
            await call(session, "DELETE", f"{base}/api/v1/holds/{hold['id']}/", writes, "release")


# --- one run ---------------------------------------------------------------------------------


def rest_map(base: str, showtime_id: int) -> dict[str, str]:
    with urllib.request.urlopen(
        f"{base}/api/v1/showtimes/{showtime_id}/seats/", timeout=30
    ) as response:
        body = json.load(response)
    return {s["id"]: s["status"] for s in body["seats"]}


def stats(values: list[float]) -> dict:
    return {
        "mean": round(sum(values) / len(values), 2) if values else None,
        "max": max(values) if values else None,
        "min": min(values) if values else None,
    }


async def run(args, urls, showtime_id, guids, tokens, redis: OwnRedis | None) -> dict:
    loop = asyncio.get_running_loop()
    ws_urls = [u.replace("http", "ws", 1) + f"/ws/showtimes/{showtime_id}/" for u in urls]
    ctx = multiprocessing.get_context("spawn")
    clients = args.client_processes or (1 if args.watchers <= 300 else 2)
    shares = [args.watchers // clients + (k < args.watchers % clients) for k in range(clients)]
    procs, conns, offset = [], [], 0
    for share in shares:
        mine, theirs = ctx.Pipe()
        proc = ctx.Process(
            target=watcher_process,
            daemon=True,
            args=(theirs, ws_urls, share, offset, args.connect_concurrency, not args.no_resync),
        )
        proc.start()
        procs.append(proc)
        conns.append(mine)
        offset += share

    def recv(conn, timeout):
        if not conn.poll(timeout):
            raise SystemExit("a watcher process did not answer in time")
        return conn.recv()

    readies = await asyncio.gather(
        *(loop.run_in_executor(None, recv, c, CONNECT_TIMEOUT + 30) for c in conns)
    )
    connected = sum(r[1] for r in readies)
    print(
        f"connected {connected}/{args.watchers} watchers "
        f"({', '.join(str(r[4]) + ' s' for r in readies)}); failures "
        f"{sum(r[3] for r in readies)} {[e for r in readies for e in r[2]]}",
        flush=True,
    )
    await asyncio.sleep(1)

    writes = Writes()
    cpu0 = sum(cpu_seconds(p.pid) for p in PROCESSES)
    started = time.monotonic()
    deadline = started + args.seconds
    fault = {}

    async def inject() -> None:
        await asyncio.sleep(args.seconds / 2)
        for conn in conns:
            conn.send(("mark",))
        at = time.monotonic()
        writes.fault_window = (at, at + args.fault_down)
        await loop.run_in_executor(None, redis.restart, args.fault_down)
        fault.update(
            {
                "kind": "redis-restart",
                "at_s": round(at - started, 2),
                "down_s": round(time.monotonic() - at, 2),
            }
        )
        print(
            f"fault: Redis killed at {fault['at_s']} s, back after {fault['down_s']} s", flush=True
        )

    n = len(tokens)
    tasks = [
        buyer(i, urls[i % len(urls)], tokens[i], guids[i::n], showtime_id, writes, deadline)
        for i in range(n)
    ]
    if args.fault == "redis-restart":
        tasks.append(inject())
    await asyncio.gather(*tasks)
    elapsed = time.monotonic() - started
    cpu1 = sum(cpu_seconds(p.pid) for p in PROCESSES)
    await asyncio.sleep(args.settle)
    truth = await loop.run_in_executor(None, rest_map, urls[0], showtime_id)
    for conn in conns:
        conn.send(("final", truth))
    results = await asyncio.gather(*(loop.run_in_executor(None, recv, c, 120) for c in conns))
    for conn in conns:
        conn.send(("stop",))
    for proc in procs:
        proc.join(30)

    pages = [p for r in results for p in r[1]]
    latencies = [v for r in results for v in r[2]]
    per = {k: [p["counts"][k] for p in pages] for k in COUNTERS}
    wrong = [p["differ"] for p in pages if p["differ"]]
    writes_ok = sum(writes.ok.values())
    row = {
        "watchers": args.watchers,
        "connected": connected,
        "workers": len(urls),
        "buyers": n,
        "seconds": round(elapsed, 2),
        "settle_s": args.settle,
        "fault": args.fault,
        "fault_detail": fault or None,
        "no_resync": args.no_resync,
        "writes_ok": writes_ok,
        "writes_per_second": round(writes_ok / elapsed, 1),
        "ops": dict(writes.ok),
        "holds_per_second": round(writes.ok["hold"] / elapsed, 1),
        "orders_per_second": round(writes.ok["pay"] / elapsed, 1),
        "http_codes": {str(k): v for k, v in sorted(writes.codes.items())},
        "server_errors_5xx": sum(v for k, v in writes.codes.items() if k >= 500),
        "server_errors_5xx_during_fault": writes.server_errors_in_window,
        "connection_errors": writes.errors,
        "connection_error_examples": writes.error_examples,
        "double_sales": None,
        "latency_p50_ms": percentile(latencies, 50),
        "latency_p99_ms": percentile(latencies, 99),
        "latency_max_ms": round(max(latencies), 1) if latencies else None,
        "frame_highest_seq_note": "frames per watcher = seats.changed frames received",
        "per_watcher": {k: stats(v) for k, v in per.items()},
        "frames_by_server": {
            url: stats([p["counts"]["frames"] for p in pages if p["server"] == url])
            for url in sorted({p["server"] for p in pages})
        },
        "watchers_with_out_of_order": sum(1 for v in per["out_of_order"] if v),
        "watchers_with_gaps": sum(1 for v in per["gaps"] if v),
        "maps_wrong": len(wrong),
        "seats_wrong": sum(wrong),
        "seats_wrong_max_per_watcher": max(wrong) if wrong else 0,
        "watchers_closed": sum(1 for p in pages if p["closed"]),
        "watcher_parse_errors": sum(p["errors"] for p in pages),
        "server_cpu_percent": round((cpu1 - cpu0) / elapsed * 100),
        "client_cpu_percent": [r[3] for r in results],
    }
    if args.fault != "none":
        after = {k: [p["after_mark"][k] for p in pages if p["after_mark"]] for k in COUNTERS}
        row["after_fault"] = {k: stats(v) for k, v in after.items()}
        row["after_fault"]["watchers_with_exactly_one_resync"] = sum(
            1 for v in after["resyncs"] if v == 1
        )
        row["after_fault"]["watchers_with_no_resync"] = sum(1 for v in after["resyncs"] if v == 0)
        row["after_fault"]["every_map_correct"] = not wrong
        firsts = [p["snapshot_after_mark_s"] for p in pages if p["after_mark"]]
        got = [round(v, 2) for v in firsts if v is not None]
        row["after_fault"]["first_snapshot_after_fault_s"] = {
            "p50": percentile(got, 50),
            "max": max(got) if got else None,
            "watchers_without": len(firsts) - len(got),
        }
    return row


def print_row(row: dict) -> None:
    pw = row["per_watcher"]

    def mm(key: str) -> str:
        return f"{pw[key]['mean']} / {pw[key]['max']}"

    lines = [
        (
            "watchers connected",
            f"{row['connected']} / {row['watchers']} "
            f"({row['workers']} servers, {row['buyers']} buyers)",
        ),
        (
            "writes/s (hold, order, pay, release)",
            f"{row['writes_per_second']} ({row['ops']}, {row['seconds']} s)",
        ),
        ("holds/s, orders paid/s", f"{row['holds_per_second']}, {row['orders_per_second']}"),
        ("5xx / connection errors", f"{row['server_errors_5xx']} / {row['connection_errors']}"),
        ("double sales", row["double_sales"]),
        (
            "frame latency p50 / p99 / max ms",
            f"{row['latency_p50_ms']} / {row['latency_p99_ms']} / {row['latency_max_ms']}",
        ),
        (
            "frames per watcher (mean / max)",
            mm("frames")
            + " (by server, mean: "
            + ", ".join(str(v["mean"]) for v in row["frames_by_server"].values())
            + ")",
        ),
        (
            "out of order per watcher",
            mm("out_of_order") + f" ({row['watchers_with_out_of_order']} watchers with any)",
        ),
        ("gaps per watcher", mm("gaps") + f" ({row['watchers_with_gaps']} watchers with any)"),
        ("ignored as old per watcher", mm("old")),
        ("epoch changes seen per watcher", mm("epoch_changes")),
        ("resyncs sent per watcher", mm("resyncs")),
        ("snapshots per watcher (incl. first)", mm("snapshots")),
        (
            "snapshot KiB per watcher",
            f"{round(pw['snapshot_bytes']['mean'] / 1024, 1)} / "
            f"{round(pw['snapshot_bytes']['max'] / 1024, 1)}",
        ),
        (
            "frames lost: maps wrong, seats wrong",
            f"{row['maps_wrong']} watchers, "
            f"{row['seats_wrong']} seats "
            f"(max {row['seats_wrong_max_per_watcher']})",
        ),
        ("server CPU %, client CPU %", f"{row['server_cpu_percent']}, {row['client_cpu_percent']}"),
    ]
    if "after_fault" in row:
        af = row["after_fault"]
        lines += [
            ("fault", f"{row['fault_detail']}, 5xx in it {row['server_errors_5xx_during_fault']}"),
            (
                "after fault: resyncs per watcher (mean / max)",
                f"{af['resyncs']['mean']} / {af['resyncs']['max']} (exactly one: "
                f"{af['watchers_with_exactly_one_resync']}, none: {af['watchers_with_no_resync']})",
            ),
            (
                "after fault: snapshots, gaps, out of order, old (mean)",
                f"{af['snapshots']['mean']}, {af['gaps']['mean']}, {af['out_of_order']['mean']}, "
                f"{af['old']['mean']}",
            ),
            (
                "after fault: first snapshot after it, s",
                f"p50 {af['first_snapshot_after_fault_s']['p50']}, max "
                f"{af['first_snapshot_after_fault_s']['max']}, none "
                f"{af['first_snapshot_after_fault_s']['watchers_without']} watchers",
            ),
            ("after fault: every final map correct", af["every_map_correct"]),
        ]
    width = max(len(k) for k, _ in lines)
    for key, value in lines:
        print(f"{key:<{width}}  {value}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1],
    )
    parser.add_argument("--database-url", help="DATABASE_URL of the servers (loopback)")
    parser.add_argument("--redis-url", help="a running Redis (loopback); default: start our own")
    parser.add_argument("--workers", type=int, default=2, help="server processes")
    parser.add_argument("--watchers", type=int, default=1000)
    parser.add_argument("--buyers", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30, help="seconds of writes")
    parser.add_argument(
        "--settle",
        type=float,
        default=3,
        help="seconds after the writes before the maps are compared",
    )
    parser.add_argument("--fault", choices=["none", "redis-restart"], default="none")
    parser.add_argument(
        "--fault-down",
        type=float,
        default=1.0,
        help="seconds Redis stays down in --fault redis-restart",
    )
    parser.add_argument(
        "--client-processes",
        type=int,
        default=0,
        help="watcher processes (default: 1 up to 300 watchers, else 2)",
    )
    parser.add_argument("--connect-concurrency", type=int, default=100)
    parser.add_argument(
        "--no-resync",
        action="store_true",
        help="diagnostic: watchers count the resyncs they would send but send "
        "none (the fan-out cost without the snapshots; maps end up wrong)",
    )
    parser.add_argument("--out", default="live")
    args = parser.parse_args(argv)
    if not (
        0 < args.seconds <= 300
        and 0 < args.watchers <= 10_000
        and 0 < args.buyers <= 64
        and 0 <= args.settle <= 60
        and 0 <= args.fault_down <= 30
        and 1 <= args.workers <= 8
        and 0 <= args.client_processes <= 4
    ):
        parser.error(
            "bounded: --seconds ≤ 300, --watchers ≤ 10,000, --buyers ≤ 64, "
            "--settle ≤ 60, --fault-down ≤ 30, --workers ≤ 8, --client-processes ≤ 4"
        )
    require_loopback(parser, args.database_url, args.redis_url)
    if args.fault != "none" and args.redis_url:
        parser.error("--fault needs the benchmark's own Redis (leave out --redis-url)")
    raise_open_files(args.watchers * 2)  # the servers' sockets and the watchers' (inherited)
    redis = None if args.redis_url else OwnRedis()
    setup_django(args.database_url, args.redis_url or redis.url)
    showtime, guids = new_showtime()
    tokens = buyers(args.buyers)
    analyze()
    urls = start_servers(args.workers, "uvicorn")
    try:
        row = asyncio.run(run(args, urls, showtime.pk, guids, tokens, redis))
        row["double_sales"] = double_sales(showtime.pk)
    finally:
        for proc in list(PROCESSES):
            proc.terminate()
            proc.wait(10)
            PROCESSES.remove(proc)
        if redis is not None:
            redis.stop()
            shutil.rmtree(redis.dir, ignore_errors=True)
    print_row(row)
    path = write_results(
        args.out,
        [row],
        {
            "server": "uvicorn (one process per port, the Procfile's flags)",
            "workers": args.workers,
            "redis": "own" if redis else "given",
            "at": datetime.now().astimezone().isoformat(),
            "commit": subprocess.run(
                ["git", "rev-parse", "--short", "HEAD"],
                capture_output=True,
                text=True,
                cwd=os.path.dirname(__file__),
            ).stdout.strip(),
            "argv": sys.argv[1:],
        },
    )
    print(f"written {path}")
    # 5xx while Redis is down are reported, not failed on; any other 5xx or a double sale fails
    return (
        1
        if row["double_sales"] or (row["server_errors_5xx"] - row["server_errors_5xx_during_fault"])
        else 0
    )


if __name__ == "__main__":
    raise SystemExit(main())
