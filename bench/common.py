"""Shared pieces of the benchmarks: Django set-up against the benchmark database, a showtime on a
real plan, buyers with JWTs, server processes, percentiles and the final double-sale check.

Loopback only: every URL is 127.0.0.1.
"""

from __future__ import annotations

import atexit
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED_PLAN = ROOT.parent / "shared" / "venues" / "riethsporthalle.json"
RESULTS = Path(__file__).resolve().parent / "results"
PROCESSES: list[subprocess.Popen] = []  # server processes started by start_servers()


_layouts: dict[str, dict] = {}  # layout URL → layout (immutable per URL)


def snapshot_states(frame: dict, http_base: str) -> dict[str, tuple[str, int]]:
    """``{seat id: (status, version)}`` of a ``snapshot`` frame in either form (docs/realtime.md
    "Snapshot forms"): the full list as it is; the live form (the default) decoded through the
    plan's layout, fetched from ``http_base`` (``http://host:port``) once per version, as the
    seat map page does. Blocks while it fetches a layout."""
    if "seats" in frame:
        return {s["id"]: (s["status"], s["version"]) for s in frame["seats"]}
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from seats.livecodec import decode_live  # the server's own decoder (no Django needed)

    url = http_base + frame["layout"]["url"]
    if url not in _layouts:
        with urllib.request.urlopen(url, timeout=60) as answer:
            _layouts[url] = json.loads(answer.read())
    live = frame["live"]
    pairs = decode_live(live["data"], live["count"])
    return dict(zip(_layouts[url]["seats"]["id"], pairs, strict=True))


HANDSHAKE_TIMEOUT = 60  # seconds for one benchmark socket to finish its handshake (or snapshot)


async def open_protocol(url: str, factory):
    """Connect a raw asyncio protocol (the benchmarks' minimal WebSocket clients) to
    ``ws://host:port/path``: ``factory(netloc, path)`` makes it; returns what its ``ready`` future
    gives (after the handshake), within ``HANDSHAKE_TIMEOUT`` seconds, closing it on failure."""
    import asyncio
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    _, protocol = await asyncio.get_running_loop().create_connection(
        lambda: factory(parts.netloc, parts.path), parts.hostname, parts.port
    )
    try:
        return await asyncio.wait_for(protocol.ready, HANDSHAKE_TIMEOUT)
    except BaseException:
        protocol.close()
        raise


def http_base_of(url: str) -> str:
    """``http://host:port`` of a ``ws://`` or ``http://`` URL."""
    scheme, _, rest = url.partition("://")
    return ("https" if scheme in ("wss", "https") else "http") + "://" + rest.split("/", 1)[0]


# What a browser (Chrome 131, no cookie) sends with its upgrade request: the server keeps the
# headers for the life of the connection, so they count in its memory per connection.
BROWSER_HEADERS = (
    "Connection: Upgrade\r\nPragma: no-cache\r\nCache-Control: no-cache\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36\r\nUpgrade: websocket\r\nOrigin: http://127.0.0.1\r\n"
    "Sec-WebSocket-Version: 13\r\nAccept-Encoding: gzip, deflate, br, zstd\r\n"
    "Accept-Language: en-US,en;q=0.9\r\n"
)


def require_loopback(parser, *urls: str | None) -> None:
    """Stop with a usage error unless every URL given points at this machine (loopback)."""
    for url in urls:
        if url and "127.0.0.1" not in url and "localhost" not in url:
            parser.error(f"loopback only: {url}")


def setup_django(database_url: str | None, redis_url: str | None) -> None:
    """Point Django at the benchmark database/Redis and set it up (in this process)."""
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    if redis_url:
        os.environ["REDIS_URL"] = redis_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ticketing.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def plan_raw() -> tuple[bytes, dict[str, Decimal], str]:
    """The plan to benchmark on: the shared Riethsporthalle plan when present (1,252 seats), else
    the project's own demo arena."""
    if SHARED_PLAN.exists():
        return (
            SHARED_PLAN.read_bytes(),
            {
                "Kategorie I": Decimal("35.00"),
                "Kategorie II": Decimal("25.00"),
                "VIP": Decimal("80.00"),
            },
            "Riethsporthalle",
        )
    from seats.demo_plan import build_demo_plan

    return (
        json.dumps(build_demo_plan()).encode(),
        {"Ringside": Decimal("250.00"), "Club": Decimal("120.00"), "Stadium": Decimal("45.00")},
        "Harbour Arena",
    )


def new_showtime(hold_ttl: int = 300, max_seats: int = 10):
    """A fresh showtime (all seats available) on the benchmark plan; returns ``(showtime,
    [seat guids in plan order])``."""
    from django.utils import timezone

    from seats.importer import plan_import
    from seats.models import SeatingPlan, Show, ShowtimeSeat
    from seats.services import showtime_create

    raw, prices, venue = plan_raw()
    plan = SeatingPlan.objects.filter(venue__name=f"Bench {venue}").first()
    if plan is None:
        plan = plan_import(raw=raw, venue_name=f"Bench {venue}")
    show, _ = Show.objects.get_or_create(title="Benchmark night")
    showtime = showtime_create(
        show=show,
        plan=plan,
        starts_at=timezone.now() + timedelta(days=30),
        prices=prices,
        hold_ttl=hold_ttl,
        max_seats_per_order=max_seats,
    )
    from django.db import connection

    if connection.vendor == "postgresql":
        # Planner statistics, as autovacuum keeps them on a real server (it is off on the
        # benchmark machine): without them PostgreSQL plans the hot statements blind, and a
        # prepared statement's generic plan can be far worse than the custom one (issue #20).
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    guids = [
        str(g)
        for g in ShowtimeSeat.objects.filter(showtime=showtime)
        .order_by("seat_id")
        .values_list("seat__guid", flat=True)
    ]
    return showtime, guids


