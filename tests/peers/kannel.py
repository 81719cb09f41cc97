"""Debian's Kannel (bearerbox + smsbox) for a test: configured in a temporary directory,
on free ports, with an SMPP connection to the npm SMSC and its callbacks to our app."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import httpx

BEARERBOX = Path("/usr/sbin/bearerbox")
SMSBOX = Path("/usr/sbin/smsbox")


def kannel_installed() -> bool:
    return BEARERBOX.exists() and SMSBOX.exists()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Kannel:
    username, password = "notices", "kannel-pass"

    def __init__(
        self, directory: Path, *, smsc_port: int, smsc_system_id: str, smsc_password: str, get_url: str
    ):
        if not kannel_installed():
            raise RuntimeError("Kannel is not installed: `apt-get install kannel` (.ci/run does)")
        self.directory = directory
        self.admin_port, self.box_port, self.sendsms_port = free_port(), free_port(), free_port()
        self.config = directory / "kannel.conf"
        # Kannel's own syntax; '%' escapes in get-url are Kannel's (filled in per message).
        self.config.write_text(
            f"""
group = core
admin-port = {self.admin_port}
admin-password = admin-pass
admin-interface = 127.0.0.1
smsbox-port = {self.box_port}
smsbox-interface = 127.0.0.1
box-allow-ip = 127.0.0.1
log-file = "{directory}/bearerbox.log"
log-level = 1
dlr-storage = internal

group = smsc
smsc = smpp
smsc-id = npm
host = 127.0.0.1
port = {smsc_port}
transceiver-mode = true
smsc-username = {smsc_system_id}
smsc-password = {smsc_password}
system-type = ""
source-addr-ton = 0
source-addr-npi = 0
dest-addr-ton = 1
dest-addr-npi = 1
reconnect-delay = 1

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {self.box_port}
sendsms-port = {self.sendsms_port}
sendsms-interface = 127.0.0.1
log-file = "{directory}/smsbox.log"
log-level = 1
mo-recode = true

group = sendsms-user
username = {self.username}
password = {self.password}
max-messages = 10
concatenation = true

group = sms-service
keyword-regex = .*
catch-all = true
get-url = "{get_url}"
max-messages = 0
omit-empty = true
""",
            encoding="utf-8",
        )
        self.processes: list[subprocess.Popen] = []

    @property
    def sendsms_url(self) -> str:
        return f"http://127.0.0.1:{self.sendsms_port}/cgi-bin/sendsms"

    def start(self) -> Kannel:
        for binary, name in ((BEARERBOX, "bearerbox"), (SMSBOX, "smsbox")):
            out = (self.directory / f"{name}.out").open("w")
            self.processes.append(
                subprocess.Popen([str(binary), str(self.config)], stdout=out, stderr=subprocess.STDOUT)
            )
            if name == "bearerbox":
                self._wait_for_port(self.box_port)
        self._wait_for_port(self.sendsms_port)
        return self

    def _wait_for_port(self, port: int, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(p.poll() is not None for p in self.processes):
                raise RuntimeError(f"Kannel exited: {self.log_tail()}")
            try:
                httpx.get(f"http://127.0.0.1:{port}/", timeout=0.5)
                return
            except httpx.HTTPError:
                with socket.socket() as probe:
                    if probe.connect_ex(("127.0.0.1", port)) == 0:
                        return
            time.sleep(0.1)
        raise RuntimeError(f"Kannel did not open port {port}: {self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        out = []
        for name in ("bearerbox.log", "smsbox.log", "bearerbox.out", "smsbox.out"):
            path = self.directory / name
            if path.exists():
                out += [f"--- {name}", *path.read_text(errors="replace").splitlines()[-lines:]]
        return "\n".join(out)

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
