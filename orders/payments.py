"""Payment providers, selected by ``settings.PAYMENT_PROVIDER``.

A provider turns a pending order into a payment attempt. The built-in ``demo`` provider captures at
once (api.md ``POST orders/{id}/pay/``): no money moves, the order becomes paid.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings


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

    def start(self, *, order_number: str, amount: Decimal, currency: str) -> PaymentResult:
        """Capture ``amount`` (in ``currency``) for the order; always succeeds."""
        return PaymentResult(True, f"demo_{secrets.token_hex(12)}", amount, currency)


PROVIDERS = {"demo": DemoProvider}


def get_provider():
    """The provider named by ``settings.PAYMENT_PROVIDER``.

    Raises:
        django.core.exceptions.ImproperlyConfigured: for an unknown name.
    """
    from django.core.exceptions import ImproperlyConfigured

    try:
        return PROVIDERS[settings.PAYMENT_PROVIDER]()
    except KeyError as exc:
        raise ImproperlyConfigured(f"Unknown PAYMENT_PROVIDER {settings.PAYMENT_PROVIDER!r}") from exc
