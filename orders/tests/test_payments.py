"""Payments and tickets (api.md "Payments and check-in"): the signed webhook, the payment
deadline, QR tickets, check-in and the e-mails."""

import io
import json
from collections import Counter
from decimal import Decimal

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils.html import strip_tags

from conftest import client_for, run_threads, seat_guids
from orders.models import CheckInScan, Order, Payment, Ticket
from orders.payments import sign
from orders.services import order_create, order_pay, order_staff_action
from orders.tests.qr import decode_svg_qr
from seats.models import ShowtimeSeat
from seats.services import hold_create

CUSTOMER = {"name": "Alice Buyer", "email": "alice@example.com", "phone": ""}
SECRET = "whsec-test-0123456789"


@pytest.fixture
def webhook(settings):
    settings.PAYMENT_PROVIDER = "webhook"
    settings.PAYMENT_WEBHOOK_SECRET = SECRET

    def post(client, body: dict, signature=None):
        raw = json.dumps(body).encode()
        return client.post(
            "/api/v1/payments/webhook/",
            raw,
            content_type="application/json",
            HTTP_X_SIGNATURE=signature if signature is not None else sign(raw),
        )

    return post


def pending_order(user, showtime, n=1, start=0) -> Order:
    hold = hold_create(
        user=user, showtime_id=showtime.pk, seat_ids=seat_guids(showtime)[start : start + n]
    ).hold
    return order_create(user=user, hold_id=hold.pk, customer=CUSTOMER, payment_method="card").order


def body_for(order, payment_id="pay_1", **changes):
    body = {
        "event": "payment.succeeded",
        "payment_id": payment_id,
        "order_number": order.number,
        "amount": str(order.total),
        "currency": order.currency,
    }
    body.update(changes)
    return body


@pytest.mark.django_db
def test_webhook_provider_leaves_the_order_pending_until_the_signed_webhook(
    webhook, client, buyer, showtime
):
    order = pending_order(buyer, showtime, n=2)
    assert order_pay(user=buyer, order_id=order.pk).order.status == "pending"
    response = webhook(client, body_for(order))
    assert response.status_code == 200
    assert response.json() == {
        "result": "paid",
        "order_number": order.number,
        "needs_refund": False,
    }
    order.refresh_from_db()
    assert order.status == "paid" and order.tickets.count() == 2
    assert set(ShowtimeSeat.objects.filter(status="sold").values_list("pk", flat=True)) == set(
        order.claims.values_list("showtime_seat_id", flat=True)
    )


@pytest.mark.django_db
@pytest.mark.parametrize("signature", ["", "sha256=" + "0" * 64, "sha256=deadbeef", "md5=abc"])
def test_bad_or_missing_signature_is_401_and_changes_nothing(
    webhook, client, buyer, showtime, signature
):
    order = pending_order(buyer, showtime)
    response = webhook(client, body_for(order), signature=signature)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "signature_invalid"
    assert Order.objects.get(pk=order.pk).status == "pending" and not Payment.objects.exists()


@pytest.mark.django_db
def test_signature_with_another_secret_is_refused(webhook, client, buyer, showtime):
    order = pending_order(buyer, showtime)
    raw = json.dumps(body_for(order)).encode()
    response = client.post(
        "/api/v1/payments/webhook/",
        raw,
        content_type="application/json",
        HTTP_X_SIGNATURE=sign(raw, secret="someone-else"),
    )
    assert response.status_code == 401


@pytest.mark.django_db
def test_replayed_webhook_changes_nothing(webhook, client, buyer, showtime):
    order = pending_order(buyer, showtime)
    assert webhook(client, body_for(order)).json()["result"] == "paid"
    codes = set(Ticket.objects.values_list("code", flat=True))
    again = webhook(client, body_for(order))
    assert again.status_code == 200 and again.json()["result"] == "replayed"
    assert Payment.objects.count() == 1
    assert set(Ticket.objects.values_list("code", flat=True)) == codes


