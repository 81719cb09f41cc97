"""A small world with one of everything, personal data included, for the tests that walk
every URL: the permission matrix and the masking scan."""

from __future__ import annotations

import datetime
import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_q.models import OrmQ, Schedule, Task

from core.audit import audit_record
from customers.models import Customer, LoanBookImport, LoanBookImportError, LoanEvent
from notices.backends.http import reply_from_item
from notices.models import (
    CollectionStage,
    ContactPolicy,
    DeliveryReceipt,
    Feedback,
    FeedbackSla,
    ForbiddenExpression,
    KeywordRule,
    MessageStatus,
    RepaymentPlan,
    SendAttempt,
    SmsMessage,
    SmsTemplate,
)
from notices.services import batch_generate
from notices.services.feedback import feedback_from_inbound, feedback_record
from notices.services.plans import plan_draft, plan_schedule
from notices.services.webhooks import inbound_receive
from tests.factories import CustomerFactory, LoanFactory, administrator_user, staff_user, supervisor_user

# The personal data planted in the world (and what it must look like on a page).
MOBILE, MOBILE_MASKED = "+8613812345678", "138****5678"
OTHER_MOBILE = "13987654321"  # typed by a customer into an SMS
ID_NUMBER, ID_MASKED = "33010219800101123X", "330102********123X"
WHOLE_MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
WHOLE_ID = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
ROLES = ("anonymous", "staff", "supervisor", "administrator")


@dataclass
class World:
    users: dict = field(default_factory=dict)
    pks: dict = field(default_factory=dict)  # "app_model" → pk of a demo object


def build_world() -> World:
    world = World()
    staff = staff_user(username="wang")
    world.users = {
        "staff": staff,
        "supervisor": supervisor_user(username="zhao"),
        "administrator": administrator_user(username="admin1"),
    }
    customer = CustomerFactory(name="陈静", customer_no="C7001", mobile=MOBILE, id_number=ID_NUMBER)
    loan = LoanFactory(customer=customer, days=12)
    plan_loan = LoanFactory(customer=customer, days=20, overdue_amount=Decimal("900.00"))
    event = LoanEvent.objects.create(loan=loan, kind="became_overdue", on_date=timezone.localdate())
    loan_import = LoanBookImport.objects.create(
        file_name="逾期清单.xlsx",
        sha256="0" * 64,
        created_by=staff,
        as_of=timezone.localdate(),
        status="done",
        error_count=1,
        total_rows=2,
    )
    LoanBookImportError.objects.create(
        loan_import=loan_import,
        row=3,
        column="mobile",
        value=f"客户 {MOBILE[3:]} 证件 {ID_NUMBER}",
        message="not a mobile",
        raw=[MOBILE[3:], ID_NUMBER],
    )
    batch = batch_generate(as_of=timezone.localdate(), user=staff)
    message = SmsMessage.objects.filter(batch=batch).exclude(status=MessageStatus.EXCLUDED).first()
    SmsMessage.objects.filter(pk=message.pk).update(status=MessageStatus.SENT)
    SendAttempt.objects.create(message=message, outcome="accepted", backend="locmem")
    receipt = DeliveryReceipt.objects.create(
        message=message,
        client_ref=message.idempotency_key,
        status="delivered",
        payload={"client_ref": message.idempotency_key, "status": "delivered"},
        fingerprint="f" * 64,
    )
    inbound, _ = inbound_receive(
        report=reply_from_item(
            {
                "from": MOBILE,
                "text": f"我换号了，新号码{OTHER_MOBILE}，身份证{ID_NUMBER}",
                "message_id": "in-1",
            }
        )
    )
    feedback = Feedback.objects.filter(inbound=inbound).first() or feedback_from_inbound(inbound=inbound)
    feedback_record(user=staff, channel="phone", text=f"家属来电，留号 {OTHER_MOBILE}", customer=customer)
    schedule = plan_schedule(
        kind="installments", total=plan_loan.overdue_amount, today=timezone.localdate(), count=3
    )
    plan = plan_draft(loans=[plan_loan], user=staff, kind="installments", schedule=schedule)
    audit = audit_record(
        actor=staff, action="customer.contact_update", obj=customer, note=f"来电 {OTHER_MOBILE}"
    )
    now = timezone.now()
    task_ok = Task.objects.create(id="a" * 32, name="t-ok", func="x", started=now, stopped=now, success=True)
    task_bad = Task.objects.create(
        id="b" * 32, name="t-bad", func="x", started=now, stopped=now, success=False
    )
    ormq = OrmQ.objects.create(key="overdue-notices", payload="x", lock=now)
    attempt = AccessAttempt.objects.create(
        username="wang", ip_address="203.0.113.9", user_agent="x", failures_since_start=1
    )
    access_log = AccessLog.objects.create(username="wang", ip_address="203.0.113.9", user_agent="x")
    failure_log = AccessFailureLog.objects.create(
        username="wang", ip_address="203.0.113.9", user_agent="x", locked_out=False
    )
    device = TOTPDevice.objects.create(user=world.users["supervisor"], name="phone", confirmed=False)
    world.pks = {
        "auth_user": staff.pk,
        "auth_group": Group.objects.first().pk,
        "customers_customer": customer.pk,
        "customers_loan": loan.pk,
        "customers_loanevent": event.pk,
        "customers_loanbookimport": loan_import.pk,
        "notices_contactpolicy": ContactPolicy.current().pk,
        "notices_forbiddenexpression": ForbiddenExpression.objects.first().pk,
        "notices_collectionstage": CollectionStage.objects.first().pk,
        "notices_smstemplate": SmsTemplate.objects.first().pk,
        "notices_noticebatch": batch.pk,
        "notices_smsmessage": message.pk,
        "notices_deliveryreceipt": receipt.pk,
        "notices_inboundmessage": inbound.pk,
        "notices_feedback": feedback.pk,
        "notices_keywordrule": KeywordRule.objects.first().pk,
        "notices_feedbacksla": FeedbackSla.objects.first().pk,
        "notices_repaymentplan": plan.pk,
        "core_auditevent": audit.pk,
        "django_q_schedule": (Schedule.objects.first() or Schedule.objects.create(func="x")).pk,
        "django_q_success": task_ok.pk,
        "django_q_failure": task_bad.pk,
        "django_q_ormq": ormq.pk,
        "axes_accessattempt": attempt.pk,
        "axes_accesslog": access_log.pk,
        "axes_accessfailurelog": failure_log.pk,
        "otp_totp_totpdevice": device.pk,
    }
    assert RepaymentPlan.objects.filter(pk=plan.pk, status="pending_approval").exists()
    return world


