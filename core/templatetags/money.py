"""``{% load money %}``: ``{{ amount|money:currency }}`` formats an amount for the active language
(:func:`core.money.format_money`)."""

from django import template

from core.money import format_money

register = template.Library()


@register.filter(name="money")
def money(amount, currency):
    """``{{ order.total|money:order.currency }}`` → ``฿1,250.00`` (Thai), ``€500.00``."""
    if amount is None or amount == "":
        return ""
    return format_money(amount, str(currency))
