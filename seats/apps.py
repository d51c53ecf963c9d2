from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SeatsConfig(AppConfig):
    """Venues, seating plans, shows, showtimes, seat inventory and holds."""

    name = "seats"
    verbose_name = _("Seats")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        """Connect the receivers that keep the process's plan-geometry cache right
        (:func:`seats.selection.forget_geometry` on a showtime's save and delete) and the plans'
        layout versions (:func:`seats.layout.layout_changed` on any change of a plan's
        geometry)."""
        from django.db.models.signals import post_delete, post_save

        from .layout import layout_changed
        from .models import GeneralAdmissionArea, PlanCategory, Seat, SeatingPlan, Showtime, Venue
        from .selection import forget_geometry

        post_save.connect(forget_geometry, sender=Showtime, dispatch_uid="seat-geometry-save")
        post_delete.connect(forget_geometry, sender=Showtime, dispatch_uid="seat-geometry-delete")
        for model in (Seat, PlanCategory, GeneralAdmissionArea, SeatingPlan):
            name = model._meta.model_name
            post_save.connect(layout_changed, sender=model, dispatch_uid=f"layout-{name}-save")
            post_delete.connect(layout_changed, sender=model, dispatch_uid=f"layout-{name}-delete")
        post_save.connect(layout_changed, sender=Venue, dispatch_uid="layout-venue-save")
