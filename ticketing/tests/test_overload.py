"""Overload answers 503 ``unavailable`` with ``Retry-After``, never a 500 (issue #14, ticketing/overload.py).

Real server processes on the test database: a pool of 2 connections held by requests waiting on
rows locked from another connection, a role whose connections are all refused, a lock wait outside
the hold path. The hold path's own lock waits stay 409 ``busy`` (docs/concurrency.md).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import urllib.error
import urllib.request
from email.message import Message

import psycopg
import pytest
from django.db import connection, transaction
from django.db.utils import OperationalError
from django.test import RequestFactory
from rest_framework_simplejwt.tokens import RefreshToken

from conftest import database_url_of_test_db, seat_guids
from ticketing.overload import overload_kind

postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only")


def http(
    method: str,
    url: str,
    body: dict | None = None,
    headers: dict | None = None,
    timeout: float = 20,
) -> tuple[int, Message, bytes]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url,
        data=data,
        method=method,
        headers={**({"Content-Type": "application/json"} if data else {}), **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.status, answer.headers, answer.read()  # names in any case (RFC 9110 §5.1)
    except urllib.error.HTTPError as answer:
        return answer.code, answer.headers, answer.read()


def overload_count(url: str, kind: str) -> float:
    _, _, text = http("GET", f"{url}/metrics")
    for line in text.decode().splitlines():
        if line.startswith(f'seatline_overload_responses_total{{kind="{kind}"}}'):
            return float(line.split()[-1])
    raise AssertionError(f"no seatline_overload_responses_total for {kind}")


def assert_unavailable(status, headers, body, kind):
    assert status == 503, body[:300]
    assert int(headers["Retry-After"]) > 0
    error = json.loads(body)["error"]
    assert error["code"] == "unavailable" and error["details"] == {"kind": kind}


def _pg_connect():
    return psycopg.connect(database_url_of_test_db().replace("postgres://", "postgresql://"))


# --- real errors, classified --------------------------------------------------------------------------


def test_real_driver_errors_are_classified(tmp_path):
    with pytest.raises(psycopg.OperationalError) as refused:
        psycopg.connect("postgresql://postgres@127.0.0.1:9/nothing", connect_timeout=2)
    assert overload_kind(refused.value) == "connection_refused"
    path = tmp_path / "locked.sqlite3"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN IMMEDIATE")
    waiter = sqlite3.connect(path, timeout=0, isolation_level=None)
    with pytest.raises(sqlite3.OperationalError) as locked:
        waiter.execute("BEGIN IMMEDIATE")
    assert overload_kind(locked.value) == "lock_timeout"
    assert overload_kind(ValueError("a bug")) is None
    holder.close()
    waiter.close()


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_real_postgres_timeouts_are_classified():
    # pytest.raises around the whole transaction: the error may come from either statement.
    with (  # noqa: PT012
        pytest.raises(OperationalError) as cancelled,
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("SET LOCAL statement_timeout = 50")
        cursor.execute("SELECT pg_sleep(2)")
    assert overload_kind(cancelled.value) == "statement_timeout"
    table = connection.ops.quote_name("django_session")
    with _pg_connect() as other:
        other.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        with (  # noqa: PT012
            pytest.raises(OperationalError) as waited,
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute("SET LOCAL lock_timeout = 50")
            cursor.execute(f"SELECT 1 FROM {table}")
    assert overload_kind(waited.value) == "lock_timeout"


def test_pages_get_a_plain_503_and_api_paths_the_error_body(tmp_path):
    """``OverloadMiddleware`` and the ``handler500`` fallback, with a real SQLite lock error."""
    from ticketing.errors import handler500
    from ticketing.middleware import OverloadMiddleware

    path = tmp_path / "locked.sqlite3"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        sqlite3.connect(path, timeout=0, isolation_level=None).execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        error = exc
    holder.close()
    middleware = OverloadMiddleware(lambda request: None)
    page = middleware.process_exception(RequestFactory().get("/showtimes/1/"), error)
    assert page.status_code == 503 and page["Content-Type"].startswith("text/plain")
    assert page["Retry-After"] == "1"
    api = middleware.process_exception(RequestFactory().get("/api/v1/shows/"), error)
    assert json.loads(api.content)["error"]["code"] == "unavailable"
    assert middleware.process_exception(RequestFactory().get("/"), ValueError("bug")) is None
    try:
        raise OperationalError("database is locked") from error
    except OperationalError:
        assert handler500(RequestFactory().get("/api/v1/shows/")).status_code == 503


# --- real servers ------------------------------------------------------------------------------------


def test_a_lock_wait_outside_the_hold_path_is_503(asgi_server):
    """Sign-up waits on a lock held by another connection (SQLite: the write lock; PostgreSQL:
    an uncommitted row with the same username) past the timeout: 503, counted; 500 before."""
    url = asgi_server(
        env={"SQLITE_BUSY_TIMEOUT_SECONDS": "1", "DB_LOCK_TIMEOUT_MS": "500"}, server="uvicorn"
    )
    body = {"username": "newbie", "email": "newbie@example.com", "password": "Secret-pass-123"}
    if connection.vendor == "sqlite":
        holder = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
    else:
        holder = _pg_connect()
        holder.execute(
            "INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, "
            "email, is_staff, is_active, date_joined) VALUES ('x', false, 'newbie', '', '', "
            "'n@example.com', false, true, now())"
        )
    try:
        started = time.monotonic()
        status, headers, answer = http("POST", f"{url}/api/v1/auth/register/", body)
        assert time.monotonic() - started < 5
    finally:
        holder.rollback()
        holder.close()
    assert_unavailable(status, headers, answer, "lock_timeout")
    assert overload_count(url, "lock_timeout") == 1
    assert http("POST", f"{url}/api/v1/auth/register/", body)[0] == 201


@postgres_only
def test_an_exhausted_pool_is_503_and_hold_lock_waits_stay_409(
    asgi_server, make_showtime, make_user
):
    """DB_POOL_MAX=2: two holds wait on seats locked from another connection, holding both
    connections; 30 concurrent reads then find no connection within DB_POOL_TIMEOUT_SECONDS=1."""
    from seats.models import ShowtimeSeat

    showtime = make_showtime()
    guids = seat_guids(showtime, 2)
    tokens = [f"Bearer {RefreshToken.for_user(make_user()).access_token}" for _ in range(2)]
    url = asgi_server(
        env={
            "DB_POOL_MAX": "2",
            "DB_POOL_TIMEOUT_SECONDS": "1",
            "HTTP_THREADS": "8",
            "DB_LOCK_TIMEOUT_MS": "3000",
        },
        server="uvicorn",
    )
    table = ShowtimeSeat._meta.db_table
    locker = _pg_connect()
    locker.execute(
        f"SELECT id FROM {table} WHERE showtime_id = %s ORDER BY id LIMIT 2 FOR UPDATE",
        [showtime.pk],
    )
    holds: list = [None, None]

    def hold(i):
        holds[i] = http(
            "POST",
            f"{url}/api/v1/showtimes/{showtime.pk}/holds/",
            {"seats": [guids[i]]},
            {"Authorization": tokens[i]},
        )

    hold_threads = [threading.Thread(target=hold, args=(i,)) for i in range(2)]
    reads: list = [None] * 30
    try:
        for t in hold_threads:
            t.start()
        deadline = time.monotonic() + 5
        with _pg_connect() as watcher:
            watcher.autocommit = True
            while (
                watcher.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock'"
                ).fetchone()[0]
                < 2
            ):
                assert time.monotonic() < deadline, "the holds never waited on the locked seats"
                time.sleep(0.05)
        barrier = threading.Barrier(30)

        def read(i):
            barrier.wait()
            reads[i] = http("GET", f"{url}/api/v1/showtimes/{showtime.pk}/")

        threads = [threading.Thread(target=read, args=(i,)) for i in range(30)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
    finally:
        for t in hold_threads:
            t.join(20)
        locker.rollback()
        locker.close()
    statuses = [r[0] for r in reads]
    assert all(s in (200, 503) for s in statuses), statuses
    unavailable = [r for r in reads if r[0] == 503]
    assert unavailable, statuses
    for status, headers, body in unavailable:
        assert_unavailable(status, headers, body, "pool_timeout")
    for status, headers, body in holds:  # the documented lock wait of the hold path
        assert status == 409 and json.loads(body)["error"]["code"] == "busy"
        assert headers["Retry-After"] == "1"
    assert overload_count(url, "pool_timeout") == len(unavailable)


@postgres_only
def test_a_role_refused_every_connection_is_503(asgi_server):
    """A role with ``CONNECTION LIMIT 0`` (created here, dropped after): the API answers 503
    with the error body and pages a plain 503, within the pool timeout; 500 after 5 s before."""
    role = f"edge_refused_{os.getpid()}"
    with _pg_connect() as admin:
        admin.autocommit = True
        admin.execute(f"DROP ROLE IF EXISTS {role}")
        admin.execute(f"CREATE ROLE {role} LOGIN CONNECTION LIMIT 0")
    try:
        settings_dict = connection.settings_dict
        database_url = (
            f"postgres://{role}@{settings_dict['HOST'] or '127.0.0.1'}:"
            f"{settings_dict['PORT'] or 5432}/{settings_dict['NAME']}"
        )
        url = asgi_server(
            env={"DATABASE_URL": database_url, "DB_POOL_TIMEOUT_SECONDS": "1"},
            ready_status=503,
            server="uvicorn",
        )
        started = time.monotonic()
        assert_unavailable(*http("GET", f"{url}/api/v1/showtimes/"), "pool_timeout")
        assert time.monotonic() - started < 4
        status, headers, _body = http("GET", f"{url}/")
        assert status == 503 and headers["Content-Type"].startswith("text/plain")
        assert int(headers["Retry-After"]) > 0
        assert overload_count(url, "pool_timeout") >= 2
    finally:
        with _pg_connect() as admin:
            admin.autocommit = True
            admin.execute(f"DROP ROLE IF EXISTS {role}")
