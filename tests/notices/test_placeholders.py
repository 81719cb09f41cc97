"""Multi-loan messages true by construction: the registry's phrases for one, two and three
loans, and the lint that refuses a text one loan's tail would make untrue."""

import datetime
from decimal import Decimal

import pytest

from notices.placeholders import (
    REGISTRY,
    LoanFacts,
    MessageFacts,
    Scope,
    context_for,
    placeholders_for,
    sample_facts,
)
from notices.rendering import render, template_fits, template_problems, template_renderings

AS_OF = datetime.date(2026, 12, 2)
LIN_2603 = LoanFacts("6228480012342603", Decimal("8313.45"), AS_OF - datetime.timedelta(days=96), 96)
LIN_2740 = LoanFacts("6228480012342740", Decimal("48246.56"), AS_OF - datetime.timedelta(days=20), 20)
LIN_3158 = LoanFacts("6228480012343158", Decimal("1000.00"), AS_OF - datetime.timedelta(days=5), 5)
BODY = "{customer_name}您好，{loans}{overdue_for}，{amount_due}，请于{repay_by}前还款。客服{hotline}"


def facts(*loans):
    return MessageFacts(salutation="林先生", loans=loans, repay_by=AS_OF + datetime.timedelta(days=3))


def problems(body, purpose="overdue_notice", max_parts=3):
    return template_problems(body, max_parts=max_parts, purpose=purpose, phrases=[])


def test_one_loan_is_named_with_its_own_amount_and_days(settings):
    settings.BANK_HOTLINE = "00000"
    text = render(BODY, context_for(facts(LIN_2603)))
    assert text == "林先生您好，尾号2603贷款已逾期96天，待还8,313.45元，请于12月5日前还款。客服00000"


def test_two_loans_state_the_total_with_how_many_loans_it_covers(settings):
    settings.BANK_HOTLINE = "00000"
    text = render(BODY, context_for(facts(LIN_2740, LIN_2603)))
    assert text == (
        "林先生您好，尾号2603等2笔贷款最长已逾期96天，合计待还56,560.01元，请于12月5日前还款。客服00000"
    )
    assert "2740" not in text  # never the total next to the other loan's tail either


def test_three_loans(settings):
    settings.BANK_HOTLINE = "00000"
    context = context_for(facts(LIN_3158, LIN_2740, LIN_2603))
    assert render(BODY, context).startswith(
        "林先生您好，尾号2603等3笔贷款最长已逾期96天，合计待还57,560.01元"
    )
    assert context["loan_list"] == ("尾号2603待还8,313.45元、尾号2740待还48,246.56元、尾号3158待还1,000.00元")
    assert context["loan_count"] == "3"


def test_listing_each_loan_with_its_own_amount_is_true_without_a_total():
    body = "{customer_name}您好，您的{loan_list}，请于{repay_by}前还款。客服{hotline}"
    assert problems(body) == []
    assert "尾号2740待还48,246.56元" in render(body, context_for(facts(LIN_2603, LIN_2740)))


@pytest.mark.parametrize(
    "body",
    [
        # The issue's text: the total of both loans stated as loan 2603's debt.
        "{customer_name}您好，您尾号{loan_tail}的贷款已逾期{days_overdue}天，待还{overdue_amount}元。客服{hotline}",
        "{customer_name}，尾号{loan_tail}的贷款{amount_due}。客服{hotline}",
        "{customer_name}，尾号{loan_tail}等{loan_count}笔贷款待还{overdue_amount}元。客服{hotline}",
    ],
)
def test_a_tail_with_the_total_is_refused_at_save(body):
    found = problems(body)
    assert any("{loan_tail}" in p and "{loans}" in p for p in found), found
    assert template_fits(body, "overdue_notice") == (True, False)  # true for one loan only


@pytest.mark.parametrize(
    "name", ["overdue_amount", "days_overdue", "amount_due", "overdue_for", "overdue_since"]
)
def test_a_total_without_how_many_loans_is_refused(name):
    body = f"{{customer_name}}您好，您的贷款{{{name}}}，请还款。客服{{hotline}}"
    found = problems(body)
    assert any(f"{{{name}}}" in p and "{loans}" in p for p in found), found
    fixed = f"{{customer_name}}您好，您{{loans}}{{{name}}}，请还款。客服{{hotline}}"
    assert problems(fixed) == []


@pytest.mark.parametrize("purpose", ["plan_confirmation", "plan_reminder"])
def test_plan_messages_follow_the_same_rules(purpose):
    assert (
        problems(
            "{customer_name}您好，{loans}的计划首期{first_due_date}应还{first_due_amount}元。客服{hotline}",
            purpose,
        )
        == []
    )
    assert problems("{customer_name}您好，尾号{loan_tail}的计划已生效。客服{hotline}", purpose)
    # A notice's deadline has no value in a plan message: refused, not left in the text.
    found = problems("{customer_name}您好，请于{repay_by}前还款。客服{hotline}", purpose)
    assert any("{repay_by}" in p for p in found)


def test_a_placeholder_without_a_value_for_some_message_is_refused():
    # A feedback reply is about the customer, not a loan: {loans} would have no value.
    found = problems("{customer_name}您好，关于{loans}。客服{hotline}", "feedback_reply")
    assert any("{loans}" in p for p in found)
    found = problems("{customer_name}您好，首期{first_due_date}。客服{hotline}", "overdue_notice")
    assert any("{first_due_date}" in p for p in found)


def test_every_placeholder_has_a_value_for_the_sample_of_each_purpose_it_allows():
    for name, placeholder in REGISTRY.items():
        for purpose in placeholder.purposes:
            for loans in (1, 3):
                assert name in context_for(sample_facts(loans=loans)), (name, purpose)
        assert placeholder.scope in Scope


def test_loan_tail_is_offered_nowhere():
    for purpose in ("overdue_notice", "plan_confirmation", "plan_reminder", "feedback_reply", "education"):
        assert "loan_tail" not in placeholders_for(purpose)


def test_the_renderings_for_one_and_three_loans_carry_their_part_counts():
    one, three = template_renderings(BODY, "overdue_notice")
    assert "尾号2603贷款" in one.text and one.parts == 1
    assert "等3笔贷款" in three.text and "合计待还57,560.01元" in three.text
    assert three.parts >= one.parts and three.chars == len(three.text)
