"""Webhook orderings (issue 14, case 7; api.md "Payments and check-in": a payment is never
silently dropped): every order of ``payment.failed`` and ``payment.succeeded`` for one
``payment_id``, repeats, and a success that arrives once the order can no longer take it. Every
webhook is kept in the payment log (``PaymentEvent``) with its result."""

import itertools
import json
from decimal import Decimal

import pytest

from conftest import run_threads, seat_guids
from orders.models import Order, Payment, PaymentEvent, Ticket
from orders.payments import sign
from orders.services import order_create
from seats.models import ShowtimeSeat
from seats.services import hold_create

CUSTOMER = {"name": "Alice Buyer", "email": "alice@example.com", "phone": ""}
SECRET = "whsec-test-0123456789"
S, F = "payment.succeeded", "payment.failed"


@pytest.fixture
def webhook(settings, client):
    """``webhook(order, event, payment_id="pay_1", **changes)`` → the answer (status, JSON)."""
    settings.PAYMENT_PROVIDER = "webhook"
    settings.PAYMENT_WEBHOOK_SECRET = SECRET

    def post(order, event, payment_id="pay_1", **changes):
        body = {
            "event": event,
            "payment_id": payment_id,
            "order_number": order.number,
            "amount": str(order.total),
            "currency": order.currency,
            **changes,
        }
        raw = json.dumps(body).encode()
        response = client.post(
            "/api/v1/payments/webhook/",
            raw,
            content_type="application/json",
            HTTP_X_SIGNATURE=sign(raw),
        )
        return response.status_code, response.json()

    return post


def pending_order(user, showtime, n=1) -> Order:
    hold = hold_create(user=user, showtime_id=showtime.pk, seat_ids=seat_guids(showtime, n)).hold
    return order_create(user=user, hold_id=hold.pk, customer=CUSTOMER, payment_method="card").order


def expected_results(events) -> list[str]:
    """The rule of api.md, applied in turn to events for one payment of a pending order."""
    state, results = None, []
    for event in events:
        if event == S:
            results.append("paid" if state in (None, "failed") else "replayed")
            state = "succeeded"
        else:
            results.append(
                "failed" if state is None else "replayed" if state == "failed" else "ignored"
            )
            state = state or "failed"
    return results


def log_of(order) -> list[tuple[str, str]]:
    return list(
        PaymentEvent.objects.filter(order=order).order_by("id").values_list("event", "outcome")
    )


EVERY_ORDERING = [seq for n in (1, 2, 3) for seq in itertools.product((F, S), repeat=n)]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "events", EVERY_ORDERING, ids=["→".join(e.split(".")[1] for e in seq) for seq in EVERY_ORDERING]
)
def test_every_ordering_of_failed_and_succeeded_for_one_payment(webhook, buyer, showtime, events):
    """failed→succeeded pays the order (was: ``replayed``, the order stayed pending and the money
    was neither recorded nor flagged); succeeded→failed leaves it paid; repeats change nothing;
    each webhook leaves one log row with its result."""
    order = pending_order(buyer, showtime, n=2)
    answers = [webhook(order, event) for event in events]
    expected = expected_results(events)
    assert answers == [
        (200, {"result": r, "order_number": order.number, "needs_refund": False}) for r in expected
    ]

    order.refresh_from_db()
    paid = S in events
    assert order.status == ("paid" if paid else "pending")
    assert Ticket.objects.filter(order=order).count() == (2 if paid else 0)
    statuses = set(
        ShowtimeSeat.objects.filter(claims__order=order).values_list("status", flat=True)
    )
    assert statuses == {"sold" if paid else "reserved"}
    payment = Payment.objects.get()  # one row per payment_id, whatever the ordering
    assert payment.status == ("succeeded" if paid else "failed") and not payment.needs_refund
    assert log_of(order) == list(zip(events, expected, strict=True))
    assert set(PaymentEvent.objects.values_list("payment_record", flat=True)) == {payment.pk}


