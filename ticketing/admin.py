"""The admin site's titles ("Seatline box office"); each app registers its own models."""

from django.contrib import admin

admin.site.site_header = "Seatline box office"
admin.site.site_title = "Seatline box office"
admin.site.index_title = "Venues, showtimes, seats and orders"
