from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = _("System and audit")

    def ready(self) -> None:
        # Registers the system checks and the sign-in audit receivers.
        from . import checks, signals  # noqa: F401
