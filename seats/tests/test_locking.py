"""One way to lock (issue #14, case 8; docs/concurrency.md "One way to lock").

Every row lock of a service comes from seats/locks.py, and locks only its own rows: converting a
hold into an order used to lock the showtime row too (``select_for_update()`` with
``select_related("showtime")`` compiles to ``FOR UPDATE`` on the join), and while it was held every
insert referencing the showtime, i.e. every other buyer's hold, waited for it.
"""

import ast
import os
import re
import threading
import time
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from conftest import client_for, seat_guids
from orders.services import order_cancel, order_create, order_create_for_seats, order_pay
from seats import locks
from seats.models import Hold, ShowtimeSeat
from seats.services import hold_best, hold_create, hold_expire_due, hold_release

ROOT = Path(__file__).resolve().parents[2]
POSTGRES = os.environ.get("DATABASE_URL", "").startswith("postgres")
CUSTOMER = {"name": "Lock Tester", "email": "lock@example.com", "phone": ""}
# SQL that locks, in a string of the code (docstrings apart).
LOCKING_SQL = re.compile(r"FOR (NO KEY )?UPDATE|FOR (KEY )?SHARE|pg_advisory|LOCK TABLE", re.I)


def _locks_in(path: Path) -> list[str]:
    """The places in a module that lock rows: ``select_for_update(...)`` calls, ``lock=True``
    arguments (seats.rawsql.fetch_one) and SQL strings that lock."""
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "attr", getattr(node.func, "id", ""))
            if name == "select_for_update":
                found.append(f"{node.lineno}: select_for_update()")
            found += [
                f"{node.lineno}: lock=True"
                for kw in node.keywords
                if kw.arg == "lock"
                and not (isinstance(kw.value, ast.Constant) and kw.value.value is False)
            ]
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
            and LOCKING_SQL.search(node.value)
        ):
            found.append(f"{node.lineno}: {node.value.strip()[:60]!r}")
    return found


def test_every_lock_is_taken_in_seats_locks():
    """No application module locks rows on its own: read the code (tests apart). seats/rawsql.py
    only builds the statement of ``fetch_one(lock=True)`` that ``seats.locks.lock_one`` runs."""
    allowed = {ROOT / "seats" / "locks.py", ROOT / "seats" / "rawsql.py"}
    offenders = []
    for app in ("core", "seats", "orders", "realtime", "ticketing"):
        for path in sorted((ROOT / app).rglob("*.py")):
            if "tests" in path.relative_to(ROOT).parts or path in allowed:
                continue
            offenders += [f"{path.relative_to(ROOT)}:{where}" for where in _locks_in(path)]
    assert not offenders, "lock through seats/locks.py:\n" + "\n".join(offenders)


def test_the_lock_finder_finds_locks(tmp_path):
    """The reader above is not blind: it finds each way of locking a module could use."""
    module = tmp_path / "m.py"
    module.write_text(
        '"""FOR UPDATE in a docstring is prose."""\n'
        "Hold.objects.select_for_update().get(pk=1)\n"
        "fetch_one(Hold, {}, lock=True)\n"
        'cursor.execute("SELECT 1 FROM t FOR UPDATE")\n'
    )
    assert sorted(f.split(":")[0] for f in _locks_in(module)) == ["2", "3", "4"]


@pytest.mark.django_db
def test_the_lock_helpers_refuse_to_run_outside_a_transaction(showtime, buyer):
    from django.db.transaction import get_autocommit

    calls = [
        lambda: locks.lock_buyer(buyer.pk),
        lambda: locks.lock_one(Hold, {"user_id": 1}),
        lambda: locks.lock_first(Hold.objects.all()),
        lambda: locks.lock_free_seats(ShowtimeSeat.objects.all(), "pk"),
        lambda: locks.lock_showtime_seats(showtime.pk, [1]),
    ]
    # pytest-django's ``db`` wraps the test in a transaction; leave it to see what a caller sees.
    atomic = connection.atomic_blocks[:]
    connection.atomic_blocks, connection.in_atomic_block = [], False
    try:
        for call in calls:
            with pytest.raises(RuntimeError, match=r"inside transaction\.atomic"):
                call()
    finally:
        connection.atomic_blocks, connection.in_atomic_block = atomic, True
    assert not get_autocommit()


