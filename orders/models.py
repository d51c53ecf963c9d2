"""Orders, tickets, payments and idempotency keys (shared/spec/domain.md, api.md "Orders")."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext
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
        PENDING = "pending", _("pending")
        PAID = "paid", _("paid")
        CANCELLED = "cancelled", _("cancelled")
        EXPIRED = "expired", _("expired")
        REFUNDED = "refunded", _("refunded")

    LIVE_STATUS = Status.PENDING
    LAPSED_STATUS = Status.EXPIRED

    class PaymentMethod(models.TextChoices):
        CARD = "card", _("Card")
        QR_CODE = "qr_code", _("QR code")
        CASH = "cash", _("Cash")

    number = models.CharField(
        max_length=32, unique=True, null=True, blank=True, verbose_name=_("number")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="orders",
        verbose_name=_("user"),
    )
    showtime = models.ForeignKey(
        "seats.Showtime",
        on_delete=models.PROTECT,
        related_name="orders",
        verbose_name=_("showtime"),
    )
    hold = models.OneToOneField(
        "seats.Hold",
        on_delete=models.PROTECT,
        related_name="order",
        null=True,
        blank=True,
        verbose_name=_("hold"),
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING, verbose_name=_("status")
    )
    total = models.DecimalField(max_digits=12, decimal_places=2, verbose_name=_("total"))
    currency = models.CharField(max_length=3, verbose_name=_("currency"))
    payment_method = models.CharField(
        max_length=10, choices=PaymentMethod.choices, verbose_name=_("payment method")
    )
    customer_name = models.CharField(max_length=200, verbose_name=_("customer name"))
    customer_email = models.EmailField(verbose_name=_("customer email"))
    customer_phone = models.CharField(
        max_length=40, blank=True, default="", verbose_name=_("customer phone")
    )
    language = models.CharField(
        max_length=10,
        choices=settings.LANGUAGES,
        blank=True,
        default="",
        verbose_name=_("language"),
        help_text=_(
            "The buyer's language when they ordered: its e-mails and tickets are in it. Empty: "
            "the site's default language."
        ),
    )
    expires_at = models.DateTimeField(
        help_text=_("Payment deadline of a pending order."), verbose_name=_("expires at")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    paid_at = models.DateTimeField(null=True, blank=True, verbose_name=_("paid at"))
    ended_at = models.DateTimeField(null=True, blank=True, verbose_name=_("ended at"))

    objects = LapsingQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        indexes = [models.Index(fields=["status", "expires_at"], name="order_status_expiry_idx")]

    def __str__(self):
        return self.number or f"order {self.pk}"


class Ticket(models.Model):
    """One seat of a paid order, with an unguessable ``code`` (its QR payload and check-in key)."""

    class Status(models.TextChoices):
        VALID = "valid", _("Valid")
        USED = "used", _("Used")
        VOID = "void", _("Void")

    order = models.ForeignKey(
        Order, on_delete=models.CASCADE, related_name="tickets", verbose_name=_("order")
    )
    claim = models.OneToOneField(
        "seats.SeatClaim", on_delete=models.PROTECT, related_name="ticket", verbose_name=_("claim")
    )
    code = models.CharField(max_length=64, unique=True, verbose_name=_("code"))
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.VALID, verbose_name=_("status")
    )
    issued_at = models.DateTimeField(auto_now_add=True, verbose_name=_("issued at"))
    checked_in_at = models.DateTimeField(null=True, blank=True, verbose_name=_("checked in at"))

    class Meta:
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")

    def __str__(self):
        return self.code


class Payment(models.Model):
    """A payment from a provider, one row per ``(provider, payment_id)``, amount in ``currency``.

    ``status`` is the payment's latest state: ``failed`` until a ``payment.succeeded`` for the
    same ``payment_id`` arrives, then ``succeeded`` for good (a later failure changes nothing).
    Every webhook about it is kept in :class:`PaymentEvent` (``payment.events``).
    """

    class Status(models.TextChoices):
        SUCCEEDED = "succeeded", _("succeeded")
        FAILED = "failed", _("failed")

    order = models.ForeignKey(
        Order, on_delete=models.PROTECT, related_name="payments", verbose_name=_("order")
    )
    provider = models.CharField(max_length=30, verbose_name=_("provider"))
    payment_id = models.CharField(max_length=100, verbose_name=_("payment id"))
    amount = models.DecimalField(max_digits=12, decimal_places=2, verbose_name=_("amount"))
    currency = models.CharField(max_length=3, verbose_name=_("currency"))
    status = models.CharField(max_length=10, choices=Status.choices, verbose_name=_("status"))
    needs_refund = models.BooleanField(
        default=False,
        help_text=_(
            "Money arrived that the order cannot take (expired, cancelled, "
            "already paid, wrong amount): refund it."
        ),
        verbose_name=_("needs refund"),
    )
    note = models.CharField(max_length=200, blank=True, default="", verbose_name=_("note"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
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
        SUCCEEDED = "payment.succeeded", _("payment succeeded")
        FAILED = "payment.failed", _("payment failed")

    class Outcome(models.TextChoices):
        PAID = "paid", _("paid (the order is paid now)")
        FAILED = "failed", _("failed (attempt recorded, the order stays pending)")
        FLAGGED = "flagged", _("flagged (money to refund)")
        REPLAYED = "replayed", _("replayed (seen before, nothing changed)")
        IGNORED = "ignored", _("ignored (a failure after this payment succeeded)")
        UNKNOWN_ORDER = "unknown_order", _("unknown order number")

    received_at = models.DateTimeField(verbose_name=_("received at"))
    provider = models.CharField(max_length=30, verbose_name=_("provider"))
    event = models.CharField(max_length=20, choices=Event.choices, verbose_name=_("event"))
    payment_id = models.CharField(max_length=100, verbose_name=_("payment id"))
    order_number = models.CharField(max_length=32, verbose_name=_("order number"))
    amount = models.DecimalField(max_digits=12, decimal_places=2, verbose_name=_("amount"))
    currency = models.CharField(max_length=3, verbose_name=_("currency"))
    outcome = models.CharField(max_length=15, choices=Outcome.choices, verbose_name=_("outcome"))
    note = models.CharField(max_length=200, blank=True, default="", verbose_name=_("note"))
    order = models.ForeignKey(
        Order,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="payment_events",
        verbose_name=_("order"),
    )
    payment_record = models.ForeignKey(
        Payment,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="events",
        verbose_name=_("payment record"),
    )

    class Meta:
        ordering = ["received_at", "id"]
        verbose_name = _("payment event")
        verbose_name_plural = _("payment events")
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

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("user")
    )
    key = models.CharField(max_length=255, verbose_name=_("key"))
    fingerprint = models.CharField(
        max_length=64,
        help_text=_("SHA-256 of the canonical request body."),
        verbose_name=_("fingerprint"),
    )
    response_status = models.PositiveSmallIntegerField(
        null=True, blank=True, verbose_name=_("response status")
    )
    response_body = models.JSONField(null=True, blank=True, verbose_name=_("response body"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_unique_per_user")
        ]


class CheckInScan(models.Model):
    """One scan at the door, whatever its result (api.md ``POST checkin/``)."""

    class Result(models.TextChoices):
        OK = "ok", _("OK")
        ALREADY_USED = "already_used", _("already used")
        VOID = "void", _("void")
        UNKNOWN = "unknown", _("unknown ticket")

    code = models.CharField(max_length=100, verbose_name=_("code"))
    ticket = models.ForeignKey(
        Ticket,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="scans",
        verbose_name=_("ticket"),
    )
    result = models.CharField(max_length=15, choices=Result.choices, verbose_name=_("result"))
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("staff"),
    )
    at = models.DateTimeField(verbose_name=_("at"))

    class Meta:
        verbose_name = _("check-in scan")
        verbose_name_plural = _("check-in scans")


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
        PENDING = "pending", _("pending")
        FAILED = "failed", _("failed")
        SENT = "sent", _("sent")
        DEAD = "dead", _("dead")

    order = models.ForeignKey(
        Order, on_delete=models.CASCADE, related_name="emails", verbose_name=_("order")
    )
    kind = models.CharField(max_length=20, verbose_name=_("kind"))
    to = models.EmailField(verbose_name=_("to"))
    subject = models.CharField(max_length=255, blank=True, default="", verbose_name=_("subject"))
    body = models.TextField(blank=True, default="", verbose_name=_("body"))
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING, verbose_name=_("status")
    )
    attempts = models.PositiveSmallIntegerField(default=0, verbose_name=_("attempts"))
    next_attempt_at = models.DateTimeField(verbose_name=_("next attempt at"))
    last_error = models.TextField(blank=True, default="", verbose_name=_("last error"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    sent_at = models.DateTimeField(null=True, blank=True, verbose_name=_("sent at"))

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="outbox_due_idx")]
        verbose_name = _("outbox e-mail")
        verbose_name_plural = _("outbox e-mails")

    def __str__(self):
        return gettext("%(kind)s e-mail to %(to)s (%(status)s)") % {
            "kind": self.kind,
            "to": self.to,
            "status": self.get_status_display(),
        }
