"""Default keyword rules for classifying replies, and the answer-by times per category."""

from django.db import migrations

RULES = [
    (10, "stop_request", "退订, TD, 停止发送, 不要再发, 别再发"),
    (20, "wrong_number", "不是本人, 打错, 号码错误, 发错了, 不认识"),
    (30, "complaint", "投诉, 举报, 骚扰"),
    (40, "already_paid", "已还, 还了, 已经还款, 已还款, 还清"),
    (50, "installment_request", "分期"),
    (60, "extension_request", "延期, 宽限, 缓几天, 晚几天"),
    (70, "hardship", "困难, 失业, 生病, 住院"),
    (80, "dispute", "不是我借的, 有异议, 金额不对"),
]
SLA_HOURS = {"complaint": 4}
CATEGORIES = [
    "already_paid",
    "installment_request",
    "extension_request",
    "wrong_number",
    "stop_request",
    "complaint",
    "dispute",
    "hardship",
    "plan_broken",
    "other",
]


def create(apps, schema_editor):
    Rule = apps.get_model("notices", "KeywordRule")
    Sla = apps.get_model("notices", "FeedbackSla")
    for priority, category, keywords in RULES:
        Rule.objects.create(priority=priority, category=category, keywords=keywords)
    for category in CATEGORIES:
        hours = SLA_HOURS.get(category)
        Sla.objects.create(
            category=category,
            within_hours=hours,
            within_working_days=None if hours else 1,
            urgent=category == "complaint",
        )


class Migration(migrations.Migration):
    dependencies = [("notices", "0004_feedback_and_plans")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
