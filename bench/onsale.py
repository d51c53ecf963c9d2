#!/usr/bin/env python
"""On-sale storm: N concurrent buyers (asyncio + aiohttp) against running server processes on
PostgreSQL + Redis, on the 1,252-seat Riethsporthalle plan (the project's demo arena when
../shared is absent).

Scenarios (each on a fresh showtime):
  holds       distinct seats: hold one seat, release it, repeat          → holds/s
  orders      distinct seats: one-step order of one seat, then pay      → orders/s
  hold_order  distinct seats: hold, order the hold, pay                  → orders/s
  hot         10 seats, every buyer wants 1–2 of them: hold, release     → holds/s, conflicts
  best        best available, 2 seats together, hold then release        → holds/s

Figures: successes/s, p50/p95/p99/max latency (ms) of the scenario's main request, 409
conflicts, 5xx count, and the final database check that no seat has two live claims.

    .venv/bin/python bench/onsale.py --database-url postgres://postgres@127.0.0.1:5432/bench \\
        --redis-url redis://127.0.0.1:6379/0 --workers 2 --buyers 32 --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shlex
import time
from collections import Counter
from pathlib import Path

import aiohttp
from common import (
    PROCESSES,
    buyers,
    double_sales,
    new_showtime,
    percentile,
    require_loopback,
    setup_django,
    start_servers,
    write_results,
)

CUSTOMER = {"name": "Bench Buyer", "email": "bench@example.com", "phone": ""}


class Stats:
    def __init__(self):
        self.latencies: list[float] = []
        self.codes: Counter = Counter()
        self.successes = 0

    def record(self, started: float, status: int, main: bool = True, ok=(200, 201)):
        if main:
            self.latencies.append((time.perf_counter() - started) * 1000)
            if status in ok:
                self.successes += 1
        self.codes[status] += 1


async def call(session, method, url, stats, main=True, **kwargs):
    started = time.perf_counter()
    async with session.request(method, url, **kwargs) as response:
        body = await response.json(content_type=None) if response.status != 204 else None
    stats.record(started, response.status, main)
    return response.status, body


async def buyer_loop(i, scenario, base, token, seats, showtime_id, stats, deadline, max_ops):
    headers = {"Authorization": f"Bearer {token}"}
    rnd = random.Random(i)
    async with aiohttp.ClientSession(headers=headers) as session:
        ops = 0
        while time.perf_counter() < deadline and ops < max_ops:
            ops += 1
            if scenario in ("holds", "hot", "best"):
                if scenario == "holds":
                    if not seats:
                        return
                    body = {"seats": [seats[ops % len(seats)]]}
                    url = f"{base}/api/v1/showtimes/{showtime_id}/holds/"
                elif scenario == "hot":
                    body = {"seats": rnd.sample(seats, rnd.randint(1, 2))}
                    url = f"{base}/api/v1/showtimes/{showtime_id}/holds/"
                else:
                    body = {"quantity": 2}
                    url = f"{base}/api/v1/showtimes/{showtime_id}/holds/best/"
                status, hold = await call(session, "POST", url, stats, json=body)
                if status in (200, 201):
                    await call(
                        session, "DELETE", f"{base}/api/v1/holds/{hold['id']}/", stats, main=False
                    )
            elif scenario == "orders":
                if not seats:
                    return
                seat = seats.pop()
                status, order = await call(
                    session,
                    "POST",
                    f"{base}/api/v1/orders/",
                    stats,
                    json={
                        "showtime": showtime_id,
                        "seats": [seat],
                        "customer": CUSTOMER,
                        "payment_method": "card",
                    },
                    headers={"Idempotency-Key": f"{scenario}-{showtime_id}-{i}-{ops}"},
                )
                if status == 201:
                    await call(
                        session,
                        "POST",
                        f"{base}/api/v1/orders/{order['id']}/pay/",
                        stats,
                        main=False,
                    )
            elif scenario == "hold_order":
                if not seats:
                    return
                seat = seats.pop()
                status, hold = await call(
                    session,
                    "POST",
                    f"{base}/api/v1/showtimes/{showtime_id}/holds/",
                    stats,
                    main=False,
                    json={"seats": [seat]},
                )
                if status not in (200, 201):
                    continue
                status, order = await call(
                    session,
                    "POST",
                    f"{base}/api/v1/orders/",
                    stats,
                    json={"hold": hold["id"], "customer": CUSTOMER, "payment_method": "card"},
                    headers={"Idempotency-Key": f"{scenario}-{showtime_id}-{i}-{ops}"},
                )
                if status == 201:
                    await call(
                        session,
                        "POST",
                        f"{base}/api/v1/orders/{order['id']}/pay/",
                        stats,
                        main=False,
                    )


def _proc_cpu_ticks(pid: int, children: bool = False) -> int:
    """utime + stime of a process (and, with ``children``, cutime + cstime: its exited and
    waited-for children), in clock ticks; 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    ticks = int(fields[11]) + int(fields[12])
    return ticks + (int(fields[13]) + int(fields[14]) if children else 0)


