"""Order e-mails through an outbox: written with the order's change, sent by the worker.

:func:`enqueue` writes an :class:`~orders.models.OutboxEmail` row inside the transaction that
changes the order (paid, cancelled, expired, refunded), so an order change and its e-mail commit or
roll back together, and no request thread waits for a mail server. :func:`send_due`, called by
``manage.py cleanup`` (the ``worker`` process, every 15 s), sends the rows that are due through
Django's e-mail framework (console backend by default, SMTP by settings, ``EMAIL_TIMEOUT``):

- **Claim.** One short transaction per e-mail locks the first due row that no other worker holds
  (``seats.locks.lock_first(…, skip_locked=True)``: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, the
  write lock of the ``IMMEDIATE`` transaction on SQLite), counts the attempt and moves
  ``next_attempt_at`` :data:`LEASE_SECONDS` ahead, then commits. Two workers never claim the same
  row; the mail is sent outside any transaction.
- **Retry.** A failed attempt ``n`` (rendering or sending raised) is retried after
  :func:`retry_delay` seconds: ``EMAIL_RETRY_BASE_SECONDS × 2^(n-1)``, at most 3,600 — with the
  defaults (60 s, ``EMAIL_MAX_ATTEMPTS`` 8) 60, 120, 240, 480, 960, 1920 and 3600 s, about two
  hours in all. The ``EMAIL_MAX_ATTEMPTS``-th failure makes the row ``dead``: staff see it in the
  admin (Orders → Outbox e-mails) and retry it there (:func:`retry`).
- **At least once.** A worker that dies between sending and recording leaves the row claimed; it
  is sent again when its lease ends. Nothing else sends an e-mail twice.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from seats.locks import lock_first, run_in_transaction

from .models import Order, OutboxEmail, Ticket

logger = logging.getLogger(__name__)

SUBJECTS = {
    "paid": _("Your tickets for %(show)s — order %(number)s"),
    "expired": _("Order %(number)s expired: the seats were released"),
    "cancelled": _("Order %(number)s was cancelled"),
    "refunded": _("Order %(number)s was refunded"),
}
# Seconds a claimed e-mail is left to its worker before another may claim it again (far above
# EMAIL_TIMEOUT, the SMTP timeout of one send).
LEASE_SECONDS = 300
# The longest wait between two attempts, in seconds.
MAX_RETRY_SECONDS = 3600
_DUE = (OutboxEmail.Status.PENDING, OutboxEmail.Status.FAILED)


def enqueue(order: Order, kind: str, *, now: datetime | None = None) -> OutboxEmail | None:
    """Write the e-mail about ``kind`` (``paid``, ``expired``, ``cancelled``, ``refunded``) to
    the order's customer into the outbox, due at once; ``None`` (nothing written) for another
    kind or an order without an e-mail address. One INSERT; call it inside the transaction that
    changes the order."""
    if kind not in SUBJECTS or not order.customer_email:
        return None
    return OutboxEmail.objects.create(
        order=order, kind=kind, to=order.customer_email, next_attempt_at=now or timezone.now()
    )


def render(order_id: int, kind: str) -> tuple[str, str]:
    """``(subject, body)`` of the e-mail ``kind`` about an order: ``templates/emails/
    order_<kind>.txt`` with the order, its showtime and, for ``paid``, its tickets in seat order
    with their links (``SITE_URL``). Both in the buyer's language when they ordered
    (``order.language``; ``LANGUAGE_CODE`` when it is empty), whatever the worker's language:
    money and dates as that language writes them. Raises ``Order.DoesNotExist``, ``KeyError``
    for an unknown kind, or the template's errors."""
    order = Order.objects.select_related("showtime__show", "showtime__plan__venue").get(pk=order_id)
    tickets = (
        Ticket.objects.filter(order=order)
        .select_related("claim__showtime_seat__seat")
        .order_by("claim__showtime_seat_id")
    )
    context = {
        "order": order,
        "showtime": order.showtime,
        "showtime_url": settings.SITE_URL
        + reverse("showtime-page", kwargs={"showtime_id": order.showtime_id}),
        "tickets": [
            {
                "label": t.claim.showtime_seat.seat.label,
                "code": t.code,
                "url": settings.SITE_URL + reverse("ticket-page", kwargs={"code": t.code}),
            }
            for t in tickets
        ],
    }
    with translation.override(order.language or settings.LANGUAGE_CODE):
        subject = str(SUBJECTS[kind]) % {"show": order.showtime.show.title, "number": order.number}
        return subject, render_to_string(f"emails/order_{kind}.txt", context)


