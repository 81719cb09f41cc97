import logging

import pytest

from core.pii import can_see_full_pii, mask_id_number, mask_mobile, mask_text, show_id_number, show_mobile


def test_mobile_masks_keep_the_first_three_and_last_four():
    assert mask_mobile("+8613812345678") == "138****5678"
    assert mask_mobile("13812345678") == "138****5678"
    assert mask_mobile("") == ""


def test_id_number_masks_keep_region_and_last_four():
    assert mask_id_number("33010219800101123X") == "330102********123X"
    assert mask_id_number("123") == "***"


def test_free_text_is_masked():
    text = "客户13812345678（+8613912345678）身份证330102198001011234，账号6222020200112233445"
    masked = mask_text(text)
    assert "138****5678" in masked and "139****5678" in masked
    assert "330102********1234" in masked
    assert "13812345678" not in masked and "198001011234" not in masked
    assert "6222020200112233445" in masked  # a 19-digit account is neither


@pytest.mark.django_db
def test_pages_mask_for_everyone_and_only_the_permission_reveals(staff, supervisor):
    assert not can_see_full_pii(staff)
    assert can_see_full_pii(supervisor)
    assert show_mobile("+8613812345678", staff) == "138****5678"
    assert show_mobile("+8613812345678", supervisor) == "138****5678"
    assert show_mobile("+8613812345678", staff, revealed=True) == "138****5678"
    assert show_mobile("+8613812345678", supervisor, revealed=True) == "13812345678"
    assert show_id_number("33010219800101123X", staff, revealed=True) == "330102********123X"
    assert show_id_number("33010219800101123X", supervisor, revealed=True) == "33010219800101123X"


def test_log_lines_never_hold_a_whole_mobile(caplog):
    logger = logging.getLogger("tests.pii")
    handler_filter = __import__("core.pii", fromlist=["x"]).MaskPersonalDataFilter()
    logger.addFilter(handler_filter)
    try:
        with caplog.at_level(logging.INFO, logger="tests.pii"):
            logger.info("sending to %s", "13812345678")
    finally:
        logger.removeFilter(handler_filter)
    assert "138****5678" in caplog.text and "13812345678" not in caplog.text
