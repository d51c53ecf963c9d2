"""Joins of a waiting room at the on-sale (issue #19): how many ``queue_join`` calls per second one
showtime takes, from real threads with their own database connections, after the draw (every
joiner gets the next place in order of arrival).

    .venv/bin/python bench/queue_join.py --database-url postgres://postgres@127.0.0.1:5432/bench_qj \
        --joins 2000 --threads 1 4 8 --runs 3 [--draw 10000 50000]

For each thread count and run: a fresh showtime with its waiting room on (no ``onsale_at``: the
draw is empty, first come first served), ``--joins`` new buyers (bulk-made), the joins spread over
the threads, then one admitter step; checked: every buyer has exactly one entry and the places
are exactly 1..N. Reports joins per second (the median over the runs). ``--draw N``: the seconds
of the admitter step that draws an early pool of N arrivals (places 1..N, checked). Results:
bench/results/queue-join*.json, summary in bench/README.md "Issue #19".
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time

from common import new_showtime, require_loopback, setup_django, write_results


def one_run(joins: int, threads: int) -> float:
    """Joins per second of one run (checked: one entry per buyer, places 1..joins)."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    from seats.models import QueueEntry
    from seats.services.waiting import queue_admit, queue_join

    showtime, _guids = new_showtime()
    showtime.queue_enabled = True
    showtime.save(update_fields=["queue_enabled"])
    User = get_user_model()
    prefix = f"qj{showtime.pk}-"
    User.objects.bulk_create([User(username=f"{prefix}{i}") for i in range(joins)])
    users = list(User.objects.filter(username__startswith=prefix))
    queue_admit(showtime.pk)  # the (empty) draw: from now on first come, first served
    chunks = [users[i::threads] for i in range(threads)]
    barrier = threading.Barrier(threads + 1)
    errors: list[BaseException] = []

    def work(mine) -> None:
        try:
            barrier.wait()
            for user in mine:
                queue_join(user, showtime.pk)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    workers = [threading.Thread(target=work, args=(chunk,)) for chunk in chunks]
    for worker in workers:
        worker.start()
    barrier.wait()
    started = time.perf_counter()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{len(errors)} joins failed: {errors[0]!r}")
    queue_admit(showtime.pk)  # hands out the places where joins do not number themselves
    places = sorted(QueueEntry.objects.filter(showtime=showtime).values_list("position", flat=True))
    assert places == list(range(1, joins + 1)), (places[:5], len(places))
    return joins / elapsed


def draw_seconds(pool: int) -> float:
    """Seconds of the admitter step that draws an early pool of ``pool`` entries (bulk-made,
    arrived before ``onsale_at``); checked: places 1..pool, and not in arrival order."""
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from seats.models import QueueEntry
    from seats.services.waiting import queue_admit

    onsale = timezone.now() + timedelta(minutes=10)
    showtime, _guids = new_showtime()
    showtime.queue_enabled, showtime.onsale_at = True, onsale
    showtime.target_active_buyers = 1
    showtime.save(update_fields=["queue_enabled", "onsale_at", "target_active_buyers"])
    User = get_user_model()
    prefix = f"qd{showtime.pk}-"
    User.objects.bulk_create([User(username=f"{prefix}{i}") for i in range(pool)], batch_size=2000)
    ids = list(
        User.objects.filter(username__startswith=prefix).order_by("pk").values_list("pk", flat=True)
    )
    QueueEntry.objects.bulk_create(
        [
            QueueEntry(
                showtime=showtime, user_id=uid, joined_at=onsale - timedelta(seconds=pool - i)
            )
            for i, uid in enumerate(ids)
        ],
        batch_size=2000,
    )
    started = time.perf_counter()
    queue_admit(showtime.pk, now=onsale)
    elapsed = time.perf_counter() - started
    places = list(
        QueueEntry.objects.filter(showtime=showtime)
        .order_by("joined_at")
        .values_list("position", flat=True)
    )
    assert sorted(places) == list(range(1, pool + 1))
    assert places != sorted(places)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--joins", type=int, default=2000)
    parser.add_argument("--threads", type=int, nargs="*", default=[1, 4, 8])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--name", default="queue-join")
    parser.add_argument(
        "--draw", type=int, nargs="*", default=[], help="also time the draw of early pools this big"
    )
    args = parser.parse_args()
    require_loopback(parser, args.database_url)
    setup_django(args.database_url, None)
    rows: list[dict] = []
    for pool in args.draw:
        seconds = draw_seconds(pool)
        rows.append({"draw_pool": pool, "seconds": round(seconds, 2)})
        print(f"the draw of {pool} early arrivals: {seconds:.2f} s (one admitter step)")
    for threads in args.threads:
        rates = [one_run(args.joins, threads) for _ in range(args.runs)]
        row = {
            "threads": threads,
            "joins": args.joins,
            "joins_per_second": [round(r) for r in rates],
            "median": round(statistics.median(rates)),
        }
        rows.append(row)
        print(f"{threads} threads: {row['median']} joins/s (runs: {row['joins_per_second']})")
    path = write_results(args.name, rows, vars(args))
    print(f"written to {path}")


if __name__ == "__main__":
    main()
