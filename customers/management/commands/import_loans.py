"""import_loans: the loan-book import for the bank's schedulers.

Exit status: 0 imported (rejected rows, if any, are reported), 1 --strict and some rows
were rejected (nothing applied), 2 the file cannot be imported at all (nothing changed),
3 a snapshot over its safety limits, without --force (nothing applied). With --json the
last line of standard output is one JSON object. See docs/loan-book-format.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import logging
import os

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from customers.importing.cells import BookRefused
from customers.models import ImportMode
from customers.services.loan_import import loan_book_import, safety_problems

SHOWN_ERRORS = 20
logger = logging.getLogger(__name__)


def _date(text: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(_("--as-of must be a date like 2026-11-28.")) from None


class Command(BaseCommand):
    help = gettext_lazy(
        "Import a loan-book file (.xlsx, .xls or .csv): valid rows are applied, rejected rows reported. "
        "Exit status 1: --strict and rows were rejected; 2: the file cannot be imported at all; "
        "3: a snapshot over its safety limits (use --force)."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help=gettext_lazy("the .xlsx, .xls or .csv file"))
        parser.add_argument(
            "--as-of",
            type=_date,
            default=None,
            help=gettext_lazy(
                "the date the book is as of (default: the date in its title or file name, else today)"
            ),
        )
        parser.add_argument("--mode", choices=ImportMode.values, default=ImportMode.INCREMENTAL)
        parser.add_argument("--dry-run", action="store_true", help=gettext_lazy("report only, write nothing"))
        parser.add_argument(
            "--strict", action="store_true", help=gettext_lazy("apply nothing if any row is rejected")
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help=gettext_lazy("apply a snapshot even over its safety limits (cures or rejected rows)"),
        )
        parser.add_argument(
            "--json", action="store_true", help=gettext_lazy("print one JSON object as the last line")
        )

    def handle(self, *args, **options):
        path = options["path"]
        as_of = options["as_of"]
        as_json = options["json"]
        if not os.path.isfile(path):
            self._refuse(_("No such file: %(path)s") % {"path": path}, "not_found", as_json)
        try:
            result = loan_book_import(
                path_or_file=path,
                as_of=as_of,
                mode=options["mode"],
                user=None,
                dry_run=options["dry_run"],
                strict=options["strict"],
                force=options["force"],
            )
        except BookRefused as exc:
            self._refuse(exc.message, exc.code, as_json)
        except OSError as exc:
            self._refuse(
                _("The file cannot be read: %(error)s") % {"error": exc.strerror or exc},
                "unreadable",
                as_json,
            )
        except Exception as exc:  # never a traceback for the scheduler; the log has it
            logger.exception("import_loans failed on %s", path)
            self._refuse(
                _("The import stopped with an unexpected error and nothing was applied: %(error)s")
                % {"error": exc},
                "error",
                as_json,
            )
        try:
            self._report(result, options)
            summary = result.as_json()
        finally:
            result.close()
        if as_json:
            self.stdout.write(json.dumps(summary, ensure_ascii=False))
        if result.refused == "snapshot_unsafe":
            raise SystemExit(3)
        if options["strict"] and result.errors and not result.dry_run:
            raise SystemExit(1)

    def _report(self, result, options) -> None:
        out = self.stdout
        if result.dry_run:
            out.write(_("Dry run: nothing was written."))
        if result.data_date and result.data_date["date"] == result.as_of.isoformat() and not options["as_of"]:
            out.write(
                _("Data date %(date)s, from %(source)s.")
                % {"date": result.data_date["date"], "source": result.data_date["source"]}
            )
        out.write(
            _(
                "Rows: %(rows)s · new loans: %(created)s · updated: %(updated)s · unchanged: %(unchanged)s · "
                "rejected rows: %(errors)s · cured: %(cured)s"
            )
            % {
                "rows": result.rows,
                "created": result.created,
                "updated": result.updated,
                "unchanged": result.unchanged,
                "errors": result.errors,
                "cured": result.cured,
            }
        )
        for error in result.error_rows[:SHOWN_ERRORS]:
            out.write(
                _("Row %(row)s, %(column)s “%(value)s”: %(message)s")
                % {"row": error.row, "column": error.column, "value": error.value, "message": error.message}
            )
        if result.errors > SHOWN_ERRORS:
            out.write(_("… and more: %(count)s rejected rows in all.") % {"count": result.errors})
        for warning in result.warnings:
            out.write(self.style.WARNING(_("Note: %(warning)s") % {"warning": warning}))
        problems = safety_problems(result)
        if problems and result.dry_run:
            out.write(
                self.style.WARNING(
                    _("This snapshot is over its safety limits: %(reason)s.")
                    % {"reason": "; ".join(problems)}
                )
            )
        loan_import = result.loan_import
        if loan_import is not None:
            if result.applied:
                out.write(self.style.SUCCESS(_("Import #%(id)s applied.") % {"id": loan_import.pk}))
            else:
                out.write(self.style.ERROR(loan_import.message))

    def _refuse(self, message: str, code: str, as_json: bool) -> None:
        self.stderr.write(_("Refused: %(message)s") % {"message": " ".join(str(message).split())})
        if as_json:
            self.stdout.write(
                json.dumps({"refused": True, "code": code, "message": str(message)}, ensure_ascii=False)
            )
        raise SystemExit(2)