def retry_delay(attempts: int) -> float:
    """Seconds from the ``attempts``-th failed attempt (1, 2, …) to the next one:
    ``EMAIL_RETRY_BASE_SECONDS × 2^(attempts-1)``, at most :data:`MAX_RETRY_SECONDS`."""
    return min(settings.EMAIL_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0), MAX_RETRY_SECONDS)


def _claim(now: datetime) -> OutboxEmail | None:
    """Claim the first due e-mail no other worker holds (see the module docstring), or None."""

    def txn() -> OutboxEmail | None:
        email = lock_first(
            OutboxEmail.objects.filter(status__in=_DUE, next_attempt_at__lte=now).order_by(
                "next_attempt_at", "pk"
            ),
            skip_locked=True,
        )
        if email is not None:
            email.attempts += 1
            email.next_attempt_at = now + timedelta(seconds=LEASE_SECONDS)
            email.save(update_fields=["attempts", "next_attempt_at"])
        return email

    return run_in_transaction(txn)


def _deliver(email: OutboxEmail) -> str:
    """Render (at the first attempt) and send a claimed e-mail; record the result, unless the
    lease was lost meanwhile. Returns the new status (``sent``, ``failed`` or ``dead``)."""
    mine = OutboxEmail.objects.filter(pk=email.pk, attempts=email.attempts)
    try:
        if not email.body:
            email.subject, email.body = render(email.order_id, email.kind)
            mine.update(subject=email.subject, body=email.body)
        send_mail(email.subject, email.body, None, [email.to])
    except Exception as exc:
        now = timezone.now()
        dead = email.attempts >= settings.EMAIL_MAX_ATTEMPTS
        status = (OutboxEmail.Status.DEAD if dead else OutboxEmail.Status.FAILED).value
        logger.warning(
            "the %s e-mail of order %s failed (attempt %d): %s",
            email.kind,
            email.order_id,
            email.attempts,
            exc,
            exc_info=dead,
        )
        mine.update(
            status=status,
            last_error=f"{type(exc).__name__}: {exc}"[:2000],
            next_attempt_at=now + timedelta(seconds=retry_delay(email.attempts)),
        )
        return status
    mine.update(status=OutboxEmail.Status.SENT, sent_at=timezone.now(), last_error="")
    return OutboxEmail.Status.SENT.value


def send_due(*, limit: int = 200) -> dict[str, int]:
    """Send up to ``limit`` due e-mails of the outbox, one at a time (the worker, ``manage.py
    cleanup``); return how many became ``{"sent", "failed", "dead"}``. Safe to run from several
    processes at once. Never raises for a failed send (recorded on its row)."""
    done = {"sent": 0, "failed": 0, "dead": 0}
    for _attempt in range(limit):
        email = _claim(timezone.now())
        if email is None:
            break
        done[_deliver(email)] += 1
    return done


def retry(emails: QuerySet[OutboxEmail], *, now: datetime | None = None) -> int:
    """Make the ``dead`` e-mails of ``emails`` due again at once, with a fresh count of attempts
    (the admin's retry action); return how many. Others are left alone (a ``failed`` one is
    retried anyway, and may be in a worker's hands right now)."""
    return emails.filter(status=OutboxEmail.Status.DEAD).update(
        status=OutboxEmail.Status.PENDING,
        attempts=0,
        next_attempt_at=now or timezone.now(),
        last_error="",
    )