@pytest.mark.django_db
def test_amount_or_currency_mismatch_is_flagged_not_paid(webhook, client, buyer, showtime):
    order = pending_order(buyer, showtime)
    r1 = webhook(client, body_for(order, "pay_low", amount=str(order.total - Decimal("1.00"))))
    r2 = webhook(client, body_for(order, "pay_usd", currency="USD"))
    assert r1.json()["result"] == r2.json()["result"] == "flagged"
    assert Order.objects.get(pk=order.pk).status == "pending"
    flagged = Payment.objects.filter(needs_refund=True)
    assert flagged.count() == 2 and "does not match" in flagged[0].note


@pytest.mark.django_db
def test_payment_after_expiry_is_recorded_and_flagged_and_resurrects_nothing(
    webhook, client, buyer, other_buyer, showtime, clock, settings
):
    order = pending_order(buyer, showtime)
    clock.advance(settings.PAYMENT_WINDOW_SECONDS + 1)
    seat = seat_guids(showtime, 1)[0]
    hold_create(user=other_buyer, showtime_id=showtime.pk, seat_ids=[seat])  # bought since
    response = webhook(client, body_for(order, "pay_late"))
    assert response.status_code == 200
    assert response.json() == {
        "result": "flagged",
        "order_number": order.number,
        "needs_refund": True,
    }
    assert Order.objects.get(pk=order.pk).status == "expired"
    payment = Payment.objects.get(payment_id="pay_late")
    assert payment.needs_refund and payment.note == "order is expired"
    assert ShowtimeSeat.objects.get(seat__guid=seat).status == "held"  # still the other buyer's
    assert not Ticket.objects.exists()


@pytest.mark.django_db
def test_payment_for_a_cancelled_order_is_flagged(webhook, client, api, buyer, showtime):
    order = pending_order(buyer, showtime)
    api.post(f"/api/v1/orders/{order.pk}/cancel/")
    assert webhook(client, body_for(order)).json()["result"] == "flagged"
    assert Order.objects.get(pk=order.pk).status == "cancelled"


