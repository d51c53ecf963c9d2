from django.apps import AppConfig


class SeatsConfig(AppConfig):
    """Venues, seating plans, shows, showtimes, seat inventory and holds."""

    name = "seats"
    default_auto_field = "django.db.models.BigAutoField"
