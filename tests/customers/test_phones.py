import random

import phonenumbers
import pytest

from customers.models import PhoneProblem
from customers.phones import phone_normalize


@pytest.mark.parametrize(
    "raw",
    [
        "13812345678",
        "+8613812345678",
        "+86 138 1234 5678",
        "008613812345678",
        "0086-138-1234-5678",
        "8613812345678",
        "138-1234-5678",
        " 138 1234 5678 ",
        13812345678,
        13812345678.0,
        "(+86)13812345678",
    ],
)
def test_mobile_spellings_normalise_to_e164(raw):
    assert phone_normalize(raw) == ("+8613812345678", PhoneProblem.NONE)


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (None, PhoneProblem.MISSING),
        ("", PhoneProblem.MISSING),
        ("   ", PhoneProblem.MISSING),
        ("0571-87654321", PhoneProblem.NOT_MOBILE),
        ("021 62345678", PhoneProblem.NOT_MOBILE),
        ("12012345678", PhoneProblem.INVALID),
        ("1381234567", PhoneProblem.INVALID),
        ("138123456789", PhoneProblem.INVALID),
        ("phone", PhoneProblem.INVALID),
        ("+1 650 253 0000", PhoneProblem.NOT_MOBILE),
        ("138****5678", PhoneProblem.INVALID),
    ],
)
def test_problem_phones_are_named(raw, problem):
    assert phone_normalize(raw) == ("", problem)


def test_prefix_cache_agrees_with_phonenumbers_on_random_numbers():
    rng = random.Random(7)
    for _ in range(3000):
        national = "1" + "".join(rng.choice("0123456789") for _ in range(10))
        try:
            parsed = phonenumbers.parse(national, "CN")
        except phonenumbers.NumberParseException:
            expected = False
        else:
            expected = phonenumbers.is_valid_number(parsed) and phonenumbers.number_type(parsed) in (
                phonenumbers.PhoneNumberType.MOBILE,
                phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
            )
        assert (phone_normalize(national)[1] == PhoneProblem.NONE) == expected, national