@pytest.mark.skipif(not POSTGRES, reason="PostgreSQL only: SQLite has no FOR UPDATE at all")
@pytest.mark.django_db
def test_every_lock_statement_of_the_services_locks_only_its_own_table(make_showtime, make_user):
    """Run every service path that locks, on PostgreSQL, and read the SQL: each statement with
    ``FOR UPDATE`` that reads more than one table names its own (``FOR UPDATE OF``)."""
    from decimal import Decimal

    from seats.tests.test_selection import make, plan_with

    showtime = make_showtime(rows=2, seats_per_row=8)
    ga = make(
        plan_with(
            [{"row": "A", "seats": 6}],
            ga=[{"name": "Standing", "capacity": 10, "category": "Floor"}],
        ),
        {"Front": Decimal("5"), "Back": Decimal("5"), "Floor": Decimal("5")},
    )
    buyer, other = make_user(), make_user()
    g = seat_guids(showtime)
    with CaptureQueriesContext(connection) as captured:
        held = hold_create(user=buyer, showtime_id=showtime.pk, seat_ids=g[:2]).hold
        hold_release(user=buyer, hold_id=held.pk, seat_ids=[g[0]])
        order = order_create(
            user=buyer, hold_id=held.pk, customer=CUSTOMER, payment_method="card"
        ).order
        order_pay(user=buyer, order_id=order.pk)
        second = order_create_for_seats(
            user=other,
            showtime_id=showtime.pk,
            seat_ids=g[4:6],
            customer=CUSTOMER,
            payment_method="card",
        ).order
        order_cancel(user=other, order_id=second.pk)
        hold_best(user=other, showtime_id=showtime.pk, quantity=2)
        hold_create(user=buyer, showtime_id=ga.pk, ga=[{"zone": "Standing", "quantity": 2}])
        hold_expire_due()
    locking = [q["sql"] for q in captured.captured_queries if "FOR UPDATE" in q["sql"]]
    assert len(locking) >= 8, locking
    joined = [sql for sql in locking if re.search(r"\bJOIN\b", sql)]
    assert joined, "the hold conversion reads its showtime in its lock statement"
    for sql in joined:
        assert re.search(r"FOR UPDATE OF ", sql), sql
        match = re.search(r"FOR UPDATE OF (.*?)(?: SKIP LOCKED)?$", sql)
        assert match is not None, sql
        locked = match.group(1)
        assert 'showtime"' not in locked and 'seats_showtime"' not in locked, sql


@pytest.mark.skipif(
    not POSTGRES,
    reason="PostgreSQL only: SQLite serialises every writer (one "
    "IMMEDIATE transaction at a time), so the second buyer always waits there",
)
@pytest.mark.django_db(transaction=True)
def test_converting_a_hold_does_not_make_other_buyers_of_the_showtime_wait(
    make_showtime, make_user
):
    """Buyer A converts a hold into an order while the test's own connection holds the lock of
    one of A's seats, so A's conversion waits inside its transaction with every lock it takes
    before the seats (the buyer, the hold row, and, before issue #14, the showtime row). Buyer B
    meanwhile holds another seat of the same showtime through the service, in its own thread and
    connection: B must not wait for A (before the fix it waited the whole pause)."""
    pause = 2.0
    showtime = make_showtime(rows=2, seats_per_row=5)
    g = seat_guids(showtime)
    alice, bob = make_user(), make_user()
    held = hold_create(user=alice, showtime_id=showtime.pk, seat_ids=[g[0]]).hold
    seat_of_alice = ShowtimeSeat.objects.get(showtime=showtime, seat__guid=g[0]).pk
    bob_api = client_for(bob)
    bob_api.get(f"/api/v1/showtimes/{showtime.pk}/")  # warm: not part of what is measured

    blocker_ready, release_blocker = threading.Event(), threading.Event()
    outcome: dict = {}

    def blocker():  # the same lock call the services make, from another connection
        try:
            with transaction.atomic():
                locks.lock_showtime_seats(showtime.pk, [seat_of_alice])
                blocker_ready.set()
                release_blocker.wait(10)
        finally:
            connection.close()

    def convert():
        try:
            order = order_create(
                user=alice, hold_id=held.pk, customer=CUSTOMER, payment_method="card"
            ).order
            outcome["alice"] = (order.status, time.monotonic())
        except BaseException as exc:  # asserted below
            outcome["alice"] = (exc, time.monotonic())
        finally:
            connection.close()

    def bob_holds():
        started = time.monotonic()
        try:
            response = bob_api.post(
                f"/api/v1/showtimes/{showtime.pk}/holds/", {"seats": [g[5]]}, format="json"
            )
            outcome["bob"] = (response.status_code, time.monotonic() - started)
        finally:
            connection.close()

    threads = [threading.Thread(target=blocker)]
    threads[0].start()
    assert blocker_ready.wait(10)
    threads.append(threading.Thread(target=convert))
    threads[1].start()
    time.sleep(0.3)  # Alice's transaction is now waiting for her seat, holding its other locks
    assert "alice" not in outcome
    threads.append(threading.Thread(target=bob_holds))
    threads[2].start()
    threads[2].join(pause)
    bob_done_while_alice_waited = "bob" in outcome and "alice" not in outcome
    time.sleep(max(0.0, pause - 0.3))
    release_blocker.set()
    for t in threads:
        t.join(15)

    assert outcome["bob"][0] == 201, outcome
    assert bob_done_while_alice_waited, outcome
    assert outcome["bob"][1] < pause / 4, f"Bob waited {outcome['bob'][1]:.2f}s for Alice"
    assert outcome["alice"][0] == "pending", outcome  # and Alice's order went through after
