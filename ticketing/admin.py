"""The admin site's titles ("Seatline box office"); each app registers its own models."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

admin.site.site_header = _("Seatline box office")
admin.site.site_title = _("Seatline box office")
admin.site.index_title = _("Venues, showtimes, seats and orders")
