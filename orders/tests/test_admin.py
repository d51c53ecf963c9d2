"""Orders for staff in the Django admin (orders/admin.py): the box-office actions through their
confirmation pages, search, the read-only order page and the audit trail an order leaves."""

from conftest import assert_inventory_consistent, messages_of, seat_guids
from orders.models import Order, Payment, Ticket
from orders.services import order_create, order_pay
from seats.models import SeatEvent, ShowtimeSeat
from seats.services import hold_create

ORDERS = "/admin/orders/order/"


def choose(client, action, orders, url=ORDERS):
    """The changelist POST that picks an action: answers its confirmation page."""
    return client.post(
        url, {"action": action, "_selected_action": [o.pk for o in orders], "index": "0"}
    )


def confirm(client, action, orders, url=ORDERS):
    """The POST of the confirmation page's "Yes" button."""
    return client.post(
        url,
        {
            "action": action,
            "_selected_action": [o.pk for o in orders],
            "select_across": "0",
            "post": "yes",
        },
    )


def place_order(user, showtime, seat_ids, *, pay=False, name="Alice", phone="+43 660 1234567"):
    hold = hold_create(user=user, showtime_id=showtime.pk, seat_ids=seat_ids).hold
    order = order_create(
        user=user,
        hold_id=hold.pk,
        payment_method="card",
        customer={"name": name, "email": f"{user.username}@example.com", "phone": phone},
    ).order
    if pay:
        order_pay(user=user, order_id=order.pk)
    order.refresh_from_db()
    return order


def seat_statuses(order) -> set[str]:
    return set(ShowtimeSeat.objects.filter(claims__order=order).values_list("status", flat=True))


def test_mark_paid_through_the_confirmation_page(staff_client, staff, showtime, buyer, other_buyer):
    pending = place_order(buyer, showtime, seat_guids(showtime, 2))
    paid = place_order(other_buyer, showtime, seat_guids(showtime)[5:6], pay=True, name="Bob")

    page = choose(staff_client, "mark_paid", [pending, paid])
    assert page.status_code == 200
    html = page.content.decode()
    assert f"{pending.number} — pending — Alice" in html
    assert f"{paid.number} — paid — Bob" in html
    assert Order.objects.get(pk=pending.pk).status == "pending"  # nothing before "Yes"

    response = confirm(staff_client, "mark_paid", [pending, paid])
    assert response.status_code == 302
    assert messages_of(response) == [
        f"Marked 1 order paid: {pending.number}.",
        f"Skipped 1 order (only pending orders can be marked paid): {paid.number} (paid).",
    ]
    pending.refresh_from_db()
    assert pending.status == "paid" and pending.paid_at is not None
    assert seat_statuses(pending) == {"sold"}
    assert Ticket.objects.filter(order=pending, status="valid").count() == 2
    assert Payment.objects.get(order=pending).provider == "box_office"
    assert set(
        SeatEvent.objects.filter(order=pending, reason="sold").values_list("actor_kind", "actor")
    ) == {("staff", staff.pk)}
    assert_inventory_consistent(showtime)


def test_cancel_a_pending_order(staff_client, showtime, buyer, other_buyer):
    pending = place_order(buyer, showtime, seat_guids(showtime, 2))
    paid = place_order(other_buyer, showtime, seat_guids(showtime)[5:6], pay=True, name="Bob")
    page = choose(staff_client, "cancel_orders", [pending])
    assert page.status_code == 200 and pending.number in page.content.decode()

    response = confirm(staff_client, "cancel_orders", [pending, paid])
    assert messages_of(response) == [
        f"Cancelled 1 order: {pending.number}.",
        f"Skipped 1 order (only pending orders can be cancelled): {paid.number} (paid).",
    ]
    assert Order.objects.get(pk=pending.pk).status == "cancelled"
    assert seat_statuses(pending) == {"available"}
    assert Order.objects.get(pk=paid.pk).status == "paid"
    assert_inventory_consistent(showtime)


