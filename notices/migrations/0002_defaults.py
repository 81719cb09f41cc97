"""Default stages, one caring-to-firm template per stage, and the forbidden expressions."""

from django.db import migrations

STAGES = [
    # name, min, max, cadence, template
    (
        "关怀提醒",
        1,
        3,
        0,
        "{customer_name}您好，您尾号{loan_tail}的贷款待还{overdue_amount}元，请及时通过手机银行还款，"
        "保护您的信用记录。已还请忽略。客服{hotline}",
    ),
    (
        "温馨提醒",
        4,
        15,
        7,
        "{customer_name}您好，您尾号{loan_tail}的贷款已逾期{days_overdue}天，待还{overdue_amount}元，"
        "请于{repay_by}前还款，以免影响征信。客服{hotline}",
    ),
    (
        "正式提醒",
        16,
        30,
        7,
        "{customer_name}您好，您尾号{loan_tail}的贷款已逾期{days_overdue}天，待还{overdue_amount}元，"
        "请尽快还款；如有困难可来电商议。客服{hotline}",
    ),
    (
        "重点提醒",
        31,
        60,
        10,
        "{customer_name}，您尾号{loan_tail}的贷款已逾期{days_overdue}天，待还{overdue_amount}元，"
        "逾期会记入信用记录，请尽快还款或来电协商。客服{hotline}",
    ),
    (
        "严肃提醒",
        61,
        90,
        15,
        "{customer_name}，您尾号{loan_tail}的贷款已逾期{days_overdue}天，待还{overdue_amount}元，"
        "请于{repay_by}前还款。如需协商还款安排请致电{hotline}",
    ),
    (
        "长期逾期",
        91,
        None,
        30,
        "{customer_name}，您尾号{loan_tail}的贷款已逾期{days_overdue}天，待还{overdue_amount}元，"
        "请尽快处理。我行可协助制定还款计划，请致电{hotline}",
    ),
]

OTHER_TEMPLATES = [
    (
        "还款计划确认",
        "plan_confirmation",
        "{customer_name}您好，您尾号{loan_tail}贷款的还款计划已生效，首期{first_due_date}应还"
        "{first_due_amount}元，请按时还款。客服{hotline}",
    ),
    (
        "分期到期提醒",
        "plan_reminder",
        "{customer_name}您好，您尾号{loan_tail}贷款的还款计划将于{first_due_date}到期，应还"
        "{first_due_amount}元，请按时还款。客服{hotline}",
    ),
    (
        "反馈回复",
        "feedback_reply",
        "{customer_name}您好，您的反馈已收到，我们会尽快处理，如有疑问请致电{hotline}。",
    ),
]

FORBIDDEN = {
    "threat": ["后果自负", "最后通牒", "走着瞧", "不还就", "拘留", "坐牢", "判刑", "刑事责任", "强制执行"],
    "impersonation": ["法院", "传票", "公安", "警察", "检察院", "律师函", "立案", "起诉", "通缉"],
    "third_party": ["家人", "亲属", "父母", "配偶", "通讯录", "联系人", "紧急联系人", "单位", "同事", "领导"],
    "exposure": ["曝光", "公开您", "黑名单", "失信名单", "张贴", "广而告之"],
    "visit": ["上门", "家访", "登门", "到您家", "到您单位"],
}


def create_defaults(apps, schema_editor):
    Stage = apps.get_model("notices", "CollectionStage")
    Template = apps.get_model("notices", "SmsTemplate")
    Version = apps.get_model("notices", "SmsTemplateVersion")
    Forbidden = apps.get_model("notices", "ForbiddenExpression")
    for name, lo, hi, cadence, body in STAGES:
        stage = Stage.objects.create(name=name, min_days=lo, max_days=hi, cadence_days=cadence)
        template = Template.objects.create(
            name=f"{name}（{lo}{'–' + str(hi) if hi else '+'}天）",
            purpose="overdue_notice",
            stage=stage,
            variant="A",
            weight=100,
            body=body,
        )
        Version.objects.create(template=template, version=1, body=body)
    for name, purpose, body in OTHER_TEMPLATES:
        template = Template.objects.create(name=name, purpose=purpose, variant="A", weight=100, body=body)
        Version.objects.create(template=template, version=1, body=body)
    for category, phrases in FORBIDDEN.items():
        for phrase in phrases:
            Forbidden.objects.create(phrase=phrase, category=category)


class Migration(migrations.Migration):
    dependencies = [("notices", "0001_initial")]

    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
