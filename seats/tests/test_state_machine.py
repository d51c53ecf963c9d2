"""Stateful property test: random sequences of the real seat and order services against a model.

A hypothesis ``RuleBasedStateMachine`` calls the real services on the real database, no mocks:
``hold_create``, ``hold_release``, ``hold_extend``, ``order_create``, ``order_create_for_seats``, ``order_cancel``,
``order_pay`` (demo provider), the staff paths ``seats_block``/``seats_unblock`` and
``order_staff_action`` (mark paid, cancel, refund), the cleanups ``hold_expire_due`` and
``order_expire_due``, and clock jumps (1 µs to past the payment window, onto a deadline and 1 µs
before one). A plain-Python model follows shared/spec/domain.md and the services' docstrings,
including the per-buyer caps of docs/api.md (seats held or pending, pending orders). When
a service raises ``ApplicationError`` the model must have predicted that code, and no row may have
changed (except where the docstring says the expiry of a lapsed hold/order is recorded first).
After every step, against the database:

1. at most one live ``SeatClaim`` per seat, and each seat's effective status as
   ``seats.selectors.seat_states`` reads it (lazy expiry) equals the model's;
2. each seat's stored ``status``/``expires_at`` matches its live claim (held ⇔ claim of an active
   hold, reserved/sold ⇔ claim of a pending/paid order, lapsed ones included); the claim belongs to
   the hold/order the model says; holds and orders have the model's status and deadline;
3. a seat's ``version`` (read through ``seat_states``) never decreases: it grows exactly when the
   seat's effective state changes (so a lazy read and the later cleanup agree);
4. an order's total is the sum of its claims' prices (and the model's); a paid order has one valid
   ticket per seat and one successful payment, a refunded one void tickets, any other none.

Isolation: pytest-django's ``db`` fixture wraps the test in one transaction, rolled back at the end;
hypothesis runs all examples inside that one test, so each example also runs in its own savepoint
(opened in ``__init__``, rolled back in ``teardown``) with a fresh showtime and users: no example
sees another's rows, which matters because the cleanups are global. The services' own transactions
nest as savepoints; ``on_commit`` broadcasts never fire. The clock is frozen per example
(``timezone.now`` returns a model time moved only by ``time_passes``, restored in ``teardown``), so
deadline comparisons are exact and examples replay deterministically when hypothesis shrinks them.
"""

import itertools
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Count, Sum
from django.test import override_settings
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from conftest import small_plan
from core.errors import ApplicationError
from orders import services as orders
from orders.models import Order, Payment
from seats import services as seats
from seats.importer import plan_import
from seats.models import Hold, SeatClaim, Show, ShowtimeSeat
from seats.selectors import seat_states

SEATS, BUYERS, MAX_PER_ORDER, TTL = 8, 3, 4, 300
# The per-buyer caps (issue #14): seats held or in pending orders together (the showtime's
# default: its max_seats_per_order), and pending orders. Small, so that random steps reach them.
MAX_PER_BUYER, MAX_PENDING = MAX_PER_ORDER, 2
PRICES = {"Front": Decimal("80.00"), "Back": Decimal("40.00")}  # row A, row B
CUSTOMER = {"name": "Model Buyer", "email": "model@example.com", "phone": "+49 30 1234"}
MAX_EXAMPLES = 60  # about 12 s on SQLite and 25 s on PostgreSQL on this 2-core machine

buyers = st.integers(0, BUYERS - 1)
seat_picks = st.lists(st.integers(0, SEATS - 1), min_size=1, max_size=3, unique=True)
foreign = st.sampled_from([False, False, False, True])  # now and then another buyer's id
JUMPS = {
    "1us": timedelta(microseconds=1),
    "1s": timedelta(seconds=1),
    "59s": timedelta(seconds=59),
    "past_hold_ttl": timedelta(seconds=TTL + 1),
}
_serial = itertools.count(1)


@dataclass
class MHold:
    buyer: int
    expires_at: datetime
    seats: set[int]  # seat indices of its live claims; emptied when it ends
    status: str = "active"
    created_at: datetime | None = None
    extensions: int = 0


