from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The shared bottom layer (see :mod:`core`); it has no models of its own."""

    name = "core"
    verbose_name = "Core"
