"""The shipped templates say everything a notice must say, true for several loans, within
one SMS for typical values; the migration updates only texts nobody edited."""

import datetime
import importlib
import re

import pytest
from django.apps import apps

from notices.models import CollectionStage, SmsMessage, SmsTemplate, SmsTemplateVersion, TemplatePurpose
from notices.placeholders import context_for, sample_facts
from notices.rendering import render, segments, template_renderings, with_signature
from notices.services.templates import template_lint
from tests.factories import LoanFactory

pytestmark = pytest.mark.django_db
MIGRATION = importlib.import_module("notices.migrations.0013_default_templates_v2")
TYPICAL_DAYS = {1: 3, 4: 15, 16: 30, 31: 60, 61: 90, 91: 120}  # the longest of each stage


def notices():
    return list(
        SmsTemplate.objects.filter(purpose=TemplatePurpose.OVERDUE_NOTICE, variant="A").select_related(
            "stage"
        )
    )


def test_every_stage_has_a_default_notice_with_every_required_element(settings):
    settings.BANK_HOTLINE, settings.BANK_REPAY_METHODS = "00000", "手机银行或网点"
    templates = notices()
    assert {t.stage.min_days for t in templates} == set(TYPICAL_DAYS)
    for template in templates:
        assert template_lint(body=template.body, purpose=template.purpose) == [], template.name
        one, three = template_renderings(template.body, template.purpose)
        for rendering, tails in ((one, ["2603"]), (three, ["2603"])):
            text = rendering.text
            assert text.startswith("【民丰银行】张先生" if rendering is one else "【民丰银行】林先生"), text
            assert all(f"尾号{tail}" in text for tail in tails)
            assert re.search(r"已逾期\d+天", text), text  # days overdue
            assert re.search(r"待还[\d,]+\.\d\d元", text), text  # the amount
            assert re.search(r"\d+月\d+日前", text), text  # an explicit repay-by date
            assert "手机银行" in text and "网点" in text  # two ways to repay
            assert "00000" in text  # the hotline
        assert "等3笔贷款" in three.text and "合计待还" in three.text and "最长已逾期" in three.text


def test_default_notices_fit_one_sms_for_typical_values_and_show_the_parts_otherwise(admin_client, settings):
    settings.BANK_HOTLINE, settings.BANK_REPAY_METHODS = "00000", "手机银行或网点"
    for template in notices():
        days = TYPICAL_DAYS[template.stage.min_days]
        text = with_signature(render(template.body, context_for(sample_facts(loans=1, days=days))))
        assert segments(text) == 1, (template.name, len(text), text)
    page = admin_client.get("/admin/notices/smstemplate/").content.decode()
    assert "1 / 2" in page  # one loan in one SMS, three loans in two: shown on the list


def test_plan_templates_are_true_for_several_loans(settings):
    for purpose in (TemplatePurpose.PLAN_CONFIRMATION, TemplatePurpose.PLAN_REMINDER):
        template = SmsTemplate.objects.get(purpose=purpose)
        assert template_lint(body=template.body, purpose=purpose) == []
        assert "{loans}" in template.body and "{loan_tail}" not in template.body


def test_stages_carry_an_administrator_editable_repay_by_rule():
    assert dict(CollectionStage.objects.values_list("min_days", "repay_by_days")) == {
        1: 5,
        4: 5,
        16: 3,
        31: 3,
        61: 3,
        91: 3,
    }
    stage = CollectionStage.objects.get(min_days=16)
    assert stage.repay_by_on(datetime.date(2026, 12, 2)) == datetime.date(2026, 12, 5)


def _as_shipped_before(template, old):
    SmsTemplate.objects.filter(pk=template.pk).update(body=old, version=1)
    SmsTemplateVersion.objects.filter(template=template).delete()
    return SmsTemplateVersion.objects.create(template=template, version=1, body=old)


def test_the_migration_updates_unedited_defaults_as_new_versions_and_leaves_edited_ones_alone():
    stage = CollectionStage.objects.get(min_days=4)
    old = MIGRATION.OLD_NOTICES[("温馨提醒", 4, 15)]
    shipped = SmsTemplate.objects.get(stage=stage, variant="A")
    used = _as_shipped_before(shipped, old)
    loan = LoanFactory(days=5)
    SmsMessage.objects.create(
        customer=loan.customer,
        loan=loan,
        template=shipped,
        template_version=used,
        body="…",
        idempotency_key="k1",
    )
    unused = SmsTemplate.objects.get(stage=CollectionStage.objects.get(min_days=16), variant="A")
    _as_shipped_before(unused, MIGRATION.OLD_NOTICES[("正式提醒", 16, 30)])
    edited = old.replace("以免影响征信", "谢谢配合")
    staff = SmsTemplate.objects.create(name="员工改过的", stage=stage, variant="C", body=edited)
    MIGRATION.update_defaults(apps, None)
    shipped.refresh_from_db()
    staff.refresh_from_db()
    unused.refresh_from_db()
    # A version a message used stays as sent; the new text is version 2.
    assert shipped.version == 2 and shipped.body == MIGRATION.STAGES[("温馨提醒", 4, 15)][1]
    assert list(shipped.versions.order_by("version").values_list("body", flat=True)) == [old, shipped.body]
    # Never sent: the new text replaces it in place, as the editor does.
    assert unused.version == 1 and unused.versions.get().body == MIGRATION.STAGES[("正式提醒", 16, 30)][1]
    assert staff.body == edited and staff.version == 1
