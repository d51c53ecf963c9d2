#!/usr/bin/env python
"""Fan-out: N WebSocket watchers of one showtime while its seats change at a set rate.

Starts the server processes itself (or uses --url), connects N watchers (aiohttp, no
permessage-deflate unless --deflate), then one buyer holds and releases seats through the REST API
at --rate changes per second for --seconds. Every ``seats.changed`` frame carries ``at`` (server
time when it was published); change-to-screen latency = arrival − at, over all watchers.

Figures: latency p50/p99/max (ms), frames expected/received/lost (lost = gaps in ``seq``), server
memory per connection (KiB, RSS growth of the server processes divided by N), connections/s at
connect. Loopback only, bounded in count and time.

    .venv/bin/python bench/fanout.py --watchers 1000 --rate 20 --seconds 10 \\
        --database-url postgres://postgres@127.0.0.1:5432/bench --redis-url redis://127.0.0.1:6379/0
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from datetime import datetime

import aiohttp

from common import (PROCESSES, buyers, new_showtime, percentile, require_loopback, rss_kib,
                    setup_django, start_servers, write_results)


async def watcher(session, url, results, ready, stop, deflate):
    async with session.ws_connect(url, origin="http://127.0.0.1", compress=15 if deflate else 0,
                                  max_msg_size=0) as ws:
        first = json.loads((await ws.receive()).data)
        assert first["type"] == "snapshot"
        ready.set_result(None) if not ready.done() else None
        last_seq, lat, lost, got = None, [], 0, 0
        while not stop.is_set():
            try:
                msg = await asyncio.wait_for(ws.receive(), 0.5)
            except asyncio.TimeoutError:
                continue
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            now = time.time()
            frame = json.loads(msg.data)
            if frame["type"] != "seats.changed":
                continue
            got += 1
            lat.append((now - datetime.fromisoformat(frame["at"]).timestamp()) * 1000)
            if last_seq is not None and frame["seq"] > last_seq + 1:
                lost += frame["seq"] - last_seq - 1
            last_seq = frame["seq"] if last_seq is None else max(last_seq, frame["seq"])
        results.append((lat, lost, got))


async def run(urls, showtime_id, guids, token, watchers, rate, seconds, deflate):
    results, stop = [], asyncio.Event()
    rss_before = sum(rss_kib(p.pid) for p in PROCESSES)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()
        readies, tasks = [], []
        for i in range(watchers):
            ready = asyncio.get_running_loop().create_future()
            base = urls[i % len(urls)].replace("http", "ws")
            tasks.append(asyncio.ensure_future(watcher(
                session, f"{base}/ws/showtimes/{showtime_id}/", results, ready, stop, deflate)))
            readies.append(ready)
            if i % 200 == 199:
                await asyncio.sleep(0)  # let the connects proceed
        await asyncio.wait_for(asyncio.gather(*readies), 300)
        connect_seconds = time.perf_counter() - started
        await asyncio.sleep(1)
        rss_after = sum(rss_kib(p.pid) for p in PROCESSES)
        headers = {"Authorization": f"Bearer {token}"}
        changes, hold_id, i = 0, None, 0
        end = time.perf_counter() + seconds
        async with aiohttp.ClientSession(headers=headers) as buyer:
            while time.perf_counter() < end:
                tick = time.perf_counter()
                if hold_id is None:
                    async with buyer.post(f"{urls[0]}/api/v1/showtimes/{showtime_id}/holds/",
                                          json={"seats": [guids[i % len(guids)]]}) as r:
                        if r.status in (200, 201):
                            hold_id = (await r.json())["id"]
                            changes += 1
                    i += 1
                else:
                    async with buyer.delete(f"{urls[0]}/api/v1/holds/{hold_id}/") as r:
                        changes += r.status == 204
                    hold_id = None
                await asyncio.sleep(max(0, 1 / rate - (time.perf_counter() - tick)))
        await asyncio.sleep(2)  # let the last frames arrive
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
    lat = [x for r in results for x in r[0]]
    return {
        "watchers": watchers, "workers": len(urls), "rate": rate, "seconds": seconds,
        "deflate": deflate, "changes": changes,
        "frames_expected": changes * watchers, "frames_received": sum(r[2] for r in results),
        "frames_lost_by_seq": sum(r[1] for r in results),
        "p50_ms": percentile(lat, 50), "p99_ms": percentile(lat, 99),
        "max_ms": round(max(lat), 1) if lat else None,
        "connect_per_second": round(watchers / connect_seconds, 1),
        "kib_per_connection": round((rss_after - rss_before) / watchers, 1) if PROCESSES else None,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--database-url")
    parser.add_argument("--redis-url")
    parser.add_argument("--url", nargs="*", help="running servers (else --workers are started)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--server", choices=["daphne", "uvicorn"], default="uvicorn")
    parser.add_argument("--watchers", type=int, nargs="+", default=[1000])
    parser.add_argument("--rate", type=float, default=20, help="seat changes per second")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--deflate", action="store_true", help="offer permessage-deflate")
    parser.add_argument("--out", default="fanout")
    args = parser.parse_args(argv)
    require_loopback(parser, args.database_url, args.redis_url, *(args.url or []))
    setup_django(args.database_url, args.redis_url)
    showtime, guids = new_showtime()
    token = buyers(1)[0]
    rows = []
    print(f"{'watchers':>8} {'p50':>7} {'p99':>7} {'max':>7} {'lost':>6} {'recv/expected':>15} "
          f"{'conn/s':>7} {'KiB/conn':>8}")
    for n in args.watchers:
        urls = args.url or start_servers(args.workers, args.server)
        row = asyncio.run(run(urls, showtime.pk, guids, token, n, args.rate, args.seconds,
                              args.deflate))
        rows.append(row)
        print(f"{n:8} {row['p50_ms']!s:>7} {row['p99_ms']!s:>7} {row['max_ms']!s:>7} "
              f"{row['frames_lost_by_seq']:6} {row['frames_received']:>7}/{row['frames_expected']:<7} "
              f"{row['connect_per_second']:7} {row['kib_per_connection']!s:>8}", flush=True)
        for proc in list(PROCESSES):
            proc.terminate()
            proc.wait(10)
            PROCESSES.remove(proc)
    path = write_results(args.out, rows, {"server": args.server, "workers": args.workers})
    print(f"written {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