def buyers(n: int) -> list[str]:
    """``n`` buyer accounts (made once, reused) and a fresh JWT access token for each."""
    from django.contrib.auth import get_user_model
    from rest_framework_simplejwt.tokens import RefreshToken

    User = get_user_model()
    tokens = []
    for i in range(n):
        user, created = User.objects.get_or_create(
            username=f"bench-buyer-{i}", defaults={"email": f"b{i}@example.com"}
        )
        if created:
            user.set_unusable_password()
            user.save()
        tokens.append(str(RefreshToken.for_user(user).access_token))
    return tokens


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serving(proc: subprocess.Popen, port: int, what: str, timeout: float) -> str:
    """Register ``proc`` (stopped at exit, its CPU counted: :data:`PROCESSES`) and wait until
    it answers ``/api/v1/health/`` on ``port``; its URL. Exits if it dies or ``timeout`` passes."""
    atexit.register(lambda p=proc: (p.terminate(), p.wait(10)))
    PROCESSES.append(proc)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(f"{url}/api/v1/health/", timeout=5)
            return url
        except Exception as exc:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit(f"{what} on port {port} did not start") from exc
            time.sleep(0.2)


def procfile_web() -> str:
    """The Procfile's ``web`` command, as shipped."""
    line = next(ln for ln in (ROOT / "Procfile").read_text().splitlines() if ln.startswith("web:"))
    return line.removeprefix("web:").strip()


def start_procfile_web(workers: int, env: dict | None = None) -> list[str]:
    """Start the Procfile's ``web`` command as a deployment runs it (``bash -c``, ``PORT``,
    ``WEB_CONCURRENCY=workers``: one supervisor, ``workers`` worker processes on one port), with
    its access log as shipped; stopped at exit. Returns its one URL."""
    port = free_port()
    proc = subprocess.Popen(
        ["bash", "-c", "exec " + procfile_web()],
        cwd=ROOT,
        env={
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
            "PORT": str(port),
            "WEB_CONCURRENCY": str(workers),
            "RATELIMIT_ENABLE": "false",
            "LOG_LEVEL": "WARNING",
            **(env or {}),
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return [serving(proc, port, "the Procfile's web", timeout=60)]


def start_servers(
    count: int, server: str = "daphne", env: dict | None = None, extra_args: Sequence[str] = ()
) -> list[str]:
    """Start ``count`` server processes (daphne, uvicorn, or gunicorn for HTTP only) on loopback,
    each with ``extra_args`` before the application (e.g. ``--ws wsproto``, ``--threads 4``);
    stopped at exit. ``server="procfile"``: the Procfile's ``web`` command with ``count`` workers
    (:func:`start_procfile_web`; ``extra_args`` do not apply), one URL."""
    if server == "procfile":
        return start_procfile_web(count, env)
    urls = []
    for _ in range(count):
        port = free_port()
        cmd = (
            [
                sys.executable,
                "-m",
                "daphne",
                "-b",
                "127.0.0.1",
                "-p",
                str(port),
                *extra_args,
                "ticketing.asgi:application",
            ]
            if server == "daphne"
            # HTTP only (WSGI): one gunicorn process per server, gthread workers in it
            else [
                sys.executable,
                "-m",
                "gunicorn",
                "-b",
                f"127.0.0.1:{port}",
                "-k",
                "gthread",
                "--log-level",
                "warning",
                *extra_args,
                "ticketing.wsgi:application",
            ]
            if server == "gunicorn"
            else [
                sys.executable,
                "-m",
                "uvicorn",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--no-access-log",
                "--ws",
                "wsproto",
                "--ws-per-message-deflate",
                "false",
                *extra_args,
                "ticketing.asgi:application",
            ]
        )
        proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env={**os.environ, "RATELIMIT_ENABLE": "false", "LOG_LEVEL": "WARNING", **(env or {})},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = serving(proc, port, server, timeout=30)
        urls.append(url)
    return urls


def percentile(values: list[float], pct: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))], 1)


def double_sales(showtime_id: int) -> int:
    """Seats of the showtime with more than one live claim (must be 0), plus seats whose status
    disagrees with their live claim."""
    from django.db.models import Count

    from seats.models import SeatClaim, ShowtimeSeat

    doubled = (
        SeatClaim.objects.filter(showtime_seat__showtime_id=showtime_id, is_live=True)
        .values("showtime_seat_id")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .count()
    )
    claimed = set(
        SeatClaim.objects.filter(showtime_seat__showtime_id=showtime_id, is_live=True).values_list(
            "showtime_seat_id", flat=True
        )
    )
    sold = set(
        ShowtimeSeat.objects.filter(showtime_id=showtime_id, status="sold").values_list(
            "pk", flat=True
        )
    )
    return doubled + len(sold - claimed)


def write_results(name: str, rows: list[dict], meta: dict) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({"meta": meta, "results": rows}, indent=2, default=str))
    return path


def rss_kib(pid: int) -> int:
    """Resident memory of a process in KiB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0
