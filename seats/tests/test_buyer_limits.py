"""The per-buyer caps (issue #14, case 6: "one account can hoard the house"; docs/api.md "Holds",
"Orders", 409 ``buyer_limit``): at most ``max_seats_per_buyer`` seats held or in pending orders of
one showtime together, and at most ``MAX_PENDING_ORDERS_PER_BUYER`` pending orders, checked by
holds, additions to a hold, best available, general admission and one-step orders; converting the
buyer's own hold never counts its seats twice. The race of one buyer's concurrent requests runs
in real threads on the real database (SQLite and PostgreSQL)."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from conftest import client_for, run_threads, seat_guids
from core.errors import ApplicationError
from orders.models import Order
from seats.models import Hold, SeatClaim, ShowtimeSeat

CUSTOMER = {"name": "Hoarder", "email": "hoarder@example.com", "phone": ""}


def hold(api, showtime, seats):
    return api.post(f"/api/v1/showtimes/{showtime.pk}/holds/", {"seats": seats}, format="json")


def one_step(api, showtime, seats, key=None):
    extra = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return api.post(
        "/api/v1/orders/",
        {"showtime": showtime.pk, "seats": seats, "customer": CUSTOMER, "payment_method": "card"},
        format="json",
        **extra,
    )


def convert(api, hold_id):
    return api.post(
        "/api/v1/orders/",
        {"hold": hold_id, "customer": CUSTOMER, "payment_method": "card"},
        format="json",
    )


def refused(response, cap, limit, current, requested):
    assert response.status_code == 409, response.json()
    error = response.json()["error"]
    assert error["code"] == "buyer_limit", error
    assert error["details"] == {
        "cap": cap,
        "limit": limit,
        "current": current,
        "requested": requested,
    }
    return error


@pytest.mark.django_db
def test_one_account_cannot_hoard_the_house_with_one_step_orders(api, make_showtime):
    """The report: 20 one-step orders of 10 seats reserved 200 seats. Now the first takes the
    buyer's 10 (the default cap: max_seats_per_order), every later one is refused, nothing
    written."""
    showtime = make_showtime(rows=4, seats_per_row=10)
    guids = seat_guids(showtime)
    assert one_step(api, showtime, guids[:10], key="k-0").status_code == 201
    for n in range(1, 4):
        response = one_step(api, showtime, guids[10 * n : 10 * n + 10], key=f"k-{n}")
        refused(response, "max_seats_per_buyer", 10, 10, 10)
    assert Order.objects.count() == 1 and Hold.objects.count() == 1
    assert ShowtimeSeat.objects.filter(showtime=showtime, status="reserved").count() == 10
    assert ShowtimeSeat.objects.filter(showtime=showtime, status="available").count() == 30


@pytest.mark.django_db
def test_held_and_pending_seats_count_together_and_additions_are_checked(api, make_showtime):
    showtime = make_showtime(rows=2, seats_per_row=8, max_seats_per_order=4, max_seats_per_buyer=6)
    g = seat_guids(showtime)
    first = hold(api, showtime, g[:4])
    assert first.status_code == 201
    assert convert(api, first.json()["id"]).status_code == 201  # 4 pending
    assert hold(api, showtime, g[4:6]).status_code == 201  # + 2 held = 6
    refused(hold(api, showtime, g[6:7]), "max_seats_per_buyer", 6, 6, 1)  # adding to the hold
    refused(one_step(api, showtime, g[6:7]), "max_seats_per_buyer", 6, 6, 1)
    # Seats already in the hold are accepted again: they add nothing.
    assert hold(api, showtime, g[4:6]).status_code == 200
    # Releasing one frees room for one.
    hold_id = Hold.objects.get(status="active").pk
    assert (
        api.post(f"/api/v1/holds/{hold_id}/release/", {"seats": [g[5]]}, format="json").status_code
        == 200
    )
    assert hold(api, showtime, [g[6]]).status_code == 200
    assert ShowtimeSeat.objects.filter(showtime=showtime, status="held").count() == 2
    assert ShowtimeSeat.objects.filter(showtime=showtime, status="reserved").count() == 4


@pytest.mark.django_db
def test_converting_the_own_hold_does_not_count_its_seats_twice(api, make_showtime):
    showtime = make_showtime(rows=2, seats_per_row=8, max_seats_per_order=10)
    g = seat_guids(showtime)
    made = hold(api, showtime, g[:10])  # the whole cap, held
    assert made.status_code == 201
    order = convert(api, made.json()["id"])
    assert order.status_code == 201, order.json()
    assert len(order.json()["tickets"]) == 10
    refused(hold(api, showtime, g[10:11]), "max_seats_per_buyer", 10, 10, 1)


@pytest.mark.django_db
def test_pending_orders_are_capped_per_buyer_and_showtime(api, other_api, make_showtime, settings):
    settings.MAX_PENDING_ORDERS_PER_BUYER = 2
    showtime = make_showtime(rows=2, seats_per_row=8, max_seats_per_buyer=16)
    other = make_showtime()
    g = seat_guids(showtime)
    first, second = (one_step(api, showtime, [g[i]]) for i in (0, 1))
    assert first.status_code == second.status_code == 201
    refused(one_step(api, showtime, [g[2]]), "max_pending_orders_per_buyer", 2, 2, 1)
    # Converting a hold makes an order too.
    held = hold(api, showtime, [g[3]])
    assert held.status_code == 201  # holding is fine: the seat cap has room
    refused(convert(api, held.json()["id"]), "max_pending_orders_per_buyer", 2, 2, 1)
    assert Hold.objects.get(pk=held.json()["id"]).status == "active"  # left as it was
    # Other showtimes and other buyers have their own counts.
    assert one_step(api, other, seat_guids(other, 1)).status_code == 201
    assert one_step(other_api, showtime, [g[4]]).status_code == 201
    # A paid order and a cancelled one no longer count.
    assert api.post(f"/api/v1/orders/{first.json()['id']}/pay/").status_code == 200
    assert convert(api, held.json()["id"]).status_code == 201
    refused(one_step(api, showtime, [g[5]]), "max_pending_orders_per_buyer", 2, 2, 1)
    assert api.post(f"/api/v1/orders/{second.json()['id']}/cancel/").status_code == 200
    assert one_step(api, showtime, [g[5]]).status_code == 201


@pytest.mark.django_db
def test_lapsed_holds_and_orders_do_not_count(api, make_showtime, clock, settings):
    settings.MAX_PENDING_ORDERS_PER_BUYER = 1
    showtime = make_showtime(rows=2, seats_per_row=8, max_seats_per_order=4)
    g = seat_guids(showtime)
    assert one_step(api, showtime, g[:4]).status_code == 201
    refused(one_step(api, showtime, g[4:5]), "max_seats_per_buyer", 4, 4, 1)
    clock.advance(settings.PAYMENT_WINDOW_SECONDS + 1)  # the order lapsed, not yet recorded
    assert hold(api, showtime, g[4:8]).status_code == 201
    clock.advance(showtime.hold_ttl + 1)  # the hold lapsed too
    assert one_step(api, showtime, g[8:12]).status_code == 201


@pytest.mark.django_db
def test_best_available_and_general_admission_are_capped(api, buyer):
    from seats.tests.test_selection import make, plan_with

    showtime = make(
        plan_with(
            [{"row": "A", "seats": 10}],
            ga=[{"name": "Standing", "capacity": 30, "category": "Floor"}],
        ),
        {"Front": Decimal("50"), "Back": Decimal("20"), "Floor": Decimal("15")},
        max_seats_per_order=4,
        max_seats_per_buyer=6,
    )
    base = f"/api/v1/showtimes/{showtime.pk}/holds"
    best = api.post(f"{base}/best/", {"quantity": 4}, format="json")
    assert best.status_code == 201
    assert convert(api, best.json()["id"]).status_code == 201  # 4 seats pending
    refused(
        api.post(f"{base}/best/", {"quantity": 3}, format="json"), "max_seats_per_buyer", 6, 4, 3
    )
    refused(
        api.post(f"{base}/", {"ga": [{"zone": "Standing", "quantity": 3}]}, format="json"),
        "max_seats_per_buyer",
        6,
        4,
        3,
    )
    assert not Hold.objects.filter(status="active").exists()
    # Within the cap both still work, and count together.
    assert api.post(f"{base}/best/", {"quantity": 1}, format="json").status_code == 201
    response = api.post(f"{base}/", {"ga": [{"zone": "Standing", "quantity": 1}]}, format="json")
    assert response.status_code == 200, response.json()
    refused(
        api.post(f"{base}/", {"ga": [{"zone": "Standing", "quantity": 1}]}, format="json"),
        "max_seats_per_buyer",
        6,
        6,
        1,
    )
    assert SeatClaim.objects.filter(is_live=True).count() == 6


@pytest.mark.django_db
def test_the_caps_are_published_with_the_showtime(client, make_showtime, settings):
    settings.MAX_PENDING_ORDERS_PER_BUYER = 3
    default, own = make_showtime(max_seats_per_order=4), make_showtime(max_seats_per_buyer=12)
    body = client.get(f"/api/v1/showtimes/{default.pk}/").json()
    assert (
        body["max_seats_per_order"],
        body["max_seats_per_buyer"],
        body["max_pending_orders_per_buyer"],
    ) == (4, 4, 3)
    assert client.get(f"/api/v1/showtimes/{own.pk}/").json()["max_seats_per_buyer"] == 12
    # Empty means "the same as max_seats_per_order", whatever staff make that later.
    default.max_seats_per_order = 6
    default.save()
    assert client.get(f"/api/v1/showtimes/{default.pk}/").json()["max_seats_per_buyer"] == 6


@pytest.mark.django_db
def test_a_buyer_cap_below_the_order_cap_is_refused(make_showtime):
    showtime = make_showtime(max_seats_per_order=6)
    showtime.max_seats_per_buyer = 4
    with pytest.raises(ValidationError) as refusal:
        showtime.full_clean()
    assert "max_seats_per_buyer" in refusal.value.message_dict
    showtime.max_seats_per_buyer = 6
    showtime.full_clean()
    with pytest.raises(ApplicationError) as refused:
        make_showtime(max_seats_per_order=6, max_seats_per_buyer=5)
    assert refused.value.status == 400 and "max_seats_per_buyer" in refused.value.details


# --- Staff set the cap per showtime in the admin ---------------------------------------------------


@pytest.mark.django_db
def test_staff_change_the_cap_of_a_showtime_in_the_admin(staff_client, make_showtime, api):
    showtime = make_showtime(rows=2, seats_per_row=8, max_seats_per_order=4)
    url = f"/admin/seats/showtime/{showtime.pk}/change/"
    page = staff_client.get(url)
    assert page.status_code == 200 and 'name="max_seats_per_buyer"' in page.content.decode()
    form = page.context["adminform"].form
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data.update(
        {
            "starts_at_0": f"{showtime.starts_at:%Y-%m-%d}",
            "starts_at_1": f"{showtime.starts_at:%H:%M:%S}",
            "sales_start_0": "",
            "sales_start_1": "",
            "sales_end_0": "",
            "sales_end_1": "",
            "max_seats_per_buyer": "2",
        }
    )
    for formset in page.context["inline_admin_formsets"]:
        management = formset.formset.management_form
        data.update({f"{management.prefix}-{k}": v for k, v in management.initial.items()})
        for price in formset.formset.forms:
            data.update(
                {
                    f"{price.prefix}-{k}": v
                    for k, v in (
                        ("id", price.instance.pk),
                        ("category", price.instance.category_id),
                        ("price", str(price.instance.price)),
                        ("showtime", showtime.pk),
                    )
                }
            )
    refused_page = staff_client.post(url, data)  # below max_seats_per_order: the form says why
    assert refused_page.status_code == 200
    assert "At least max seats per order" in refused_page.content.decode()
    data.update({"max_seats_per_order": "2"})
    response = staff_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    showtime.refresh_from_db()
    assert (showtime.max_seats_per_order, showtime.max_seats_per_buyer) == (2, 2)
    g = seat_guids(showtime)
    assert hold(api, showtime, g[:2]).status_code == 201
    refused(one_step(api, showtime, g[2:3]), "max_seats_per_buyer", 2, 2, 1)


# --- One buyer's concurrent requests ---------------------------------------------------------------

THREADS = 8


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_of_one_buyer_never_pass_the_seat_cap_together(
    make_user, make_showtime, settings
):
    """8 real threads of one buyer, each with its own connection, started together: four add 2
    seats to the buyer's hold, four order 2 seats in one step, all different seats. The cap is
    6 seats, so exactly 3 requests win; the others get 409 ``buyer_limit`` (or 400
    ``too_many_seats``, a hold addition when the hold alone has the 6 seats of an order).
    Without the buyer lock two of them could both read 4 and both pass."""
    settings.MAX_PENDING_ORDERS_PER_BUYER = THREADS
    showtime = make_showtime(rows=2, seats_per_row=8, max_seats_per_order=6)
    g = seat_guids(showtime)
    buyer = make_user()
    clients = [client_for(buyer) for _ in range(THREADS)]

    def attempt(i):
        seats = g[2 * i : 2 * i + 2]
        response = (hold if i % 2 else one_step)(clients[i], showtime, seats)
        return response.status_code, response.json()

    results = run_threads(THREADS, attempt)
    assert not [r for r in results if isinstance(r, BaseException)], results
    won = [body for status, body in results if status in (200, 201)]
    assert len(won) == 3, results
    capped = [
        body["error"]
        for i, (status, body) in enumerate(results)
        if status not in (200, 201) and (i % 2 == 0 or body["error"]["code"] != "too_many_seats")
    ]
    assert all(
        e["code"] == "buyer_limit"
        and e["details"] == {"cap": "max_seats_per_buyer", "limit": 6, "current": 6, "requested": 2}
        for e in capped
    ), results
    live = SeatClaim.objects.filter(is_live=True, hold__user=buyer)
    assert live.count() == 6
    assert ShowtimeSeat.objects.filter(showtime=showtime).exclude(status="available").count() == 6


@pytest.mark.django_db(transaction=True)
def test_concurrent_orders_of_one_buyer_never_pass_the_pending_order_cap(
    make_user, make_showtime, settings
):
    settings.MAX_PENDING_ORDERS_PER_BUYER = 2
    showtime = make_showtime(rows=2, seats_per_row=8, max_seats_per_buyer=16)
    g = seat_guids(showtime)
    buyer = make_user()
    clients = [client_for(buyer) for _ in range(THREADS)]

    def attempt(i):
        response = one_step(clients[i], showtime, [g[i]])
        return response.status_code, response.json()

    results = run_threads(THREADS, attempt)
    assert not [r for r in results if isinstance(r, BaseException)], results
    assert sorted(status for status, _ in results) == [201] * 2 + [409] * (THREADS - 2), results
    assert {body["error"]["details"]["cap"] for status, body in results if status == 409} == {
        "max_pending_orders_per_buyer"
    }
    assert Order.objects.filter(user=buyer, status="pending").count() == 2


def usage_by_holds_and_orders(user_id, showtime_id, now):
    """The per-buyer count stated on holds and orders (the lapse rule of ``seats.lapse``): the
    reference that ``seats.selectors.buyer_usage``, stated on seats, must match."""
    from django.db.models import Count, Q

    from seats.models import Hold, SeatClaim

    held = Q(order__isnull=True) & Hold.live_q(now, "hold__")
    row = (
        SeatClaim.objects.filter(is_live=True, hold__user_id=user_id, hold__showtime_id=showtime_id)
        .filter(held | Order.live_q(now, "order__"))
        .aggregate(seats=Count("pk"), orders=Count("order_id", distinct=True))
    )
    return row["seats"], row["orders"]


@pytest.mark.django_db(transaction=True)
def test_the_count_on_seats_agrees_with_holds_and_orders_at_every_moment(
    api, buyer, other_buyer, make_showtime, clock
):
    """``seats.selectors.buyer_usage`` (read from claims and their seats, without orders) against
    the same count read from the holds' and orders' statuses: an active hold, a pending order, a
    paid order, another buyer's and another showtime's seats, before and after the deadlines."""
    from django.utils import timezone

    from orders.services import order_pay
    from seats.selectors import buyer_usage
    from seats.services import hold_create

    showtime, elsewhere = make_showtime(rows=3, seats_per_row=5), make_showtime()
    s = seat_guids(showtime)
    assert one_step(api, showtime, s[0:2]).status_code == 201  # pending, 2 seats
    paid = one_step(api, showtime, s[2:3]).json()["id"]
    order_pay(user=buyer, order_id=paid)  # paid: not counted
    assert hold(api, showtime, s[3:6]).status_code == 201  # held, 3 seats
    hold_create(user=other_buyer, showtime_id=showtime.pk, seat_ids=s[6:8])
    hold_create(user=buyer, showtime_id=elsewhere.pk, seat_ids=seat_guids(elsewhere, 2))
    seen = []
    for advance in (0, showtime.hold_ttl + 1, 24 * 3600):
        clock.advance(advance)
        now = timezone.now()
        for user in (buyer, other_buyer):
            usage = buyer_usage(user.pk, showtime.pk, now)
            assert (usage.seats, usage.pending_orders) == usage_by_holds_and_orders(
                user.pk, showtime.pk, now
            )
            seen.append((usage.seats, usage.pending_orders))
    assert seen[0] == (5, 1) and seen[1] == (2, 0)  # the counts really differ over time
    assert seen[2] == (2, 1) and seen[4] == (0, 0)
