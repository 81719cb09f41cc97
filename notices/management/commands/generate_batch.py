"""Generate (or find) the notice batch for a date and submit it for approval."""

from __future__ import annotations

import datetime
import json

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from core.exceptions import ServiceError
from notices.services import batch_generate


class Command(BaseCommand):
    help = "Generate the notice batch for a date (default today, Asia/Shanghai) and submit it for approval."

    def add_arguments(self, parser):
        parser.add_argument("--as-of", dest="as_of", help="YYYY-MM-DD (default: today)")
        parser.add_argument("--json", action="store_true", help="print one JSON object on the last line")

    def handle(self, *args, **options):
        if options["as_of"]:
            try:
                as_of = datetime.date.fromisoformat(options["as_of"])
            except ValueError as exc:
                raise CommandError(_("--as-of must be a date like 2026-11-28.")) from exc
        else:
            as_of = timezone.localdate()
        try:
            batch = batch_generate(as_of=as_of)
        except ServiceError as exc:
            raise CommandError(str(exc)) from exc
        result = {
            "batch_id": batch.pk,
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
            return
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
