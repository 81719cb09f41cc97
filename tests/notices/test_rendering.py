import datetime
from decimal import Decimal

import pytest

from notices.placeholders import LoanFacts, MessageFacts, context_for
from notices.rendering import (
    forbidden_phrases_in,
    render,
    segments,
    template_problems,
    with_signature,
)

PHRASES = ["法院", "家人", "上门"]


def problems(body, max_parts=1):
    return template_problems(body, max_parts=max_parts, purpose="overdue_notice", phrases=PHRASES)


@pytest.mark.parametrize(
    ("length", "parts"), [(0, 0), (1, 1), (70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4)]
)
def test_segments_follow_the_70_67_rule(length, parts):
    assert segments("字" * length) == parts


def test_render_replaces_only_whitelisted_names():
    text = render(
        "{customer_name}，尾号{loan_tail}，{unknown}，{ customer_name }",
        {"customer_name": "王先生", "loan_tail": "1234"},
    )
    assert text == "王先生，尾号1234，{unknown}，{ customer_name }"


@pytest.mark.parametrize(
    "body",
    [
        "{{ settings.SECRET_KEY }}",
        "{% load static %}{{ request }}",
        "{0.__class__}",
        "{customer_name.__class__}",
        "{customer_name!r}",
    ],
)
def test_injection_attempts_are_refused_and_never_evaluated(body, settings):
    found = problems(body + "客服{hotline}")
    assert found, body
    rendered = render(body, {"customer_name": "王先生"})
    assert settings.SECRET_KEY not in rendered
    assert "class" not in rendered or "__class__" in body  # left literally as written


def test_unknown_placeholder_is_named():
    found = problems("{customer_name}您好，{balance_due}元。客服{hotline}")
    assert any("{balance_due}" in p for p in found)


def test_the_hotline_must_appear():
    assert any(
        "hotline" in p or "客服" in p or "热线" in p for p in problems("{customer_name}您好，请还款。")
    )
    assert problems("{customer_name}您好，请还款。客服{hotline}") == []


def test_forbidden_expressions_are_found_even_when_spaced_apart():
    assert forbidden_phrases_in("再不还款将通知您的家 人", PHRASES) == ["家人"]
    assert forbidden_phrases_in("我们将派人上-门", PHRASES) == ["上门"]
    assert any("法院" in p for p in problems("请还款，否则法院见。客服{hotline}"))


def test_too_many_parts_is_refused_with_long_values():
    body = "{customer_name}您好，" + "请按时还款。" * 12 + "客服{hotline}"
    found = problems(body, max_parts=1)
    assert any("SMS" in p or "短信" in p for p in found)
    assert problems(body, max_parts=3) == []


def test_signature_is_added_once(settings):
    settings.SMS_SIGNATURE = "【民丰银行】"
    assert with_signature("您好") == "【民丰银行】您好"
    assert with_signature("【民丰银行】您好") == "【民丰银行】您好"


def test_the_context_of_a_notice_about_several_loans():
    facts = MessageFacts(
        salutation="王先生",
        loans=(
            LoanFacts("6200000000001111", Decimal("1000.10"), datetime.date(2026, 11, 20), 8),
            LoanFacts("6200000000002222", Decimal("234.46"), datetime.date(2026, 10, 1), 58),
        ),
        repay_by=datetime.date(2026, 12, 1),
    )
    context = context_for(facts)
    assert context["loan_count"] == "2"
    assert context["overdue_amount"] == "1,234.56"
    assert context["days_overdue"] == "58"
    assert context["loans"] == "尾号2222等2笔贷款"  # the most overdue leads
    assert context["amount_due"] == "合计待还1,234.56元"
    assert context["overdue_for"] == "最长已逾期58天"
    assert context["loan_list"] == "尾号2222待还234.46元、尾号1111待还1,000.10元"
    assert context["overdue_since"] == "10月1日"
    assert context["repay_by"] == "12月1日"
