"""Property-based tests of the importer's parsers: whatever a bank export holds, each
parser returns a value or a ValueError whose message tells staff what is wrong — never a
crash, never a silently wrong value."""

import datetime
import re
import string
from decimal import Decimal

from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st

from customers.importing.parsers import MAX_AMOUNT, parse_amount, parse_date, parse_days
from customers.models import PhoneProblem
from customers.phones import phone_normalize

PROPERTY = settings(max_examples=300, deadline=None, database=None)
CLEAR_ERRORS = {
    "Not an amount.",
    "The amount is negative.",
    "The amount is too large.",
    "Not a date.",
    "This date does not exist.",
    "Days overdue must be a whole number, 0 or more.",
}
# What a spreadsheet cell can hand the importer.
CELLS = st.one_of(
    st.none(),
    st.text(max_size=40),
    st.text(alphabet="0123456789,.-+¥￥元年月日天/ ()（）RMBCNYe", max_size=25),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.dates(),
    st.datetimes(),
)


def outcome(parser, value):
    with translation.override("en"):
        try:
            return parser(value), None
        except ValueError as exc:
            return None, str(exc)


@PROPERTY
@given(CELLS)
def test_amounts_parse_or_say_why(value):
    result, error = outcome(parse_amount, value)
    if error is not None:
        assert error in CLEAR_ERRORS
    elif result is not None:
        assert isinstance(result, Decimal) and Decimal(0) <= result <= MAX_AMOUNT
        assert result == result.quantize(Decimal("0.01"))


@PROPERTY
@given(
    st.decimals(min_value=0, max_value=MAX_AMOUNT, places=2),
    st.sampled_from(["{:.2f}", "{:,.2f}", "¥{:,.2f}", "{:.2f}元", "￥{:,.2f}"]),
)
def test_amounts_as_exports_spell_them_come_back_exactly(amount, spelling):
    assert outcome(parse_amount, spelling.format(amount)) == (amount, None)


@PROPERTY
@given(CELLS)
def test_dates_parse_or_say_why(value):
    result, error = outcome(parse_date, value)
    if error is not None:
        assert error in CLEAR_ERRORS
    else:
        assert result is None or type(result) is datetime.date


@PROPERTY
@given(st.dates(min_value=datetime.date(1900, 1, 1), max_value=datetime.date(2999, 12, 31)))
def test_dates_as_exports_spell_them_come_back_exactly(day):
    for text in (
        day.isoformat(),
        day.strftime("%Y/%m/%d"),
        day.strftime("%Y%m%d"),
        f"{day.year}年{day.month}月{day.day}日",
    ):
        assert outcome(parse_date, text) == (day, None), text


@PROPERTY
@given(CELLS)
def test_days_overdue_parse_or_say_why(value):
    result, error = outcome(parse_days, value)
    if error is not None:
        assert error in CLEAR_ERRORS
    else:
        assert result is None or (type(result) is int and result >= 0)


MOBILE = re.compile(r"\+861[3-9][0-9]{9}")


@PROPERTY
@given(
    st.one_of(
        CELLS,
        st.text(alphabet=string.digits + "+- .()", max_size=20),
        st.text(alphabet=st.characters(categories=["Nd"]), min_size=10, max_size=14),  # any script's digits
    )
)
def test_phones_give_a_mainland_mobile_or_the_problem(value):
    mobile, problem = phone_normalize(value)
    assert problem in PhoneProblem.values
    if mobile:
        assert MOBILE.fullmatch(mobile) and problem == PhoneProblem.NONE
        assert phone_normalize(mobile) == (mobile, PhoneProblem.NONE)  # stable
    else:
        assert problem != PhoneProblem.NONE


SPELLINGS = [
    lambda d: d,
    lambda d: f"+86{d}",
    lambda d: f"0086{d}",
    lambda d: f"86{d}",
    lambda d: f"+86 {d}",
    lambda d: f"{d[:3]}-{d[3:7]}-{d[7:]}",
    lambda d: f"{d[:3]} {d[3:7]} {d[7:]}",
    lambda d: float(d),  # Excel kept it as a number
]


@PROPERTY
@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True), st.sampled_from(SPELLINGS))
def test_a_mobile_however_written_normalises_to_the_same_number(digits, spelling):
    mobile, problem = phone_normalize(spelling(digits))
    assert (mobile, problem) == phone_normalize(digits)
    assert mobile in ("", "+86" + digits)
