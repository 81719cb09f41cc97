"""Every change to the administrators' rules is audited by its service, whichever
admin page makes it: the change form, the changelist's inline edits, delete selected."""

import pytest

from core.models import AuditEvent
from notices.models import CollectionStage, FeedbackSla, ForbiddenExpression, KeywordRule

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, administrator):
    client.force_login(administrator)
    return client


def test_a_forbidden_expression_switched_off_in_the_list_is_audited(admin_client):
    expression = ForbiddenExpression.objects.create(phrase="上门催收", category="visit")
    data = {
        "form-TOTAL_FORMS": "1",
        "form-INITIAL_FORMS": "1",
        "form-0-id": str(expression.pk),
        "_save": "1",
    }  # "active" unticked
    response = admin_client.post(
        "/admin/notices/forbiddenexpression/?q=%E4%B8%8A%E9%97%A8%E5%82%AC%E6%94%B6", data
    )
    assert response.status_code == 302
    expression.refresh_from_db()
    assert expression.active is False
    event = AuditEvent.objects.get(action="forbidden_expression.change")
    assert "上门催收" in event.from_state and "on" in event.from_state and "off" in event.to_state
    assert event.actor.username == "admin1"


def test_deleting_selected_keyword_rules_audits_each_one(admin_client):
    rules = [
        KeywordRule.objects.create(category="other", keywords=f"词{i}", priority=900 + i) for i in range(2)
    ]
    response = admin_client.post(
        "/admin/notices/keywordrule/",
        {"action": "delete_selected", "_selected_action": [r.pk for r in rules], "post": "yes"},
    )
    assert response.status_code == 302
    assert not KeywordRule.objects.filter(pk__in=[r.pk for r in rules]).exists()
    deleted = AuditEvent.objects.filter(action="keyword_rule.delete").values_list("from_state", flat=True)
    assert sorted(deleted) == sorted(f"other #{r.priority}: {r.keywords}" for r in rules)


def test_a_stage_cadence_change_records_before_and_after(admin_client):
    stage = CollectionStage.objects.order_by("min_days").first()
    before = stage.cadence_days
    response = admin_client.post(
        f"/admin/notices/collectionstage/{stage.pk}/change/",
        {
            "name": stage.name,
            "min_days": stage.min_days,
            "max_days": stage.max_days or "",
            "cadence_days": before + 2,
            "repay_by_days": stage.repay_by_days,
            "active": "on",
            "templates-TOTAL_FORMS": "0",
            "templates-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:500]
    event = AuditEvent.objects.get(action="stage.change")
    assert f"cadence {before}" in event.from_state and f"cadence {before + 2}" in event.to_state


def test_an_answer_by_time_change_is_audited(admin_client):
    sla = FeedbackSla.objects.order_by("pk").first()
    response = admin_client.post(
        f"/admin/notices/feedbacksla/{sla.pk}/change/",
        {"category": sla.category, "within_hours": 6, "within_working_days": "", "urgent": "on"},
    )
    assert response.status_code == 302, response.content.decode()[:500]
    assert AuditEvent.objects.filter(action="feedback_sla.change", to_state__startswith="6h").exists()


def test_the_policy_page_says_when_the_environment_disagrees_with_the_stored_policy(admin_client, settings):
    from notices.models import ContactPolicy

    policy = ContactPolicy.current()
    settings.SMS_RATE_LIMIT = policy.rate_limit + 25
    page = admin_client.get(f"/admin/notices/contactpolicy/{policy.pk}/change/").content.decode()
    assert f"{policy.rate_limit + 25}" in page and "环境" in page
    settings.SMS_RATE_LIMIT = policy.rate_limit
    page = admin_client.get(f"/admin/notices/contactpolicy/{policy.pk}/change/").content.decode()
    assert "环境" not in page
