"""Password rules beyond Django's own: passwords mix several kinds of character."""

from __future__ import annotations

import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


def _kinds(password: str) -> int:
    kinds = set()
    for ch in password:
        if ch.isdigit():
            kinds.add("digit")
        elif ch.isalpha() and ch.isupper():
            kinds.add("upper")
        elif ch.isalpha() and ch.islower():
            kinds.add("lower")
        elif ch.isalpha():
            kinds.add("other letter")  # e.g. Chinese characters
        elif not unicodedata.category(ch).startswith("Z"):
            kinds.add("symbol")
    return len(kinds)


class CharacterKindsValidator:
    """At least `kinds` of: lower-case, upper-case, digits, symbols, other letters."""

    def __init__(self, kinds: int = 3):
        self.kinds = kinds

    def validate(self, password: str, user=None) -> None:
        if _kinds(password) < self.kinds:
            raise ValidationError(
                _(
                    "This password must mix at least %(kinds)d kinds of character: lower-case letters, "
                    "upper-case letters, digits and symbols."
                )
                % {"kinds": self.kinds},
                code="password_too_plain",
            )

    def get_help_text(self) -> str:
        return _(
            "Your password must mix at least %(kinds)d kinds of character: lower-case letters, "
            "upper-case letters, digits and symbols."
        ) % {"kinds": self.kinds}
