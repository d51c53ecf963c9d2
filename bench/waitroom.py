#!/usr/bin/env python
"""Waiting room (issue #19): N queued WebSocket clients on 2 server processes, admission at a set
rate for a set time, and a statistical test of the shuffle of the early pool.

The live run (PostgreSQL + Redis, the servers started as the Procfile runs them, each with the
in-web admitter, ``QUEUE_ADMITTER_IN_WEB`` on, so two admitters race every second):

1. a showtime with its waiting room on, ``onsale_at`` in the future; N buyer accounts
   (``bulk_create``); ``--api-joins`` of them join the early pool through the real API
   (``POST showtimes/{id}/queue/``, latency measured), the rest through ``bulk_create`` of their
   entries (10,000 API joins before every run would cost more than the run; the join's own
   throughput is ``bench/queue_join.py``'s);
2. N sockets connect, anonymous, to the queue socket ``ws/showtimes/{id}/queue/`` (the seat map
   socket ``ws/showtimes/{id}/`` with ``--socket seatmap``, or when the queue route is absent);
   server memory (RSS of both processes) before and after ÷ N = memory per queued client;
3. the on-sale: the queue is paused, ``onsale_at`` set to now, and a server's admitter step draws
   the places (the shuffle of N entries, timed); the API sample learns its place with
   ``GET queue/``, the others are handed their place from the database;
4. the queue is resumed for ``--seconds``: each admitter step sends one ``queue.progress`` frame;
   every client whose place is at or below ``admitted_up_to`` acts: ``GET queue/`` for its pass,
   then (80 %) a hold of 1–2 seats with ``X-Queue-Pass`` after 0.5–3 s, kept 2–20 s, then paid
   (order + pay, 60 %) or released; 20 % make no hold and stay active (their window is 300 s), so
   the target binds. Probes every 0.2 s try to take seats without a pass, with another buyer's
   pass, with a tampered pass, and with the pass of a buyer who has paid: all must get 403
   ``queue_required``; a write through would be a hold without a pass. Late joiners (``--late-
   joins``) join through the API during the run; the admitter's next steps must give them the
   places after the early pool, in order of arrival.

Figures: admission exactness (every admission instant from ``QueueEntry.admitted_at`` against the
token bucket's bound ``rate × T / 60 + max(1, BUCKET_SECONDS × rate / 60)`` over every interval, admitted per
minute against the cap, the places admitted = exactly ``1 … admitted_up_to``); active never above
the target (exact, from the entries' ``admitted_at``/``finished_at`` at every step, plus a sample
every 0.5 s and the ``active`` of every frame); latency of a position update (receipt − the
frame's ``at``, the time the step committed; without ``at``, receipt − the first receipt of the
same frame, said in the output); memory per queued client; the check that every hold and order of
the showtime was made by a buyer admitted and not finished at that moment; 5xx count.

The fairness test (after the servers stopped, so no admitter interferes): ``--fair-db-runs`` runs
of ``--fair-n`` early entries through the real shuffle on the database (``queue_admit`` of a
paused queue at the on-sale: the draw of ``_place_joiners``), plus ``--fair-pure-runs`` runs
of ``shuffle_places`` alone, plus the live run's own draw. Per run the Spearman correlation of
arrival and place (under a fair shuffle ≈ N(0, 1/(n − 1))); over the runs the z-test of its mean,
the chi-square of Σz² (spread), the chi-square of the arrival-decile × place-decile table pooled
over the runs ((10 − 1)² = 81 degrees of freedom), and the place decile of the first decile of
arrivals; the same statistics on a slightly biased shuffle show the test's power. p-values from
``math.erfc`` and the Wilson–Hilferty approximation (no scipy).

Loopback only, bounded in count and time.

    .venv/bin/python bench/queue.py --database-url postgres://postgres@127.0.0.1:5432/bench_queue \\
        --redis-url redis://127.0.0.1:6379/0 --clients 10000 --seconds 60 --rate 600 --target 200
    .venv/bin/python bench/queue.py ... --quick     # smoke test: 200 clients, 10 s (.ci/run)
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import multiprocessing
import os
import random
import resource
import secrets
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
from common import (
    PROCESSES,
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

CONNECT_TIMEOUT = 600
WARM_UP_SOCKETS = 5  # per server, before the memory baseline
CUSTOMER = {"name": "Queue Bench", "email": "queue-bench@example.com", "phone": ""}


# --- statistics (no scipy) -----------------------------------------------------------------------


def normal_p_two_sided(z: float) -> float:
    return math.erfc(abs(z) / math.sqrt(2))


def chi2_p_upper(x: float, df: int) -> float:
    """P(χ²_df ≥ x) by the Wilson–Hilferty cube-root normal approximation (good for df ≥ 10)."""
    if x <= 0:
        return 1.0
    z = ((x / df) ** (1 / 3) - (1 - 2 / (9 * df))) / math.sqrt(2 / (9 * df))
    return 0.5 * math.erfc(z / math.sqrt(2))


class Fairness:
    """Statistics of shuffles: each run is the list of places (0-based ranks) in arrival order."""

    BINS = 10

    def __init__(self) -> None:
        self.rhos: list[float] = []
        self.zs: list[float] = []
        self.table = [[0] * self.BINS for _ in range(self.BINS)]
        self.first_decile_places: Counter = Counter()

    def add(self, places: list[int]) -> None:
        n = len(places)
        d2 = sum((arrival - place) ** 2 for arrival, place in enumerate(places))
        rho = 1 - 6 * d2 / (n * (n * n - 1))
        self.rhos.append(rho)
        self.zs.append(rho * math.sqrt(n - 1))
        for arrival, place in enumerate(places):
            a, p = arrival * self.BINS // n, place * self.BINS // n
            self.table[a][p] += 1
            if a == 0:
                self.first_decile_places[p] += 1

    def report(self) -> dict:
        runs = len(self.rhos)
        if not runs:
            return {"runs": 0}
        z_mean = sum(self.zs) / math.sqrt(runs)
        sum_z2 = sum(z * z for z in self.zs)
        total = sum(map(sum, self.table))
        rows = [sum(r) for r in self.table]
        cols = [sum(c) for c in zip(*self.table, strict=True)]
        chi2 = sum(
            (self.table[i][j] - rows[i] * cols[j] / total) ** 2 / (rows[i] * cols[j] / total)
            for i in range(self.BINS)
            for j in range(self.BINS)
        )
        df = (self.BINS - 1) ** 2
        first = sum(self.first_decile_places.values())
        return {
            "runs": runs,
            "mean_rho": round(sum(self.rhos) / runs, 5),
            "sd_rho": round(
                math.sqrt(sum((r - sum(self.rhos) / runs) ** 2 for r in self.rhos) / runs), 5
            ),
            "max_abs_rho": round(max(map(abs, self.rhos)), 4),
            "z_of_mean_rho": round(z_mean, 3),
            "p_mean_rho": round(normal_p_two_sided(z_mean), 4),
            "sum_z2": round(sum_z2, 1),
            "p_spread": round(chi2_p_upper(sum_z2, runs), 4),
            "decile_chi2": round(chi2, 1),
            "decile_df": df,
            "p_decile": round(chi2_p_upper(chi2, df), 4),
            "first_decile_in_first_place_decile": round(
                self.first_decile_places[0] / first if first else 0, 4
            ),
        }


def biased_shuffle(n: int, rng: random.Random, edge: float) -> list[int]:
    """Places of a shuffle that favours early arrivals a little: sort by uniform + edge × rank/n
    (the power check: a fair test must reject it)."""
    keys = sorted(range(n), key=lambda i: rng.random() + edge * i / n)
    places = [0] * n
    for place, arrival in enumerate(keys):
        places[arrival] = place
    return places


def places_in_arrival_order(rows: list[tuple]) -> list[int]:
    """``rows``: (joined_at, pk, position) → the 0-based rank of each one's place, in arrival
    order."""
    rows = sorted(rows)
    order = sorted(range(len(rows)), key=lambda i: rows[i][2])
    places = [0] * len(rows)
    for place, i in enumerate(order):
        places[i] = place
    return places


# --- database work (in the main process, on one thread) -------------------------------------------


def make_users(count: int, offset: int = 0) -> list[int]:
    """``count`` bench accounts ``bench-queue-{i}`` (made once, reused); their ids in order."""
    from django.contrib.auth import get_user_model

    user_model = get_user_model()
    names = [f"bench-queue-{i}" for i in range(offset, offset + count)]
    have = dict(user_model.objects.filter(username__in=names).values_list("username", "pk"))
    missing = [n for n in names if n not in have]
    user_model.objects.bulk_create(
        [user_model(username=n, email=f"{n}@example.com", password="!bench") for n in missing],
        batch_size=2000,
    )
    have = dict(user_model.objects.filter(username__in=names).values_list("username", "pk"))
    return [have[n] for n in names]


def access_tokens(user_ids: list[int]) -> list[str]:
    from rest_framework_simplejwt.tokens import AccessToken

    class _U:  # AccessToken.for_user needs only the id (and is_active)
        is_active = True

        def __init__(self, pk: int) -> None:
            self.id = self.pk = pk

    return [str(AccessToken.for_user(_U(pk))) for pk in user_ids]  # type: ignore[arg-type]


def queue_showtime(target: int, rate: int, window: int):
    """A fresh showtime with its waiting room on and the on-sale a day away; every other queued
    showtime of the bench database is switched off (the admitters would tick them too)."""
    from django.utils import timezone

    from seats.models import QueueState, Showtime

    Showtime.objects.filter(queue_enabled=True).update(queue_enabled=False)
    showtime, guids = new_showtime(hold_ttl=300, max_seats=4)
    Showtime.objects.filter(pk=showtime.pk).update(
        queue_enabled=True,
        onsale_at=timezone.now() + timedelta(days=1),
        target_active_buyers=target,
        admission_rate_per_minute=rate,
        admission_window_seconds=window,
    )
    QueueState.objects.get_or_create(showtime_id=showtime.pk)
    return showtime.pk, guids


def bulk_join(showtime_id: int, user_ids: list[int]) -> None:
    """Early-pool entries for ``user_ids`` in that order of arrival (0.1 s apart, an hour ago)."""
    from django.utils import timezone

    from seats.models import QueueEntry

    base = timezone.now() - timedelta(hours=1)
    QueueEntry.objects.bulk_create(
        [
            QueueEntry(
                showtime_id=showtime_id, user_id=u, joined_at=base + timedelta(seconds=i / 10)
            )
            for i, u in enumerate(user_ids)
        ],
        batch_size=2000,
    )


def analyze() -> None:
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def start_onsale(showtime_id: int) -> None:
    """Pause the queue and move the on-sale to now: the next admitter step draws the places."""
    from django.utils import timezone

    from seats.models import QueueState, Showtime

    QueueState.objects.filter(pk=showtime_id).update(paused=True)
    Showtime.objects.filter(pk=showtime_id).update(onsale_at=timezone.now())


def queue_row(showtime_id: int) -> dict:
    from seats.models import QueueState

    return QueueState.objects.filter(pk=showtime_id).values()[0]


def positions(showtime_id: int) -> dict[int, int]:
    from seats.models import QueueEntry

    return dict(
        QueueEntry.objects.filter(showtime_id=showtime_id).values_list("user_id", "position")
    )


def set_paused(showtime_id: int, paused: bool) -> None:
    from seats.services.waiting import queue_pause, queue_resume

    (queue_pause if paused else queue_resume)(showtime_id)


def active_now(showtime_id: int) -> int:
    """Admitted and not finished (docs/waiting-room.md "Active")."""
    from seats.models import QueueEntry

    return QueueEntry.objects.filter(
        showtime_id=showtime_id, admitted_at__isnull=False, finished_at__isnull=True
    ).count()


def close_db() -> None:
    from django.db import connections

    connections.close_all()


def db_checks(showtime_id: int, target: int, rate: int, t0: float, t1: float) -> dict:
    """The exactness and the no-hold-without-a-pass checks, from the database after the run."""
    from orders.models import Order
    from seats.models import Hold, QueueEntry, QueueState

    state = QueueState.objects.get(pk=showtime_id)
    entries = list(
        QueueEntry.objects.filter(showtime_id=showtime_id).values(
            "user_id", "position", "joined_at", "admitted_at", "finished_at", "finish_reason"
        )
    )
    admitted = [e for e in entries if e["admitted_at"] is not None]
    by_user = {e["user_id"]: e for e in entries}
    # The token bucket's bound over every interval between two admission instants.
    steps = Counter(e["admitted_at"] for e in admitted)
    times = sorted(steps)
    from seats.services.waiting import BUCKET_SECONDS  # the service's bucket, whatever its size

    burst = max(1.0, BUCKET_SECONDS * rate / 60)
    worst_excess, worst_window = -math.inf, None
    for i, ti in enumerate(times):
        count = 0
        for tj in times[i:]:
            count += steps[tj]
            allowed = rate * (tj - ti).total_seconds() / 60 + burst
            if count - allowed > worst_excess:
                worst_excess, worst_window = count - allowed, (ti, tj, count, allowed)
    # Active at every instant something changed (right after it).
    instants = sorted(
        set(times) | {e["finished_at"] for e in admitted if e["finished_at"] is not None}
    )
    max_active, max_active_at = 0, None
    for t in instants:
        n = sum(
            1
            for e in admitted
            if e["admitted_at"] <= t and (e["finished_at"] is None or e["finished_at"] > t)
        )
        if n > max_active:
            max_active, max_active_at = n, t
    placed = sorted(e["position"] for e in admitted)
    gaps_ms = [(b - a).total_seconds() * 1000 for a, b in itertools.pairwise(times)]
    per_10s: Counter = Counter()
    for e in admitted:
        per_10s[int((e["admitted_at"].timestamp() - t0) // 10) * 10] += 1
    in_first_minute = sum(1 for e in admitted if e["admitted_at"].timestamp() < t0 + 60)
    after_pause = sum(1 for e in admitted if e["admitted_at"].timestamp() > t1 + 1)

    caused = []  # (user, order created, finished_at): finished "paid" by this very order

    def violations(rows):
        """Writes by a buyer not admitted, or after their turn ended. A step stamps
        ``finished_at`` with the time it started, so an entry finished as ``paid`` by an order
        the step saw paid may show a ``finished_at`` before that order's ``created_at`` (the
        order was made, with the gate passed, while the step ran): counted apart in
        ``finished_before_the_order_that_finished_it``, not as a write without a pass."""
        bad = []
        for user_id, created, status in rows:
            e = by_user.get(user_id)
            ok = (
                e is not None
                and e["admitted_at"] is not None
                and e["admitted_at"] <= created
                and (e["finished_at"] is None or e["finished_at"] >= created)
            )
            if (
                not ok
                and e is not None
                and e["admitted_at"] is not None
                and e["admitted_at"] <= created
                and e["finish_reason"] == "paid"
                and status in ("paid", "refunded")
            ):
                caused.append((user_id, str(created), str(e["finished_at"])))
                continue
            if not ok:
                bad.append((user_id, str(created), e and str(e["admitted_at"])))
        return bad

    holds = list(
        Hold.objects.filter(showtime_id=showtime_id).values_list("user_id", "created_at", "status")
    )
    orders = list(
        Order.objects.filter(showtime_id=showtime_id).values_list("user_id", "created_at", "status")
    )
    bad_holds = violations([(u, c, None) for u, c, _s in holds])
    bad_orders = violations(orders)
    gaps = [] if not placed else sorted(set(range(1, state.admitted_up_to + 1)) - set(placed))
    return {
        "admitted": len(admitted),
        "admitted_up_to": state.admitted_up_to,
        "admitted_places_exactly_1_to_up_to": placed == list(range(1, state.admitted_up_to + 1)),
        "places_not_admitted_below_up_to": gaps[:10],
        "admission_instants": len(times),
        # time between two steps that admitted (the loops run on a schedule: about 1 s)
        "admission_gap_ms": {
            "p50": percentile(gaps_ms, 50),
            "p99": percentile(gaps_ms, 99),
            "max": round(max(gaps_ms), 1) if gaps_ms else None,
            "over_1s": sum(1 for g in gaps_ms if g > 1000),
        },
        "bucket_bound_worst_excess": round(worst_excess, 3) if times else None,
        "bucket_bound_worst_window": (
            [str(worst_window[0]), str(worst_window[1]), worst_window[2], worst_window[3]]
            if worst_window
            else None
        ),
        "admitted_in_first_60s": in_first_minute,
        "admitted_after_the_pause": after_pause,
        "cap_per_minute": rate,
        "cap_first_minute_with_burst": rate + burst,
        "admitted_per_10s": dict(sorted(per_10s.items())),
        "max_active": max_active,
        "max_active_at": str(max_active_at),
        "target": target,
        "finished": dict(Counter(e["finish_reason"] for e in admitted if e["finished_at"])),
        "holds": len(holds),
        "holds_without_pass": len(bad_holds),
        "holds_without_pass_examples": bad_holds[:5],
        "orders": len(orders),
        "orders_without_pass": len(bad_orders),
        "orders_without_pass_examples": bad_orders[:5],
        "finished_before_the_order_that_finished_it": len(caused),
        "finished_before_the_order_that_finished_it_examples": caused[:5],
        "live_draw": places_in_arrival_order(
            [
                (e["joined_at"], e["user_id"], e["position"])
                for e in entries
                if e["joined_at"].timestamp() < t0 - 1 and e["position"] is not None
            ]
        ),
    }


def switch_off(showtime_id: int) -> None:
    from seats.models import Showtime

    Showtime.objects.filter(pk=showtime_id).update(queue_enabled=False)


def step_cost(showtime_id: int, steps: int = 5) -> dict:
    """Time admitter steps of the live showtime after the run (servers stopped, queue paused,
    its entries as the run left them): milliseconds per step and statements."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from seats.services.waiting import queue_admit

    spent = []
    for _ in range(steps):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            queue_admit(showtime_id)
            spent.append((time.perf_counter() - started) * 1000)
    return {
        "ms_median": round(sorted(spent)[len(spent) // 2], 1),
        "ms_min": round(min(spent), 1),
        "statements": len(queries.captured_queries),
    }


def fairness_db(runs: int, n: int, fair: Fairness) -> float:
    """``runs`` draws of ``n`` early entries through the real shuffle on the database: the entries
    are bulk-created in arrival order, the on-sale moved to now and one admitter step of the paused
    queue runs (``queue_admit``: the draw). Returns seconds per draw."""
    from django.utils import timezone

    from seats.models import QueueEntry, QueueState, Showtime
    from seats.services.waiting import queue_admit

    showtime_id, _ = queue_showtime(target=1, rate=60, window=300)
    users = make_users(n, offset=1_000_000)
    spent = 0.0
    for _run in range(runs):
        QueueEntry.objects.filter(showtime_id=showtime_id).delete()
        QueueState.objects.filter(pk=showtime_id).update(
            shuffled=False, next_position=1, admitted_up_to=0, paused=True
        )
        Showtime.objects.filter(pk=showtime_id).update(onsale_at=timezone.now() + timedelta(days=1))
        bulk_join(showtime_id, users)
        Showtime.objects.filter(pk=showtime_id).update(onsale_at=timezone.now())
        started = time.perf_counter()
        result = queue_admit(showtime_id)
        spent += time.perf_counter() - started
        assert not result.skipped and not result.admitted
        rows = list(
            QueueEntry.objects.filter(showtime_id=showtime_id).values_list(
                "joined_at", "pk", "position"
            )
        )
        fair.add(places_in_arrival_order(rows))
    Showtime.objects.filter(pk=showtime_id).update(queue_enabled=False)
    return spent / max(1, runs)


def fairness_pure(runs: int, n: int, fair: Fairness) -> None:
    from seats.services.waiting import shuffle_places

    for _run in range(runs):
        arrivals = list(range(n))
        shuffle_places(arrivals)  # arrivals[place] = arrival
        places = [0] * n
        for place, arrival in enumerate(arrivals):
            places[arrival] = place
        fair.add(places)


# --- the clients ---------------------------------------------------------------------------------


class Tally:
    def __init__(self) -> None:
        self.parsed: dict[bytes, tuple] = {}  # frame bytes → (up_to, at or None, active, target)
        # A frame is (bytes, n): the n-th time a client got these bytes (a heartbeat repeats the
        # bytes of the frame before it when the frame has no "at").
        self.first_seen: dict[tuple[bytes, int], float] = {}
        self.deliveries: list[tuple[tuple[bytes, int], float, int]] = []  # (frame, receipt, client)
        self.measuring = False
        self.frames_active: list[int] = []
        self.have_at = False
        self.have_shuffled = False
        self.other = 0


class Client(RawWebSocket):
    """One queued buyer's socket: ready on the first ``queue.progress`` (queue socket) or
    ``snapshot`` (seat map socket); on each later ``queue.progress`` it records the receipt and,
    once ``admitted_up_to`` reaches its place, calls ``on_turn``."""

    def __init__(self, host, path, tally: Tally | None, index: int, on_turn) -> None:
        super().__init__(host, path)
        self.tally, self.index, self.on_turn = tally, index, on_turn
        self.position: int | None = None
        self.turn_seen_at: float | None = None
        self.times_seen: dict[bytes, int] = {}  # equal bytes again: a later frame (heartbeat)

    def message(self, message: bytes, now: float) -> None:
        tally = self.tally
        first = not self.ready.done()
        if first:
            if b'"snapshot"' not in message[:40] and b'"queue.progress"' not in message[:40]:
                self.ready.set_exception(RuntimeError(f"unexpected first frame {message[:80]!r}"))
                return
            self.ready.set_result(self)
            if b'"snapshot"' in message[:40]:
                return
        if tally is None:
            return
        seen = self.times_seen[message] = self.times_seen.get(message, 0) + 1
        key = (message, seen)
        parsed = tally.parsed.get(message)
        if parsed is None:
            frame = json.loads(message)
            if frame.get("type") != "queue.progress":
                tally.other += 1
                return
            at = frame.get("at")
            tally.have_at = tally.have_at or at is not None
            tally.have_shuffled = tally.have_shuffled or "shuffled" in frame
            parsed = tally.parsed[message] = (
                frame["admitted_up_to"],
                datetime.fromisoformat(at).timestamp() if at else None,
                frame["active"],
                frame["target"],
            )
            if tally.measuring:
                tally.frames_active.append(frame["active"])
        tally.first_seen.setdefault(key, now)
        if first:
            return  # the figures at connect: not an update
        if tally.measuring:
            tally.deliveries.append((key, now, self.index))
        if self.position is not None and self.turn_seen_at is None and parsed[0] >= self.position:
            self.turn_seen_at = now
            self.on_turn(self)


async def open_client(url: str, tally, index: int, on_turn) -> Client:
    return await open_protocol(
        url, lambda netloc, path: Client(netloc, path, tally, index, on_turn)
    )


class Http:
    """Counts of every API answer by (what, status[, reason])."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session
        self.codes: Counter = Counter()
        self.latency: dict[str, list[float]] = {}
        self.fivexx: list[str] = []

    async def call(self, what, method, url, token, body=None, headers=None):
        """One request; a keep-alive connection the server closed just as it was reused
        (aiohttp's ``ServerDisconnectedError``) is retried once on a new connection and counted
        in ``retried`` (writes are safe to repeat: the same seats, the same Idempotency-Key)."""
        started = time.perf_counter()
        h = {"Authorization": f"Bearer {token}", **(headers or {})}
        for attempt in (1, 2):
            try:
                async with self.session.request(method, url, json=body, headers=h) as r:
                    data = await r.json(content_type=None) if r.status != 204 else None
                break
            except (TimeoutError, aiohttp.ClientError) as exc:
                self.codes[(what, f"client error {type(exc).__name__}")] += 1
                if attempt == 2:
                    return None, None
        self.latency.setdefault(what, []).append((time.perf_counter() - started) * 1000)
        self.codes[(what, str(r.status))] += 1
        if r.status >= 500:
            self.fivexx.append(f"{what} {r.status} {str(data)[:200]}")
        return r.status, data


class Buyers:
    """What the admitted clients do, and the probes."""

    def __init__(self, args, http: Http, bases, showtime_id, guids, tokens, user_ids) -> None:
        self.args, self.http, self.bases, self.showtime_id = args, http, bases, showtime_id
        self.free = list(reversed(guids))
        self.tokens, self.user_ids = tokens, user_ids
        self.rng = random.Random(19)
        self.tasks: set[asyncio.Task] = set()
        self.passes: dict[int, str] = {}  # client index → pass
        self.paid: list[tuple[int, float]] = []  # (index, when paid)
        self.turn_to_pass_ms: list[float] = []
        self.admitted_to_turn_ms: list[float] = []
        self.probes: Counter = Counter()
        self.accepted_without_pass: list[str] = []
        self.stopping = False
        self.no_seats = 0
        self.behaviour: Counter = Counter()
        self.errors: list[str] = []  # client tasks that failed (bench bugs, not server answers)

    def base(self, i: int) -> str:
        return self.bases[i % len(self.bases)]

    def url(self, i: int, tail: str) -> str:
        return f"{self.base(i)}/api/v1/{tail}"

    def spawn(self, coro) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.done)

    def done(self, task: asyncio.Task) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.errors.append(repr(task.exception()))

    def on_turn(self, client: Client) -> None:
        if not self.stopping:
            self.spawn(self.act(client))

    async def act(self, client: Client) -> None:
        i, token = client.index, self.tokens[client.index]
        status, body = await self.http.call(
            "status", "GET", self.url(i, f"showtimes/{self.showtime_id}/queue/"), token
        )
        if status != 200 or not body or not body.get("pass"):
            self.behaviour["no_pass_at_turn"] += 1
            return
        self.turn_to_pass_ms.append((time.time() - client.turn_seen_at) * 1000)
        self.passes[i] = body["pass"]
        if self.rng.random() < 0.2:
            self.behaviour["idle"] += 1
            return
        await asyncio.sleep(self.rng.uniform(0.5, 3))
        want = self.rng.randint(1, 2)
        if len(self.free) < want:
            self.no_seats += 1
            return
        seats = [self.free.pop() for _ in range(want)]
        headers = {"X-Queue-Pass": body["pass"]}
        status, hold = await self.http.call(
            "hold",
            "POST",
            self.url(i, f"showtimes/{self.showtime_id}/holds/"),
            token,
            {"seats": seats},
            headers,
        )
        if status not in (200, 201):
            self.behaviour[f"hold_{status}"] += 1
            self.free.extend(seats)
            return
        await asyncio.sleep(self.rng.uniform(2, 20))
        if self.rng.random() < 0.6:
            status, order = await self.http.call(
                "order",
                "POST",
                self.url(i, "orders/"),
                token,
                {"hold": hold["id"], "customer": CUSTOMER, "payment_method": "card"},
                {**headers, "Idempotency-Key": secrets.token_hex(8)},
            )
            if status == 201:
                status, _ = await self.http.call(
                    "pay", "POST", self.url(i, f"orders/{order['id']}/pay/"), token
                )
                if status == 200:
                    self.paid.append((i, time.monotonic()))
                    self.behaviour["paid"] += 1
                    return
            self.behaviour[f"order_{status}"] += 1
        else:
            status, _ = await self.http.call(
                "release", "DELETE", self.url(i, f"holds/{hold['id']}/"), token
            )
            self.free.extend(seats)
            self.behaviour["released"] += 1

    async def probe(self, k: int, waiting: list[int]) -> None:
        """One try to take seats without a valid pass (must be 403 ``queue_required``)."""
        kind = ("missing", "other_user", "tampered", "finished", "order_missing", "best_missing")[
            k % 6
        ]
        i = waiting[k % len(waiting)]
        token = self.tokens[i]
        headers: dict[str, str] = {}
        passes = list(self.passes.items())
        if kind == "other_user":
            if not passes:
                return
            headers["X-Queue-Pass"] = passes[k % len(passes)][1]
        elif kind == "tampered":
            if not passes:
                return
            i, good = passes[k % len(passes)]
            token = self.tokens[i]
            headers["X-Queue-Pass"] = good[:-2] + ("AA" if good[-2:] != "AA" else "BB")
        elif kind == "finished":
            done = [j for j, when in self.paid if time.monotonic() - when > 3]
            if not done:
                return
            i = done[k % len(done)]
            token, headers["X-Queue-Pass"] = self.tokens[i], self.passes[i]
        if not self.free:
            return
        seat = self.free[0]
        if kind == "order_missing":
            url, body = (
                self.url(i, "orders/"),
                {
                    "showtime": self.showtime_id,
                    "seats": [seat],
                    "customer": CUSTOMER,
                    "payment_method": "card",
                },
            )
            headers["Idempotency-Key"] = secrets.token_hex(8)
        elif kind == "best_missing":
            url, body = self.url(i, f"showtimes/{self.showtime_id}/holds/best/"), {"quantity": 1}
        else:
            url, body = self.url(i, f"showtimes/{self.showtime_id}/holds/"), {"seats": [seat]}
        status, data = await self.http.call("probe", "POST", url, token, body, headers)
        code = (data or {}).get("error", {}) if isinstance(data, dict) else {}
        reason = (code.get("details") or {}).get("reason") if isinstance(code, dict) else None
        self.probes[
            (kind, status, code.get("code") if isinstance(code, dict) else None, reason)
        ] += 1
        if status in (200, 201):
            self.accepted_without_pass.append(f"{kind} user {self.user_ids[i]}: {str(data)[:200]}")


def flag(path: str) -> None:
    """Raise a flag between the processes (an empty file)."""
    Path(path).touch()


def flagged(path: str) -> bool:
    return Path(path).exists()


class Observer(RawWebSocket):
    """A socket of the observer process: records (receipt − at) of every ``queue.progress``."""

    def __init__(self, host: str, path: str, seen: list) -> None:
        super().__init__(host, path)
        self.seen = seen

    def message(self, message: bytes, now: float) -> None:
        if not self.ready.done():
            self.ready.set_result(self)
            return  # the figures at connect
        frame = json.loads(message)
        if frame.get("type") == "queue.progress" and frame.get("at"):
            self.seen.append((datetime.fromisoformat(frame["at"]).timestamp(), now))


async def observe(ws_urls: list[str], count: int, stop_file: str) -> list[tuple[float, float]]:
    seen: list[tuple[float, float]] = []
    sockets = []
    for i in range(count):
        sockets.append(
            await open_protocol(
                ws_urls[i % len(ws_urls)], lambda netloc, path: Observer(netloc, path, seen)
            )
        )
    flag(stop_file + ".ready")
    while not flagged(stop_file):  # noqa: ASYNC110
        await asyncio.sleep(0.2)
    for sock in sockets:
        sock.close()
    return seen


def observer_process(ws_urls: list[str], count: int, stop_file: str) -> list[tuple[float, float]]:
    """The observers: ``count`` sockets in a process of their own, so their receipt times do not
    wait behind the main client process's work on the other 10,000 sockets."""
    return asyncio.run(observe(ws_urls, count, stop_file))


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine (Linux /proc/stat)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def cpu_pressure() -> float | None:
    """Share of the last 60 s some runnable task waited for a CPU (Linux PSI), in %."""
    try:
        line = Path("/proc/pressure/cpu").read_text().split("\n", 1)[0]
        return float(line.split("avg60=")[1].split()[0])
    except (OSError, IndexError, ValueError):
        return None


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def live_run(args, urls, showtime_id, guids, user_ids, db, sampler_db) -> dict:
    loop = asyncio.get_running_loop()
    n = args.clients
    tally = Tally()
    path = {
        "queue": f"/ws/showtimes/{showtime_id}/queue/",
        "seatmap": f"/ws/showtimes/{showtime_id}/",
    }
    socket_kind = args.socket
    if socket_kind == "auto":  # the queue socket if the server has it
        socket_kind = "seatmap"
        try:
            probe = await open_client(
                urls[0].replace("http", "ws", 1) + path["queue"], None, -1, None
            )
            probe.close()
            socket_kind = "queue"
        except (OSError, RuntimeError, ConnectionError, TimeoutError):
            pass
    ws_urls = [u.replace("http", "ws", 1) + path[socket_kind] for u in urls]
    result: dict = {"socket": socket_kind, "socket_path": path[socket_kind]}

    tokens = await loop.run_in_executor(db, access_tokens, user_ids)
    # idle keep-alive connections closed before uvicorn's 5 s do (else a reused one may race
    # the server's close: ServerDisconnectedError)
    connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=3)
    async with aiohttp.ClientSession(connector=connector) as session:
        http = Http(session)
        buyers = Buyers(args, http, urls, showtime_id, guids, tokens, user_ids)

        # 1. the API sample joins the early pool
        gate = asyncio.Semaphore(16)

        async def join(i):
            async with gate:
                return await http.call(
                    "join",
                    "POST",
                    buyers.url(i, f"showtimes/{showtime_id}/queue/"),
                    tokens[i],
                )

        started = time.perf_counter()
        joined = await asyncio.gather(*(join(i) for i in range(args.api_joins)))
        result["api_join_seconds"] = round(time.perf_counter() - started, 2)
        result["api_joins_early"] = sum(
            1 for s, b in joined if s == 200 and b["state"] == "early" and b["position"] is None
        )

        # 2. the sockets; memory per queued client
        for url in ws_urls:
            for c in await asyncio.gather(
                *(open_client(url, None, -1, None) for _ in range(WARM_UP_SOCKETS))
            ):
                c.close()
        await asyncio.sleep(1)
        rss_before = [rss_kib(p.pid) for p in PROCESSES]
        clients: list[Client] = []
        failures: list[str] = []
        cgate = asyncio.Semaphore(args.connect_concurrency)

        async def connect(i):
            async with cgate:
                try:
                    clients.append(
                        await open_client(ws_urls[i % len(ws_urls)], tally, i, buyers.on_turn)
                    )
                except (OSError, RuntimeError, ConnectionError, TimeoutError) as exc:
                    failures.append(repr(exc))

        started = time.perf_counter()
        await asyncio.wait_for(asyncio.gather(*(connect(i) for i in range(n))), CONNECT_TIMEOUT)
        connect_seconds = time.perf_counter() - started
        await asyncio.sleep(2)
        rss_after = [rss_kib(p.pid) for p in PROCESSES]
        result.update(
            connected=len(clients),
            connect_failures=len(failures),
            connect_failure_examples=failures[:3],
            connect_per_second=round(len(clients) / connect_seconds, 1),
            server_rss_before_mib=[round(r / 1024, 1) for r in rss_before],
            server_rss_after_mib=[round(r / 1024, 1) for r in rss_after],
            kib_per_queued_client=round(
                (sum(rss_after) - sum(rss_before)) / max(1, len(clients)), 1
            ),
        )

        # 3. the on-sale: the draw of the places
        await loop.run_in_executor(db, start_onsale, showtime_id)
        started = time.perf_counter()
        while not (await loop.run_in_executor(db, queue_row, showtime_id))["shuffled"]:
            if time.perf_counter() - started > 120:
                raise SystemExit("the admitter did not draw the places within 120 s")
            await asyncio.sleep(0.05)
        result["draw_seen_after_seconds"] = round(time.perf_counter() - started, 2)
        places = await loop.run_in_executor(db, positions, showtime_id)
        api_places = await asyncio.gather(
            *(
                http.call(
                    "status", "GET", buyers.url(i, f"showtimes/{showtime_id}/queue/"), tokens[i]
                )
                for i in range(args.api_joins)
            )
        )
        result["api_sample_place_matches_db"] = sum(
            1
            for i, (s, b) in enumerate(api_places)
            if s == 200 and b["position"] == places[user_ids[i]]
        )
        for c in clients:
            c.position = places[user_ids[c.index]]
        by_position = sorted(clients, key=lambda c: c.position)
        waiting = [c.index for c in by_position[-max(1, n // 10) :]]  # never admitted in the run

        # the observers (their own process)
        stop_file = tempfile.mktemp(prefix="queue-bench-observers-")
        observer = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        observed = loop.run_in_executor(
            observer, observer_process, ws_urls, args.observers, stop_file
        )
        while not flagged(stop_file + ".ready"):
            if observed.done():
                observed.result()  # raises what failed
            await asyncio.sleep(0.1)

        # 4. the run
        cpu0 = sum(cpu_seconds(p.pid) for p in PROCESSES)
        own0, wall0 = own_cpu_seconds(), time.perf_counter()
        machine0 = machine_cpu()
        samples: list[int] = []
        tally.measuring = True
        t0 = time.time()
        await loop.run_in_executor(db, set_paused, showtime_id, False)
        late_users = await loop.run_in_executor(db, make_users, args.late_joins, n)
        late_tokens = await loop.run_in_executor(db, access_tokens, late_users)
        late: list[tuple[float, float, int]] = []  # (sent, answered, user id) of each join

        async def late_join(k):
            sent = time.time()
            status, _body = await http.call(
                "late_join",
                "POST",
                buyers.url(k, f"showtimes/{showtime_id}/queue/"),
                late_tokens[k],
            )
            if status == 200:
                late.append((sent, time.time(), late_users[k]))

        k = probes = 0
        next_sample = next_probe = next_late = time.monotonic()
        end = time.monotonic() + args.seconds
        late_every = args.seconds / max(1, args.late_joins)
        while time.monotonic() < end:
            now = time.monotonic()
            if now >= next_sample:
                next_sample += 0.5
                buyers.spawn(_sample(loop, sampler_db, showtime_id, samples))
            if now >= next_probe:
                next_probe += 0.2
                buyers.spawn(buyers.probe(probes, waiting))
                probes += 1
            if now >= next_late and k < args.late_joins:
                next_late += late_every
                buyers.spawn(late_join(k))
                k += 1
            await asyncio.sleep(0.05)
        t1 = time.time()
        buyers.stopping = True
        await loop.run_in_executor(db, set_paused, showtime_id, True)
        await asyncio.sleep(1.5)  # frames of the last step
        tally.measuring = False
        # the admitter gives a joiner its place at its next step (paused steps too)
        places = await loop.run_in_executor(db, positions, showtime_id)
        late_places = [(sent, answered, places.get(user)) for sent, answered, user in late]
        flag(stop_file)
        seen_by_observers = await observed
        observer.shutdown()
        for f in (stop_file, stop_file + ".ready"):
            os.unlink(f)
        cpu1 = sum(cpu_seconds(p.pid) for p in PROCESSES)
        own1, wall1 = own_cpu_seconds(), time.perf_counter()
        machine1 = machine_cpu()
        pressure = cpu_pressure()
        closed_early = sum(c.closed for c in clients)
        pending = list(buyers.tasks)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        for c in clients:
            c.close()

    # latency of a position update
    latencies: list[float] = []
    spread: list[float] = []
    receipts_by_frame: Counter = Counter()
    by_server: dict[int, list[float]] = {}
    first_receipt: list[float] = []
    for key, now, index in tally.deliveries:
        at = tally.parsed[key[0]][1]
        receipts_by_frame[key] += 1
        if at is not None:
            latencies.append((now - at) * 1000)
            by_server.setdefault(index % len(urls), []).append((now - at) * 1000)
        spread.append((now - tally.first_seen[key]) * 1000)
    for key in receipts_by_frame:
        at = tally.parsed[key[0]][1]
        if at is not None:
            first_receipt.append((tally.first_seen[key] - at) * 1000)
    frames = len(receipts_by_frame)
    observed_ms = [(now - at) * 1000 for at, now in seen_by_observers if t0 <= at <= t1 + 1]
    result.update(
        observers=args.observers,
        observer_update_latency_ms={
            "p50": percentile(observed_ms, 50),
            "p99": percentile(observed_ms, 99),
            "max": round(max(observed_ms), 1) if observed_ms else None,
            "deliveries": len(observed_ms),
        },
        client_cpu_us_per_delivery=round((own1 - own0) / max(1, len(tally.deliveries)) * 1e6, 1),
        t0=t0,
        t1=t1,
        seconds=round(t1 - t0, 1),
        frames_with_at=tally.have_at,
        frames_with_shuffled=tally.have_shuffled,
        frames_during_run=frames,
        deliveries=len(tally.deliveries),
        deliveries_per_frame_min=min(receipts_by_frame.values()) if frames else 0,
        update_latency_from_at_ms={
            "p50": percentile(latencies, 50),
            "p99": percentile(latencies, 99),
            "max": round(max(latencies), 1) if latencies else None,
        },
        update_spread_from_first_receipt_ms={
            "p50": percentile(spread, 50),
            "p99": percentile(spread, 99),
            "max": round(max(spread), 1) if spread else None,
        },
        update_latency_by_server_ms={
            urls[k]: {"p50": percentile(v, 50), "p99": percentile(v, 99)}
            for k, v in sorted(by_server.items())
        },
        first_receipt_after_at_ms={
            "p50": percentile(first_receipt, 50),
            "p99": percentile(first_receipt, 99),
            "max": round(max(first_receipt), 1) if first_receipt else None,
        },
        frame_active_max=max(tally.frames_active, default=None),
        sampled_active_max=max(samples, default=None),
        sampled_active=len(samples),
        turn_to_pass_ms={
            "p50": percentile(buyers.turn_to_pass_ms, 50),
            "p99": percentile(buyers.turn_to_pass_ms, 99),
        },
        behaviour=dict(buyers.behaviour),
        out_of_seats=buyers.no_seats,
        probes={"/".join(map(str, key)): v for key, v in sorted(buyers.probes.items(), key=str)},
        probes_total=sum(buyers.probes.values()),
        probes_refused_403=sum(v for key, v in buyers.probes.items() if key[1] == 403),
        accepted_without_pass=buyers.accepted_without_pass,
        http={f"{w} {s}": v for (w, s), v in sorted(http.codes.items())},
        http_p99_ms={w: percentile(v, 99) for w, v in http.latency.items()},
        http_5xx=len(http.fivexx),
        http_5xx_examples=http.fivexx[:5],
        client_task_errors=len(buyers.errors),
        client_task_error_examples=buyers.errors[:5],
        late_joins=len(late),
        # first come, first served: a join sent after another was answered has a later place
        late_join_fifo_violations=sum(
            1
            for a in late_places
            for b in late_places
            if a[1] < b[0] and a[2] is not None and b[2] is not None and a[2] > b[2]
        ),
        late_join_places_after_early_pool=all(p is not None and p > n for _s, _a, p in late_places),
        closed_by_server=closed_early,
        server_cpu_percent=round((cpu1 - cpu0) / (wall1 - wall0) * 100),
        client_cpu_percent=round((own1 - own0) / (wall1 - wall0) * 100),
        machine_cpu_busy_percent=round(
            (machine1[0] - machine0[0]) / max(1, machine1[1] - machine0[1]) * 100
        ),
        machine_cpu_pressure_avg60=pressure,
        cores=os.cpu_count(),
        loadavg_after_run=os.getloadavg(),
    )
    return result


async def _sample(loop, sampler_db, showtime_id, samples) -> None:
    samples.append(await loop.run_in_executor(sampler_db, active_now, showtime_id))


def raise_open_files(clients: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = clients + 2048  # this process's sockets; each server inherits it and holds half
    if soft < wanted:
        new = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
        if new < wanted:
            print(f"warning: open files limited to {new}; {clients} clients may not all connect")


def ensure_database(url: str | None) -> None:
    """Create the benchmark database when it does not exist (PostgreSQL)."""
    if not url or not url.startswith("postgres"):
        return
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1],
    )
    parser.add_argument("--database-url", required=True, help="PostgreSQL (SKIP LOCKED)")
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--rate", type=int, default=600, help="admissions per minute (the cap)")
    parser.add_argument("--target", type=int, default=200, help="target of active buyers")
    parser.add_argument("--api-joins", type=int, default=200, help="early joins through the API")
    parser.add_argument(
        "--late-joins", type=int, default=60, help="joins through the API in the run"
    )
    parser.add_argument(
        "--observers", type=int, default=100, help="extra sockets in a process of their own"
    )
    parser.add_argument("--socket", choices=["auto", "queue", "seatmap"], default="auto")
    parser.add_argument("--connect-concurrency", type=int, default=100)
    parser.add_argument("--fair-db-runs", type=int, default=100)
    parser.add_argument("--fair-pure-runs", type=int, default=2000)
    parser.add_argument("--fair-n", type=int, default=1000, help="early entries per fairness run")
    parser.add_argument("--quick", action="store_true", help="smoke test: small and short")
    parser.add_argument(
        "--fair-only", action="store_true", help="only the draws on the database (--fair-db-runs)"
    )
    parser.add_argument("--out", default="queue")
    args = parser.parse_args(argv)
    if args.quick:
        args.clients, args.seconds, args.target = min(args.clients, 200), min(args.seconds, 10), 40
        args.api_joins, args.late_joins = min(args.api_joins, 20), min(args.late_joins, 5)
        args.observers = min(args.observers, 10)
        args.fair_db_runs, args.fair_pure_runs, args.fair_n = 3, 100, 200
    if not (
        10 <= args.clients <= 20_000
        and 0 < args.seconds <= 300
        and 1 <= args.rate <= 60_000
        and args.api_joins <= args.clients
        and 20 <= args.fair_n <= 100_000
        and args.fair_db_runs <= 5_000
    ):
        parser.error("bounded: 10 ≤ --clients ≤ 20,000, 0 < --seconds ≤ 300, --fair-n ≥ 20")
    require_loopback(parser, args.database_url, args.redis_url)
    raise_open_files(args.clients)
    os.environ.setdefault("REDIS_PREFIX", f"bench-queue-{os.getpid()}")
    os.environ["RATELIMIT_ENABLE"] = "false"
    ensure_database(args.database_url)
    setup_django(args.database_url, args.redis_url)
    load0 = os.getloadavg()

    if args.fair_only:
        return fair_only(args, load0)
    showtime_id, guids = queue_showtime(args.target, args.rate, window=300)
    user_ids = make_users(args.clients)
    bulk_join(showtime_id, user_ids[args.api_joins :])
    analyze()
    close_db()
    urls = start_servers(args.workers, "uvicorn")
    db, sampler_db = ThreadPoolExecutor(1), ThreadPoolExecutor(1)
    try:
        live = asyncio.run(live_run(args, urls, showtime_id, guids, user_ids, db, sampler_db))
    finally:
        for executor in (db, sampler_db):
            executor.submit(close_db).result()
            executor.shutdown()
        for proc in list(PROCESSES):
            proc.terminate()
            proc.wait(10)
            PROCESSES.remove(proc)
    checks = db_checks(showtime_id, args.target, args.rate, live["t0"], live["t1"])
    live_draw = checks.pop("live_draw")
    checks["admitter_step_after_run"] = step_cost(showtime_id)
    switch_off(showtime_id)  # later servers on this database do not tick it

    fair_db, fair_pure, fair_live, biased = Fairness(), Fairness(), Fairness(), Fairness()
    if len(live_draw) >= 20:
        fair_live.add(live_draw)
    started = time.perf_counter()
    draw_seconds = fairness_db(args.fair_db_runs, args.fair_n, fair_db)
    db_seconds = time.perf_counter() - started
    fairness_pure(args.fair_pure_runs, args.fair_n, fair_pure)
    rng = random.Random(7)
    for _ in range(max(20, args.fair_pure_runs // 10)):
        biased.add(biased_shuffle(args.fair_n, rng, edge=0.02))
    fairness = {
        "db": {**fair_db.report(), "n": args.fair_n, "seconds_per_draw": round(draw_seconds, 3)},
        "pure": {**fair_pure.report(), "n": args.fair_n},
        "live_draw": {**fair_live.report(), "n": len(live_draw)},
        "biased_2pct_power_check": {**biased.report(), "n": args.fair_n},
        "db_phase_seconds": round(db_seconds, 1),
    }
    meta = {
        "at": datetime.now().astimezone().isoformat(),
        "args": vars(args),
        "workers": args.workers,
        "server": "uvicorn --ws wsproto --ws-per-message-deflate false",
        "loadavg_before": load0,
        "loadavg_after": os.getloadavg(),
    }
    row = {"live": live, "db": checks, "fairness": fairness}
    path = write_results(args.out, [row], meta)
    print_summary(args, live, checks, fairness)
    print(f"written {path}")
    failed = (
        live["http_5xx"]
        or checks["holds_without_pass"]
        or checks["orders_without_pass"]
        or live["accepted_without_pass"]
        or checks["max_active"] > args.target
        or (checks["bucket_bound_worst_excess"] or 0) > 1e-6
        or not checks["admitted_places_exactly_1_to_up_to"]
        or live["late_join_fifo_violations"]
        or not live["late_join_places_after_early_pool"]
        or live["connect_failures"]
        or live["client_task_errors"]
    )
    if failed:
        print("FAILED: see above")
    return 1 if failed else 0


def fair_only(args, load0) -> int:
    """``--fair-only``: the fairness test on the database alone (no servers, no live run)."""
    fair = Fairness()
    draw_seconds = fairness_db(args.fair_db_runs, args.fair_n, fair)
    report = {**fair.report(), "n": args.fair_n, "seconds_per_draw": round(draw_seconds, 3)}
    meta = {
        "at": datetime.now().astimezone().isoformat(),
        "args": vars(args),
        "loadavg_before": load0,
        "loadavg_after": os.getloadavg(),
    }
    path = write_results(args.out, [{"fairness": {"db": report}}], meta)
    print(
        f"fairness db: {report['runs']} × {args.fair_n}: mean ρ {report['mean_rho']} (p "
        f"{report['p_mean_rho']}), sd ρ {report['sd_rho']} (p {report['p_spread']}), decile χ² "
        f"{report['decile_chi2']}/{report['decile_df']} (p {report['p_decile']})"
    )
    print(f"written {path}")
    return 0


def print_summary(args, live, checks, fairness) -> None:
    lat = live["update_latency_from_at_ms"]
    spread = live["update_spread_from_first_receipt_ms"]
    print(
        f"clients {live['connected']}/{args.clients} on {args.workers} processes "
        f"({live['socket']} socket {live['socket_path']}), {live['connect_per_second']} conn/s, "
        f"{live['kib_per_queued_client']} KiB per queued client "
        f"(RSS {live['server_rss_before_mib']} → {live['server_rss_after_mib']} MiB)"
    )
    print(
        f"draw of {args.clients} places seen after {live['draw_seen_after_seconds']} s; API sample "
        f"{live['api_sample_place_matches_db']}/{args.api_joins} places match the database"
    )
    print(
        f"admission: {checks['admitted']} admitted in {live['seconds']} s at cap {args.rate}/min "
        f"(first 60 s: {checks['admitted_in_first_60s']}, cap+burst "
        f"{checks['cap_first_minute_with_burst']}); per 10 s {checks['admitted_per_10s']}; bucket "
        f"bound worst excess {checks['bucket_bound_worst_excess']} over "
        f"{checks['admission_instants']} instants (gaps {checks['admission_gap_ms']}); "
        f"places 1…{checks['admitted_up_to']} exactly: "
        f"{checks['admitted_places_exactly_1_to_up_to']}"
    )
    print(
        f"admitter step with {args.clients} entries: {checks['admitter_step_after_run']}\n"
        f"active: max {checks['max_active']} (exact, from the entries) / "
        f"{live['frame_active_max']} (frames) / {live['sampled_active_max']} "
        f"({live['sampled_active']} samples) against target {args.target}; finished "
        f"{checks['finished']}"
    )
    print(
        f"position update latency (receipt − at): p50 {lat['p50']} p99 {lat['p99']} max "
        f"{lat['max']} ms; spread from first receipt p50 {spread['p50']} p99 {spread['p99']} "
        f"max {spread['max']} ms; {live['frames_during_run']} frames, {live['deliveries']} "
        f"deliveries (frames carry at: {live['frames_with_at']}); first receipt − at "
        f"{live['first_receipt_after_at_ms']}; by server {live['update_latency_by_server_ms']}"
    )
    obs = live["observer_update_latency_ms"]
    print(
        f"position update latency at {live['observers']} observer sockets (own process): p50 "
        f"{obs['p50']} p99 {obs['p99']} max {obs['max']} ms over {obs['deliveries']} deliveries; "
        f"main client {live['client_cpu_us_per_delivery']} µs CPU per delivery"
    )
    print(f"HTTP p99 ms {live['http_p99_ms']}; answers {live['http']}")
    print(
        f"holds {checks['holds']}, orders {checks['orders']}: without a pass "
        f"{checks['holds_without_pass']} / {checks['orders_without_pass']} (entries stamped "
        f"finished before the order that finished them: "
        f"{checks['finished_before_the_order_that_finished_it']}); probes "
        f"{live['probes_refused_403']}/{live['probes_total']} refused 403, accepted "
        f"{len(live['accepted_without_pass'])}; 5xx {live['http_5xx']}; behaviour "
        f"{live['behaviour']}"
    )
    print(
        f"late joins {live['late_joins']}: out of arrival order "
        f"{live['late_join_fifo_violations']}, after the early pool "
        f"{live['late_join_places_after_early_pool']}; server CPU {live['server_cpu_percent']} %, "
        f"client CPU {live['client_cpu_percent']} %, machine {live['machine_cpu_busy_percent']} % "
        f"busy of {live['cores']} cores (CPU pressure avg60 {live['machine_cpu_pressure_avg60']} "
        f"%), closed by server {live['closed_by_server']}"
    )
    for name, f in fairness.items():
        if isinstance(f, dict) and f.get("runs"):
            print(
                f"fairness {name}: {f['runs']} × {f['n']}: mean ρ {f['mean_rho']} (p "
                f"{f['p_mean_rho']}), sd ρ {f['sd_rho']} vs {round(1 / math.sqrt(f['n'] - 1), 5)} "
                f"(p {f['p_spread']}), decile χ² {f['decile_chi2']}/{f['decile_df']} (p "
                f"{f['p_decile']}), first decile → first places {f['first_decile_in_first_place_decile']}"
            )


if __name__ == "__main__":
    raise SystemExit(main())
