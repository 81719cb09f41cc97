"""How a notice addresses a customer (称呼): the rules, the compound surnames, the ID digits.

One place for a customer fact every message uses. The order of the rules:

1. A salutation staff set on the customer (称呼) is used as written.
2. A name in Chinese characters of two to four characters: the surname (a compound one
   such as 欧阳 or 诸葛 whole) + 先生/女士 when a valid ID number tells the sex, else the
   full name. One character + a known sex: that character + 先生/女士.
3. A name with a middle dot (买买提·艾力) or in Latin letters (John Smith), or a Chinese
   name of five to ten characters: the full name as it is (which part is the surname
   cannot be told reliably).
4. Anything else (empty, one character with no sex known, too long, digits or other
   signs in it): the polite 尊敬的客户.

The sex is read only from an ID number that is itself valid: an 18-digit number whose
check digit is right (ISO 7064 MOD 11-2) and whose birth date exists (17th digit odd:
man), or a 15-digit number of digits only whose birth date exists (15th digit odd: man).
A wrong or malformed ID number tells nothing, and the salutation says nothing it does not
know.
"""

from __future__ import annotations

import datetime
import re
import unicodedata

POLITE_FALLBACK = "尊敬的客户"
MAN, WOMAN = "先生", "女士"

# 复姓: the compound surnames of the Hundred Family Surnames and the others in use, in
# simplified and traditional characters. A name that starts with one of these (and has a
# given name after it) keeps it whole: 欧阳明 → 欧阳先生, never 欧先生.
_COMPOUND_SURNAMES_TEXT = """
    万俟 司马 上官 欧阳 夏侯 诸葛 闻人 东方 赫连 皇甫 尉迟 公羊 澹台 公冶 宗政 濮阳 淳于
    单于 太叔 申屠 公孙 仲孙 轩辕 令狐 钟离 宇文 长孙 慕容 鲜于 闾丘 司徒 司空 亓官 司寇
    子车 颛孙 端木 巫马 公西 漆雕 乐正 壤驷 公良 拓跋 夹谷 宰父 谷梁 段干 百里 东郭 南门
    呼延 归海 羊舌 微生 梁丘 左丘 东门 西门 南宫 第五 独孤 太史 公输 公仪 公乘 即墨 呼衍
    萬俟 司馬 歐陽 諸葛 聞人 東方 赫連 尉遲 澹臺 濮陽 單于 公孫 軒轅 鍾離 锺离 長孫 鮮于
    閭丘 顓孫 巫馬 漆彫 樂正 壤駟 穀梁 東郭 南門 歸海 東門 西門 南宮 獨孤 公輸 公儀
"""
COMPOUND_SURNAMES: frozenset[str] = frozenset(_COMPOUND_SURNAMES_TEXT.split())

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_MIDDLE_DOTS = "·•・‧∙⋅●．"  # the middle dot as typed on different keyboards and systems
_LATIN_NAME = re.compile(r"[A-Za-zÀ-ɏ]+(?:[ .'\-][A-Za-zÀ-ɏ]+)*\.?")
MAX_NAME = 10  # characters of a Chinese or dotted name said whole
MAX_LATIN_NAME = 20  # also the longest salutation staff may set (the lint's longest sample)


_HAN_RANGES = (
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xF900, 0xFAFF),
    (0x20000, 0x2FA1F),
    (0x30000, 0x323AF),
)


def _is_han(ch: str) -> bool:
    """A Chinese character (the CJK unified and compatibility ideographs)."""
    code = ord(ch)
    return any(lo <= code <= hi for lo, hi in _HAN_RANGES)


def id_check_digit(first17: str) -> str:
    """The 18th character of a mainland ID number (ISO 7064 MOD 11-2) for its 17 digits."""
    return _ID_CHECK[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def _birth_date_exists(year: int, month: int, day: int) -> bool:
    try:
        born = datetime.date(year, month, day)
    except ValueError:
        return False
    return datetime.date(1900, 1, 1) <= born <= datetime.date.today()


def id_number_sex(id_number: str | None) -> str | None:
    """MAN or WOMAN when the ID number is valid and tells it, else None."""
    idn = unicodedata.normalize("NFKC", id_number or "").strip().upper()
    if len(idn) == 18 and idn[:17].isdigit() and idn[:17].isascii():
        if idn[17] != id_check_digit(idn[:17]):
            return None
        if not _birth_date_exists(int(idn[6:10]), int(idn[10:12]), int(idn[12:14])):
            return None
        return MAN if int(idn[16]) % 2 else WOMAN
    if len(idn) == 15 and idn.isdigit() and idn.isascii():
        if not _birth_date_exists(1900 + int(idn[6:8]), int(idn[8:10]), int(idn[10:12])):
            return None
        return MAN if int(idn[14]) % 2 else WOMAN
    return None


def surname_of(name: str) -> str:
    """The surname of a Chinese name: a compound one whole when a given name follows it."""
    if len(name) >= 3 and name[:2] in COMPOUND_SURNAMES:
        return name[:2]
    return name[:1]


def _clean(name: str) -> str:
    name = unicodedata.normalize("NFKC", name or "").strip()
    for dot in _MIDDLE_DOTS:
        name = name.replace(dot, "·")
    return name


def salutation_for(*, name: str, id_number: str = "", override: str = "") -> str:
    """How a message addresses this customer (the rules in the module docstring)."""
    override = (override or "").strip()
    if override:
        return override
    name = _clean(name)
    compact = re.sub(r"\s+", "", name)
    if compact and all(_is_han(ch) for ch in compact):
        sex = id_number_sex(id_number)
        if len(compact) == 1:
            return compact + sex if sex else POLITE_FALLBACK
        if len(compact) <= 4:
            return surname_of(compact) + sex if sex else compact
        return compact if len(compact) <= MAX_NAME else POLITE_FALLBACK
    if "·" in compact:
        parts = compact.split("·")
        if all(parts) and all(_is_han(ch) for part in parts for ch in part) and len(compact) <= MAX_NAME:
            return compact
        return POLITE_FALLBACK
    latin = re.sub(r"\s+", " ", name)
    if 2 <= len(latin) <= MAX_LATIN_NAME and _LATIN_NAME.fullmatch(latin):
        return latin
    return POLITE_FALLBACK


def salutation_problem(text: str) -> str | None:
    """Why a salutation staff typed cannot be used (None: it can). Messages in Chinese
    would carry it as written, so it holds only letters, Chinese characters and · ."""
    from django.utils.translation import gettext as _

    text = (text or "").strip()
    if not text:
        return None
    if len(text) > MAX_LATIN_NAME:
        return _("A salutation has at most %(n)s characters.") % {"n": MAX_LATIN_NAME}
    if any(not (_is_han(ch) or ch.isalpha() or ch in " ·.'-") for ch in text):
        return _("A salutation holds only Chinese characters, letters, spaces and ·, e.g. 欧阳先生.")
    return None
