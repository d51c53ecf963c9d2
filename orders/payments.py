"""Payment providers, selected by ``settings.PAYMENT_PROVIDER``.

A provider starts a payment for a pending order (api.md ``POST orders/{id}/pay/``):

- ``demo`` captures at once: no money moves, the order becomes paid on the spot.
- ``webhook`` only starts it: the order stays pending until the provider confirms through
  ``POST /api/v1/payments/webhook/`` (HMAC-SHA256 signed, see :func:`verify_signature`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class PaymentResult:
    """What a provider answered: ``captured`` (money in now) and its ``payment_id``."""

    captured: bool
    payment_id: str
    amount: Decimal
    currency: str


class DemoProvider:
    """Captures every payment at once; for demos and tests."""

    name = "demo"

    def start(self, *, order_number: str, amount: Decimal, currency: str) -> PaymentResult:  # noqa: ARG002 (the provider interface)
        """Capture ``amount`` (in ``currency``) for the order; always succeeds."""
        return PaymentResult(True, f"demo_{secrets.token_hex(12)}", amount, currency)


class WebhookProvider:
    """A provider that confirms later through the signed webhook; ``start`` captures nothing."""

    name = "webhook"

    def start(self, *, order_number: str, amount: Decimal, currency: str) -> PaymentResult:  # noqa: ARG002 (the provider interface)
        """Start a payment; the confirmation arrives at the webhook with the order number."""
        return PaymentResult(False, "", amount, currency)


PROVIDERS = {"demo": DemoProvider, "webhook": WebhookProvider}


def get_provider():
    """The provider named by ``settings.PAYMENT_PROVIDER``.

    Raises:
        ImproperlyConfigured: for an unknown name.
    """
    try:
        return PROVIDERS[settings.PAYMENT_PROVIDER]()
    except KeyError as exc:
        raise ImproperlyConfigured(
            f"Unknown PAYMENT_PROVIDER {settings.PAYMENT_PROVIDER!r}"
        ) from exc


def sign(body: bytes, secret: str | None = None) -> str:
    """The ``X-Signature`` value for a raw body: ``sha256=<hex HMAC-SHA256 with the secret>``."""
    key = (secret if secret is not None else settings.PAYMENT_WEBHOOK_SECRET).encode()
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def verify_signature(body: bytes, header: str | None) -> bool:
    """True when ``header`` is the signature of ``body``; compared in constant time
    (``hmac.compare_digest``). An empty secret refuses everything."""
    if not header or not settings.PAYMENT_WEBHOOK_SECRET:
        return False
    return hmac.compare_digest(sign(body).encode(), header.strip().encode())
