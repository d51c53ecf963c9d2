from django.apps import AppConfig


class TicketingConfig(AppConfig):
    """Project-wide pieces: metrics collector registration, the JWT cache's signal receivers."""

    name = "ticketing"

    def ready(self):
        from django.contrib.auth import get_user_model
        from django.db.models.signals import post_delete, post_save

        from . import metrics
        from .authentication import forget_user

        metrics.register()
        user = get_user_model()
        post_save.connect(forget_user, sender=user, dispatch_uid="jwt-user-cache-save")
        post_delete.connect(forget_user, sender=user, dispatch_uid="jwt-user-cache-delete")
        # A saved language rides with the cached user: a new one drops that user's tokens.
        from .models import BuyerProfile

        post_save.connect(_forget_profile_user, sender=BuyerProfile, dispatch_uid="jwt-profile")


def _forget_profile_user(sender, instance, **kwargs):  # noqa: ARG001 (a signal receiver)
    from .authentication import forget_user

    forget_user(instance=instance.user)
