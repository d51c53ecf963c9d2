"""Socket tickets: issue and redeem (shared/spec/realtime.md, api.md "Real-time sign-in")."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from .models import SocketTicket


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def socket_ticket_issue(*, user: Any) -> tuple[str, int]:
    """Issue a ticket for ``user``; return ``(value, expires_in_seconds)``.

    The value is 256 bits from ``secrets``; only its SHA-256 is stored. Tickets older than an hour
    are deleted on the way.
    """
    value = secrets.token_urlsafe(32)
    SocketTicket.objects.create(digest=_digest(value), user=user)
    SocketTicket.objects.filter(created_at__lt=timezone.now() - timedelta(hours=1)).delete()
    return value, settings.SOCKET_TICKET_TTL_SECONDS


def socket_ticket_redeem(value: str) -> Any:
    """Spend a ticket once and return its user, or ``None`` if it is unknown, used or older than
    ``SOCKET_TICKET_TTL_SECONDS``. One conditional UPDATE, so two sockets racing with one ticket
    cannot both win."""
    if not value or len(value) > 100:
        return None
    now = timezone.now()
    fresh = SocketTicket.objects.filter(
        digest=_digest(value),
        used_at=None,
        created_at__gt=now - timedelta(seconds=settings.SOCKET_TICKET_TTL_SECONDS),
    )
    ticket = fresh.select_related("user").first()
    if ticket is None or not fresh.filter(pk=ticket.pk).update(used_at=now):
        return None
    return ticket.user if ticket.user.is_active else None
