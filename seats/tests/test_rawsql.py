"""The hand-written statements (seats.rawsql.update and update_each, seats.locks.lock_showtime_seats) give what the
ORM gives, on SQLite and PostgreSQL, and refuse what they cannot do right."""

from datetime import timedelta

import pytest
from django.db import models, transaction
from django.utils import timezone

from orders.models import IdempotencyKey, Order
from seats import rawsql
from seats.locks import lock_showtime_seats
from seats.models import Hold, QueueEntry, SeatClaim, Showtime, ShowtimeSeat

pytestmark = pytest.mark.django_db


def test_update_sets_and_increments_only_the_given_rows(showtime):
    rows = list(ShowtimeSeat.objects.filter(showtime=showtime).order_by("pk")[:3])
    until = timezone.now() + timedelta(minutes=5)
    assert (
        rawsql.update(
            ShowtimeSeat,
            [rows[0].pk, rows[1].pk],
            {"status": "held", "expires_at": until},
            {"version": 2},
        )
        == 2
    )
    after = {r.pk: r for r in ShowtimeSeat.objects.filter(pk__in=[r.pk for r in rows])}
    for row in rows[:2]:
        assert (after[row.pk].status, after[row.pk].expires_at, after[row.pk].version) == (
            "held",
            until,
            row.version + 2,
        )
    assert (after[rows[2].pk].status, after[rows[2].pk].version) == ("available", rows[2].version)
    assert rawsql.update(ShowtimeSeat, [], {"status": "sold"}) == 0


def test_update_each_sets_each_row_its_own_value_across_batches(showtime, monkeypatch):
    monkeypatch.setattr(rawsql, "UPDATE_EACH_BATCH", 4)  # several statements
    rows = list(ShowtimeSeat.objects.filter(showtime=showtime).order_by("pk"))
    wanted = {row.pk: 100 + i * 7 for i, row in enumerate(rows[:9])}
    assert rawsql.update_each(ShowtimeSeat, "version", wanted) == 9
    after = dict(ShowtimeSeat.objects.filter(showtime=showtime).values_list("pk", "version"))
    assert {pk: after[pk] for pk in wanted} == wanted
    assert all(after[row.pk] == row.version for row in rows[9:])  # the others untouched
    assert rawsql.update_each(ShowtimeSeat, "version", {}) == 0


@pytest.mark.parametrize(
    "model", [ShowtimeSeat, SeatClaim, Hold, Order, IdempotencyKey, QueueEntry]
)
def test_the_models_written_by_update_have_no_auto_now_field(model):
    """``update`` sets only the columns it is given, so a field that ``pre_save`` changes on every
    save (``auto_now``) would go stale: none of the models it writes has one."""
    assert not [f for f in model._meta.concrete_fields if getattr(f, "auto_now", False)]


def test_update_refuses_a_model_with_an_auto_now_field():
    class Stamped(models.Model):
        touched = models.DateTimeField(auto_now=True)

        class Meta:
            app_label = "seats"
            managed = False

    with pytest.raises(TypeError, match="auto_now"):
        rawsql.update(Stamped, [1], {})


def test_the_seat_lock_reads_what_the_orm_reads(showtime):
    ids = list(
        ShowtimeSeat.objects.filter(showtime=showtime)
        .order_by("-pk")
        .values_list("pk", flat=True)[:4]
    )
    with transaction.atomic():
        rows = lock_showtime_seats(showtime.pk, ids, with_price=True)
    orm = {
        r.pk: r for r in ShowtimeSeat.objects.filter(pk__in=ids).select_related("seat__category")
    }
    prices = dict(showtime.prices.values_list("category_id", "price"))
    assert [r.pk for r in rows] == sorted(ids)  # primary-key order
    for row in rows:
        ref = orm[row.pk]
        assert (row.showtime_id, row.status, row.version, row.expires_at) == (
            ref.showtime_id,
            ref.status,
            ref.version,
            ref.expires_at,
        )
        assert (row.seat.guid, row.seat.label, row.seat.category.name, row.seat.ga_area_id) == (
            ref.seat.guid,
            ref.seat.label,
            ref.seat.category.name,
            ref.seat.ga_area_id,
        )
        assert row.price == prices[ref.seat.category_id]
    with transaction.atomic():
        assert lock_showtime_seats(showtime.pk + 1, ids) == []  # another showtime's seats


def test_the_hand_written_reads_match_the_orm(showtime, buyer):
    import uuid

    from conftest import seat_guids
    from seats.services import hold_create

    hold = hold_create(user=buyer, showtime_id=showtime.pk, seat_ids=seat_guids(showtime, 2)).hold
    orm = list(
        SeatClaim.objects.current()
        .filter(hold=hold)
        .select_related("showtime_seat__seat")
        .order_by("showtime_seat_id")
    )
    raw = rawsql.fetch_claims({"hold_id": hold.pk, "is_live": True})
    assert [(c.pk, c.price, c.created_at, c.showtime_seat.seat.guid) for c in raw] == [
        (c.pk, c.price, c.created_at, c.showtime_seat.seat.guid) for c in orm
    ]
    fetched = rawsql.fetch_one(Hold, {"id": hold.pk})
    assert fetched is not None and fetched.expires_at == hold.expires_at
    assert rawsql.fetch_one(Hold, {"id": uuid.uuid4()}) is None
    assert rawsql.fetch_one(ShowtimeSeat, {"id": 2**63}) is None  # out of the column's range
    with_showtime = rawsql.fetch_one(Hold, {"id": hold.pk}, related="showtime")
    orm_hold = Hold.objects.select_related("showtime").get(pk=hold.pk)
    assert with_showtime is not None and Hold.showtime.is_cached(with_showtime)
    assert [getattr(with_showtime.showtime, f.attname) for f in Showtime._meta.concrete_fields] == [
        getattr(orm_hold.showtime, f.attname) for f in Showtime._meta.concrete_fields
    ]
    assert rawsql.fetch_one(Hold, {"id": uuid.uuid4()}, related="showtime") is None

    guids = [uuid.UUID(g) for g in seat_guids(showtime, 3)] + [uuid.uuid4()]
    assert rawsql.showtime_seat_ids(showtime.pk, showtime.plan_id, guids) == dict(
        ShowtimeSeat.objects.filter(showtime=showtime, seat__guid__in=guids).values_list(
            "seat__guid", "pk"
        )
    )
    assert len(rawsql.showtime_seat_ids(showtime.pk, showtime.plan_id, guids)) == 3
    assert rawsql.showtime_seat_ids(showtime.pk, showtime.plan_id + 1, guids) == {}


def test_the_hand_written_usage_matches_the_orm_form_of_live_claims(showtime, buyer):
    from django.db.models import Count, Q

    from conftest import seat_guids
    from seats.models import EXPIRING_STATUSES, SeatStatus
    from seats.services import hold_create

    hold_create(user=buyer, showtime_id=showtime.pk, seat_ids=seat_guids(showtime, 3))
    for now in (timezone.now(), timezone.now() + timedelta(days=1)):
        orm = (
            SeatClaim.objects.live(now)
            .filter(
                hold__user=buyer,
                hold__showtime=showtime,
                showtime_seat__status__in=EXPIRING_STATUSES,
            )
            .aggregate(
                seats=Count("pk"),
                orders=Count(
                    "hold_id", distinct=True, filter=Q(showtime_seat__status=SeatStatus.RESERVED)
                ),
            )
        )
        assert rawsql.buyer_usage(buyer.pk, showtime.pk, now) == (orm["seats"], orm["orders"])