def server_cpu_seconds() -> float:
    """CPU seconds (user + system) used so far by the server processes this benchmark started
    (0 with --url), from Linux ``/proc/<pid>/stat``."""
    total = 0
    for proc in PROCESSES:
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        for pid in [proc.pid, *children]:  # gunicorn's workers are children of its arbiter
            total += _proc_cpu_ticks(int(pid))
    return total / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds() -> float | None:
    """CPU seconds (user + system) used so far by the PostgreSQL server of the benchmark's
    database: its postmaster, every process under it (backends, WAL writer, checkpointer …) and
    those that exited (cutime). None when the database is not PostgreSQL or its processes are not
    readable here (another machine or user)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    try:
        stat = Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()
        postmaster = int(stat[1])
        children = Path(f"/proc/{postmaster}/task/{postmaster}/children").read_text().split()
    except OSError:
        return None
    ticks = _proc_cpu_ticks(postmaster, children=True)
    ticks += sum(_proc_cpu_ticks(int(pid)) for pid in children)
    return ticks / os.sysconf("SC_CLK_TCK")


def statements_reset() -> bool:
    """Empties ``pg_stat_statements`` (True) when the extension is there (it needs
    ``shared_preload_libraries``); False otherwise."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'")
        if not cursor.fetchone():
            return False
        cursor.execute("SELECT pg_stat_statements_reset()")
    return True


def statements_profile(requests: int, top: int = 15) -> list[dict]:
    """The statements of the scenario, most execution time first, per HTTP request of the run:
    calls, execution and planning time (ms) and rows; from ``pg_stat_statements`` of the
    benchmark's database (its own queries excluded)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT s.query, s.calls, s.total_exec_time, s.total_plan_time, s.rows
              FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
             WHERE d.datname = current_database() AND s.query NOT LIKE %s
             ORDER BY s.total_exec_time + s.total_plan_time DESC
            """,
            ["%pg_stat_statements%"],
        )
        rows = cursor.fetchall()
    per = max(requests, 1)
    profile = [
        {
            "query": " ".join(query.split())[:160],
            "calls_per_request": round(calls / per, 3),
            "exec_ms_per_request": round(exec_ms / per, 4),
            "plan_ms_per_request": round(plan_ms / per, 4),
            "rows_per_request": round(n / per, 3),
        }
        for query, calls, exec_ms, plan_ms, n in rows
    ]
    total = {
        "query": "(all statements)",
        "calls_per_request": round(sum(r[1] for r in rows) / per, 3),
        "exec_ms_per_request": round(sum(r[2] for r in rows) / per, 4),
        "plan_ms_per_request": round(sum(r[3] for r in rows) / per, 4),
        "rows_per_request": round(sum(r[4] for r in rows) / per, 3),
    }
    return [total, *profile[:top]]


