"""Fixtures shared by every app's tests: users, API clients, a small plan, showtimes, a clock.

Tests run against the database of the settings: the SQLite file by default, PostgreSQL when
``DATABASE_URL`` is set (``.ci/run`` does both); never mocks of either.
"""

import os
import threading
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

SHARED_VENUES = Path(__file__).resolve().parent.parent / "shared" / "venues"


# Thai month and day names as Django's Thai formats write them (issue #17's tests of dates).
THAI_MONTHS = [
    "มกราคม", "กุมภาพันธ์", "มีนาคม", "เมษายน", "พฤษภาคม", "มิถุนายน",
    "กรกฎาคม", "สิงหาคม", "กันยายน", "ตุลาคม", "พฤศจิกายน", "ธันวาคม",
]  # fmt: skip
THAI_DAYS = ["จันทร์", "อังคาร", "พุธ", "พฤหัสบดี", "ศุกร์", "เสาร์", "อาทิตย์"]  # Monday first


def small_plan(rows: int = 2, seats_per_row: int = 5, categories=("Front", "Back")) -> dict:
    """A pretix plan: one zone "Hall", ``rows`` rows "A", "B", … of ``seats_per_row`` seats;
    row i uses category ``categories[i % len]``. Seat guids are deterministic."""
    import uuid

    ns = uuid.UUID("6f1b7a8e-0000-4000-8000-000000000000")
    return {
        "name": "Small hall",
        "categories": [{"name": c, "color": "#123456"} for c in categories],
        "size": {"width": 40 * seats_per_row, "height": 40 * rows},
        "zones": [
            {
                "name": "Hall",
                "position": {"x": 0, "y": 0},
                "rows": [
                    {
                        "row_number": chr(65 + r),
                        "position": {"x": 0, "y": 40 * r},
                        "seats": [
                            {
                                "seat_number": str(n + 1),
                                "seat_guid": str(uuid.uuid5(ns, f"{r}-{n}")),
                                "position": {"x": 30 * n, "y": 0},
                                "category": categories[r % len(categories)],
                            }
                            for n in range(seats_per_row)
                        ],
                    }
                    for r in range(rows)
                ],
            }
        ],
    }