@pytest.mark.django_db
def test_failed_payment_keeps_the_order_pending(webhook, client, buyer, showtime):
    order = pending_order(buyer, showtime)
    response = webhook(client, body_for(order, event="payment.failed"))
    assert response.json()["result"] == "failed"
    assert Order.objects.get(pk=order.pk).status == "pending"
    assert webhook(client, body_for(order, "pay_2")).json()["result"] == "paid"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{not json", "malformed_json"),
        (json.dumps({"event": "payment.refunded"}).encode(), "validation_error"),
    ],
)
def test_bad_webhook_bodies_are_400(webhook, client, body, code):
    response = client.post(
        "/api/v1/payments/webhook/",
        body,
        content_type="application/json",
        HTTP_X_SIGNATURE=sign(body),
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == code


@pytest.mark.django_db
def test_unknown_order_number_is_404(webhook, client):
    body = {
        "event": "payment.succeeded",
        "payment_id": "p",
        "order_number": "ORD-1-000001",
        "amount": "1.00",
        "currency": "EUR",
    }
    assert webhook(client, body).status_code == 404


@pytest.mark.django_db
def test_expiry_without_cleanup_then_with_cleanup(buyer, showtime, clock, settings):
    order = pending_order(buyer, showtime)
    clock.advance(settings.PAYMENT_WINDOW_SECONDS + 1)
    # without cleanup: the seat already reads as available, and paying is refused
    from seats.selectors import seat_states

    assert {s["status"] for s in seat_states(showtime.pk)[1]} == {"available"}
    assert Order.objects.get(pk=order.pk).status == "pending"  # not yet written
    call_command("cleanup", stdout=io.StringIO())
    assert Order.objects.get(pk=order.pk).status == "expired"
    assert set(ShowtimeSeat.objects.values_list("status", flat=True)) == {"available"}


@pytest.mark.django_db
def test_ticket_qr_decodes_to_the_ticket_code_and_the_ticket_page_shows_it(api, buyer, showtime):
    order = pending_order(buyer, showtime)
    order_pay(user=buyer, order_id=order.pk)
    ticket = api.get(f"/api/v1/orders/{order.pk}/tickets/").json()[0]
    svg = api.get(ticket["qr_svg_url"]).content.decode()
    assert decode_svg_qr(svg) == ticket["code"]
    page = api.get(f"/tickets/{ticket['code']}/").content.decode()
    assert "<svg" in page
    text = strip_tags(page)
    for shown in ("Test Night", "Hall A-1", "Front", "€80.00", str(order.number), ticket["code"]):
        assert shown in text
    assert api.get("/tickets/not-a-code/").status_code == 404


@pytest.mark.django_db
def test_check_in_admits_once_and_says_why_not(make_user, buyer, showtime):
    staff = client_for(make_user(staff=True))
    order = pending_order(buyer, showtime, n=2)
    order_pay(user=buyer, order_id=order.pk)
    first, second = Ticket.objects.order_by("pk")
    ok = staff.post("/api/v1/checkin/", {"code": first.code}, format="json").json()
    assert ok["result"] == "ok" and ok["ticket"]["seat"]["label"] == "Hall A-1"
    assert ok["checked_in_at"]
    again = staff.post("/api/v1/checkin/", {"code": first.code}, format="json").json()
    assert again["result"] == "already_used" and again["checked_in_at"] == ok["checked_in_at"]
    assert (
        staff.post("/api/v1/checkin/", {"code": "nope"}, format="json").json()["result"]
        == "unknown"
    )
    order_staff_action(order_id=order.pk, action="refund", staff=None)
    assert (
        staff.post("/api/v1/checkin/", {"code": second.code}, format="json").json()["result"]
        == "void"
    )
    assert list(CheckInScan.objects.order_by("pk").values_list("result", flat=True)) == [
        "ok",
        "already_used",
        "unknown",
        "void",
    ]
    assert (
        client_for(buyer).post("/api/v1/checkin/", {"code": second.code}, format="json").status_code
        == 403
    )


@pytest.mark.django_db(transaction=True)
def test_two_scanners_at_the_same_moment_admit_once(make_user, buyer, showtime):
    order = pending_order(buyer, showtime)
    order_pay(user=buyer, order_id=order.pk)
    code = Ticket.objects.get().code
    scanners = [client_for(make_user(staff=True)) for _ in range(6)]
    results = run_threads(
        6,
        lambda i: (
            scanners[i].post("/api/v1/checkin/", {"code": code}, format="json").json()["result"]
        ),
    )
    assert Counter(results) == {"ok": 1, "already_used": 5}


@pytest.mark.django_db
def test_emails_confirmation_cancellation_and_expiry(api, buyer, showtime, clock, settings):
    paid = pending_order(buyer, showtime, n=1, start=0)
    order_pay(user=buyer, order_id=paid.pk)
    cancelled = pending_order(buyer, showtime, n=1, start=1)
    api.post(f"/api/v1/orders/{cancelled.pk}/cancel/")
    expired = pending_order(buyer, showtime, n=1, start=2)
    assert mail.outbox == []  # written to the outbox; the worker sends them (orders/emails.py)
    clock.advance(settings.PAYMENT_WINDOW_SECONDS + 1)
    call_command("cleanup", stdout=io.StringIO())
    subjects = [m.subject for m in mail.outbox]
    assert subjects == [
        f"Your tickets for Test Night — order {paid.number}",
        f"Order {cancelled.number} was cancelled",
        f"Order {expired.number} expired: the seats were released",
    ]
    assert all(m.to == ["alice@example.com"] for m in mail.outbox)
    code = Ticket.objects.get(order=paid).code
    assert f"{settings.SITE_URL}/tickets/{code}/" in mail.outbox[0].body
    assert "Hall A-1" in mail.outbox[0].body


@pytest.mark.django_db
def test_staff_check_in_page(client, make_user):
    assert client.get("/staff/checkin/").status_code == 302  # to the admin sign-in
    client.force_login(make_user(staff=True))
    page = client.get("/staff/checkin/")
    assert page.status_code == 200 and b'id="checkin-code"' in page.content


@pytest.mark.django_db
@pytest.mark.parametrize("depth", [33, 20_000])
def test_a_signed_webhook_nested_too_deep_is_400_not_500(client, webhook, depth):
    """The webhook parses its own (signed) body: the API's nesting cap applies there too
    (issue #14; 20,000 levels raised RecursionError before)."""
    raw = b"[" * depth + b"]" * depth
    response = client.post(
        "/api/v1/payments/webhook/",
        raw,
        content_type="application/json",
        HTTP_X_SIGNATURE=sign(raw),
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_json"
