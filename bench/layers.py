#!/usr/bin/env python
"""Compare channels-redis layers for our broadcast pattern: one ``group_send`` per seat change to
the group of everyone watching a showtime (realtime.md "Delivery across processes").

For each layer (``RedisChannelLayer`` = "core", ``RedisPubSubChannelLayer`` = "pubsub") and each
audience size, N receivers join one group in this process; the sender publishes M messages at a
fixed rate; every receiver records when each message arrived. Reports sends/s achieved, delivery
latency (send → each receiver) p50/p99/max in ms, and messages lost. Loopback Redis only, bounded
in count and time.

    .venv/bin/python bench/layers.py --audience 100 500 --messages 200 --rate 100
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

LAYERS = {
    "core": "channels_redis.core.RedisChannelLayer",
    "pubsub": "channels_redis.pubsub.RedisPubSubChannelLayer",
}


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


async def run_one(
    layer_name: str, redis_url: str, audience: int, messages: int, rate: float, timeout: float
) -> dict:
    from django.utils.module_loading import import_string

    cls = import_string(LAYERS[layer_name])
    layer = cls(
        hosts=[redis_url],
        prefix=f"bench{int(time.time() * 1000)}",
        **({"capacity": messages + 10} if layer_name == "core" else {}),
    )
    group = "showtime-bench"
    channels = [await layer.new_channel() for _ in range(audience)]
    for channel in channels:
        await layer.group_add(group, channel)
    latencies: list[float] = []
    received = [0] * audience

    async def receiver(i: int, channel: str):
        while received[i] < messages:
            message = await layer.receive(channel)
            latencies.append((time.perf_counter() - message["t"]) * 1000)
            received[i] += 1

    tasks = [asyncio.ensure_future(receiver(i, c)) for i, c in enumerate(channels)]
    await asyncio.sleep(0.5)  # subscriptions settle
    started = time.perf_counter()
    for n in range(messages):
        await layer.group_send(
            group, {"type": "seats.changed", "n": n, "t": time.perf_counter(), "text": "x" * 150}
        )
        delay = started + (n + 1) / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
    send_seconds = time.perf_counter() - started
    try:
        await asyncio.wait_for(asyncio.gather(*tasks), timeout)
    except TimeoutError:
        for task in tasks:
            task.cancel()
    expected = audience * messages
    result = {
        "layer": layer_name,
        "audience": audience,
        "messages": messages,
        "rate": rate,
        "sends_per_second": round(messages / send_seconds, 1),
        "delivered": len(latencies),
        "lost": expected - len(latencies),
        "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "p99_ms": round(percentile(latencies, 99), 1) if latencies else None,
        "max_ms": round(max(latencies), 1) if latencies else None,
    }
    for channel in channels:
        await layer.group_discard(group, channel)
    if hasattr(layer, "flush"):
        await layer.flush()
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0", help="loopback Redis URL")
    parser.add_argument("--layers", nargs="+", default=["core", "pubsub"], choices=LAYERS)
    parser.add_argument(
        "--audience",
        nargs="+",
        type=int,
        default=[100, 500],
        help="group members (watchers) per run",
    )
    parser.add_argument("--messages", type=int, default=200, help="group_send calls per run")
    parser.add_argument("--rate", type=float, default=100, help="group_send calls per second")
    parser.add_argument("--timeout", type=float, default=30, help="seconds to wait for delivery")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "layers.json"))
    args = parser.parse_args(argv)
    if not args.redis.startswith(("redis://127.", "redis://localhost")):
        parser.error("loopback Redis only")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    results = []
    for audience in args.audience:
        for name in args.layers:
            results.append(
                asyncio.run(
                    run_one(name, args.redis, audience, args.messages, args.rate, args.timeout)
                )
            )
            r = results[-1]
            print(
                f"{r['layer']:7} audience {r['audience']:5}  sends/s {r['sends_per_second']:7}  "
                f"p50 {r['p50_ms']} ms  p99 {r['p99_ms']} ms  max {r['max_ms']} ms  "
                f"lost {r['lost']}",
                flush=True,
            )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
