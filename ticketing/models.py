"""Project-wide models: the buyer's saved preferences."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class BuyerProfile(models.Model):
    """A buyer's saved preferences. ``language``: one of ``settings.LANGUAGES`` (empty: none
    saved; the request's ``?lang=``, cookie or ``Accept-Language`` decide, ``ticketing.i18n``)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="profile",
        verbose_name=_("user"),
    )
    language = models.CharField(
        max_length=10,
        blank=True,
        default="",
        choices=settings.LANGUAGES,
        verbose_name=_("language"),
    )

    class Meta:
        verbose_name = _("buyer profile")
        verbose_name_plural = _("buyer profiles")

    def __str__(self) -> str:
        return f"{self.user} ({self.language or '-'})"
