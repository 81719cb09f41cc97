from __future__ import annotations

import datetime
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

ZERO = Decimal("0.00")


# --- Contact policy -------------------------------------------------------------------


# The contact policy's defaults: the environment's values (config/settings), read when
# the policy row is first created. Module-level functions, so migrations can name them.
def default_window_start() -> datetime.time:
    return settings.SMS_CONTACT_WINDOW[0]


def default_window_end() -> datetime.time:
    return settings.SMS_CONTACT_WINDOW[1]


def default_daily_cap() -> int:
    return settings.SMS_DAILY_CAP


def default_rate_limit() -> int:
    return settings.SMS_RATE_LIMIT


def default_min_overdue_amount() -> Decimal:
    return settings.SMS_MIN_OVERDUE_AMOUNT


def default_max_parts() -> int:
    return settings.SMS_MAX_PARTS


def default_batch_max_age_days() -> int:
    return settings.BATCH_MAX_AGE_DAYS


def default_repay_by_days() -> int:
    return settings.SMS_REPAY_BY_DAYS


class ContactPolicy(models.Model):
    """The rules administrators may tune (one row), first filled from the environment."""

    window_start = models.TimeField(_("contact window opens"), default=default_window_start)
    window_end = models.TimeField(_("contact window closes"), default=default_window_end)
    daily_cap = models.PositiveSmallIntegerField(
        _("SMS per customer per day"), default=default_daily_cap, validators=[MinValueValidator(1)]
    )
    rate_limit = models.PositiveIntegerField(
        _("gateway rate limit (messages per second)"),
        default=default_rate_limit,
        validators=[MinValueValidator(1)],
    )
    min_overdue_amount = models.DecimalField(
        _("minimum overdue amount to notify"),
        max_digits=12,
        decimal_places=2,
        default=default_min_overdue_amount,
    )
    max_parts = models.PositiveSmallIntegerField(
        _("maximum SMS parts per template"),
        default=default_max_parts,
        validators=[MinValueValidator(1), MaxValueValidator(6)],
    )
    batch_max_age_days = models.PositiveSmallIntegerField(
        _("batches older than this many days cannot be approved"), default=default_batch_max_age_days
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    # The fields whose first value comes from the environment (see notices/policy.py).
    SETTINGS_FIELDS = (
        "window_start",
        "window_end",
        "daily_cap",
        "rate_limit",
        "min_overdue_amount",
        "max_parts",
        "batch_max_age_days",
    )

    class Meta:
        verbose_name = _("contact policy")
        verbose_name_plural = _("contact policy")
        constraints = [models.CheckConstraint(condition=Q(pk=1), name="contactpolicy_single_row")]

    def __str__(self) -> str:
        return str(_("Contact policy"))

    @classmethod
    def current(cls) -> ContactPolicy:
        """The one policy row, created with the environment's values on first use."""
        policy = cls.objects.filter(pk=1).first()
        if policy is None:
            policy, _created = cls.objects.get_or_create(pk=1)
        return policy


class ForbiddenExpression(models.Model):
    """A phrase no outgoing SMS may contain (threats, impersonation, third parties…)."""

    class Category(models.TextChoices):
        THREAT = "threat", _("threat or intimidation")
        IMPERSONATION = "impersonation", _("pretending to be a court, police or lawyer")
        THIRD_PARTY = "third_party", _("contacting family, employer or contacts")
        EXPOSURE = "exposure", _("public exposure")
        VISIT = "visit", _("home or workplace visit")
        OTHER = "other", _("other")

    phrase = models.CharField(_("phrase"), max_length=50, unique=True)
    category = models.CharField(
        _("category"), max_length=20, choices=Category.choices, default=Category.OTHER
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("forbidden expression")
        verbose_name_plural = _("forbidden expressions")
        ordering = ["category", "phrase"]

    def __str__(self) -> str:
        return self.phrase


# --- Stages and templates -------------------------------------------------------------


class CollectionStage(models.Model):
    """A days-overdue range with its cadence and its template variants."""

    name = models.CharField(_("name"), max_length=50)
    min_days = models.PositiveIntegerField(_("from day"), validators=[MinValueValidator(1)])
    max_days = models.PositiveIntegerField(
        _("to day"), null=True, blank=True, help_text=_("Empty means no upper limit.")
    )
    cadence_days = models.PositiveIntegerField(
        _("repeat every (days)"),
        default=0,
        help_text=_("0: one notice per stage; N: another notice every N days while the loan stays here."),
    )
    repay_by_days = models.PositiveSmallIntegerField(
        _("repay within (days)"),
        default=default_repay_by_days,
        validators=[MinValueValidator(1), MaxValueValidator(90)],
        help_text=_(
            "The notices' repay-by date {repay_by}: the data date plus this many days "
            "(e.g. data of 12月2日 + 3 = 请于12月5日前还款)."
        ),
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("collection stage")
        verbose_name_plural = _("collection stages")
        ordering = ["min_days"]
        constraints = [
            models.CheckConstraint(condition=Q(min_days__gte=1), name="stage_min_days_positive"),
            models.CheckConstraint(
                condition=Q(max_days__isnull=True) | Q(max_days__gte=models.F("min_days")),
                name="stage_range_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.range_label})"

    @property
    def range_label(self) -> str:
        if self.max_days is None:
            return _("%(n)s+ days") % {"n": self.min_days}
        return _("%(lo)s–%(hi)s days") % {"lo": self.min_days, "hi": self.max_days}

    def contains(self, days: int) -> bool:
        return days >= self.min_days and (self.max_days is None or days <= self.max_days)

    @property
    def typical_days(self) -> int:
        """Days overdue of a loan late in this stage (for previews: the most digits it shows)."""
        return self.max_days if self.max_days is not None else self.min_days + 29

    def repay_by_on(self, as_of: datetime.date) -> datetime.date:
        """The deadline a notice of this stage made on `as_of` data gives."""
        return as_of + datetime.timedelta(days=self.repay_by_days)


class TemplatePurpose(models.TextChoices):
    OVERDUE_NOTICE = "overdue_notice", _("overdue notice")
    PLAN_CONFIRMATION = "plan_confirmation", _("plan confirmation")
    PLAN_REMINDER = "plan_reminder", _("installment reminder")
    FEEDBACK_REPLY = "feedback_reply", _("feedback reply")
    EDUCATION = "education", _("education")


class SmsTemplate(models.Model):
    """Staff-written SMS text. Editing a used template creates a new version."""

    name = models.CharField(_("name"), max_length=80)
    purpose = models.CharField(
        _("purpose"), max_length=20, choices=TemplatePurpose.choices, default=TemplatePurpose.OVERDUE_NOTICE
    )
    stage = models.ForeignKey(
        CollectionStage,
        verbose_name=_("stage"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="templates",
    )
    variant = models.CharField(_("variant"), max_length=10, default="A")
    weight = models.PositiveSmallIntegerField(
        _("weight"), default=100, help_text=_("Share of loans that get this variant, relative to the others.")
    )
    body = models.TextField(_("text"))
    version = models.PositiveIntegerField(_("version"), default=1)
    active = models.BooleanField(_("active"), default=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("last edited by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("SMS template")
        verbose_name_plural = _("SMS templates")
        ordering = ["purpose", "stage__min_days", "variant"]
        constraints = [
            models.UniqueConstraint(fields=["purpose", "stage", "variant"], name="template_variant_unique"),
            models.CheckConstraint(
                condition=~Q(purpose="overdue_notice") | Q(stage__isnull=False),
                name="template_notice_has_stage",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} · {self.variant} · v{self.version}"


class SmsTemplateVersion(models.Model):
    """The text of one version of a template, frozen once a message has used it."""

    template = models.ForeignKey(
        SmsTemplate, verbose_name=_("template"), on_delete=models.PROTECT, related_name="versions"
    )
    version = models.PositiveIntegerField(_("version"))
    body = models.TextField(_("text"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("template version")
        verbose_name_plural = _("template versions")
        ordering = ["template", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["template", "version"], name="template_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.template.name} v{self.version}"


# --- Batches and messages -------------------------------------------------------------


class BatchStatus(models.TextChoices):
    DRAFT = "draft", _("draft")
    PENDING_APPROVAL = "pending_approval", _("pending approval")
    APPROVED = "approved", _("approved")
    SENDING = "sending", _("sending")
    DONE = "done", _("done")
    REJECTED = "rejected", _("rejected")
    CANCELLED = "cancelled", _("cancelled")


# A rejected or cancelled batch (superseded ones are cancelled) is no longer the day's
# batch: its exclusions and unsent notices say nothing about the customers any more.
DEAD_BATCH_STATUSES = (BatchStatus.REJECTED, BatchStatus.CANCELLED)
LIVE_BATCH_STATUSES = tuple(s for s in BatchStatus if s not in DEAD_BATCH_STATUSES)


class NoticeBatch(models.Model):
    """The notices due on one as-of date; nothing in it is sent before a supervisor approves."""

    as_of = models.DateField(_("as of"), db_index=True)
    status = models.CharField(
        _("status"), max_length=20, choices=BatchStatus.choices, default=BatchStatus.DRAFT, db_index=True
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("submitted by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved or rejected by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    reason = models.TextField(_("reason"), blank=True)
    content_hash = models.CharField(_("content hash"), max_length=64, blank=True)
    message_count = models.PositiveIntegerField(_("messages"), default=0)
    customer_count = models.PositiveIntegerField(_("customers"), default=0)
    loan_count = models.PositiveIntegerField(_("loans"), default=0)
    overdue_total = models.DecimalField(_("overdue amount"), max_digits=16, decimal_places=2, default=ZERO)
    excluded_count = models.PositiveIntegerField(_("excluded"), default=0)
    excluded_by_reason = models.JSONField(_("excluded by reason"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    decided_at = models.DateTimeField(_("approved or rejected"), null=True, blank=True)

    class Meta:
        verbose_name = _("notice batch")
        verbose_name_plural = _("notice batches")
        ordering = ["-as_of", "-id"]
        permissions = [("approve_noticebatch", _("Can approve or reject notice batches"))]
        constraints = [
            models.UniqueConstraint(
                fields=["as_of"],
                condition=~Q(status__in=["rejected", "cancelled"]),
                name="noticebatch_one_open_per_date",
            )
        ]

    def __str__(self) -> str:
        return _("Batch #%(id)s for %(date)s") % {"id": self.pk, "date": self.as_of}


class MessageStatus(models.TextChoices):
    PENDING = "pending", _("pending")
    EXCLUDED = "excluded", _("excluded")
    QUEUED = "queued", _("queued")
    SENDING = "sending", _("sending")
    SENT = "sent", _("sent")
    DELIVERED = "delivered", _("delivered")
    FAILED = "failed", _("failed")
    UNKNOWN = "unknown", _("unknown")
    CANCELLED = "cancelled", _("cancelled")
    EXPIRED = "expired", _("expired")


# Statuses whose dedupe key is held: the notice exists, will be or was sent.
LIVE_STATUSES = (
    MessageStatus.PENDING,
    MessageStatus.QUEUED,
    MessageStatus.SENDING,
    MessageStatus.SENT,
    MessageStatus.DELIVERED,
    MessageStatus.FAILED,
    MessageStatus.UNKNOWN,
)


# Messages the gateway was handed (or may have been): only these may take a receipt.
HANDED_TO_GATEWAY = (MessageStatus.SENDING, MessageStatus.SENT, MessageStatus.UNKNOWN)


class ExclusionReason(models.TextChoices):
    DO_NOT_CONTACT = "do_not_contact", _("do not contact")
    DECEASED = "deceased", _("deceased")
    DISPUTED = "disputed", _("disputed")
    STOP_REQUEST = "stop_request", _("asked to stop SMS")
    PHONE_MISSING = "phone_missing", _("no mobile number")
    PHONE_INVALID = "phone_invalid", _("invalid mobile number")
    PHONE_LANDLINE = "phone_landline", _("landline, not a mobile")
    PHONE_SHARED = "phone_shared", _("mobile shared with another customer")
    PHONE_WRONG = "phone_wrong", _("reported as wrong number")
    ACTIVE_PLAN = "active_plan", _("active repayment plan")
    ALREADY_NOTIFIED = "already_notified", _("already notified this cycle")
    BELOW_MINIMUM = "below_minimum", _("amount below the minimum")
    DAILY_CAP = "daily_cap", _("daily SMS limit reached")
    NO_TEMPLATE = "no_template", _("no active template for the stage")
    NO_MULTI_LOAN_TEMPLATE = "no_multi_template", _("no active template true for several loans")


class SmsMessage(models.Model):
    """One SMS (or an excluded one saying why not); phone and text frozen at creation."""

    batch = models.ForeignKey(
        NoticeBatch,
        verbose_name=_("batch"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="messages",
    )
    purpose = models.CharField(
        _("purpose"), max_length=20, choices=TemplatePurpose.choices, default=TemplatePurpose.OVERDUE_NOTICE
    )
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="sms_messages",
    )
    loan = models.ForeignKey(
        "customers.Loan",
        verbose_name=_("loan"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="sms_messages",
    )
    stage = models.ForeignKey(
        CollectionStage,
        verbose_name=_("stage"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    template = models.ForeignKey(
        SmsTemplate,
        verbose_name=_("template"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    template_version = models.ForeignKey(
        SmsTemplateVersion,
        verbose_name=_("template version"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="messages",
    )
    variant = models.CharField(_("variant"), max_length=10, blank=True)
    phone = models.CharField(_("mobile"), max_length=20, blank=True)
    body = models.TextField(_("text"), blank=True)
    segments = models.PositiveSmallIntegerField(_("SMS parts"), default=0)
    loan_count = models.PositiveSmallIntegerField(_("loans covered"), default=1)
    overdue_total = models.DecimalField(_("overdue amount"), max_digits=14, decimal_places=2, default=ZERO)
    days_overdue = models.PositiveIntegerField(_("days overdue"), default=0)
    status = models.CharField(
        _("status"), max_length=12, choices=MessageStatus.choices, default=MessageStatus.PENDING
    )
    exclusion_reason = models.CharField(
        _("exclusion reason"), max_length=20, choices=ExclusionReason.choices, blank=True
    )
    idempotency_key = models.CharField(_("idempotency key"), max_length=64, unique=True)
    dedupe_key = models.CharField(_("dedupe key"), max_length=100, null=True, blank=True)  # noqa: DJ001 (NULL: no key)
    provider_message_id = models.CharField(_("gateway message id"), max_length=100, blank=True, db_index=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.CharField(_("last error"), max_length=255, blank=True)
    error_code = models.CharField(_("error code"), max_length=50, blank=True)
    not_before = models.DateTimeField(_("not before"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    claimed_at = models.DateTimeField(_("claimed"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)  # indexed with status below
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    failed_at = models.DateTimeField(_("failed"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    reconcile_attempts = models.PositiveSmallIntegerField(_("reconcile attempts"), default=0)
    feedback = models.ForeignKey(
        "notices.Feedback",
        verbose_name=_("in reply to"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="replies",
    )
    plan = models.ForeignKey(
        "notices.RepaymentPlan",
        verbose_name=_("repayment plan"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="messages",
    )

    class Meta:
        verbose_name = _("SMS message")
        verbose_name_plural = _("SMS messages")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["dedupe_key"],
                condition=Q(status__in=LIVE_STATUSES) & Q(dedupe_key__isnull=False),
                name="smsmessage_dedupe_live_unique",
            ),
            models.CheckConstraint(
                condition=~Q(status="excluded") | ~Q(exclusion_reason=""),
                name="smsmessage_excluded_has_reason",
            ),
        ]
        indexes = [
            models.Index(fields=["batch", "status"]),
            models.Index(fields=["status", "not_before"]),
            models.Index(fields=["customer", "created_at"]),
            models.Index(fields=["loan", "created_at"]),
            # A status filter in the admin, newest first; its date drill-down and count.
            models.Index(fields=["status", "created_at"], name="smsmessage_status_created"),
            # The dashboard: sent, delivered and failed per day, delivery rate by status.
            models.Index(fields=["sent_at", "status"], name="smsmessage_sent_status"),
            models.Index(fields=["delivered_at"], name="smsmessage_delivered"),
            models.Index(
                fields=["failed_at"], name="smsmessage_failed", condition=Q(failed_at__isnull=False)
            ),
            # The 24-hour promise asks, per loan, whether it was excluded from contact.
            models.Index(fields=["loan"], name="smsmessage_excluded_loan", condition=Q(status="excluded")),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} · {self.get_status_display()}"


class NotifiedLoan(models.Model):
    """A loan a notice covered, in which stage and on which date: drives the cadence."""

    message = models.ForeignKey(
        SmsMessage, verbose_name=_("message"), on_delete=models.CASCADE, related_name="covered_loans"
    )
    loan = models.ForeignKey(
        "customers.Loan", verbose_name=_("loan"), on_delete=models.CASCADE, related_name="notices"
    )
    stage = models.ForeignKey(
        CollectionStage, verbose_name=_("stage"), on_delete=models.PROTECT, related_name="+"
    )
    as_of = models.DateField(_("as of"))
    days_overdue = models.PositiveIntegerField(_("days overdue"))
    overdue_amount = models.DecimalField(_("overdue amount"), max_digits=14, decimal_places=2)

    class Meta:
        verbose_name = _("notified loan")
        verbose_name_plural = _("notified loans")
        indexes = [models.Index(fields=["loan", "stage", "as_of"])]

    def __str__(self) -> str:
        return f"{self.loan_id} · {self.as_of}"


# --- Feedback -------------------------------------------------------------------------


class FeedbackChannel(models.TextChoices):
    SMS_REPLY = "sms_reply", _("SMS reply")
    PHONE = "phone", _("phone call")
    BRANCH = "branch", _("at a branch")
    ONLINE = "online", _("online")
    SYSTEM = "system", _("system")


class FeedbackCategory(models.TextChoices):
    ALREADY_PAID = "already_paid", _("already paid")
    INSTALLMENT_REQUEST = "installment_request", _("installment request")
    EXTENSION_REQUEST = "extension_request", _("extension request")
    WRONG_NUMBER = "wrong_number", _("wrong number")
    STOP_REQUEST = "stop_request", _("stop request")
    COMPLAINT = "complaint", _("complaint")
    DISPUTE = "dispute", _("dispute")
    HARDSHIP = "hardship", _("hardship")
    PLAN_BROKEN = "plan_broken", _("repayment plan broken")
    OTHER = "other", _("other")


class FeedbackStatus(models.TextChoices):
    NEW = "new", _("new")
    IN_PROGRESS = "in_progress", _("in progress")
    RESOLVED = "resolved", _("resolved")
    CLOSED = "closed", _("closed")


OPEN_FEEDBACK = (FeedbackStatus.NEW, FeedbackStatus.IN_PROGRESS)


class KeywordRule(models.Model):
    """Words in a customer's reply that decide its category (first matching rule wins)."""

    category = models.CharField(_("category"), max_length=24, choices=FeedbackCategory.choices)
    keywords = models.TextField(
        _("keywords"),
        help_text=_(
            "One per line or separated by commas. Latin words match whole words (TD), Chinese ones anywhere."
        ),
    )
    priority = models.PositiveSmallIntegerField(
        _("priority"), default=100, help_text=_("Lower is checked first.")
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("keyword rule")
        verbose_name_plural = _("keyword rules")
        ordering = ["priority", "pk"]

    def __str__(self) -> str:
        return f"{self.get_category_display()}: {self.keywords[:40]}"

    @property
    def keyword_list(self) -> list[str]:
        import re

        return [k.strip() for k in re.split(r"[,，、\n]+", self.keywords) if k.strip()]


class FeedbackSla(models.Model):
    """How soon feedback of a category must be answered."""

    category = models.CharField(_("category"), max_length=24, choices=FeedbackCategory.choices, unique=True)
    within_hours = models.PositiveSmallIntegerField(_("within hours"), null=True, blank=True)
    within_working_days = models.PositiveSmallIntegerField(_("within working days"), null=True, blank=True)
    urgent = models.BooleanField(_("urgent"), default=False)

    class Meta:
        verbose_name = _("feedback SLA")
        verbose_name_plural = _("feedback SLAs")
        ordering = ["category"]
        constraints = [
            models.CheckConstraint(
                condition=Q(within_hours__isnull=False) | Q(within_working_days__isnull=False),
                name="feedbacksla_has_a_limit",
            )
        ]

    def __str__(self) -> str:
        return self.get_category_display()


class Feedback(models.Model):
    """Something a customer told us (SMS reply, call, branch visit): work that someone owns."""

    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="feedback",
    )
    loan = models.ForeignKey(
        "customers.Loan",
        verbose_name=_("loan"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="feedback",
    )
    channel = models.CharField(_("channel"), max_length=12, choices=FeedbackChannel.choices)
    category = models.CharField(_("category"), max_length=24, choices=FeedbackCategory.choices, db_index=True)
    status = models.CharField(
        _("status"), max_length=12, choices=FeedbackStatus.choices, default=FeedbackStatus.NEW, db_index=True
    )
    urgent = models.BooleanField(_("urgent"), default=False)
    text = models.TextField(_("what the customer said"))
    phone = models.CharField(_("from"), max_length=32, blank=True)
    inbound = models.OneToOneField(
        "notices.InboundMessage",
        verbose_name=_("inbound SMS"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="feedback",
    )
    # The same text from the same phone again soon after (settings.FEEDBACK_MERGE_MINUTES)
    # is the same piece of work: the later SMS are kept here and counted, not made new items.
    repeats = models.ManyToManyField(
        "notices.InboundMessage", verbose_name=_("the same SMS received again"), blank=True, related_name="+"
    )
    received_count = models.PositiveIntegerField(_("times received"), default=1)
    last_received_at = models.DateTimeField(_("last received"), null=True, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    sla_due_at = models.DateTimeField(_("answer by"), db_index=True)
    resolution = models.TextField(_("resolution"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("received"), auto_now_add=True)  # indexed with category below
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("feedback")
        verbose_name_plural = _("feedback")
        ordering = ["sla_due_at", "pk"]
        indexes = [
            models.Index(fields=["status", "sla_due_at"]),
            models.Index(fields=["assignee", "status"]),
            # The home page's feedback per category of the last 30 days, from the index alone.
            models.Index(fields=["created_at", "category"], name="feedback_created_category"),
            # Is there an open item with this text from this phone, received in the last minutes?
            models.Index(fields=["phone", "last_received_at"], name="feedback_phone_received"),
        ]

    def __str__(self) -> str:
        return _("Feedback #%(id)s") % {"id": self.pk}

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_FEEDBACK


# --- Repayment plans ------------------------------------------------------------------


class PlanStatus(models.TextChoices):
    PENDING_APPROVAL = "pending_approval", _("pending approval")
    APPROVED = "approved", _("approved")
    ACTIVE = "active", pgettext_lazy("plan status", "active")
    COMPLETED = "completed", _("completed")
    BROKEN = "broken", _("broken")
    REJECTED = "rejected", _("rejected")
    CANCELLED = "cancelled", _("cancelled")


class PlanKind(models.TextChoices):
    EXTENSION = "extension", _("extension")
    INSTALLMENTS = "installments", _("installments")


OPEN_PLAN_STATUSES = (PlanStatus.PENDING_APPROVAL, PlanStatus.APPROVED, PlanStatus.ACTIVE)


class RepaymentPlan(models.Model):
    """An extension or installment plan for one or more overdue loans of one customer,
    approved by a supervisor. The installments are the plan's (each covers all its loans);
    each loan's share and progress are on its PlanLoan."""

    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="plans"
    )
    loans = models.ManyToManyField(
        "customers.Loan", verbose_name=_("loans"), through="PlanLoan", related_name="plans"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=PlanKind.choices)
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=PlanStatus.choices,
        default=PlanStatus.PENDING_APPROVAL,
        db_index=True,
    )
    total_amount = models.DecimalField(_("amount covered"), max_digits=14, decimal_places=2, default=ZERO)
    baseline_overdue = models.DecimalField(
        _("overdue amount when activated"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    feedback = models.ForeignKey(
        Feedback,
        verbose_name=_("from feedback"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="plans",
    )
    note = models.TextField(_("note"), blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved or rejected by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    reason = models.TextField(_("reason"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    decided_at = models.DateTimeField(_("approved or rejected"), null=True, blank=True)
    ended_at = models.DateTimeField(_("completed or broken"), null=True, blank=True)

    class Meta:
        verbose_name = _("repayment plan")
        verbose_name_plural = _("repayment plans")
        ordering = ["-created_at"]
        permissions = [("approve_repaymentplan", _("Can approve or reject repayment plans"))]

    def __str__(self) -> str:
        return _("%(kind)s plan #%(id)s") % {"kind": self.get_kind_display(), "id": self.pk}

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_PLAN_STATUSES


class PlanLoan(models.Model):
    """A loan a plan covers: its share of the plan, its overdue amount when the plan began,
    and how much of its share the imports have shown repaid."""

    plan = models.ForeignKey(
        RepaymentPlan, verbose_name=_("plan"), on_delete=models.CASCADE, related_name="plan_loans"
    )
    loan = models.ForeignKey(
        "customers.Loan", verbose_name=_("loan"), on_delete=models.PROTECT, related_name="plan_links"
    )
    amount = models.DecimalField(_("share of the plan"), max_digits=14, decimal_places=2)
    baseline_overdue = models.DecimalField(
        _("overdue amount when activated"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    repaid = models.DecimalField(_("repaid so far"), max_digits=14, decimal_places=2, default=ZERO)
    open = models.BooleanField(
        _("plan open"), default=True, help_text=_("While the plan waits for approval or runs.")
    )

    class Meta:
        verbose_name = _("loan in a plan")
        verbose_name_plural = _("loans in a plan")
        ordering = ["plan", "-amount", "loan"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "loan"], name="planloan_once_per_plan"),
            # A loan is in at most one plan waiting or running (the services keep `open`
            # equal to the plan's status being pending, approved or active).
            models.UniqueConstraint(
                fields=["loan"], condition=Q(open=True), name="planloan_one_open_per_loan"
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="planloan_amount_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.plan_id} · {self.loan_id}"


class Installment(models.Model):
    plan = models.ForeignKey(
        RepaymentPlan, verbose_name=_("plan"), on_delete=models.CASCADE, related_name="installments"
    )
    seq = models.PositiveSmallIntegerField(_("no."))
    due_date = models.DateField(_("due date"))
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    paid_on = models.DateField(_("paid on"), null=True, blank=True)
    reminded_on = models.DateField(_("reminded on"), null=True, blank=True)

    class Meta:
        verbose_name = _("installment")
        verbose_name_plural = _("installments")
        ordering = ["plan", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "seq"], name="installment_seq_unique"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="installment_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.seq}: {self.due_date} {self.amount}"


# --- Sending: attempts, receipts, replies, rate limit ---------------------------------


class AttemptOutcome(models.TextChoices):
    ACCEPTED = "accepted", _("accepted")
    RETRY = "retry", _("temporary failure, will retry")
    FAILED = "failed", _("permanent failure")
    UNKNOWN = "unknown", _("outcome unknown")
    RECONCILED = "reconciled", _("reconciled with the gateway")


class SendAttempt(models.Model):
    """One gateway call for a message (append-only)."""

    message = models.ForeignKey(
        SmsMessage, verbose_name=_("message"), on_delete=models.CASCADE, related_name="attempt_log"
    )
    outcome = models.CharField(_("outcome"), max_length=12, choices=AttemptOutcome.choices)
    code = models.CharField(_("code"), max_length=50, blank=True)
    detail = models.CharField(_("detail"), max_length=255, blank=True)
    latency_ms = models.PositiveIntegerField(_("latency (ms)"), default=0)
    backend = models.CharField(_("gateway"), max_length=50, blank=True)
    created_at = models.DateTimeField(_("time"), auto_now_add=True)

    class Meta:
        verbose_name = _("send attempt")
        verbose_name_plural = _("send attempts")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.message_id} · {self.outcome}"


class DeliveryReceipt(models.Model):
    """A delivery report posted by the gateway, kept as received (append-only)."""

    message = models.ForeignKey(
        SmsMessage,
        verbose_name=_("message"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="receipts",
    )
    provider_message_id = models.CharField(_("gateway message id"), max_length=100, blank=True, db_index=True)
    client_ref = models.CharField(_("client reference"), max_length=64, blank=True, db_index=True)
    status = models.CharField(_("status"), max_length=20)
    error_code = models.CharField(_("error code"), max_length=50, blank=True)
    reported_at = models.DateTimeField(_("reported at"), null=True, blank=True)
    payload = models.JSONField(_("payload"))
    fingerprint = models.CharField(_("fingerprint"), max_length=64, unique=True)
    applied = models.BooleanField(_("changed the message"), default=False)
    needs_review = models.BooleanField(
        _("needs review"),
        default=False,
        help_text=_("A receipt for a message that was never handed to the gateway: kept, not applied."),
    )
    received_at = models.DateTimeField(_("received"), auto_now_add=True)

    class Meta:
        verbose_name = _("delivery receipt")
        verbose_name_plural = _("delivery receipts")
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.client_ref or self.provider_message_id} · {self.status}"


class InboundMessage(models.Model):
    """An SMS a customer sent us, kept as received and matched to the customer by phone."""

    provider_message_id = models.CharField(_("gateway message id"), max_length=100, unique=True)
    phone = models.CharField(_("from"), max_length=32)
    text = models.TextField(_("text"))
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="inbound_messages",
    )
    payload = models.JSONField(_("payload"))
    received_at = models.DateTimeField(_("received"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("inbound SMS")
        verbose_name_plural = _("inbound SMS")
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.provider_message_id}"


class RateWindow(models.Model):
    """Tokens used in the current second, per gateway: the rate limit across all workers."""

    key = models.CharField(max_length=50, primary_key=True)
    window = models.BigIntegerField(default=0)
    used = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("rate window")
        verbose_name_plural = _("rate windows")

    def __str__(self) -> str:
        return self.key


# --- Carrier links: parts, binds, long replies ----------------------------------------


class PartStatus(models.TextChoices):
    SUBMITTED = "submitted", _("submitted")
    DELIVERED = "delivered", _("delivered")
    FAILED = "failed", _("failed")


class MessagePart(models.Model):
    """One SMS of a message as a carrier link submitted it, with the peer's id for it.

    Receipts over a link name the part (SMPP message_id, CMPP Msg_Id), never the message:
    a message is delivered when every part is, failed when any part fails.
    """

    message = models.ForeignKey(
        SmsMessage, verbose_name=_("message"), on_delete=models.CASCADE, related_name="parts"
    )
    seq = models.PositiveSmallIntegerField(_("part"))
    total = models.PositiveSmallIntegerField(_("of"))
    link = models.CharField(_("link"), max_length=10)  # smpp, cmpp
    provider_id = models.CharField(_("gateway part id"), max_length=64)
    status = models.CharField(
        _("status"), max_length=12, choices=PartStatus.choices, default=PartStatus.SUBMITTED
    )
    stat = models.CharField(_("receipt state"), max_length=20, blank=True)
    err = models.CharField(_("receipt error"), max_length=20, blank=True)
    submitted_at = models.DateTimeField(_("submitted"))
    done_at = models.DateTimeField(_("done"), null=True, blank=True)

    class Meta:
        verbose_name = _("message part")
        verbose_name_plural = _("message parts")
        ordering = ["message", "seq"]
        constraints = [models.UniqueConstraint(fields=["message", "seq"], name="messagepart_seq_unique")]
        indexes = [models.Index(fields=["link", "provider_id"], name="messagepart_provider")]

    def __str__(self) -> str:
        return f"{self.message_id} {self.seq}/{self.total} · {self.provider_id}"


class LinkSlot(models.Model):
    """One bind (SMPP) or connection (CMPP) a link process may hold: at most SMS_SMPP_BINDS /
    SMS_CMPP_LINKS slots exist, and a process holds one only while its lease is fresh.
    Also what the administrators' dashboard shows of the connection."""

    link = models.CharField(_("link"), max_length=10)
    slot = models.PositiveSmallIntegerField(_("slot"))
    holder = models.CharField(_("held by"), max_length=120, blank=True)
    lease_until = models.DateTimeField(_("lease until"), null=True, blank=True)
    connected_since = models.DateTimeField(_("connected since"), null=True, blank=True)
    window = models.PositiveSmallIntegerField(_("window"), default=0)
    in_flight = models.PositiveSmallIntegerField(_("in flight"), default=0)
    submitted = models.PositiveBigIntegerField(_("parts submitted"), default=0)
    throttled = models.PositiveBigIntegerField(_("throttled answers"), default=0)
    rate = models.FloatField(_("parts per second"), default=0)
    last_error = models.CharField(_("last error"), max_length=255, blank=True)
    last_error_at = models.DateTimeField(_("last error at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("link slot")
        verbose_name_plural = _("link slots")
        ordering = ["link", "slot"]
        constraints = [models.UniqueConstraint(fields=["link", "slot"], name="linkslot_unique")]

    def __str__(self) -> str:
        return f"{self.link}#{self.slot}"


class InboundPart(models.Model):
    """One part of a long message a customer sent over a link, kept until all have come.

    Parts may arrive on different binds or processes, in any order, twice: the unique
    constraint keeps one of each while the message is incomplete."""

    link = models.CharField(_("link"), max_length=10)
    sender = models.CharField(_("from"), max_length=32)
    reference = models.PositiveIntegerField(_("reference"))
    total = models.PositiveSmallIntegerField(_("of"))
    seq = models.PositiveSmallIntegerField(_("part"))
    text = models.TextField(_("text"))
    raw = models.JSONField(_("as received"), default=dict)
    received_at = models.DateTimeField(_("received"), auto_now_add=True)
    assembled_at = models.DateTimeField(_("assembled"), null=True, blank=True)

    class Meta:
        verbose_name = _("inbound part")
        verbose_name_plural = _("inbound parts")
        constraints = [
            models.UniqueConstraint(
                fields=["link", "sender", "reference", "total", "seq"],
                condition=Q(assembled_at__isnull=True),
                name="inboundpart_open_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.sender} {self.reference}:{self.seq}/{self.total}"
