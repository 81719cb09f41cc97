from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class NoticesConfig(AppConfig):
    name = "notices"
    verbose_name = _("Notices")

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the gateway settings check)
        from .schedules import schedules_sync

        # Keep the recurring schedules in step with settings after every migrate.
        post_migrate.connect(_sync_after_migrate, sender=self, dispatch_uid="notices.schedules")
        self._sync = schedules_sync

        from customers.signals import loan_book_applied

        loan_book_applied.connect(_after_import, dispatch_uid="notices.plans_after_import")


def _sync_after_migrate(sender, **kwargs):
    sender._sync()


def _after_import(sender, loan_import, **kwargs):
    """Queue the repayment-plan progress update for the imported date."""
    from django_q.tasks import async_task

    day = loan_import.as_of
    async_task(
        "notices.tasks.plans_progress", day.isoformat(), task_name=f"plans after import {day}", group="plans"
    )