def test_refund_a_paid_order(staff_client, showtime, buyer, other_buyer):
    paid = place_order(buyer, showtime, seat_guids(showtime, 2), pay=True)
    pending = place_order(other_buyer, showtime, seat_guids(showtime)[5:6], name="Bob")
    page = choose(staff_client, "refund_orders", [paid, pending])
    assert page.status_code == 200
    assert f"{paid.number} — paid" in page.content.decode()

    response = confirm(staff_client, "refund_orders", [paid, pending])
    assert messages_of(response) == [
        f"Refunded 1 order: {paid.number}.",
        f"Skipped 1 order (only paid orders can be refunded): {pending.number} (pending).",
    ]
    assert Order.objects.get(pk=paid.pk).status == "refunded"
    assert seat_statuses(paid) == {"available"}
    assert set(Ticket.objects.filter(order=paid).values_list("status", flat=True)) == {"void"}
    assert_inventory_consistent(showtime)


def test_search_by_number_email_phone_and_seat_label(staff_client, showtime, buyer, other_buyer):
    alice = place_order(buyer, showtime, seat_guids(showtime, 2), phone="+43 660 1111111")
    bob = place_order(
        other_buyer, showtime, seat_guids(showtime)[5:7], name="Bob", phone="+43 660 2222222"
    )

    def found(q):
        response = staff_client.get(ORDERS, {"q": q})
        assert response.status_code == 200
        return [o.pk for o in response.context["cl"].result_list]

    assert found(alice.number) == [alice.pk]
    assert found("bob@example.com") == [bob.pk]
    assert found("660 1111111") == [alice.pk]
    assert found('"Hall B-2"') == [bob.pk]
    assert found('"Hall A-1"') == [alice.pk]
    assert sorted(found("Hall")) == sorted([alice.pk, bob.pk])  # once each, not once per seat


