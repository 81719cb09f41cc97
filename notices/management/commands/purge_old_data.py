"""Delete SMS messages, inbound SMS and feedback older than the retention period."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _


class Command(BaseCommand):
    help = (
        "Delete finished SMS messages (with attempts and receipts), inbound SMS and closed feedback "
        "older than DATA_RETENTION_DAYS. The audit log is never touched."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="count only, delete nothing")
        parser.add_argument(
            "--days", type=int, default=None, help="retention in days (default: DATA_RETENTION_DAYS)"
        )

    def handle(self, *args, **options):
        from notices.services.retention import data_purge

        days = options["days"] if options["days"] is not None else settings.DATA_RETENTION_DAYS
        if days < 1:
            raise CommandError(_("The retention must be at least one day."))
        before = timezone.now() - datetime.timedelta(days=days)
        counts = data_purge(before=before, dry_run=options["dry_run"])
        line = _(
            "%(messages)s messages, %(receipts)s delivery receipts, %(feedback)s feedback items and "
            "%(inbound)s inbound SMS older than %(date)s"
        ) % {**counts, "date": timezone.localtime(before).strftime("%Y-%m-%d %H:%M")}
        if options["dry_run"]:
            self.stdout.write(_("Would delete: %(what)s.") % {"what": line})
        else:
            self.stdout.write(_("Deleted: %(what)s. The audit log was not touched.") % {"what": line})
