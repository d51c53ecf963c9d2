from django.apps import AppConfig


class OrdersConfig(AppConfig):
    """Orders, tickets, payments and idempotency keys."""

    name = "orders"
    default_auto_field = "django.db.models.BigAutoField"
