"""Production settings: `check --deploy` is clean with only the required environment,
and the app refuses to start without its secrets."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REQUIRED = {
    "SECRET_KEY": "k7R2-prod-like-secret-for-the-deploy-check-0a9f8e7d6c5b4a3928176",
    "ALLOWED_HOSTS": "notices.bank.example",
    "DATABASE_URL": "sqlite:////tmp/overdue-notices-deploy-check.sqlite3",
    "SMS_WEBHOOK_SECRET": "c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0",
    "SMS_HTTP_TOKEN": "token-issued-by-the-sms-platform",
    "BANK_HOTLINE": "0571-00000000",
}


def manage(*args, env):
    clean = {
        k: v for k, v in os.environ.items() if k not in REQUIRED and not k.startswith(("DJANGO_", "SMS_"))
    }
    clean.pop("DEBUG", None)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings.prod", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_only_the_required_environment():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=REQUIRED)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize("missing", sorted(REQUIRED))
def test_production_refuses_to_start_without_each_secret(missing):
    if (ROOT / ".env").exists():
        pytest.skip("a local .env file would supply the value")
    env = {k: v for k, v in REQUIRED.items() if k != missing}
    result = manage("check", env=env)
    assert result.returncode != 0 and missing in result.stderr
