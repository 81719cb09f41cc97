"""Property-based tests of the SMS renderer: any template text renders or is refused with
reasons, never crashes, never runs code, and the bank's signature always leads."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from notices.rendering import (
    PLACEHOLDERS,
    TOKEN,
    render,
    sample_context,
    segments,
    template_problems,
    text_problems,
    with_signature,
)

PROPERTY = settings(max_examples=300, deadline=None, database=None)
NAMES = sorted(PLACEHOLDERS)
# Template bodies as staff might write them (or paste them): text, placeholders, stray
# braces, format and template-language syntax that must stay inert.
PIECES = st.one_of(
    st.text(max_size=20),
    st.sampled_from([f"{{{name}}}" for name in NAMES]),
    st.sampled_from(
        [
            "{",
            "}",
            "{{",
            "}}",
            "{0}",
            "{x.__class__}",
            "{{ settings.SECRET_KEY }}",
            "{% load x %}",
            "%s",
            "{customer_name",
        ]
    ),
)
BODIES = st.lists(PIECES, max_size=12).map("".join)


BRACELESS = st.text(max_size=20).map(lambda t: t.replace("{", "").replace("}", ""))


@PROPERTY
@given(BODIES)
def test_rendering_any_body_leaves_no_whitelisted_token_unreplaced(body):
    context = sample_context()
    rendered = render(body, context)
    assert isinstance(rendered, str)
    assert not [name for name in TOKEN.findall(rendered) if name in context and name in PLACEHOLDERS]


@PROPERTY
@given(st.lists(st.one_of(BRACELESS, st.sampled_from(NAMES).map(lambda n: ("token", n))), max_size=12))
def test_rendering_replaces_exactly_the_whitelisted_tokens(pieces):
    context = sample_context()
    body = "".join(f"{{{p[1]}}}" if isinstance(p, tuple) else p for p in pieces)
    expected = "".join(context[p[1]] if isinstance(p, tuple) else p for p in pieces)
    assert render(body, context) == expected


@PROPERTY
@given(BRACELESS)
def test_text_without_braces_is_left_exactly_as_written(text):
    assert render(text, sample_context()) == text


@PROPERTY
@given(BODIES, st.integers(min_value=1, max_value=5))
def test_the_editor_lint_answers_any_body_with_reasons_not_a_crash(body, max_parts):
    problems = template_problems(body, max_parts=max_parts, phrases=["上门", "起诉"])
    assert isinstance(problems, list) and all(isinstance(p, str) and p for p in problems)
    if not body.strip():
        assert problems


@PROPERTY
@given(BODIES)
def test_the_final_text_lint_answers_any_text(text):
    problems = text_problems(text, phrases=["上门"])
    assert all(isinstance(p, str) and p for p in problems)
    if "{" in text or "}" in text:
        assert problems


@PROPERTY
@given(st.text(max_size=200))
def test_the_signature_always_leads_exactly_once_and_parts_add_up(text):
    signed = with_signature(text)
    assert signed.startswith("【民丰银行】")
    assert with_signature(signed) == signed
    parts = segments(signed)
    units = len(signed.encode("utf-16-be")) // 2  # UCS2 counts a character beyond the BMP twice
    assert parts >= 1 and (units <= 70) == (parts == 1)
    assert parts * 67 >= units


@pytest.mark.parametrize("body", ["{customer_name}您好", "{{customer_name}}", "{customer_name.__class__}"])
def test_rendering_never_evaluates_anything(body):
    assert render(body, {"customer_name": "张先生"}) in (
        "张先生您好",
        "{张先生}",
        "{customer_name.__class__}",
    )
