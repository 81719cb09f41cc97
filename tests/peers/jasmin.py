"""Jasmin (from PyPI, in a virtual environment of its own) for a test: configured in a
temporary directory on free ports, an SMPP client connector to the npm SMSC, a user for
our backend, an MT route to the SMSC and an MO route to our app. Needs RabbitMQ at
127.0.0.1:5672 (guest/guest) and Redis at 127.0.0.1:6379."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from .kannel import free_port

PEERS = Path(__file__).resolve().parent
VENV = Path(os.environ.get("JASMIN_VENV", PEERS / "jasmin-venv"))
JASMIND = VENV / "bin" / "jasmind.py"


def jasmin_installed() -> bool:
    return JASMIND.exists()


def services_up() -> bool:
    for port in (5672, 6379):
        with socket.socket() as probe:
            probe.settimeout(1)
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return False
    return True


def _amqp_spec() -> Path:
    # The AMQP 0-9-1 specification txAMQP ships (Jasmin's wheel leaves its own copy out).
    found = sorted(VENV.glob("lib/python*/site-packages/txamqp/specs/standard/amqp0-9-1.stripped.xml"))
    if not found:
        raise RuntimeError("txamqp's AMQP 0-9-1 specification is missing from the Jasmin environment")
    return found[0]


class Jasmin:
    username, password = "notices", "j-pass"

    def __init__(self, root: Path, *, smsc_port: int, smsc_system_id: str, smsc_password: str, mo_url: str):
        self.root = root
        self.http_port, self.jcli_port = free_port(), free_port()
        config = root / "etc" / "jasmin"
        (config / "store").mkdir(parents=True)
        (root / "var" / "log" / "jasmin").mkdir(parents=True)
        # A Redis database of its own so runs do not see each other's DLR lookups.
        (config / "jasmin.cfg").write_text(
            f"""
[jcli]
bind = 127.0.0.1
port = {self.jcli_port}
authentication = False

[http-api]
bind = 127.0.0.1
port = {self.http_port}

[client-management]
bind = 127.0.0.1
port = {free_port()}
authentication = False

[router]
bind = 127.0.0.1
port = {free_port()}
authentication = False

[smpp-server]
bind = 127.0.0.1
port = {free_port()}

[amqp-broker]
host = 127.0.0.1
port = 5672
spec = {_amqp_spec()}

[redis-client]
host = 127.0.0.1
port = 6379
dbid = 11
""",
            encoding="utf-8",
        )
        self.connector = f"npm{smsc_port}"
        self.setup = [
            ["group -a", "gid notices", "ok"],
            [
                "user -a",
                f"username {self.username}",
                f"password {self.password}",
                "uid notices",
                "gid notices",
                "ok",
            ],
            [
                "smppccm -a",
                f"cid {self.connector}",
                "host 127.0.0.1",
                f"port {smsc_port}",
                f"username {smsc_system_id}",
                f"password {smsc_password}",
                "submit_throughput 100",
                "ok",
            ],
            ["mtrouter -a", "type DefaultRoute", f"connector smppc({self.connector})", "rate 0", "ok"],
            ["httpccm -a", "cid app", f"url {mo_url}", "method POST", "ok"],
            ["morouter -a", "type DefaultRoute", "connector http(app)", "ok"],
            [f"smppccm -1 {self.connector}"],
        ]
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def start(self) -> Jasmin:
        out = (self.root / "jasmind.out").open("w")
        self.process = subprocess.Popen(
            [str(JASMIND), "--enable-dlr-thrower", "--enable-deliver-thrower", "--enable-dlr-lookup"],
            env={**os.environ, "ROOT_PATH": str(self.root)},
            cwd=self.root,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        jcli = self._jcli()
        try:
            for block in self.setup:
                for line in block:
                    reply = self._say(jcli, line, last=line == block[-1])
                    if "Error" in reply or "Unknown" in reply:
                        raise RuntimeError(f"jcli refused {line!r}: {reply}")
        finally:
            jcli.close()
        return self

    def _jcli(self, timeout: float = 60.0) -> socket.socket:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"jasmind exited: {self.log_tail()}")
            try:
                connection = socket.create_connection(("127.0.0.1", self.jcli_port), timeout=10)
            except OSError:
                time.sleep(0.3)
                continue
            self._read_until(connection, b"Session ref", exact=False)
            self._say(connection, "", last=True)  # the prompt comes with the first answer
            return connection
        raise RuntimeError(f"jCli did not open: {self.log_tail()}")

    def _say(self, connection: socket.socket, line: str, *, last: bool) -> str:
        connection.sendall(line.encode() + b"\r\n")
        return self._read_until(connection, b"jcli : " if last else b"> ")

    @staticmethod
    def _read_until(
        connection: socket.socket, prompt: bytes, timeout: float = 15.0, exact: bool = True
    ) -> str:
        data, deadline = b"", time.monotonic() + timeout
        while not (data.rstrip().endswith(prompt.rstrip()) if exact else prompt in data):
            if time.monotonic() > deadline:
                raise RuntimeError(f"jCli: no {prompt!r} after {data[-300:]!r}")
            chunk = connection.recv(8192)
            if not chunk:
                raise RuntimeError("jCli closed the connection")
            data += chunk
        return data.decode(errors="replace")

    def log_tail(self, lines: int = 25) -> str:
        out = []
        for path in [
            self.root / "jasmind.out",
            *sorted((self.root / "var" / "log" / "jasmin").glob("*.log")),
        ]:
            if path.exists() and path.stat().st_size:
                out += [f"--- {path.name}", *path.read_text(errors="replace").splitlines()[-lines:]]
        return "\n".join(out)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)