@pytest.mark.django_db
@pytest.mark.parametrize("end", ["expired", "cancelled"])
def test_a_success_after_a_failure_once_the_order_is_gone_is_flagged_for_refund(
    webhook, api, buyer, other_buyer, showtime, clock, settings, end
):
    order = pending_order(buyer, showtime)
    assert webhook(order, F)[1]["result"] == "failed"
    if end == "expired":
        clock.advance(settings.PAYMENT_WINDOW_SECONDS + 1)
    else:
        assert api.post(f"/api/v1/orders/{order.pk}/cancel/").status_code == 200
    seat = seat_guids(showtime, 1)[0]
    hold_create(user=other_buyer, showtime_id=showtime.pk, seat_ids=[seat])  # taken since

    status, answer = webhook(order, S)
    assert (status, answer) == (
        200,
        {"result": "flagged", "order_number": order.number, "needs_refund": True},
    )
    payment = Payment.objects.get()
    assert payment.status == "succeeded" and payment.needs_refund
    assert payment.note == f"order is {end}"
    assert Order.objects.get(pk=order.pk).status == end
    assert ShowtimeSeat.objects.get(seat__guid=seat).status == "held"  # still the other buyer's
    assert not Ticket.objects.exists()
    # the same success again: recorded once, still flagged
    assert webhook(order, S)[1] == {
        "result": "replayed",
        "order_number": order.number,
        "needs_refund": True,
    }
    assert Payment.objects.filter(needs_refund=True).count() == 1
    assert log_of(order) == [(F, "failed"), (S, "flagged"), (S, "replayed")]
    flagged = PaymentEvent.objects.get(outcome="flagged")
    assert flagged.note == f"order is {end}" and flagged.amount == order.total


@pytest.mark.django_db
def test_a_success_after_a_failure_with_another_amount_is_flagged(webhook, buyer, showtime):
    order = pending_order(buyer, showtime)
    webhook(order, F)
    _status, answer = webhook(order, S, amount=str(order.total - Decimal("1.00")))
    assert answer["result"] == "flagged" and answer["needs_refund"]
    assert Order.objects.get(pk=order.pk).status == "pending"
    assert "does not match" in Payment.objects.get().note


@pytest.mark.django_db
def test_a_second_payment_for_a_paid_order_is_flagged_and_a_late_failure_ignored(
    webhook, buyer, showtime
):
    order = pending_order(buyer, showtime)
    assert webhook(order, F, "pay_a")[1]["result"] == "failed"
    assert webhook(order, S, "pay_b")[1]["result"] == "paid"
    assert webhook(order, S, "pay_a")[1] == {
        "result": "flagged",
        "order_number": order.number,
        "needs_refund": True,
    }  # money twice: refund one
    assert webhook(order, F, "pay_b")[1]["result"] == "ignored"
    assert Order.objects.get(pk=order.pk).status == "paid"
    assert dict(Payment.objects.values_list("payment_id", "needs_refund")) == {
        "pay_a": True,
        "pay_b": False,
    }
    assert log_of(order) == [(F, "failed"), (S, "paid"), (S, "flagged"), (F, "ignored")]


@pytest.mark.django_db
def test_a_webhook_for_an_unknown_order_is_logged_and_404(webhook, buyer, showtime):
    order = pending_order(buyer, showtime)
    order.number = "ORD-19990101-999999"
    status, answer = webhook(order, S, "pay_lost")
    assert status == 404 and answer["error"]["code"] == "not_found"
    logged = PaymentEvent.objects.get()
    assert (logged.outcome, logged.order, logged.payment_record) == ("unknown_order", None, None)
    assert (logged.order_number, logged.payment_id) == ("ORD-19990101-999999", "pay_lost")
    assert not Payment.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_failed_and_succeeded_at_the_same_moment_end_paid(webhook, buyer, showtime):
    """Whichever of the two is applied first, the order ends paid with one payment row and both
    webhooks logged (they are serialised by the order's row lock)."""
    order = pending_order(buyer, showtime)
    results = run_threads(2, lambda i: webhook(order, (F, S)[i]))
    assert all(status == 200 for status, _ in results), results
    assert {answer["result"] for _, answer in results} in ({"failed", "paid"}, {"paid", "ignored"})
    assert Order.objects.get(pk=order.pk).status == "paid"
    assert Payment.objects.get().status == "succeeded"
    assert sorted(event for event, _ in log_of(order)) == [F, S]


@pytest.mark.django_db
def test_the_payment_log_is_in_the_admin(webhook, staff_client, buyer, showtime):
    order = pending_order(buyer, showtime)
    webhook(order, F, "pay_admin")
    webhook(order, S, "pay_admin")
    page = staff_client.get("/admin/orders/paymentevent/")
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count("pay_admin") >= 2 and "payment.failed" in html and "payment.succeeded" in html
    order_page = staff_client.get(f"/admin/orders/order/{order.pk}/change/")
    html = order_page.content.decode()
    assert order_page.status_code == 200 and "payment log" in html.lower()
    assert "payment.failed" in html and "payment.succeeded" in html
    payment_page = staff_client.get(f"/admin/orders/payment/{Payment.objects.get().pk}/change/")
    assert payment_page.status_code == 200
    assert "payment.failed" in payment_page.content.decode()
