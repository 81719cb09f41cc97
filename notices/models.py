from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class BatchStatus(models.TextChoices):
    DRAFT = "draft", _("draft")
    PENDING_APPROVAL = "pending_approval", _("pending approval")
    APPROVED = "approved", _("approved")
    SENDING = "sending", _("sending")
    DONE = "done", _("done")
    REJECTED = "rejected", _("rejected")
    CANCELLED = "cancelled", _("cancelled")


class NoticeBatch(models.Model):
    """The notices due on one as-of date; nothing in it is sent before a supervisor approves."""

    as_of = models.DateField(_("as of"))
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
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    reason = models.TextField(_("reason"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("notice batch")
        verbose_name_plural = _("notice batches")
        ordering = ["-as_of", "-id"]
        permissions = [("approve_noticebatch", _("Can approve or reject notice batches"))]

    def __str__(self) -> str:
        return f"#{self.pk} · {self.as_of}"


class PlanStatus(models.TextChoices):
    PENDING_APPROVAL = "pending_approval", _("pending approval")
    APPROVED = "approved", _("approved")
    ACTIVE = "active", _("active")
    COMPLETED = "completed", _("completed")
    BROKEN = "broken", _("broken")
    REJECTED = "rejected", _("rejected")
    CANCELLED = "cancelled", _("cancelled")


class PlanKind(models.TextChoices):
    EXTENSION = "extension", _("extension")
    INSTALLMENTS = "installments", _("installments")


class RepaymentPlan(models.Model):
    """An extension or installment plan for one loan, approved by a supervisor."""

    loan = models.ForeignKey(
        "customers.Loan", verbose_name=_("loan"), on_delete=models.PROTECT, related_name="plans"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=PlanKind.choices)
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=PlanStatus.choices,
        default=PlanStatus.PENDING_APPROVAL,
        db_index=True,
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("repayment plan")
        verbose_name_plural = _("repayment plans")
        ordering = ["-created_at"]
        permissions = [("approve_repaymentplan", _("Can approve or reject repayment plans"))]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.loan}"
