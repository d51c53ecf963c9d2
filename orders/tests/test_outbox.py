"""The e-mail outbox (orders/emails.py, issue #15 "work off the request thread"): an e-mail is
written in the order's own transaction, sent by the worker once (two workers racing included),
retried with exponential backoff, dead after ``EMAIL_MAX_ATTEMPTS``, and retried by staff."""

import smtplib
from datetime import timedelta

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.core.management import call_command

from conftest import messages_of, run_threads, seat_guids
from core.errors import ApplicationError
from orders import emails, services
from orders.models import Order, OutboxEmail
from orders.services import order_cancel, order_create, order_pay
from seats.services import hold_create

CUSTOMER = {"name": "Alice Buyer", "email": "alice@example.com", "phone": ""}
OUTBOX = "/admin/orders/outboxemail/"


class FailingBackend(BaseEmailBackend):
    """A mail server that refuses every message."""

    def send_messages(self, email_messages):
        raise smtplib.SMTPServerDisconnected("connection refused by the test")


def place_order(user, showtime, start=0) -> Order:
    hold = hold_create(
        user=user, showtime_id=showtime.pk, seat_ids=seat_guids(showtime)[start : start + 1]
    ).hold
    return order_create(user=user, hold_id=hold.pk, customer=CUSTOMER, payment_method="card").order


@pytest.mark.django_db
def test_the_email_is_written_with_the_order_and_sent_by_the_worker_once(buyer, showtime):
    order = place_order(buyer, showtime)
    order_pay(user=buyer, order_id=order.pk)
    email = OutboxEmail.objects.get(order=order)
    assert (email.kind, email.to, email.status, email.attempts) == (
        "paid",
        "alice@example.com",
        "pending",
        0,
    )
    assert mail.outbox == []  # nothing sent on the request
    assert emails.send_due() == {"sent": 1, "failed": 0, "dead": 0}
    assert emails.send_due() == {"sent": 0, "failed": 0, "dead": 0}
    assert [m.subject for m in mail.outbox] == [
        f"Your tickets for Test Night — order {order.number}"
    ]
    email.refresh_from_db()
    assert (email.status, email.attempts, email.subject) == ("sent", 1, mail.outbox[0].subject)
    assert email.sent_at is not None and email.body == mail.outbox[0].body


@pytest.mark.django_db
def test_an_order_change_rolled_back_leaves_no_email(buyer, showtime, monkeypatch):
    order = place_order(buyer, showtime)

    def crash(*args, **kwargs):
        raise ApplicationError("boom", "after the e-mail was written", status=500)

    monkeypatch.setattr(services, "_log", crash)  # order_end fails after enqueue()
    with pytest.raises(ApplicationError):
        order_cancel(user=buyer, order_id=order.pk)
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING
    assert not OutboxEmail.objects.exists()
    assert emails.send_due()["sent"] == 0 and mail.outbox == []


@pytest.mark.django_db
def test_a_failing_mail_server_is_retried_with_backoff_then_dead(buyer, showtime, clock, settings):
    settings.EMAIL_BACKEND = "orders.tests.test_outbox.FailingBackend"
    settings.EMAIL_MAX_ATTEMPTS, settings.EMAIL_RETRY_BASE_SECONDS = 4, 60
    order_cancel(user=buyer, order_id=place_order(buyer, showtime).pk)
    email = OutboxEmail.objects.get()
    waits = []
    for attempt in range(1, 5):
        started = email.next_attempt_at
        assert emails.send_due()["failed" if attempt < 4 else "dead"] == 1
        email.refresh_from_db()
        assert email.attempts == attempt
        assert email.last_error.startswith("SMTPServerDisconnected")
        waits.append((email.next_attempt_at - started).total_seconds())
        clock.advance(waits[-1] - 1)
        assert emails.send_due()["failed"] + emails.send_due()["dead"] == 0  # not due yet
        clock.advance(1)
    assert email.status == "dead"
    assert waits[:3] == pytest.approx([60, 120, 240], abs=0.5)  # BASE × 2^(attempt-1)
    clock.advance(10 * 3600)
    assert emails.send_due() == {"sent": 0, "failed": 0, "dead": 0}  # dead stays dead
    assert emails.retry_delay(20) == emails.MAX_RETRY_SECONDS


@pytest.mark.django_db
def test_the_worker_loop_sends_the_emails(buyer, showtime, capsys):
    order_cancel(user=buyer, order_id=place_order(buyer, showtime).pk)
    call_command("cleanup")
    assert "e-mails: 1 sent, 0 failed, 0 dead" in capsys.readouterr().out
    assert len(mail.outbox) == 1


@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_send_each_email_exactly_once(buyer, showtime):
    order = place_order(buyer, showtime)
    OutboxEmail.objects.bulk_create(
        OutboxEmail(
            order=order, kind="cancelled", to=f"c{i}@example.com", next_attempt_at=order.created_at
        )
        for i in range(30)
    )
    results = run_threads(2, lambda i: emails.send_due())
    assert all(isinstance(r, dict) for r in results), results
    assert sum(r["sent"] for r in results) == 30
    assert sorted(m.to[0] for m in mail.outbox) == sorted(f"c{i}@example.com" for i in range(30))
    assert set(OutboxEmail.objects.values_list("status", "attempts")) == {("sent", 1)}


@pytest.mark.django_db
def test_staff_list_the_dead_emails_and_retry_them(buyer, showtime, staff_client, settings, clock):
    settings.EMAIL_BACKEND = "orders.tests.test_outbox.FailingBackend"
    settings.EMAIL_MAX_ATTEMPTS = 1
    order = place_order(buyer, showtime)
    order_cancel(user=buyer, order_id=order.pk)
    assert emails.send_due()["dead"] == 1
    dead = OutboxEmail.objects.get()
    page = staff_client.get(OUTBOX, {"status__exact": "dead"})
    assert page.status_code == 200
    assert order.number is not None
    assert order.number.encode() in page.content and b"SMTPServerDisconnected" in page.content
    assert (
        staff_client.get(OUTBOX, {"status__exact": "pending"}).content.count(order.number.encode())
        == 0
    )
    assert staff_client.get(f"{OUTBOX}{dead.pk}/change/").status_code == 200
    assert staff_client.get(f"{OUTBOX}add/").status_code == 403

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    clock.advance(1)
    response = staff_client.post(
        OUTBOX, {"action": "retry_dead", "_selected_action": [dead.pk], "index": "0"}, follow=True
    )
    assert "1 dead e-mail will be sent again by the worker." in messages_of(response)
    dead.refresh_from_db()
    assert (dead.status, dead.attempts, dead.last_error) == ("pending", 0, "")
    assert emails.send_due()["sent"] == 1
    assert [m.subject for m in mail.outbox] == [f"Order {order.number} was cancelled"]
    assert dead.next_attempt_at - dead.created_at >= timedelta(seconds=1)
