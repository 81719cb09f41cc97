import os
from pathlib import Path

import pytest
from django.core.management import call_command

from tests.e2e.conftest import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
DOCS = Path(__file__).resolve().parents[2] / "docs" / "dashboard.png"


def test_dashboard_with_demo_data(page, tmp_path, monkeypatch):
    """The supervisor's home page with the demo data; UPDATE_SCREENSHOTS=1 refreshes the README's picture."""
    monkeypatch.setenv("DEMO_PASSWORD", "demo-pass-123")
    call_command("seed_demo")
    login(page, "supervisor", "demo-pass-123")
    page.goto(f"{page.base_url}/admin/")
    for part in (
        "#work-tiles",
        "#pending-batches",
        "#promise-24h",
        "#sending-today",
        "#chart-stages svg",
        "#chart-history svg",
    ):
        assert page.locator(part).count() == 1, part
    assert "待审批批次" in page.locator("#pending-batches").inner_text()
    target = DOCS if os.environ.get("UPDATE_SCREENSHOTS") else tmp_path / "dashboard.png"
    page.set_viewport_size({"width": 1400, "height": 900})
    page.screenshot(path=str(target), full_page=True)
    assert target.stat().st_size > 20_000
