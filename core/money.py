"""Money in the reader's language (issue #17; docs/i18n.md): Babel's CLDR currency formats, never a
hand-written one. ``format_money(Decimal("1250"), "THB")`` is ``฿1,250.00`` in Thai and
``THB1,250.00`` in English; euros are ``€500.00`` in both."""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import format_currency
from django.utils import translation


def format_money(
    amount: Decimal | int | float | str, currency: str, language: str | None = None
) -> str:
    """``amount`` in ``currency`` (ISO 4217) as the reader of ``language`` (default: the active
    language) writes it. An amount that is not a number is returned as it is."""
    locale = translation.to_locale(language or translation.get_language() or "en")
    try:
        return format_currency(Decimal(str(amount)), currency, locale=locale)
    except (ArithmeticError, ValueError, TypeError):
        return str(amount)
