"""Drive tests/peers/smsc.js (the npm `smpp` package's SMSC) from a test."""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import threading
import time
from pathlib import Path

PEERS = Path(__file__).resolve().parent


def node_modules_ready() -> bool:
    return (PEERS / "node_modules" / "smpp").is_dir()


class NodeSmsc:
    """The SMSC process: `send` a control command, `wait` for an event, `events` seen so far."""

    def __init__(self, *, system_id: str = "esme", password: str = "secret"):
        if not node_modules_ready():
            raise RuntimeError(
                "tests/peers/node_modules is missing: run `make test` or `npm ci --prefix tests/peers`"
            )
        node = shutil.which("node")
        if node is None:
            raise RuntimeError("node is not installed")
        self.system_id, self.password = system_id, password
        self.process = subprocess.Popen(
            [node, str(PEERS / "smsc.js"), json.dumps({"system_id": system_id, "password": password})],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            bufsize=1,
        )
        self.events: list[dict] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, name="node-smsc", daemon=True)
        self._reader.start()
        self.port = self.wait("listening")["port"]

    def _read(self) -> None:
        for line in self.process.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                event = {"event": "garbage", "line": line}
            with self._changed:
                self.events.append(event)
                self._changed.notify_all()

    def send(self, cmd: str, **fields) -> None:
        self.process.stdin.write(json.dumps({"cmd": cmd, **fields}, ensure_ascii=False) + "\n")
        self.process.stdin.flush()

    def set(self, **behaviour) -> None:
        start = len(self.events)
        self.send("set", **behaviour)
        self.wait("set", after=start)

    def wait(self, event: str, *, count: int = 1, timeout: float = 10.0, after: int = 0, **match) -> dict:
        """The count-th event of this kind (from index `after`) whose fields match."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = self.matching(event, after=after, **match)
                if len(found) >= count:
                    return found[count - 1]
                left = deadline - time.monotonic()
                if left <= 0 or self.process.poll() is not None:
                    stderr = "" if self.process.poll() is None else self.process.stderr.read()
                    raise AssertionError(
                        f"no {count}× {event} {match or ''} from the SMSC within {timeout} s; "
                        f"saw {[e.get('event') for e in self.events[-20:]]} {stderr}"
                    )
                self._changed.wait(left)

    def matching(self, event: str, *, after: int = 0, **match) -> list[dict]:
        return [
            e
            for e in self.events[after:]
            if e.get("event") == event and all(e.get(k) == v for k, v in match.items())
        ]

    def stats(self) -> dict:
        start = len(self.events)
        self.send("stats")
        return self.wait("stats", after=start)

    def submits(self, outcome: str | None = None) -> list[dict]:
        found = self.matching("submit")
        return [e for e in found if outcome is None or e["outcome"] == outcome]

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                self.send("stop")
                self.process.wait(5)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait(5)
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            with contextlib.suppress(OSError):
                stream.close()
