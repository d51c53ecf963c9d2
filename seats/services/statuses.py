"""The sentence of a 409 answer for a hold that is no longer active, in the request's language
(``hold_not_active``, ``hold_expired``): one whole sentence per status, so that the translation
says the status in its own words (the ``status`` code itself stays in ``details``)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from ..models import Hold


def hold_status_message(status: str) -> str:
    """``"This hold is released."`` and so on, for a :class:`seats.models.Hold` ``status``."""
    messages: dict[str, str] = {
        Hold.Status.ACTIVE: _("This hold is active."),
        Hold.Status.CONVERTED: _("This hold is converted."),
        Hold.Status.RELEASED: _("This hold is released."),
        Hold.Status.EXPIRED: _("This hold is expired."),
    }
    return messages.get(status) or _("This hold is %(status)s.") % {"status": status}
