"""The side menu in the order of a working day, with 催收效果 and 报表 for those who may."""

import re

import pytest

pytestmark = pytest.mark.django_db


def menu(client) -> list[str]:
    page = client.get("/admin/").content.decode()
    sidebar = page[page.index('id="jazzy-sidebar"') : page.index("</aside>")]
    return [re.sub(r"\s+", "", label) for label in re.findall(r"<p>\s*([^<]+?)\s*</p>", sidebar)]


def test_a_supervisors_menu_follows_the_day(supervisor_client):
    labels = menu(supervisor_client)
    day = [
        "导入贷款台账",
        "贷款台账导入",
        "客户",
        "贷款",
        "通知批次",
        "短信记录",
        "客户反馈",
        "还款计划",
        "催收效果",
        "报表",
    ]
    assert [label for label in labels if label in day] == day
    assert labels.index("报表") < labels.index("短信模板") < labels.index("禁用词")


def test_staff_see_the_effectiveness_but_not_the_reports_they_may_not_download(staff_client):
    labels = menu(staff_client)
    assert "催收效果" in labels and "报表" not in labels


def test_the_menu_links_open(supervisor_client):
    page = supervisor_client.get("/admin/").content.decode()
    assert 'href="/admin/reports/effectiveness/"' in page and 'href="/admin/reports/"' in page