def run_scenario(scenario, urls, tokens, seconds, max_ops, statements=False):
    showtime, guids = new_showtime()
    n = len(tokens)
    if scenario == "hot":
        pools = [guids[:10]] * n
    elif scenario == "best":
        pools = [[]] * n
    else:  # distinct seats: buyer i gets every n-th seat
        pools = [guids[i::n] for i in range(n)]
    stats = Stats()
    statements = statements and statements_reset()
    cpu_before = server_cpu_seconds()
    pg_before = postgres_cpu_seconds()
    started = time.perf_counter()
    deadline = started + seconds

    async def storm():
        await asyncio.gather(
            *[
                buyer_loop(
                    i,
                    scenario,
                    urls[i % len(urls)],
                    tokens[i],
                    list(pools[i]),
                    showtime.pk,
                    stats,
                    deadline,
                    max_ops,
                )
                for i in range(n)
            ]
        )

    asyncio.run(storm())
    elapsed = time.perf_counter() - started
    requests = sum(stats.codes.values())
    cpu = server_cpu_seconds() - cpu_before if PROCESSES else None
    pg_after = postgres_cpu_seconds()
    pg = pg_after - pg_before if pg_before is not None and pg_after is not None else None
    return {
        "scenario": scenario,
        "buyers": n,
        "server_urls": len(urls),
        "seconds": round(elapsed, 2),
        "successes": stats.successes,
        "per_second": round(stats.successes / elapsed, 1),
        "p50_ms": percentile(stats.latencies, 50),
        "p95_ms": percentile(stats.latencies, 95),
        "p99_ms": percentile(stats.latencies, 99),
        "max_ms": round(max(stats.latencies), 1) if stats.latencies else None,
        "conflicts_409": stats.codes.get(409, 0),
        "server_errors_5xx": sum(v for k, v in stats.codes.items() if k >= 500),
        "requests": requests,
        # CPU of the server processes (user + system) per request: steadier than ok/s on a
        # shared machine, and what capacity planning needs (docs/scaling.md).
        "server_cpu_ms_per_request": round(cpu * 1000 / requests, 2) if cpu and requests else None,
        "server_cpu_percent": round(cpu * 100 / elapsed) if cpu is not None else None,
        # PostgreSQL's CPU (every process of its server, this benchmark's own few queries
        # included) per request, when it runs here.
        "postgres_cpu_ms_per_request": round(pg * 1000 / requests, 2) if pg and requests else None,
        "double_sales": double_sales(showtime.pk),
        **({"statements": statements_profile(requests)} if statements else {}),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1],
    )
    parser.add_argument("--database-url", help="DATABASE_URL of the servers (loopback)")
    parser.add_argument("--redis-url", help="REDIS_URL of the servers (loopback)")
    parser.add_argument("--url", nargs="*", help="already running servers (else --workers start)")
    parser.add_argument("--workers", type=int, default=2, help="server processes to start")
    parser.add_argument(
        "--server",
        choices=["procfile", "daphne", "uvicorn", "gunicorn"],
        default="procfile",
        help="procfile (the default): the Procfile's web command as shipped, --workers worker "
        "processes on one port; daphne/uvicorn: --workers single-process servers, one port each; "
        "gunicorn: HTTP through ticketing.wsgi, gthread workers",
    )
    parser.add_argument(
        "--server-args",
        default="",
        help="more arguments for each server command, e.g. '--ws wsproto' (split like a shell)",
    )
    parser.add_argument("--buyers", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10, help="time bound per scenario")
    parser.add_argument("--max-ops", type=int, default=10_000, help="requests bound per buyer")
    parser.add_argument(
        "--scenarios",
        nargs="+",
        default=["holds", "orders", "hold_order", "hot", "best"],
        choices=["holds", "orders", "hold_order", "hot", "best"],
    )
    parser.add_argument(
        "--warmup",
        type=float,
        default=3,
        help="seconds of unrecorded holds first (imports, caches, pools)",
    )
    parser.add_argument(
        "--statements",
        action="store_true",
        help="profile PostgreSQL per request with pg_stat_statements (reset before each "
        "scenario; the server needs shared_preload_libraries = 'pg_stat_statements' and the "
        "extension in the database)",
    )
    parser.add_argument("--out", default="onsale")
    args = parser.parse_args(argv)
    require_loopback(parser, args.database_url, args.redis_url, *(args.url or []))
    setup_django(args.database_url, args.redis_url)
    urls = args.url or start_servers(
        args.workers, args.server, extra_args=shlex.split(args.server_args)
    )
    tokens = buyers(args.buyers)
    rows = []
    if args.warmup > 0:
        run_scenario("holds", urls, tokens, args.warmup, args.max_ops)
    print(
        f"{'scenario':11} {'ok/s':>7} {'p50':>7} {'p95':>7} {'p99':>7} {'max':>7} "
        f"{'409':>5} {'5xx':>4} {'double':>6} {'cpu ms/req':>10} {'pg ms/req':>9}"
    )
    for scenario in args.scenarios:
        row = run_scenario(
            scenario, urls, tokens, args.seconds, args.max_ops, statements=args.statements
        )
        rows.append(row)
        print(
            f"{scenario:11} {row['per_second']:7} {row['p50_ms']!s:>7} {row['p95_ms']!s:>7} "
            f"{row['p99_ms']!s:>7} {row['max_ms']!s:>7} {row['conflicts_409']:5} "
            f"{row['server_errors_5xx']:4} {row['double_sales']:6} "
            f"{row['server_cpu_ms_per_request']!s:>10} {row['postgres_cpu_ms_per_request']!s:>9}",
            flush=True,
        )
        for st in row.get("statements", []):
            print(
                f"    {st['calls_per_request']:6.2f} calls {st['exec_ms_per_request']:7.3f} ms "
                f"+ plan {st['plan_ms_per_request']:6.3f} ms {st['rows_per_request']:6.2f} rows  "
                f"{st['query'][:90]}"
            )
    path = write_results(
        args.out,
        rows,
        {
            "server": args.server,
            "workers": args.workers if not args.url else len(urls),
            "buyers": args.buyers,
        },
    )
    print(f"written {path}")
    return 1 if any(r["double_sales"] or r["server_errors_5xx"] for r in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
