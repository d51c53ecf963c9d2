"""Socket tickets: short-lived, single-use sign-in values for the WebSocket (realtime.md)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class SocketTicket(models.Model):
    """A ticket for ``?ticket=`` on ``ws/showtimes/{id}/``: valid for ``SOCKET_TICKET_TTL_SECONDS``
    (30 s), usable once. Only the SHA-256 of the value is stored."""

    digest = models.CharField(max_length=64, unique=True, verbose_name=_("digest"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("user")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    used_at = models.DateTimeField(null=True, blank=True, verbose_name=_("used at"))

    class Meta:
        verbose_name = _("socket ticket")
        verbose_name_plural = _("socket tickets")