@pytest.fixture(autouse=True)
def _test_settings(settings):
    """Rate limits are tested on purpose only (``RATELIMIT_ENABLE`` back on in that test); a fast
    password hasher keeps user creation cheap."""
    settings.RATELIMIT_ENABLE = False
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Frames leave as soon as they can, so in-process tests see one frame per change; the
    # interval has its own test (realtime/tests/test_outbox.py). Server processes keep the default.
    settings.REALTIME_FRAME_INTERVAL_SECONDS = 0
    # No background sweep of abandoned holds in the test process (its tests call
    # hold_abandon_due, or run server processes, which keep the default).
    settings.ABANDON_SWEEP_SECONDS = 0
    # Nor the waiting room's admitter: its tests call the steps (server processes keep it on).
    settings.QUEUE_ADMITTER_IN_WEB = False


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in ``LANGUAGE_CODE``: a request answered in Thai leaves Thai active in
    the thread (the test client runs requests in it), and the services' messages follow the
    active language (issue #17)."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _fresh_redis_state():
    """Each test starts with the Redis circuit breaker closed, no local seq numbering left
    by an earlier test that stopped its own Redis, and the counters of ``GET stats/`` at zero
    (process-wide state)."""
    from core import counters, redisguard
    from realtime import presence, sequence

    redisguard.breaker.close()
    sequence.reset_local_state()
    presence.reset_local_state()
    counters.reset()
    yield
    redisguard.breaker.close()


@pytest.fixture
def shared_venues() -> Path:
    """``../shared/venues``; its plans may not be copied into the project (SOURCES.md), so tests
    read them there. Absent on a user's machine (skipped), always present in CI (required)."""
    if not SHARED_VENUES.is_dir():
        if os.environ.get("CI"):
            raise AssertionError(f"{SHARED_VENUES} is missing in CI")
        pytest.skip("../shared/venues is not next to this checkout")
    return SHARED_VENUES


@pytest.fixture(scope="session")
def arena_plan() -> dict:
    """The 20,000-seat Seatline Arena plan (``seats/arena_plan.py``), built once per session;
    shared, so a test that changes it works on ``copy.deepcopy(arena_plan)``."""
    from seats.arena_plan import build_arena_plan

    return build_arena_plan()


@pytest.fixture
def arena_showtime(request, arena_plan):
    """An on-sale showtime in three days on the imported :func:`arena_plan` (20,000 seats and
    the standing floor), a price in EUR per category. Works with ``db`` and with
    ``transactional_db`` (e.g. through ``asgi_server``): it requests ``transactional_db`` when
    the test uses it, ``live_server`` or ``django_db(transaction=True)``, else ``db``."""
    from seats.importer import plan_import
    from seats.models import Show
    from seats.services import showtime_create

    marker = request.node.get_closest_marker("django_db")
    transactional = bool(
        {"transactional_db", "live_server"} & set(request.fixturenames)
        or (marker and marker.kwargs.get("transaction", marker.args[0] if marker.args else False))
    )
    request.getfixturevalue("transactional_db" if transactional else "db")
    plan = plan_import(raw=arena_plan, venue_name="Arena test venue")
    prices = {c["name"]: Decimal(150 - 20 * i) for i, c in enumerate(arena_plan["categories"])}
    return showtime_create(
        show=Show.objects.create(title="Arena Test Night"),
        plan=plan,
        starts_at=timezone.now() + timedelta(days=3),
        prices=prices,
    )


@pytest.fixture
def make_user(db):
    counter = iter(range(1, 10_000))

    def make(username=None, staff=False):
        name = username or f"buyer{next(counter)}"
        return get_user_model().objects.create_user(
            username=name,
            email=f"{name}@example.com",
            password="Secret-pass-123",
            is_staff=staff,
        )

    return make


@pytest.fixture
def staff(make_user):
    """A staff member with every permission (``make_user(staff=True)`` is staff only)."""
    user = make_user("boxoffice", staff=True)
    user.is_superuser = True
    user.save()
    return user


@pytest.fixture
def staff_client(staff):
    """Django's test client signed in as :func:`staff` (the admin and staff pages)."""
    from django.test import Client

    client = Client()
    client.force_login(staff)
    return client


def messages_of(response) -> list[str]:
    """The Django messages a response carried (admin action reports)."""
    from django.contrib.messages import get_messages

    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def buyer(make_user):
    return make_user("alice")


@pytest.fixture
def other_buyer(make_user):
    return make_user("bob")


def client_for(user) -> APIClient:
    """An API client signed in as ``user`` with a real JWT (``Authorization: Bearer``)."""
    from rest_framework_simplejwt.tokens import RefreshToken

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


@pytest.fixture
def api(buyer):
    return client_for(buyer)


@pytest.fixture
def other_api(other_buyer):
    return client_for(other_buyer)


@pytest.fixture
def make_showtime(db):
    """Create a showtime on a small plan: ``make_showtime(rows=2, seats_per_row=5, **fields)``."""
    from seats.importer import plan_import
    from seats.models import Show
    from seats.services import showtime_create

    made = iter(range(1, 10_000))

    def make(rows=2, seats_per_row=5, prices=None, **fields):
        plan = plan_import(raw=small_plan(rows, seats_per_row), venue_name=f"Venue {next(made)}")
        show = Show.objects.create(title="Test Night")
        return showtime_create(
            show=show,
            plan=plan,
            starts_at=timezone.now() + timedelta(days=3),
            prices=prices or {"Front": Decimal("80.00"), "Back": Decimal("40.00")},
            **fields,
        )

    return make


@pytest.fixture
def showtime(make_showtime):
    return make_showtime()


def seat_labels(showtime) -> dict[str, str]:
    """``{guid: label}`` of a showtime's seats (the ``label`` that ``seats.changed`` frames
    carry next to each seat id)."""
    from seats.models import ShowtimeSeat

    return {
        str(guid): label
        for guid, label in ShowtimeSeat.objects.filter(showtime=showtime).values_list(
            "seat__guid", "seat__label"
        )
    }


def seat_guids(showtime, n=None) -> list[str]:
    """The guids of a showtime's seats in plan order (the first ``n``)."""
    from seats.models import ShowtimeSeat

    guids = [
        str(g)
        for g in ShowtimeSeat.objects.filter(showtime=showtime)
        .order_by("seat_id")
        .values_list("seat__guid", flat=True)
    ]
    return guids if n is None else guids[:n]


def snapshot_states(frame: dict, layout: dict | None = None) -> dict[str, tuple[str, int]]:
    """``{guid: (status, version)}`` of a ``snapshot`` frame (WebSocket) or a live snapshot
    (``GET showtimes/{id}/live/``), either form: a full frame's ``seats`` list as it is, a live
    form decoded through its layout (``layout``: the layout JSON, e.g. fetched from a server
    process; else this process's cached layout of the frame's version, which the in-process
    server built to encode the frame, so no query is made)."""
    from seats.layout import plan_layout
    from seats.livecodec import decode_live

    if "seats" in frame:
        return {s["id"]: (s["status"], s["version"]) for s in frame["seats"]}
    live = frame["live"]
    if layout is None:
        plan_id = int(frame["layout"]["url"].strip("/").split("/")[-3])
        layout = plan_layout(plan_id, live["layout"]).data()
    assert layout["version"] == live["layout"] == frame["layout"]["version"], (layout, live)
    assert live["encoding"] == "varint-base64" and live["count"] == layout["seats"]["count"]
    return dict(zip(layout["seats"]["id"], decode_live(live["data"], live["count"]), strict=True))


@pytest.fixture
def clock(monkeypatch):
    """Move the application's clock: ``clock.advance(seconds)``. Patches ``timezone.now``, which
    every service, selector and ``auto_now_add`` field reads."""
    real_now = timezone.now

    class Clock:
        offset = timedelta()

        def advance(self, seconds: float):
            self.offset += timedelta(seconds=seconds)

        def now(self):
            return real_now() + self.offset

    c = Clock()
    monkeypatch.setattr(timezone, "now", c.now)
    return c


def run_threads(n: int, target, *args) -> list:
    """Run ``target(i, *args)`` in ``n`` real threads started together; each thread uses its own
    database connection, closed at the end. Returns the results (or raised exceptions) by index."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def work(i):
        try:
            barrier.wait()
            results[i] = target(i, *args)
        except BaseException as exc:  # collected and asserted on by the test
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


@pytest.fixture(scope="session", autouse=True)
def _close_connection_pool(django_db_setup, django_db_blocker):
    """Close the psycopg pool (PostgreSQL) before the test database is dropped; the threads of the
    concurrency tests leave their connections in it."""
    yield
    from django.db import connections

    with django_db_blocker.unblock():
        for conn in connections.all():
            if getattr(conn, "pool", None) is not None:
                conn.close_pool()  # type: ignore[attr-defined]  # PostgreSQL's (Django 5.1+), not in the stubs


def assert_inventory_consistent(showtime) -> dict:
    """Check domain.md invariant 1 and the seat/claim agreement in the database; return the
    number of seats per stored status.

    - no showtime seat has two live claims;
    - ``held`` ⇔ a live claim of an active hold with no order, expiring with the hold;
    - ``reserved`` ⇔ a live claim of a pending order, expiring with the order;
    - ``sold`` ⇔ a live claim of a paid order; ``available``/``blocked`` ⇔ no live claim.
    """
    from seats.models import SeatClaim, ShowtimeSeat

    live: dict[int, SeatClaim] = {}
    for live_claim in SeatClaim.objects.filter(
        showtime_seat__showtime=showtime, is_live=True
    ).select_related("hold", "order"):
        seat_id = live_claim.showtime_seat_id
        assert seat_id not in live, f"two live claims on seat {seat_id}"
        live[seat_id] = live_claim
    counts: dict = {}
    for seat in ShowtimeSeat.objects.filter(showtime=showtime):
        counts[seat.status] = counts.get(seat.status, 0) + 1
        claim = live.get(seat.pk)
        where = f"seat {seat.pk} ({seat.status})"
        if seat.status in ("available", "blocked"):
            assert claim is None, where
            assert seat.expires_at is None, where
        elif seat.status == "held":
            assert claim and claim.order is None and claim.hold.status == "active", where
            assert seat.expires_at == claim.hold.expires_at, where
        elif seat.status == "reserved":
            assert claim and claim.order and claim.order.status == "pending", where
            assert seat.expires_at == claim.order.expires_at, where
        else:
            assert seat.status == "sold" and claim and claim.order, where
            assert claim.order.status == "paid", where
    return counts


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_serving(proc, url: str, log, timeout: float = 30, ready_status: int = 200) -> str:
    """Wait until the server ``proc`` (started by a test, its output in ``log``) answers
    ``{url}/api/v1/health/`` with 200 or ``ready_status``; return ``url``. Raises RuntimeError when
    it exits first, answers another status, or is not serving within ``timeout`` seconds."""
    import time
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(f"{url}/api/v1/health/", timeout=15)
            return url
        except urllib.error.HTTPError as answer:  # serving, but not healthy
            if answer.code == ready_status:
                return url
            raise RuntimeError(f"{url} answered {answer.code}; see {log.name}") from None
        except Exception as exc:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not start; see {log.name}") from exc
            time.sleep(0.2)


def procfile_web_command() -> str:
    """The Procfile's ``web`` command line, as a shell runs it (``$PORT``, ``$WEB_CONCURRENCY``)."""
    procfile = (Path(__file__).resolve().parent / "Procfile").read_text()
    line = next(ln for ln in procfile.splitlines() if ln.startswith("web:"))
    return line.removeprefix("web:").strip()


def database_url_of_test_db() -> str:
    """A ``DATABASE_URL`` naming the database the tests use now (the test database)."""
    from django.db import connection as conn

    s = conn.settings_dict
    if conn.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    return f"postgres://{s['USER'] or 'postgres'}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture
def asgi_server(transactional_db):
    """Start real ASGI server processes serving this project on the test database:
    ``base_url = asgi_server(env={...}, server="daphne" | "uvicorn")``. Each call starts one more
    process on a free port; all are stopped at the end of the test. Output goes to
    ``test-artifacts/server-<port>.log``. uvicorn runs as the Procfile runs it (no
    permessage-deflate)."""
    import subprocess
    import sys

    from django.conf import settings as dj_settings

    root = Path(__file__).resolve().parent
    logs = root / "test-artifacts"
    logs.mkdir(exist_ok=True)
    procs = []

    def start(env=None, port=None, ready_status=200, server="daphne"):
        port = port or _free_port()
        environment = {
            **os.environ,
            "DATABASE_URL": database_url_of_test_db(),
            "SECRET_KEY": dj_settings.SECRET_KEY,
            "CACHE_KEY_PREFIX": dj_settings.CACHE_KEY_PREFIX,
            "RATELIMIT_ENABLE": "false",
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        log = open(logs / f"server-{port}.log", "ab")  # noqa: SIM115 (the server's, closed at the end)
        command = (
            ["daphne", "-b", "127.0.0.1", "-p", str(port)]
            if server == "daphne"
            else [
                "uvicorn",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--ws",
                "wsproto",
                "--ws-per-message-deflate",
                "false",
            ]
        )
        proc = subprocess.Popen(
            [sys.executable, "-m", *command, "ticketing.asgi:application"],
            cwd=root,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        procs.append((proc, log))
        return wait_serving(proc, f"http://127.0.0.1:{port}", log, ready_status=ready_status)

    start.processes = procs  # type: ignore[attr-defined]  # the tests reach the servers here
    yield start
    for proc, log in procs:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture
def redis_url() -> str:
    """The Redis to use: ``REDIS_URL``, else the local default. Required in CI; skipped on a
    machine without Redis."""
    import redis

    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except Exception as exc:
        if os.environ.get("CI"):
            raise AssertionError(f"Redis at {url} is required in CI: {exc}") from exc
        pytest.skip(f"no Redis at {url}")
    return url


@pytest.fixture
def private_redis():
    """A ``redis-server`` of this test alone, without persistence, which the test may kill,
    restart, pause and resume (the shared Redis is never touched): ``redis.url``,
    ``redis.stop()``, ``redis.start()``, ``redis.pause()`` (``SIGSTOP``: a hung Redis),
    ``redis.resume()``. Required in CI; skipped where ``redis-server`` is missing."""
    import shutil
    import signal
    import socket
    import subprocess
    import time

    found = shutil.which("redis-server")
    if found is None:
        if os.environ.get("CI"):
            raise AssertionError("redis-server is required in CI")
        pytest.skip("redis-server is not installed")
    binary: str = found

    class Server:
        port = _free_port()
        url = f"redis://127.0.0.1:{port}/0"
        proc: subprocess.Popen[bytes]

        def start(self):
            self.proc = subprocess.Popen(
                [
                    binary,
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            deadline = time.monotonic() + 10
            while True:
                try:
                    socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                    return
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)

        def stop(self):
            self.proc.kill()
            self.proc.wait(10)

        def pause(self):
            self.proc.send_signal(signal.SIGSTOP)

        def resume(self):
            self.proc.send_signal(signal.SIGCONT)

    server = Server()
    server.start()
    yield server
    if server.proc.poll() is None:
        server.resume()
        server.stop()
