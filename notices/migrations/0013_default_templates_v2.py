"""The shipped default templates, rewritten to say all a notice must say and to be true
for several loans; each stage's repay-by rule.

Every stage's notice now carries the salutation, the loan tail(s) with how many loans the
notice covers ({loans}), the days overdue, the amount, an explicit repay-by date from the
stage's rule ({repay_by}前), two ways to repay ({repay_methods}) and the hotline. A
template is updated only while its text is still exactly what an earlier version shipped
(staff's edits are left alone), and by the editor's versioning rule
(services/templates.py): a version some message used stays as it was and the new text is
a new version; one no message used (a fresh install) takes the new text in place.
"""

from django.db import migrations

# (name, min_days, max_days) → (repay within days, new text)
STAGES = {
    ("关怀提醒", 1, 3): (
        5,
        "{customer_name}您好，{loans}{overdue_for}，{amount_due}，请于{repay_by}前用{repay_methods}还款，"
        "已还请忽略。客服{hotline}",
    ),
    ("温馨提醒", 4, 15): (
        5,
        "{customer_name}您好，{loans}{overdue_for}，{amount_due}，请于{repay_by}前用{repay_methods}还款，"
        "保护信用。客服{hotline}",
    ),
    ("正式提醒", 16, 30): (
        3,
        "{customer_name}，{loans}{overdue_for}，{amount_due}，请于{repay_by}前用{repay_methods}还款，"
        "困难请来电。客服{hotline}",
    ),
    ("重点提醒", 31, 60): (
        3,
        "{customer_name}，{loans}{overdue_for}，{amount_due}，逾期影响征信，请于{repay_by}前用"
        "{repay_methods}还款。客服{hotline}",
    ),
    ("严肃提醒", 61, 90): (
        3,
        "{customer_name}，{loans}{overdue_for}，{amount_due}，请务必于{repay_by}前用{repay_methods}还款。"
        "协商请致电{hotline}",
    ),
    ("长期逾期", 91, None): (
        3,
        "{customer_name}，{loans}{overdue_for}，{amount_due}，请于{repay_by}前用{repay_methods}还款。"
        "如需分期请致电{hotline}",
    ),
}

# Texts shipped before (0002_defaults and the demo's challenger) → the new text.
OLD_NOTICES = {
    ("关怀提醒", 1, 3): "{customer_name}您好，您尾号{loan_tail}的贷款待还{overdue_amount}元，请及时通过手机银行还款，"
    "保护您的信用记录。已还请忽略。客服{hotline}",
    ("温馨提醒", 4, 15): "{customer_name}您好，您尾号{loan_tail}的贷款已逾期{days_overdue}天，待还{overdue_amount}元，"
    "请于{repay_by}前还款，以免影响征信。客服{hotline}",
    ("正式提醒", 16, 30): "{customer_name}您好，您尾号{loan_tail}的贷款已逾期{days_overdue}天，待还{overdue_amount}元，"
    "请尽快还款；如有困难可来电商议。客服{hotline}",
    ("重点提醒", 31, 60): "{customer_name}，您尾号{loan_tail}的贷款已逾期{days_overdue}天，待还{overdue_amount}元，"
    "逾期会记入信用记录，请尽快还款或来电协商。客服{hotline}",
    ("严肃提醒", 61, 90): "{customer_name}，您尾号{loan_tail}的贷款已逾期{days_overdue}天，待还{overdue_amount}元，"
    "请于{repay_by}前还款。如需协商还款安排请致电{hotline}",
    ("长期逾期", 91, None): "{customer_name}，您尾号{loan_tail}的贷款已逾期{days_overdue}天，待还{overdue_amount}元，"
    "请尽快处理。我行可协助制定还款计划，请致电{hotline}",
}
DEMO_CHALLENGER_OLD = (
    "{customer_name}，提醒您：尾号{loan_tail}的贷款已逾期{days_overdue}天，待还{overdue_amount}元，"
    "及时还款可保护信用。客服{hotline}"
)
DEMO_CHALLENGER = (
    "{customer_name}，提醒您：{loans}{overdue_for}，{amount_due}，{repay_by}前用{repay_methods}还款"
    "可保护信用。客服{hotline}"
)

OTHER = {
    # (name, purpose): (old text, new text)
    ("还款计划确认", "plan_confirmation"): (
        "{customer_name}您好，您尾号{loan_tail}贷款的还款计划已生效，首期{first_due_date}应还"
        "{first_due_amount}元，请按时还款。客服{hotline}",
        "{customer_name}您好，{loans}的还款计划已生效，首期{first_due_date}应还{first_due_amount}元，"
        "请按时用{repay_methods}还款。客服{hotline}",
    ),
    ("分期到期提醒", "plan_reminder"): (
        "{customer_name}您好，您尾号{loan_tail}贷款的还款计划将于{first_due_date}到期，应还"
        "{first_due_amount}元，请按时还款。客服{hotline}",
        "{customer_name}您好，{loans}的还款计划有一期于{first_due_date}到期，应还{first_due_amount}元，"
        "请按时用{repay_methods}还款。客服{hotline}",
    ),
}


def _new_version(apps, template, body) -> None:
    Version = apps.get_model("notices", "SmsTemplateVersion")
    Message = apps.get_model("notices", "SmsMessage")
    current = Version.objects.filter(template=template, version=template.version).first()
    used = current is None or Message.objects.filter(template_version=current).exclude(status="excluded").exists()
    if used:
        template.version += 1
        Version.objects.create(template=template, version=template.version, body=body)
    else:
        Version.objects.filter(pk=current.pk).update(body=body)
    template.body = body
    template.save(update_fields=["version", "body"])


def update_defaults(apps, schema_editor):
    Stage = apps.get_model("notices", "CollectionStage")
    Template = apps.get_model("notices", "SmsTemplate")
    for (name, lo, hi), (days, body) in STAGES.items():
        stage = Stage.objects.filter(name=name, min_days=lo, max_days=hi).first()
        if stage is None:
            continue
        Stage.objects.filter(pk=stage.pk).update(repay_by_days=days)
        for template in Template.objects.filter(purpose="overdue_notice", stage=stage):
            if template.body == OLD_NOTICES[(name, lo, hi)]:
                _new_version(apps, template, body)
            elif template.body == DEMO_CHALLENGER_OLD:
                _new_version(apps, template, DEMO_CHALLENGER)
    for (name, purpose), (old, body) in OTHER.items():
        for template in Template.objects.filter(name=name, purpose=purpose):
            if template.body == old:
                _new_version(apps, template, body)


class Migration(migrations.Migration):
    dependencies = [("notices", "0012_plans_cover_loans")]

    operations = [migrations.RunPython(update_defaults, migrations.RunPython.noop)]