@dataclass
class MOrder:
    buyer: int
    expires_at: datetime
    seats: set[int]  # seat indices of its live claims
    all_seats: frozenset[int]
    total: Decimal
    status: str = "pending"


class SeatMachine(RuleBasedStateMachine):
    examples = 0  # machines built (examples run) in this process
    checks = 0  # rounds of invariant checks (one after __init__ and one after every step)
    refusals: Counter = Counter()  # error codes the services raised (and the model predicted)

    def __init__(self):
        super().__init__()
        type(self).examples += 1
        self._real_now = timezone.now
        # Each example runs in its own savepoint, rolled back in teardown(). It is marked the way
        # Django's TestCase marks its per-test block, the only outer block run_in_transaction()
        # accepts.
        self._savepoint = transaction.atomic()
        self._savepoint._from_testcase = True  # type: ignore[attr-defined]  # Django's private marker
        self._savepoint.__enter__()
        try:
            self._build(next(_serial))
        except BaseException:
            self.teardown()
            raise
        self.holds: dict[str, MHold] = {}  # by id, in creation order
        self.orders: dict[int, MOrder] = {}
        self.blocked: set[int] = set()
        self.seen: dict[int, tuple] = {}  # seat → (effective state, version) at the last check
        self.now = self._real_now().replace(microsecond=0)  # whole seconds, then µs jumps
        timezone.now = lambda: self.now

    def _build(self, n: int) -> None:
        """A showtime of 2 × 4 seats, three buyers and a staff user."""
        plan = plan_import(raw=small_plan(2, 4), venue_name=f"State machine venue {n}")
        self.showtime = seats.showtime_create(
            show=Show.objects.create(title="Model night"),
            plan=plan,
            starts_at=timezone.now() + timedelta(days=3),
            prices=PRICES,
            hold_ttl=TTL,
            max_seats_per_order=MAX_PER_ORDER,  # max_seats_per_buyer empty: the same
        )
        make_user = get_user_model().objects.create_user
        self.users = [make_user(f"machine{n}-{b}", f"m{n}{b}@x.org") for b in range(BUYERS)]
        self.staff = make_user(f"machine{n}-staff", f"m{n}s@x.org", is_staff=True)
        rows = list(
            ShowtimeSeat.objects.filter(showtime=self.showtime)
            .order_by("seat_id")
            .values_list("pk", "seat__guid", "seat__label", "seat__category__name")
        )
        self.pks, self.labels = [r[0] for r in rows], [r[2] for r in rows]
        self.guids, self.prices = [str(r[1]) for r in rows], [PRICES[r[3]] for r in rows]

    def teardown(self):
        timezone.now = self._real_now
        transaction.set_rollback(True)
        self._savepoint.__exit__(None, None, None)

    # --- the model ------------------------------------------------------------------------------

    def live(self, thing) -> bool:
        """An active hold / pending order before its deadline, or a paid order."""
        return thing.status == "paid" or (
            thing.status in ("active", "pending") and thing.expires_at > self.now
        )

    def effective(self, i: int) -> tuple[str, object]:
        """Seat ``i`` as a buyer sees it now: ``(status, id of its hold/order or None)``."""
        if i in self.blocked:
            return "blocked", None
        for oid, o in self.orders.items():
            if i in o.seats and self.live(o):
                return ("sold" if o.status == "paid" else "reserved"), oid
        for hid, h in self.holds.items():
            if i in h.seats and self.live(h):
                return "held", hid
        return "available", None

    def usage(self, buyer: int) -> tuple[int, int]:
        """What the per-buyer caps count now: (seats of the buyer's live active hold and live
        pending orders, live pending orders)."""
        holds = [
            h
            for h in self.holds.values()
            if h.buyer == buyer and h.status == "active" and self.live(h)
        ]
        pending = [
            o
            for o in self.orders.values()
            if o.buyer == buyer and o.status == "pending" and self.live(o)
        ]
        return sum(len(t.seats) for t in holds + pending), len(pending)

    def free(self, picks) -> bool:
        return all(self.effective(i)[0] == "available" for i in picks)

    def take(self, picks) -> None:
        """Taking seats ends the lapsed claims still stored on them."""
        things: list[MHold | MOrder] = [*self.holds.values(), *self.orders.values()]
        for thing in things:
            thing.seats -= set(picks)

    @staticmethod
    def end(thing, status: str) -> None:
        thing.status, thing.seats = status, set()

    def due(self, things: dict, open_status: str) -> list:
        """Ids of active holds / pending orders past their deadline, sorted."""
        return sorted(k for k, t in things.items() if t.status == open_status and not self.live(t))

    @staticmethod
    def newest_first(things: dict, open_status: str) -> list:
        """Ids to draw from: open ones first (hypothesis favours the first), newest first."""
        # sorted() is stable: reversed() makes ties come newest first.
        return sorted(reversed(things), key=lambda k: things[k].status != open_status)  # noqa: C414

    def add_order(self, order, buyer: int, picks, method: str) -> None:
        total = sum((self.prices[i] for i in picks), Decimal("0.00"))
        deadline = self.now + timedelta(seconds=django_settings.PAYMENT_WINDOW_SECONDS)
        assert (
            order.status,
            order.total,
            order.payment_method,
            order.user_id,
            order.expires_at,
        ) == ("pending", total, method, self.users[buyer].pk, deadline)
        self.orders[order.pk] = MOrder(buyer, deadline, set(picks), frozenset(picks), total)

    def fingerprint(self) -> tuple:
        """The rows a failed call must leave alone (tickets/payments: invariant 4)."""
        showtime = self.showtime
        return (
            list(
                ShowtimeSeat.objects.filter(showtime=showtime)
                .order_by("pk")
                .values_list("status", "version", "expires_at", "block_reason")
            ),
            list(
                SeatClaim.objects.filter(showtime_seat__showtime=showtime)
                .order_by("pk")
                .values_list("pk", "is_live", "order_id")
            ),
            sorted(Hold.objects.filter(showtime=showtime).values_list("pk", "status")),
            sorted(Order.objects.filter(showtime=showtime).values_list("pk", "status")),
        )

    def call(self, expected: str | None, service, *, records: bool = False, **kwargs):
        """Run ``service``; ``expected`` is the error code the model predicts (None: success).

        A failure must change nothing, unless ``records``: the service commits a lapsed hold's or
        order's expiry before raising (as its docstring says); the caller's model records it too.
        """
        before = self.fingerprint() if expected is not None and not records else None
        try:
            result = service(**kwargs)
        except ApplicationError as exc:
            assert exc.code == expected, (  # noqa: PT017 (the model decides if it may raise)
                f"{service.__name__} raised {exc.code} {exc.details}; model: {expected or 'ok'}"
            )
            assert before is None or self.fingerprint() == before, f"{service.__name__} wrote"
            type(self).refusals[exc.code] += 1
            return None
        assert expected is None, f"{service.__name__} succeeded; model expected {expected}"
        return result

    # --- rules ----------------------------------------------------------------------------------

    @rule(buyer=buyers, picks=seat_picks)
    def hold_create(self, buyer, picks):
        mine = next(
            (k for k, h in self.holds.items() if h.buyer == buyer and h.status == "active"), None
        )
        lapsed = mine is not None and not self.live(self.holds[mine])
        held = set() if mine is None or lapsed else set(self.holds[mine].seats)
        new = set(picks) - held
        expected = (
            "too_many_seats"
            if len(held | new) > MAX_PER_ORDER
            else "buyer_limit"
            if new and self.usage(buyer)[0] + len(new) > MAX_PER_BUYER
            else None
            if self.free(new)
            else "seat_unavailable"
        )
        result = self.call(
            expected,
            seats.hold_create,
            user=self.users[buyer],
            showtime_id=self.showtime.pk,
            seat_ids=[self.guids[i] for i in picks],
        )
        if result is None:
            return
        hold, created = result.hold, result.created
        assert created == (mine is None or lapsed)
        if lapsed:  # the old hold's expiry is recorded, a new hold is made
            assert mine is not None
            self.end(self.holds[mine], "expired")
        self.take(new)
        if created:
            assert hold.expires_at == self.now + timedelta(seconds=TTL)
            self.holds[str(hold.pk)] = MHold(buyer, hold.expires_at, new, created_at=self.now)
        else:  # seats added; the expiry does not move
            assert str(hold.pk) == mine and hold.expires_at == self.holds[mine].expires_at
            self.holds[mine].seats |= new

    @precondition(lambda self: self.holds)
    @rule(data=st.data(), other=foreign)
    def hold_release(self, data, other):
        hid = data.draw(st.sampled_from(self.newest_first(self.holds, "active")), label="hold")
        h = self.holds[hid]
        pool = sorted(h.seats | {data.draw(st.integers(0, SEATS - 1), label="stranger")})
        picks = data.draw(
            st.none() | st.lists(st.sampled_from(pool), min_size=1, unique=True), label="seats"
        )
        expected = (
            "not_found"
            if other
            else "hold_not_active"
            if h.status != "active"
            else "unknown_seats"
            if self.live(h) and set(picks or ()) - h.seats
            else None
        )  # a lapsed hold: its expiry is recorded, no error
        result = self.call(
            expected,
            seats.hold_release,
            user=self.users[(h.buyer + other) % BUYERS],
            hold_id=hid,
            seat_ids=picks and [self.guids[i] for i in picks],
        )
        if result is None:
            return
        hold = result.hold
        if not self.live(h):
            self.end(h, "expired")
        elif picks is None or set(picks) == h.seats:
            self.end(h, "released")
        else:
            h.seats -= set(picks)
        assert hold.status == h.status

    @precondition(lambda self: self.holds)
    @rule(data=st.data(), other=foreign)
    def hold_extend(self, data, other):
        hid = data.draw(st.sampled_from(self.newest_first(self.holds, "active")), label="hold")
        h = self.holds[hid]
        assert h.created_at is not None  # every hold in the model was made by hold_create
        # The showtime's defaults: two extensions, 900 s from when the hold was made.
        deadline = min(self.now + timedelta(seconds=TTL), h.created_at + timedelta(seconds=900))
        lapsing = h.status == "active" and not self.live(h)
        expected = (
            "not_found"
            if other
            else "hold_expired"
            if h.status == "expired" or lapsing
            else "hold_not_active"
            if h.status != "active"
            else "extension_limit"
            if h.extensions >= 2 or deadline - h.expires_at < timedelta(seconds=1)
            else None
        )
        result = self.call(
            expected,
            seats.hold_extend,
            records=lapsing and not other,  # the expiry is recorded, then 409 hold_expired
            user=self.users[(h.buyer + other) % BUYERS],
            hold_id=hid,
        )
        if lapsing and not other:
            self.end(h, "expired")
        if result is None:
            return
        assert result.hold.expires_at == deadline
        assert result.detail["extensions_left"] == (1 if h.extensions == 0 else 0)
        h.expires_at, h.extensions = deadline, h.extensions + 1

    @precondition(lambda self: self.holds)
    @rule(data=st.data(), other=foreign)
    def order_create(self, data, other):
        hid = data.draw(st.sampled_from(self.newest_first(self.holds, "active")), label="hold")
        h = self.holds[hid]
        lapsed = not other and h.status == "active" and not self.live(h)
        expected = (
            "not_found"
            if other
            else "hold_expired"
            if lapsed or h.status == "expired"
            else "hold_not_active"
            if h.status != "active"
            else "buyer_limit"
            if self.usage(h.buyer)[1] >= MAX_PENDING
            else "hold_not_active"
            if not h.seats
            else None
        )
        result = self.call(
            expected,
            orders.order_create,
            records=lapsed,
            user=self.users[(h.buyer + other) % BUYERS],
            hold_id=hid,
            customer=CUSTOMER,
            payment_method="card",
        )
        if lapsed:  # the expiry is committed, then 409
            self.end(h, "expired")
        if result is not None:
            order = result.order
            assert str(order.hold_id) == hid
            self.add_order(order, h.buyer, h.seats, "card")
            self.end(h, "converted")

    @rule(buyer=buyers, picks=seat_picks)
    def order_create_for_seats(self, buyer, picks):
        seats_now, pending = self.usage(buyer)
        expected = (
            "buyer_limit"
            if seats_now + len(picks) > MAX_PER_BUYER or pending >= MAX_PENDING
            else None
            if self.free(picks)
            else "seat_unavailable"
        )
        result = self.call(
            expected,
            orders.order_create_for_seats,
            user=self.users[buyer],
            showtime_id=self.showtime.pk,
            seat_ids=[self.guids[i] for i in picks],
            customer=CUSTOMER,
            payment_method="cash",
        )
        if result is not None:
            self.take(picks)
            self.add_order(result.order, buyer, picks, "cash")

    def _pick_order(self, data, other):
        oid = data.draw(st.sampled_from(self.newest_first(self.orders, "pending")), label="order")
        o = self.orders[oid]
        lapsed = not other and o.status == "pending" and not self.live(o)
        return oid, o, lapsed, self.users[(o.buyer + other) % BUYERS]

    @precondition(lambda self: self.orders)
    @rule(data=st.data(), other=foreign)
    def order_cancel(self, data, other):
        oid, o, lapsed, user = self._pick_order(data, other)
        expected = (
            "not_found"
            if other
            else None
            if o.status == "pending" and not lapsed
            else "order_not_cancellable"
        )
        order = self.call(expected, orders.order_cancel, records=lapsed, user=user, order_id=oid)
        if lapsed:
            self.end(o, "expired")
        if order is not None:
            self.end(o, "cancelled")
            assert order.status == "cancelled"

    @precondition(lambda self: self.orders)
    @rule(data=st.data(), other=foreign)
    def order_pay(self, data, other):
        oid, o, lapsed, user = self._pick_order(data, other)
        expected = (
            "not_found"
            if other
            else "order_expired"
            if lapsed or o.status == "expired"
            else None
            if o.status in ("pending", "paid")
            else "order_not_payable"
        )
        result = self.call(expected, orders.order_pay, records=lapsed, user=user, order_id=oid)
        if lapsed:  # recorded as expired, nothing resurrected
            self.end(o, "expired")
        if result is not None:  # paying a paid order again changes nothing
            o.status = "paid"
            assert result.order.status == "paid"

    @rule(block=st.booleans(), picks=seat_picks)
    def staff_blocks(self, block, picks):
        """Blocking takes the available seats and skips the rest; unblocking frees blocked ones."""
        hits = [
            i
            for i in picks
            if (self.effective(i)[0] == "available" if block else i in self.blocked)
        ]
        service = seats.seats_block if block else seats.seats_unblock
        done, skipped = self.call(
            None,
            service,
            showtime_id=self.showtime.pk,
            staff=self.staff,
            seat_pks=[self.pks[i] for i in picks],
            **({"reason": "repair"} if block else {}),  # type: ignore[arg-type]  # reason= is a str
        )
        assert sorted(done) == sorted(self.labels[i] for i in hits)
        assert sorted(skipped) == sorted(self.labels[i] for i in picks if i not in hits)
        self.take(hits)
        self.blocked ^= set(hits)

    @precondition(lambda self: self.orders)
    @rule(data=st.data(), action=st.sampled_from(["refund", "mark_paid", "cancel"]))
    def staff_order_action(self, data, action):
        """The box office: cash taken (``mark_paid``), ``cancel``, ``refund`` (sold → available)."""
        oid, o, lapsed, _ = self._pick_order(data, False)
        allowed = {"mark_paid": "pending", "cancel": "pending", "refund": "paid"}[action]
        order, done = self.call(
            None, orders.order_staff_action, order_id=oid, action=action, staff=self.staff
        )
        assert done == (o.status == allowed and not lapsed), (action, o)
        if lapsed:
            self.end(o, "expired")
        elif done and action == "mark_paid":
            o.status = "paid"
        elif done:
            self.end(o, {"cancel": "cancelled", "refund": "refunded"}[action])
        assert order.status == o.status

    @rule(
        data=st.data(),
        jump=st.sampled_from([*JUMPS, "past_payment_window", "onto_deadline", "before_deadline"]),
    )
    def time_passes(self, data, jump):
        things: list[MHold | MOrder] = [*self.holds.values(), *self.orders.values()]
        deadlines = sorted(
            {
                t.expires_at
                for t in things
                if t.status in ("active", "pending") and t.expires_at > self.now
            }
        )
        if jump in ("onto_deadline", "before_deadline") and deadlines:
            self.now = data.draw(st.sampled_from(deadlines), label="deadline") - (
                timedelta(microseconds=1) if jump == "before_deadline" else timedelta()
            )
        elif jump == "past_payment_window":
            self.now += timedelta(seconds=django_settings.PAYMENT_WINDOW_SECONDS + 1)
        else:
            self.now += JUMPS.get(jump, timedelta(seconds=1))

    # The cleanups run only when something is due: hypothesis favours the first rule in its own
    # order (fewest arguments first), and an always-enabled cleanup would take a third of the steps.
    @precondition(lambda self: self.due(self.holds, "active"))
    @rule()
    def hold_expire_due(self):
        due = self.due(self.holds, "active")
        assert sorted(str(h.pk) for h in self.call(None, seats.hold_expire_due)) == due
        for k in due:
            self.end(self.holds[k], "expired")

    @precondition(lambda self: self.due(self.orders, "pending"))
    @rule()
    def order_expire_due(self):
        due = self.due(self.orders, "pending")
        assert sorted(o.pk for o in self.call(None, orders.order_expire_due)) == due
        for k in due:
            self.end(self.orders[k], "expired")

    # --- invariants, against the database -------------------------------------------------------

    @invariant()
    def one_live_claim_and_effective_status(self):
        type(self).checks += 1
        live = Counter(
            SeatClaim.objects.filter(
                showtime_seat__showtime=self.showtime, is_live=True
            ).values_list("showtime_seat_id")
        )
        assert all(n == 1 for n in live.values()), live
        _, states = seat_states(self.showtime.pk)
        assert [s["id"] for s in states] == self.guids
        actual, model = [s["status"] for s in states], [self.effective(i) for i in range(SEATS)]
        assert actual == [m[0] for m in model], f"db {actual}, model {model}"

    @invariant()
    def stored_status_matches_live_claim(self):
        claims: dict[int, tuple[Any, ...]] = {
            c[0]: c[1:]
            for c in SeatClaim.objects.filter(
                showtime_seat__showtime=self.showtime, is_live=True
            ).values_list(
                "showtime_seat_id",
                "hold_id",
                "hold__status",
                "hold__expires_at",
                "order_id",
                "order__status",
                "order__expires_at",
            )
        }
        owners: dict[int, tuple[str, str | int]] = {
            i: ("hold", k) for k, h in self.holds.items() for i in h.seats
        }
        owners.update({i: ("order", k) for k, o in self.orders.items() for i in o.seats})
        rows = ShowtimeSeat.objects.filter(showtime=self.showtime).order_by("seat_id")
        for i, (pk, status, expires_at) in enumerate(
            rows.values_list("pk", "status", "expires_at")
        ):
            claim = claims.get(pk)
            owner: tuple[str, str | int] | None = None
            if claim is None:
                assert status in ("available", "blocked") and expires_at is None, (i, status)
            else:
                hold_id, hold_status, hold_expiry, order_id, order_status, order_expiry = claim
                if order_id is None:
                    owner = ("hold", str(hold_id))
                    assert (status, hold_status, expires_at) == ("held", "active", hold_expiry)
                else:
                    owner = ("order", order_id)
                    assert (status, order_status) in {("reserved", "pending"), ("sold", "paid")}
                    assert expires_at == (order_expiry if status == "reserved" else None)
            assert owner == owners.get(i), (i, owner, owners.get(i))
            assert (status == "blocked") == (i in self.blocked), (i, status)
        holds = {
            str(k): v
            for k, *v in Hold.objects.filter(showtime=self.showtime).values_list(
                "pk", "status", "expires_at", "user_id"
            )
        }
        for k, h in self.holds.items():
            assert holds[k] == [h.status, h.expires_at, self.users[h.buyer].pk], (k, h)
        assert {k for k, v in holds.items() if v[0] == "active"} <= set(self.holds)
        db_orders = {
            k: v
            for k, *v in Order.objects.filter(showtime=self.showtime).values_list(
                "pk", "status", "expires_at"
            )
        }
        assert db_orders == {k: [o.status, o.expires_at] for k, o in self.orders.items()}

    @invariant()
    def versions_never_decrease(self):
        _, states = seat_states(self.showtime.pk)
        for i, s in enumerate(states):
            state = self.effective(i)
            if i in self.seen:
                old_state, old_version = self.seen[i]
                if state == old_state:
                    assert s["version"] == old_version, (i, state, old_version, s["version"])
                else:
                    assert s["version"] > old_version, (i, old_state, state, s["version"])
            self.seen[i] = (state, s["version"])

    @invariant()
    def totals_tickets_and_payments(self):
        if not self.orders:
            return
        per_order: dict[int, list] = {}  # order → [total, sum of claim prices, seats, tickets]
        for oid, total, price, seat, ticket_order, ticket_status in SeatClaim.objects.filter(
            order__showtime=self.showtime
        ).values_list(
            "order_id",
            "order__total",
            "price",
            "showtime_seat_id",
            "ticket__order_id",
            "ticket__status",
        ):
            entry = per_order.setdefault(oid, [total, Decimal("0.00"), set(), []])
            entry[1] += price
            entry[2].add(seat)
            if ticket_order is not None:
                entry[3].append((ticket_order, ticket_status))
        payments = {
            r["order_id"]: (r["n"], r["amount"])
            for r in Payment.objects.filter(order__showtime=self.showtime, status="succeeded")
            .values("order_id")
            .annotate(n=Count("pk"), amount=Sum("amount"))
        }
        assert set(per_order) == set(self.orders)
        for oid, (total, claimed, claimed_seats, tickets) in per_order.items():
            o = self.orders[oid]
            assert total == claimed == o.total, (oid, total, claimed, o)
            assert claimed_seats == {self.pks[i] for i in o.all_seats}, (oid, o)
            if o.status in ("paid", "refunded"):  # one ticket per seat, voided by a refund
                status = "valid" if o.status == "paid" else "void"
                assert tickets == [(oid, status)] * len(o.all_seats), (oid, tickets)
                assert payments.get(oid) == (1, total), (oid, payments.get(oid))
            else:
                assert not tickets and oid not in payments, (oid, tickets)


@pytest.mark.django_db  # one transaction for the test, one savepoint per example (docstring)
@override_settings(MAX_PENDING_ORDERS_PER_BUYER=MAX_PENDING)
def test_seat_services_follow_the_model(capsys):
    SeatMachine.examples = SeatMachine.checks = 0
    SeatMachine.refusals = Counter()
    started = time.monotonic()
    run_state_machine_as_test(
        SeatMachine,
        settings=settings(
            max_examples=MAX_EXAMPLES,
            stateful_step_count=25,
            deadline=None,
            report_multiple_bugs=False,
            database=None,  # no .hypothesis/ directory in the project
            suppress_health_check=[
                HealthCheck.too_slow,
                HealthCheck.filter_too_much,
                HealthCheck.data_too_large,
            ],
        ),
    )
    with capsys.disabled():  # shown without -s: the examples count is reported upstream
        print(
            f"\nstate machine on {connection.vendor}: {SeatMachine.examples} examples, "
            f"{SeatMachine.checks - SeatMachine.examples} steps, "
            f"{time.monotonic() - started:.1f}s; refusals {dict(SeatMachine.refusals)}"
        )
    assert SeatMachine.examples >= MAX_EXAMPLES
