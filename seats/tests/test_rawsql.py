"""The hand-written statements of seats.rawsql give what the ORM gives, on SQLite and PostgreSQL:
the same instances, the same saved rows, the same errors."""

import uuid
from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from conftest import seat_guids
from seats import rawsql
from seats.models import Hold, SeatClaim, ShowtimeSeat
from seats.services import hold_create

pytestmark = pytest.mark.django_db


def test_insert_saves_like_the_orm_and_returns_generated_keys(showtime, buyer):
    before = timezone.now()
    hold, = rawsql.insert([Hold(user=buyer, showtime=showtime,
                                expires_at=before + timedelta(seconds=300))])
    stored = Hold.objects.get(pk=hold.pk)  # the UUID key made in Python
    assert stored.created_at == hold.created_at and stored.created_at >= before  # auto_now_add
    assert stored.status == Hold.Status.ACTIVE and not hold._state.adding

    rows = list(ShowtimeSeat.objects.filter(showtime=showtime).order_by("pk")[:3])
    claims = rawsql.insert([SeatClaim(showtime_seat=row, hold=hold, price=10,
                                      category="Front") for row in rows])
    assert [c.pk for c in claims] == list(
        SeatClaim.objects.filter(hold=hold).order_by("pk").values_list("pk", flat=True))
    assert [c.showtime_seat_id for c in SeatClaim.objects.filter(pk__in=[c.pk for c in claims])
            .order_by("pk")] == [row.pk for row in rows]  # keys come back in the rows' order


def test_a_refused_insert_writes_no_row(showtime, buyer):
    hold, _ = hold_create(user=buyer, showtime_id=showtime.pk, seat_ids=seat_guids(showtime, 1))
    taken = SeatClaim.objects.get(hold=hold).showtime_seat
    free = ShowtimeSeat.objects.filter(showtime=showtime).exclude(pk=taken.pk).first()
    count = SeatClaim.objects.count()
    with pytest.raises(IntegrityError), transaction.atomic():  # one live claim per seat
        rawsql.insert([SeatClaim(showtime_seat=free, hold=hold, price=1, category="Front"),
                       SeatClaim(showtime_seat=taken, hold=hold, price=1, category="Front")])
    assert SeatClaim.objects.count() == count


def test_update_sets_and_increments_only_the_given_rows(showtime):
    rows = list(ShowtimeSeat.objects.filter(showtime=showtime).order_by("pk")[:3])
    until = timezone.now() + timedelta(minutes=5)
    assert rawsql.update(ShowtimeSeat, [rows[0].pk, rows[1].pk],
                         {"status": "held", "expires_at": until}, {"version": 2}) == 2
    after = {r.pk: r for r in ShowtimeSeat.objects.filter(pk__in=[r.pk for r in rows])}
    for row in rows[:2]:
        assert (after[row.pk].status, after[row.pk].expires_at,
                after[row.pk].version) == ("held", until, row.version + 2)
    assert (after[rows[2].pk].status, after[rows[2].pk].version) == ("available", rows[2].version)
    assert rawsql.update(ShowtimeSeat, [], {"status": "sold"}) == 0


def test_reads_match_the_orm(showtime, buyer):
    hold, _ = hold_create(user=buyer, showtime_id=showtime.pk, seat_ids=seat_guids(showtime, 2))
    orm = list(SeatClaim.objects.filter(hold=hold, is_live=True)
               .select_related("showtime_seat__seat").order_by("showtime_seat_id"))
    raw = rawsql.fetch_claims({"hold_id": hold.pk, "is_live": True})
    assert [(c.pk, c.price, c.created_at, c.showtime_seat.seat.guid) for c in raw] == [
        (c.pk, c.price, c.created_at, c.showtime_seat.seat.guid) for c in orm]
    fetched = rawsql.fetch_one(Hold, {"id": hold.pk})
    assert fetched is not None and fetched.expires_at == hold.expires_at
    assert rawsql.fetch_one(Hold, {"id": uuid.uuid4()}) is None
    assert rawsql.fetch(ShowtimeSeat, {"id": 2**63}) == []  # out of the column's range: no row

    guids = [uuid.UUID(g) for g in seat_guids(showtime, 3)] + [uuid.uuid4()]
    assert rawsql.showtime_seat_ids(showtime.pk, guids) == dict(
        ShowtimeSeat.objects.filter(showtime=showtime, seat__guid__in=guids)
        .values_list("seat__guid", "pk"))
    assert len(rawsql.showtime_seat_ids(showtime.pk, guids)) == 3
