"""Generate (or find) the notice batch for a date and submit it for approval."""

from __future__ import annotations

import datetime
import json

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from core.exceptions import ServiceError
from notices.services import batch_generate
from notices.services.batches import batch_newer_import, batch_open_for, batch_replace


class Command(BaseCommand):
    help = "Generate the notice batch for a date (default today, Asia/Shanghai) and submit it for approval."

    def add_arguments(self, parser):
        parser.add_argument("--as-of", dest="as_of", help="YYYY-MM-DD (default: today)")
        parser.add_argument(
            "--replace",
            action="store_true",
            help="replace the date's batch when it was made before the latest import and nothing in it was sent",
        )
        parser.add_argument("--json", action="store_true", help="print one JSON object on the last line")

    def handle(self, *args, **options):
        if options["as_of"]:
            try:
                as_of = datetime.date.fromisoformat(options["as_of"])
            except ValueError as exc:
                raise CommandError(_("--as-of must be a date like 2026-11-28.")) from exc
        else:
            as_of = timezone.localdate()
        existing = batch_open_for(as_of)
        stale = existing is not None and batch_newer_import(existing) is not None
        try:
            if stale and options["replace"]:
                batch, replaced = batch_replace(batch=existing), existing.pk
            else:
                batch, replaced = batch_generate(as_of=as_of), None
        except ServiceError as exc:
            raise CommandError(str(exc)) from exc
        result = {
            "batch_id": batch.pk,
            "existing": existing is not None and replaced is None,
            "stale": stale and replaced is None,
            "replaced": replaced,
            "as_of": as_of.isoformat(),
            "status": batch.status,
            "messages": batch.message_count,
            "customers": batch.customer_count,
            "loans": batch.loan_count,
            "overdue_total": str(batch.overdue_total),
            "excluded": batch.excluded_count,
            "excluded_by_reason": batch.excluded_by_reason,
        }
        if options["json"]:
            self.stdout.write(json.dumps(result, ensure_ascii=False))
            if result["stale"]:
                raise CommandError(
                    _("The batch was made before the latest import; run again with --replace.")
                )
            return
        if result["existing"]:
            self.stdout.write(
                _("A batch for %(date)s already exists: nothing new was generated.") % {"date": as_of}
            )
            if result["stale"]:
                raise CommandError(
                    _(
                        "Batch #%(id)s was made before the latest loan-book import: its amounts may be out of "
                        "date. Run again with --replace to replace it."
                    )
                    % {"id": batch.pk}
                )
        if replaced:
            self.stdout.write(_("Batch #%(old)s was replaced.") % {"old": replaced})
        self.stdout.write(
            _(
                "Batch #%(id)s for %(date)s: %(messages)s messages to %(customers)s customers, %(excluded)s excluded (%(status)s)."
            )
            % {
                "id": batch.pk,
                "date": as_of,
                "messages": batch.message_count,
                "customers": batch.customer_count,
                "excluded": batch.excluded_count,
                "status": batch.get_status_display(),
            }
        )
