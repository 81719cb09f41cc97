"""The fast mainland verdict gives exactly phonenumbers' own answer."""

import random

import phonenumbers

from customers.phones import _cn_number_type, phone_normalize


def test_fast_number_type_matches_phonenumbers_on_random_numbers():
    rng = random.Random(20261128)
    for _ in range(20_000):
        length = rng.choice([7, 8, 10, 11, 11, 11, 12])
        first = rng.choice("1123456789")
        national = first + "".join(rng.choice("0123456789") for _ in range(length - 1))
        number = phonenumbers.PhoneNumber(country_code=86, national_number=int(national))
        assert _cn_number_type(national) == phonenumbers.number_type(number), national


def test_verdicts_for_every_mobile_prefix_match_phonenumbers():
    for prefix in range(130, 200):
        national = f"{prefix}12345678"
        mobile, problem = phone_normalize(national)
        parsed = phonenumbers.parse(national, "CN")
        valid = phonenumbers.is_valid_number(parsed)
        kind = phonenumbers.number_type(parsed)
        is_mobile = valid and kind in (
            phonenumbers.PhoneNumberType.MOBILE,
            phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
        )
        assert (mobile == "+86" + national) == is_mobile, national
        assert (problem == "invalid") == (not valid), national
