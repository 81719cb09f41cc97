from __future__ import annotations

import datetime
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Right, Upper
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .salutations import salutation_for

ZERO = Decimal("0.00")

# Days-overdue buckets used for filtering and reporting until stages are configured.
# (lower, upper) inclusive; None means open-ended.
OVERDUE_BUCKETS: list[tuple[int, int | None]] = [
    (1, 3),
    (4, 15),
    (16, 30),
    (31, 60),
    (61, 90),
    (91, None),
]


def money_field(verbose_name, **kwargs) -> models.DecimalField:
    return models.DecimalField(verbose_name, max_digits=14, decimal_places=2, default=ZERO, **kwargs)


class PhoneProblem(models.TextChoices):
    NONE = "", _("none")
    MISSING = "missing", _("missing")
    INVALID = "invalid", _("invalid number")
    NOT_MOBILE = "not_mobile", _("not a mobile (landline)")
    SHARED = "shared", _("shared with another customer")
    WRONG_NUMBER = "wrong_number", _("reported as wrong number")


class Customer(models.Model):
    customer_no = models.CharField(_("customer number"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=100, db_index=True)
    id_number = models.CharField(_("ID number"), max_length=32, blank=True, db_index=True)
    id_number_check_failed = models.BooleanField(
        _("ID number check digit fails"),
        default=False,
        help_text=_(
            "The last character of the 18-character ID number does not match the others (as imported)."
        ),
    )
    mobile = models.CharField(
        _("mobile"), max_length=20, blank=True, db_index=True, help_text=_("E.164, e.g. +8613812345678")
    )
    # The last four of the mobile and the ID number, as the masked pages show them
    # (138****5678, 330102********123X): computed by the database, indexed, so that staff
    # can find a customer by them (customers.selectors) without reading every customer.
    mobile_tail = models.GeneratedField(
        verbose_name=_("mobile, last four"),
        expression=Right("mobile", 4),
        output_field=models.CharField(max_length=4),
        db_persist=True,
        db_index=True,
    )
    id_number_tail = models.GeneratedField(
        verbose_name=_("ID number, last four"),
        expression=Upper(Right("id_number", 4)),
        output_field=models.CharField(max_length=4),
        db_persist=True,
        db_index=True,
    )
    mobile_raw = models.CharField(_("phone as imported"), max_length=64, blank=True)
    phone_problem = models.CharField(
        _("phone problem"), max_length=16, choices=PhoneProblem.choices, blank=True, default="", db_index=True
    )
    do_not_contact = models.BooleanField(_("do not contact"), default=False)
    do_not_contact_reason = models.CharField(_("do-not-contact reason"), max_length=200, blank=True)
    do_not_contact_until = models.DateField(
        _("do not contact until"), null=True, blank=True, help_text=_("Empty means until further notice.")
    )
    deceased = models.BooleanField(_("deceased"), default=False)
    disputed = models.BooleanField(_("disputed"), default=False)
    salutation = models.CharField(
        _("salutation (称呼)"),
        max_length=20,
        blank=True,
        help_text=_(
            "How messages address the customer, e.g. 欧阳先生. Empty: from the name and ID number. "
            "Imports never change it."
        ),
    )
    sms_stopped = models.BooleanField(
        _("asked to stop SMS"),
        default=False,
        help_text=_("Set by a 退订/TD reply; staff decide when to clear it."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["customer_no"]
        permissions = [
            ("view_full_personal_data", _("Can see full mobile and ID numbers")),
            ("export_data", _("Can export reports")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(do_not_contact=True) | Q(do_not_contact_reason=""),
                name="customer_dnc_reason_only_when_dnc",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.customer_no})"

    def do_not_contact_on(self, day: datetime.date) -> bool:
        """Whether the do-not-contact flag applies on `day` (it lapses after its end date)."""
        if not self.do_not_contact:
            return False
        return self.do_not_contact_until is None or day <= self.do_not_contact_until

    @property
    def honorific_name(self) -> str:
        """How messages address the customer: the salutation set by staff, else the rules
        of customers/salutations.py (surname + 先生/女士, the full name, or 尊敬的客户)."""
        return salutation_for(name=self.name, id_number=self.id_number, override=self.salutation)


class LoanStatus(models.TextChoices):
    CURRENT = "current", _("current")
    OVERDUE = "overdue", _("overdue")
    IN_PLAN = "in_plan", _("in repayment plan")
    SETTLED = "settled", _("settled")
    WRITTEN_OFF = "written_off", _("written off")


# A loan still owed: overdue, or overdue and in a repayment plan.
OPEN_LOAN_STATUSES = (LoanStatus.OVERDUE, LoanStatus.IN_PLAN)


class Loan(models.Model):
    loan_account = models.CharField(_("loan account"), max_length=64, unique=True)
    account_tail = models.GeneratedField(  # found by its last four (customers.selectors)
        verbose_name=_("loan account, last four"),
        expression=Right("loan_account", 4),
        output_field=models.CharField(max_length=4),
        db_persist=True,
        db_index=True,
    )
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="loans"
    )
    product = models.CharField(_("product"), max_length=100, blank=True, db_index=True)
    branch = models.CharField(_("branch"), max_length=100, blank=True, db_index=True)
    principal = money_field(_("principal"))
    balance = money_field(_("balance"))
    overdue_principal = money_field(_("overdue principal"))
    overdue_interest = money_field(_("overdue interest"))
    overdue_penalty = money_field(_("penalty interest"))
    overdue_amount = money_field(_("overdue amount"))
    overdue_since = models.DateField(
        _("overdue since"),
        null=True,
        blank=True,
        db_index=True,
        help_text=_("Date of the first missed payment; empty when the loan is current."),
    )
    next_due_date = models.DateField(_("next due date"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=LoanStatus.choices, default=LoanStatus.CURRENT, db_index=True
    )
    as_of = models.DateField(_("data as of"), null=True, blank=True)
    last_import = models.ForeignKey(
        "customers.LoanBookImport",
        verbose_name=_("last import"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("loan")
        verbose_name_plural = _("loans")
        ordering = ["loan_account"]
        constraints = [
            models.CheckConstraint(
                condition=Q(overdue_amount__gte=0)
                & Q(overdue_principal__gte=0)
                & Q(overdue_interest__gte=0)
                & Q(overdue_penalty__gte=0)
                & Q(principal__gte=0)
                & Q(balance__gte=0),
                name="loan_amounts_not_negative",
            ),
            models.CheckConstraint(
                condition=~Q(status="overdue") | Q(overdue_since__isnull=False),
                name="loan_overdue_has_since",
            ),
        ]
        indexes = [
            # The open book by the date each loan fell overdue (then by id: the order of the
            # loans at risk), with its amount: the stage filter, the dashboard's per-stage
            # totals and its loans at risk read only this index.
            models.Index(
                fields=["status", "overdue_since", "id", "overdue_amount"], name="loan_status_since_id_amount"
            ),
        ]

    def __str__(self) -> str:
        return self.loan_account

    def days_overdue_on(self, day: datetime.date) -> int:
        """Days overdue on `day`: 0 when current, else days since the first missed payment."""
        if self.overdue_since is None or self.status not in OPEN_LOAN_STATUSES:
            return 0
        return max((day - self.overdue_since).days, 0)

    @property
    def days_overdue(self) -> int:
        """Days overdue as of today (Asia/Shanghai), never a stored, stale number."""
        return self.days_overdue_on(timezone.localdate())

    @property
    def loan_tail(self) -> str:
        digits = "".join(ch for ch in self.loan_account if ch.isdigit())
        return (digits or self.loan_account)[-4:]


class LoanEventKind(models.TextChoices):
    BECAME_OVERDUE = "became_overdue", _("became overdue")
    AMOUNT_CHANGED = "amount_changed", _("overdue amount changed")
    CURED = "cured", _("cured")
    SETTLED = "settled", _("settled")


class LoanEvent(models.Model):
    """One change an import made to a loan; feeds the SLA and cure-rate figures."""

    loan = models.ForeignKey(Loan, verbose_name=_("loan"), on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("event"), max_length=20, choices=LoanEventKind.choices)
    on_date = models.DateField(_("as of"))
    overdue_amount_before = money_field(_("overdue amount before"))
    overdue_amount_after = money_field(_("overdue amount after"))
    overdue_since = models.DateField(
        _("episode overdue since"),
        null=True,
        blank=True,
        help_text=_("The first missed payment of the overdue episode this event belongs to."),
    )
    loan_import = models.ForeignKey(
        "customers.LoanBookImport",
        verbose_name=_("import"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="events",
    )
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    class Meta:
        verbose_name = _("loan event")
        verbose_name_plural = _("loan events")
        ordering = ["-on_date", "-id"]
        indexes = [models.Index(fields=["loan", "on_date"]), models.Index(fields=["kind", "on_date"])]

    def __str__(self) -> str:
        return f"{self.loan} · {self.get_kind_display()} · {self.on_date}"


class ImportMode(models.TextChoices):
    INCREMENTAL = "incremental", _("incremental")
    SNAPSHOT = "snapshot", _("snapshot (the whole overdue book)")


class ImportStatus(models.TextChoices):
    UPLOADED = "uploaded", _("uploaded, waiting for the check")
    VALIDATING = "validating", _("checking the file")
    VALIDATED = "validated", _("validated (not applied)")
    QUEUED = "queued", _("queued")
    RUNNING = "running", _("running")
    DONE = "done", _("done")
    FAILED = "failed", _("failed")
    CANCELLED = "cancelled", _("cancelled")


class LoanBookImport(models.Model):
    file = models.FileField(_("file"), upload_to="imports/%Y/%m/", blank=True)
    file_name = models.CharField(_("file name"), max_length=255)
    sha256 = models.CharField(_("SHA-256"), max_length=64, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("imported by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    as_of = models.DateField(_("as of"))
    mode = models.CharField(
        _("mode"), max_length=16, choices=ImportMode.choices, default=ImportMode.INCREMENTAL
    )
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=ImportStatus.choices,
        default=ImportStatus.VALIDATED,
        db_index=True,
    )
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    processed_rows = models.PositiveIntegerField(_("rows processed"), default=0)
    created_count = models.PositiveIntegerField(_("new loans"), default=0)
    updated_count = models.PositiveIntegerField(_("updated loans"), default=0)
    unchanged_count = models.PositiveIntegerField(_("unchanged loans"), default=0)
    error_count = models.PositiveIntegerField(_("rejected rows"), default=0)
    cured_count = models.PositiveIntegerField(_("cured loans"), default=0)
    message = models.TextField(_("message"), blank=True)
    details = models.JSONField(
        _("details"),
        default=dict,
        blank=True,
        help_text=_("Sheet, header row, phone problems, loans to cure."),
    )
    created_at = models.DateTimeField(_("started"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("loan-book import")
        verbose_name_plural = _("loan-book imports")
        ordering = ["-created_at"]
        permissions = [
            ("confirm_unsafe_snapshot", _("Can confirm a snapshot import over its safety limits")),
        ]

    def __str__(self) -> str:
        return f"{self.file_name} · {self.as_of}"

    @property
    def progress_percent(self) -> int:
        if not self.total_rows:
            return 100 if self.status == ImportStatus.DONE else 0
        return min(100, round(100 * self.processed_rows / self.total_rows))


class LoanBookImportError(models.Model):
    loan_import = models.ForeignKey(
        LoanBookImport, verbose_name=_("import"), on_delete=models.CASCADE, related_name="row_errors"
    )
    row = models.PositiveIntegerField(_("row"))
    column = models.CharField(_("column"), max_length=64, blank=True)
    value = models.CharField(_("value"), max_length=255, blank=True)
    message = models.CharField(_("message"), max_length=255)
    raw = models.JSONField(_("row as imported"), default=list, blank=True)

    class Meta:
        verbose_name = _("rejected row")
        verbose_name_plural = _("rejected rows")
        ordering = ["row", "id"]

    def __str__(self) -> str:
        return f"{self.row}: {self.message}"