def _walk(patterns, ns=None):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{ns}:{pattern.namespace}" if ns and pattern.namespace else (pattern.namespace or ns)
            yield from _walk(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            converters = getattr(pattern.pattern, "converters", None) or {}
            regex = getattr(pattern.pattern, "regex", None)
            args = list(converters) if converters else list(regex.groupindex if regex is not None else [])
            yield (f"{ns}:{pattern.name}" if ns else pattern.name), args


def url_names() -> dict[str, list[str]]:
    """Every named URL of the project and the arguments it takes."""
    return dict(_walk(get_resolver().url_patterns))


APP_LABELS = ("auth", "django_q", "axes", "otp_totp", "core", "customers", "notices")


def resolve_all(world: World) -> dict[str, str]:
    """Every named URL (app_list once per app) → a concrete path with demo objects."""
    paths = {}
    for name, args in url_names().items():
        if name == "admin:app_list":
            for label in APP_LABELS:
                paths[f"admin:app_list[{label}]"] = reverse(name, kwargs={"app_label": label})
            continue
        if name == "admin:view_on_site":
            content_type = ContentType.objects.get_for_model(Customer)
            kwargs = {"content_type_id": content_type.pk, "object_id": world.pks["customers_customer"]}
            paths[name] = reverse(name, kwargs=kwargs)
            continue
        kwargs = {}
        if args:
            model = next(key for key in world.pks if name.startswith(f"admin:{key}_"))
            kwargs = dict.fromkeys(args, world.pks[model])
        paths[name] = reverse(name, kwargs=kwargs)
    return paths


def client_for(world: World, role: str) -> Client:
    client = Client(raise_request_exception=False)
    if role != "anonymous":
        client.force_login(world.users[role])
    return client


def request(client: Client, method: str, path: str):
    """One request whose effects are rolled back, so every request sees the same world."""
    with transaction.atomic():
        response = getattr(client, method.lower())(path)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        transaction.set_rollback(True)
    return response, body


def readable(response, body: bytes) -> str:
    """The text a person would see: pages and JSON as they are, .xlsx files unzipped."""
    if body[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            text = " ".join(archive.read(n).decode("utf-8", "replace") for n in archive.namelist())
        return re.sub(r"<[^>]+>", " ", text)
    text = body.decode("utf-8", "replace")
    if response.get("Content-Type", "").startswith("application/json"):
        text = json.dumps(json.loads(text), ensure_ascii=False)
    return text


def unmasked(text: str) -> list[str]:
    return WHOLE_MOBILE.findall(text) + WHOLE_ID.findall(text)


def days_ago(n: int) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(days=n)
