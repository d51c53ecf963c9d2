"""Orders, tickets, payments and idempotency keys (shared/spec/domain.md, api.md "Orders")."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from seats.lapse import Lapsing, LapsingQuerySet


class Order(Lapsing, models.Model):
    """A purchase of the seats of one hold.

    ``pending`` (awaiting payment until ``expires_at``) → ``paid`` / ``cancelled`` / ``expired``;
    ``paid`` → ``refunded`` (staff). ``total`` is in ``currency`` (ISO 4217). ``number`` is the
    public order number ``ORD-YYYYMMDD-NNNNNN`` (the date of creation, UTC, and the id).
    A pending order past ``expires_at`` has lapsed and reads as ``expired`` before the cleanup
    records it (:mod:`seats.lapse`: ``order.status_at()``, ``Order.objects.live()``/``lapsed()``).
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        PAID = "paid"
        CANCELLED = "cancelled"
        EXPIRED = "expired"
        REFUNDED = "refunded"

    LIVE_STATUS = Status.PENDING
    LAPSED_STATUS = Status.EXPIRED

    class PaymentMethod(models.TextChoices):
        CARD = "card"
        QR_CODE = "qr_code"
        CASH = "cash"

    number = models.CharField(max_length=32, unique=True, null=True, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders"
    )
    showtime = models.ForeignKey("seats.Showtime", on_delete=models.PROTECT, related_name="orders")
    hold = models.OneToOneField(
        "seats.Hold", on_delete=models.PROTECT, related_name="order", null=True, blank=True
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    total = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    payment_method = models.CharField(max_length=10, choices=PaymentMethod.choices)
    customer_name = models.CharField(max_length=200)
    customer_email = models.EmailField()
    customer_phone = models.CharField(max_length=40, blank=True, default="")
    language = models.CharField(
        max_length=10,
        choices=settings.LANGUAGES,
        blank=True,
        default="",
        help_text=_(
            "The buyer's language when they ordered: its e-mails and tickets are in it. Empty: "
            "the site's default language."
        ),
    )
    expires_at = models.DateTimeField(help_text="Payment deadline of a pending order.")
    created_at = models.DateTimeField(auto_now_add=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    objects = LapsingQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "expires_at"], name="order_status_expiry_idx")]

    def __str__(self):
        return self.number or f"order {self.pk}"


class Ticket(models.Model):
    """One seat of a paid order, with an unguessable ``code`` (its QR payload and check-in key)."""

    class Status(models.TextChoices):
        VALID = "valid", _("Valid")
        USED = "used", _("Used")
        VOID = "void", _("Void")

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="tickets")
    claim = models.OneToOneField("seats.SeatClaim", on_delete=models.PROTECT, related_name="ticket")
    code = models.CharField(max_length=64, unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.VALID)
    issued_at = models.DateTimeField(auto_now_add=True)
    checked_in_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return self.code


class Payment(models.Model):
    """A payment from a provider, one row per ``(provider, payment_id)``, amount in ``currency``.

    ``status`` is the payment's latest state: ``failed`` until a ``payment.succeeded`` for the
    same ``payment_id`` arrives, then ``succeeded`` for good (a later failure changes nothing).
    Every webhook about it is kept in :class:`PaymentEvent` (``payment.events``).
    """

    class Status(models.TextChoices):
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="payments")
    provider = models.CharField(max_length=30)
    payment_id = models.CharField(max_length=100)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=10, choices=Status.choices)
    needs_refund = models.BooleanField(
        default=False,
        help_text="Money arrived that the order cannot take (expired, cancelled, "
        "already paid, wrong amount): refund it.",
    )
    note = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "payment_id"], name="payment_unique_id")
        ]