def test_filters_and_the_read_only_order_page(staff_client, showtime, buyer):
    order = place_order(buyer, showtime, seat_guids(showtime, 2), pay=True)
    listing = staff_client.get(
        ORDERS,
        {
            "status__exact": "paid",
            "payment_method__exact": "card",
            "showtime__id__exact": showtime.pk,
        },
    )
    assert [o.pk for o in listing.context["cl"].result_list] == [order.pk]
    assert staff_client.get(ORDERS, {"status__exact": "pending"}).context["cl"].result_count == 0

    page = staff_client.get(f"{ORDERS}{order.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    for ticket in Ticket.objects.filter(order=order):
        assert ticket.code in html
    assert "Hall A-1, Hall A-2" in html
    inlines = {f.opts.model._meta.model_name: f for f in page.context["inline_admin_formsets"]}
    assert set(inlines) == {"ticket", "payment", "paymentevent", "seatevent"}
    assert [e.reason for e in inlines["seatevent"].formset.queryset] == ["reserved"] * 2 + [
        "sold"
    ] * 2
    assert staff_client.post(f"{ORDERS}{order.pk}/change/", {}).status_code == 403
    assert staff_client.get(f"{ORDERS}add/").status_code == 403
    assert staff_client.get(f"{ORDERS}{order.pk}/delete/").status_code == 403


def test_the_audit_trail_of_hold_order_pay_refund(staff_client, staff, showtime, buyer):
    """Every change of one seat, in order, with who did it and what it belonged to."""
    guid = seat_guids(showtime, 1)[0]
    order = place_order(buyer, showtime, [guid], pay=True)
    confirm(staff_client, "refund_orders", [order])
    seat = ShowtimeSeat.objects.get(showtime=showtime, seat__guid=guid)

    trail = list(
        SeatEvent.objects.filter(showtime_seat=seat).values_list(
            "from_status", "to_status", "reason", "actor_kind", "actor", "hold", "order"
        )
    )
    assert trail == [
        ("available", "held", "held", "buyer", buyer.pk, order.hold_id, None),
        ("held", "reserved", "reserved", "buyer", buyer.pk, order.hold_id, order.pk),
        ("reserved", "sold", "sold", "buyer", buyer.pk, order.hold_id, order.pk),
        ("sold", "available", "refunded", "staff", staff.pk, order.hold_id, order.pk),
    ]
    # The same trail from the seat's page and in the audit-trail list, newest first.
    page = staff_client.get(f"/admin/seats/showtimeseat/{seat.pk}/change/")
    (inline,) = page.context["inline_admin_formsets"]
    assert [e.reason for e in inline.formset.queryset] == ["held", "reserved", "sold", "refunded"]
    listing = staff_client.get("/admin/seats/seatevent/", {"showtime__id__exact": showtime.pk})
    assert [e.reason for e in listing.context["cl"].result_list] == [
        "refunded",
        "sold",
        "reserved",
        "held",
    ]


def test_a_lost_race_is_reported_not_a_500(staff_client, showtime, buyer, monkeypatch):
    from core.errors import ApplicationError
    from orders import admin as orders_admin

    order = place_order(buyer, showtime, seat_guids(showtime, 1))

    def busy(**kwargs):
        raise ApplicationError("busy", "These seats are being changed right now.")

    monkeypatch.setattr(orders_admin, "order_staff_action", busy)
    response = confirm(staff_client, "mark_paid", [order])
    assert response.status_code == 302
    assert messages_of(response) == [
        "Marked 0 orders paid.",
        f"Failed: {order.number} (These seats are being changed right now.). Please try again.",
    ]
    assert Order.objects.get(pk=order.pk).status == "pending"


def test_flagged_payments_and_scans_are_listed_for_staff(
    staff_client, buyer, showtime, clock, settings
):
    """A payment that arrived after the deadline is found under "needs refund"; check-in scans are
    listed; neither can be edited."""
    from orders.models import Payment
    from orders.services import order_create, payment_confirm, ticket_check_in

    hold = hold_create(user=buyer, showtime_id=showtime.pk, seat_ids=seat_guids(showtime, 1)).hold
    order = order_create(
        user=buyer,
        hold_id=hold.pk,
        payment_method="card",
        customer={"name": "A", "email": "a@example.com", "phone": ""},
    ).order
    clock.advance(settings.PAYMENT_WINDOW_SECONDS + 1)
    assert order.number is not None
    payment_confirm(
        event="payment.succeeded",
        payment_id="late-1",
        order_number=order.number,
        amount=order.total,
        currency=order.currency,
    )
    ticket_check_in(code="no-such-code", staff=None)
    page = staff_client.get("/admin/orders/payment/?needs_refund__exact=1")
    assert page.status_code == 200 and "late-1" in page.content.decode()
    assert "order is expired" in page.content.decode()
    payment = Payment.objects.get()
    assert staff_client.post(f"/admin/orders/payment/{payment.pk}/change/", {}).status_code == 403
    scans = staff_client.get("/admin/orders/checkinscan/")
    assert scans.status_code == 200 and "no-such-code" in scans.content.decode()


def test_the_order_list_reads_a_lapsed_order_as_expired(
    staff_client, showtime, buyer, clock, settings
):
    """Staff see an unpaid order past its deadline as expired (domain.md, invariant 4) in the
    list, its filter and its page, and the box-office actions do not count it as pending."""
    lapsed = place_order(buyer, showtime, seat_guids(showtime, 1))
    paid = place_order(buyer, showtime, seat_guids(showtime)[1:2], pay=True)
    clock.advance(settings.PAYMENT_WINDOW_SECONDS + 1)
    listing = staff_client.get(ORDERS)
    assert "expired (lapsed, not yet recorded)" in listing.content.decode()
    by_status = {
        status: [
            o.pk
            for o in staff_client.get(ORDERS, {"status__exact": status}).context["cl"].result_list
        ]
        for status in ("pending", "expired", "paid")
    }
    assert by_status == {"pending": [], "expired": [lapsed.pk], "paid": [paid.pk]}
    page = staff_client.get(f"{ORDERS}{lapsed.pk}/change/").content.decode()
    assert "expired (lapsed, not yet recorded)" in page
    confirmation = choose(staff_client, "mark_paid", [lapsed]).content.decode()
    assert "0 of them are pending now." in confirmation
    assert Order.objects.get(pk=lapsed.pk).status == "pending"  # reading wrote nothing
