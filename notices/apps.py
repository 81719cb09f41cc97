from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class NoticesConfig(AppConfig):
    name = "notices"
    verbose_name = _("Notices")

    def ready(self) -> None:
        from .schedules import schedules_sync

        # Keep the recurring schedules in step with settings after every migrate.
        post_migrate.connect(_sync_after_migrate, sender=self, dispatch_uid="notices.schedules")
        self._sync = schedules_sync


def _sync_after_migrate(sender, **kwargs):
    sender._sync()
