"""Forms of the customers app's own pages (the loan-book upload)."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .models import ImportMode


class LoanBookUploadForm(forms.Form):
    file = forms.FileField(
        label=_("Loan-book file (.xlsx, .xls or .csv)"),
        help_text=_(
            "The core system's export of overdue loans: an Excel workbook (.xlsx or .xls) or a CSV file."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.xls,.csv,.txt"}),
    )
    as_of = forms.DateField(
        label=_("Data as of"),
        help_text=_("The date the file describes; days overdue are counted to this date."),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d"],
    )
    mode = forms.ChoiceField(
        label=_("Mode"),
        choices=ImportMode.choices,
        initial=ImportMode.INCREMENTAL,
        widget=forms.RadioSelect,
        help_text=_(
            "Incremental: the rows update or add loans. Snapshot: the file is the whole overdue "
            "book, and overdue loans missing from it are marked cured (you will see them first)."
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["as_of"].initial = timezone.localdate()

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = settings.LOAN_IMPORT_MAX_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                gettext("The file is larger than the %(limit)s MB limit.") % {"limit": limit // (1024 * 1024)}
            )
        return upload