class PaymentEvent(models.Model):
    """One signed webhook a provider sent (api.md "Payments and check-in"): the payment log.

    A row per received event, whatever it changed, written in the transaction that applied it:
    ``event`` as sent, ``outcome`` what it did (``orders.services.payment_confirm``) and
    the order it named (``order``; ``None`` when unknown, ``order_number`` keeps what was sent).
    The payment row is ``payment_record`` (``None`` for an unknown order number);
    ``payment_id`` is the provider's id, as sent.
    ``amount`` is in ``currency`` (ISO 4217), as sent.
    """

    class Event(models.TextChoices):
        SUCCEEDED = "payment.succeeded"
        FAILED = "payment.failed"

    class Outcome(models.TextChoices):
        PAID = "paid", "paid (the order is paid now)"
        FAILED = "failed", "failed (attempt recorded, the order stays pending)"
        FLAGGED = "flagged", "flagged (money to refund)"
        REPLAYED = "replayed", "replayed (seen before, nothing changed)"
        IGNORED = "ignored", "ignored (a failure after this payment succeeded)"
        UNKNOWN_ORDER = "unknown_order", "unknown order number"

    received_at = models.DateTimeField()
    provider = models.CharField(max_length=30)
    event = models.CharField(max_length=20, choices=Event.choices)
    payment_id = models.CharField(max_length=100)
    order_number = models.CharField(max_length=32)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    outcome = models.CharField(max_length=15, choices=Outcome.choices)
    note = models.CharField(max_length=200, blank=True, default="")
    order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.PROTECT, related_name="payment_events"
    )
    payment_record = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="events"
    )

    class Meta:
        ordering = ["received_at", "id"]
        indexes = [models.Index(fields=["provider", "payment_id"], name="payment_event_id_idx")]

    def __str__(self):
        return f"{self.event} {self.payment_id}: {self.outcome}"


class IdempotencyKey(models.Model):
    """A client's ``Idempotency-Key`` for order creation (api.md, "Orders"), scoped to the user.

    The row is inserted and given its answer (the first 2xx ``response_status`` and
    ``response_body``, replayed for 24 h) inside the order's own transaction
    (orders/idempotency.py), so a committed row always has its answer; ``None`` is seen only inside
    that transaction. The unique constraint makes two simultaneous requests with one key run the
    order creation once.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(
        max_length=64, help_text="SHA-256 of the canonical request body."
    )
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_unique_per_user")
        ]


class CheckInScan(models.Model):
    """One scan at the door, whatever its result (api.md ``POST checkin/``)."""

    class Result(models.TextChoices):
        OK = "ok"
        ALREADY_USED = "already_used"
        VOID = "void"
        UNKNOWN = "unknown"

    code = models.CharField(max_length=100)
    ticket = models.ForeignKey(
        Ticket, null=True, blank=True, on_delete=models.SET_NULL, related_name="scans"
    )
    result = models.CharField(max_length=15, choices=Result.choices)
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField()


class OutboxEmail(models.Model):
    """An e-mail to a customer about an order, written in the transaction that changed the order
    (so the two commit or roll back together) and sent later by the worker
    (:func:`orders.emails.send_due`, from ``manage.py cleanup``).

    ``kind`` names the template (``templates/emails/order_<kind>.txt``); ``subject`` and ``body``
    are rendered at the first attempt and kept. ``status``: ``pending`` (not tried yet), ``failed``
    (tried ``attempts`` times, retried at ``next_attempt_at``), ``sent`` (at ``sent_at``), ``dead``
    (``EMAIL_MAX_ATTEMPTS`` attempts failed; staff retry it in the admin). ``last_error``: the
    last failure, as ``Type: message``. A worker claims a due row by moving ``next_attempt_at``
    past its send (the lease, :data:`orders.emails.LEASE_SECONDS`).
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        FAILED = "failed"
        SENT = "sent"
        DEAD = "dead"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="emails")
    kind = models.CharField(max_length=20)
    to = models.EmailField()
    subject = models.CharField(max_length=255, blank=True, default="")
    body = models.TextField(blank=True, default="")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="outbox_due_idx")]
        verbose_name = "outbox e-mail"

    def __str__(self):
        return f"{self.kind} e-mail to {self.to} ({self.status})"
