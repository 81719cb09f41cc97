import pytest

from notices.links.parts import Alphabet, alphabet_for, decode, encode, parse_udh, part_count, split


def test_chinese_text_goes_as_ucs2_70_in_one_and_67_a_part():
    assert alphabet_for("【民丰银行】您好") == Alphabet.UCS2
    assert part_count("字" * 70) == 1
    parts = split("字" * 71, reference=7)
    assert [len(p.text) for p in parts] == [67, 4]
    assert parts[0].udh == bytes.fromhex("050003070201") and parts[1].udh == bytes.fromhex("050003070202")
    assert parts[0].payload == ("字" * 67).encode("utf-16-be")


def test_plain_latin_text_goes_as_gsm7_160_in_one_and_153_a_part():
    assert part_count("a" * 160) == 1
    assert [len(p.text) for p in split("a" * 161, reference=1)] == [153, 8]


def test_an_extension_character_counts_twice_and_is_never_split_from_its_escape():
    assert part_count("€" * 80) == 1 and part_count("€" * 81) == 2
    parts = split("a" + "€" * 80, reference=1)
    assert all(encode(p.text, Alphabet.GSM7) == p.payload for p in parts)
    assert "".join(decode(p.payload, Alphabet.GSM7) for p in parts) == "a" + "€" * 80


def test_a_character_outside_the_bmp_is_never_split_between_parts():
    parts = split("字" + "😀" * 40, reference=1)
    assert "".join(p.text for p in parts) == "字" + "😀" * 40
    assert all(len(p.payload) <= 134 for p in parts)


def test_a_single_sms_has_no_header_and_the_reference_wraps_to_a_byte():
    assert split("短", reference=999)[0].udh == b""
    assert split("字" * 71, reference=256 + 9)[0].udh[3] == 9


@pytest.mark.parametrize(
    "udh, expected",
    [
        (bytes.fromhex("050003aa0302"), (0xAA, 3, 2)),
        (bytes.fromhex("06080412340201"), (0x1234, 2, 1)),
        (bytes.fromhex("0b0a04000000000003050201"), (5, 2, 1)),  # another element first
    ],
)
def test_parse_udh_reads_8_and_16_bit_concatenation(udh, expected):
    info, payload = parse_udh(udh + "好".encode("utf-16-be"))
    assert (info.reference, info.total, info.seq) == expected
    assert payload == "好".encode("utf-16-be")


def test_a_malformed_header_is_no_header():
    info, payload = parse_udh(b"\x09\x00\x03")
    assert info is None and payload == b"\x09\x00\x03"
    assert parse_udh(bytes.fromhex("050003010300"))[0] is None  # part 0 of 3
