"""`manage.py fake_ismg` as a real process: it listens, a link talks to it, SIGTERM stops it."""

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from notices.links.base import SubmitStatus
from notices.links.cmpp.pdu import Version

from .harness import opened, run_async

ROOT = Path(__file__).resolve().parents[4]


class _Listening:
    def __init__(self, port):
        self.port = port


@pytest.fixture
def fake_ismg_process(tmp_path):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    process = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "fake_ismg",
            "--port",
            "0",
            "--versions",
            "2.0",
            "--secret",
            "test-secret",
            "--sp-id",
            "901234",
            "--receipt-delay",
            "0",
            "--report",
            str(tmp_path / "report.json"),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()
        found = re.search(r"127\.0\.0\.1:(\d+)", line)
        assert found, line + process.stderr.read()
        yield process, int(found.group(1)), tmp_path / "report.json"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(5)


def test_the_command_serves_a_link_and_prints_what_it_saw_when_stopped(fake_ismg_process):
    process, port, report = fake_ismg_process

    @run_async
    async def talk():
        async with opened(_Listening(port), version=Version.V2_0) as link:
            [result] = await link.send("【民丰银行】您好")
            assert result.status == SubmitStatus.ACCEPTED
            for _ in range(200):
                if link.receipts:
                    break
                await asyncio.sleep(0.01)
            assert link.receipts[0].provider_id == result.provider_id

    talk()
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
    last = out.strip().splitlines()[-1]
    stats = json.loads(last[last.index("{") :])
    assert stats["accepted"] == 1 and stats["duplicates"] == 0 and stats["terminated_by_sp"] == 1
    [accepted] = json.loads(report.read_text())["accepted"]
    assert (accepted["dest"], accepted["text"], accepted["count"]) == ("13812345678", "【民丰银行】您好", 1)


def test_bad_versions_are_refused_in_one_line():
    with pytest.raises(CommandError, match="--versions"):
        call_command("fake_ismg", "--versions", "4.0")
