"""The lapse rule of holds and orders (domain.md, invariant 4; ``seats/lapse.py``): the SQL side
(``LapsingQuerySet``) and the per-row side (``Lapsing``) agree on every status, before, at and
after the deadline, on the database of the run."""

from datetime import timedelta

import pytest

from conftest import seat_guids
from orders.models import Order
from orders.services import order_create, order_pay, order_staff_action
from seats.models import Hold
from seats.services import hold_create, hold_release

pytestmark = pytest.mark.django_db
CUSTOMER = {"name": "A", "email": "a@example.com", "phone": ""}


def agree(model, now) -> dict:
    """``{pk: status at now}``, asserting that SQL and Python give the same answers."""
    rows = list(model.objects.with_effective_status(now).order_by("pk"))
    python = {r.pk: r.status_at(now) for r in rows}
    assert {r.pk: r.effective_status for r in rows} == python
    assert {r.pk for r in model.objects.lapsed(now)} == {r.pk for r in rows if r.is_lapsed(now)}
    for status in model.Status.values:
        assert {r.pk for r in model.objects.filter_effective_status(status, now)} == {
            pk for pk, s in python.items() if s == status
        }, status
    assert {r.pk for r in model.objects.live(now)} == {
        pk for pk, s in python.items() if s == model.LIVE_STATUS
    }
    return python


def test_the_lapse_rule_reads_the_same_in_sql_and_in_python(make_user, showtime, staff):
    g = seat_guids(showtime)
    users = [make_user() for _ in range(6)]
    holds = [
        hold_create(user=u, showtime_id=showtime.pk, seat_ids=[g[i]]).hold
        for i, u in enumerate(users)
    ]
    hold_release(user=users[0], hold_id=holds[0].pk)  # released
    pending = order_create(
        user=users[1], hold_id=holds[1].pk, customer=CUSTOMER, payment_method="card"
    ).order  # hold converted
    paid = order_create(
        user=users[2], hold_id=holds[2].pk, customer=CUSTOMER, payment_method="card"
    ).order
    order_pay(user=users[2], order_id=paid.pk)
    refunded = order_create(
        user=users[3], hold_id=holds[3].pk, customer=CUSTOMER, payment_method="card"
    ).order
    order_pay(user=users[3], order_id=refunded.pk)
    order_staff_action(order_id=refunded.pk, action="refund", staff=staff)
    cancelled = order_create(
        user=users[4], hold_id=holds[4].pk, customer=CUSTOMER, payment_method="card"
    ).order
    order_staff_action(order_id=cancelled.pk, action="cancel", staff=staff)
    # holds[5] stays active

    hold_deadline = Hold.objects.get(pk=holds[5].pk).expires_at
    order_deadline = Order.objects.get(pk=pending.pk).expires_at
    tick = timedelta(microseconds=1)
    assert agree(Hold, hold_deadline - tick)[holds[5].pk] == "active"
    assert agree(Hold, hold_deadline)[holds[5].pk] == "expired"  # at the deadline: gone
    later = agree(Hold, order_deadline + timedelta(days=1))
    assert later == {
        holds[0].pk: "released",
        holds[1].pk: "converted",
        holds[2].pk: "converted",
        holds[3].pk: "converted",
        holds[4].pk: "converted",
        holds[5].pk: "expired",
    }

    assert agree(Order, order_deadline - tick)[pending.pk] == "pending"
    assert agree(Order, order_deadline)[pending.pk] == "expired"
    assert agree(Order, order_deadline + timedelta(days=1)) == {
        pending.pk: "expired",
        paid.pk: "paid",
        refunded.pk: "refunded",
        cancelled.pk: "cancelled",
    }
    # Reading wrote nothing.
    assert Order.objects.get(pk=pending.pk).status == "pending"
    assert Hold.objects.get(pk=holds[5].pk).status == "active"


def test_the_seat_lapse_rule_reads_the_same_in_sql_and_in_python(showtime):
    """The seat-level rule (``ShowtimeSeatQuerySet``, every count of seats by status) and the
    per-row rule (``seats.selectors.effective_state``, seat maps) agree, before, at and after a
    deadline, for every stored status."""
    from django.utils import timezone

    from seats.models import SeatStatus, ShowtimeSeat
    from seats.selectors import effective_state

    deadline = timezone.now() + timedelta(minutes=5)
    rows = list(ShowtimeSeat.objects.filter(showtime=showtime).order_by("pk")[:10])
    stored: list[str] = [
        SeatStatus.AVAILABLE,
        SeatStatus.HELD,
        SeatStatus.HELD,
        SeatStatus.RESERVED,
        SeatStatus.RESERVED,
        SeatStatus.SOLD,
        SeatStatus.BLOCKED,
        SeatStatus.HELD,
        SeatStatus.RESERVED,
        SeatStatus.AVAILABLE,
    ]
    for row, status in zip(rows, stored, strict=True):
        expiring = status in (SeatStatus.HELD, SeatStatus.RESERVED)
        ShowtimeSeat.objects.filter(pk=row.pk).update(
            status=status, expires_at=deadline if expiring else None
        )
    tick = timedelta(microseconds=1)
    for now in (deadline - tick, deadline, deadline + tick):
        seats = ShowtimeSeat.objects.filter(showtime=showtime)
        python = {r.pk: effective_state(r.status, r.version, r.expires_at, now)[0] for r in seats}
        counts = seats.counts_by_status(now)
        for status in SeatStatus.values:
            assert {r.pk for r in seats.filter_effective_status(status, now)} == {
                pk for pk, s in python.items() if s == status
            }, (status, now)
            assert counts[status] == sum(1 for s in python.values() if s == status), status
    before, after = (seats.counts_by_status(deadline - tick), seats.counts_by_status(deadline))
    assert before["held"] == 3 and before["reserved"] == 3 and after["held"] == 0
    assert after["available"] == before["available"] + 6
