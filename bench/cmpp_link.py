"""The CMPP protocol layer alone: CmppSession against `manage.py fake_ismg` in its own process.

No database: this measures what the link process will have under it (issue 17). Two runs,
each with `--links` sessions of `--window` outstanding submits, every part a UCS2 SMS to
its own number, status reports on (each answered after an on_event that only counts):

- capacity: no latency, no limit. capacity = parts / elapsed (the fake ISMG must sustain
  at least 1,000 a second for the link benchmark); cpu_ms = this process's CPU time per
  part (submit, its answer, its status report), the protocol's share of the link
  process's budget.
- paced: `--latency-ms` (50) before every CMPP_SUBMIT_RESP and `--rate-limit` (500 a
  second, Result 8 beyond it). The sessions are fed at the limit by a token bucket, and a
  part answered Result 8 is submitted again after 50 ms, as the link process does.
  ratio = accepted parts a second / the limit (target ≥ 0.95).

Both check what the ISMG saw when it stopped: every part accepted exactly once, none twice.

    .venv/bin/python bench/cmpp_link.py [--parts 20000] [--links 2] [--window 16]
        [--latency-ms 50] [--rate-limit 500] [--version 3.0] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

import django  # noqa: E402

django.setup()

from notices.links.base import PartSubmit, SubmitStatus  # noqa: E402
from notices.links.cmpp.config import CmppConfig  # noqa: E402
from notices.links.cmpp.pdu import Version  # noqa: E402
from notices.links.cmpp.session import CmppSession  # noqa: E402
from notices.links.parts import Alphabet, split  # noqa: E402

SECRET = "bench-secret"


def start_ismg(window: int, *extra: str) -> tuple[subprocess.Popen, int]:
    process = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "fake_ismg",
            "--port",
            "0",
            "--secret",
            SECRET,
            "--sp-id",
            "901234",
            "--receipt-delay",
            "0",
            "--window",
            str(window),
            *extra,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    line = process.stdout.readline()
    found = re.search(r":(\d+)", line)
    if not found:
        process.kill()
        raise SystemExit(f"fake_ismg did not start: {line!r}")
    return process, int(found.group(1))


def stop_ismg(process: subprocess.Popen) -> dict:
    process.terminate()
    out, _err = process.communicate(timeout=30)
    last = out.strip().splitlines()[-1]
    return json.loads(last[last.index("{") :])


async def run(port: int, args, *, rate: float | None) -> dict:
    receipts = 0

    async def on_event(event):
        nonlocal receipts
        receipts += 1

    config = CmppConfig(
        host="127.0.0.1",
        port=port,
        version=Version.from_label(args.version),
        sp_id="901234",
        secret=SECRET,
        service_id="MFBANK",
        src_id="1069012345",
        window=args.window,
    )
    sessions = [CmppSession(on_event=on_event, config=config) for _ in range(args.links)]
    for session in sessions:
        await session.open()
    serving = [asyncio.create_task(s.serve()) for s in sessions]
    text = "【民丰银行】尊敬的客户，您尾号1234的贷款已逾期3天，请尽快还款。"
    part = split(text, reference=1, alphabet=Alphabet.UCS2)[0]
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(args.parts):
        queue.put_nowait(n)
    accepted = throttled = other = 0
    tokens, last = 0.0, time.perf_counter()

    async def take_token():
        nonlocal tokens, last
        while True:
            now = time.perf_counter()
            tokens = min(rate / 10, tokens + (now - last) * rate)  # at most 100 ms of burst
            last = now
            if tokens >= 1:
                tokens -= 1
                return
            await asyncio.sleep(1 / rate)

    async def feeder(session):
        nonlocal accepted, throttled, other
        while not queue.empty():
            n = queue.get_nowait()
            while True:
                if rate:
                    await take_token()
                request = PartSubmit(
                    client_ref=f"b{n}", to=f"+86138{n:08d}", part=part, alphabet=Alphabet.UCS2
                )
                result = await session.submit(request)
                if result.status != SubmitStatus.THROTTLED:
                    break
                throttled += 1
                await asyncio.sleep(0.05)
            if result.status == SubmitStatus.ACCEPTED:
                accepted += 1
            else:
                other += 1

    cpu, start = time.process_time(), time.perf_counter()
    await asyncio.gather(*(feeder(s) for s in sessions for _ in range(args.window)))
    elapsed = time.perf_counter() - start
    deadline = time.perf_counter() + 30
    while receipts < accepted and time.perf_counter() < deadline:
        await asyncio.sleep(0.01)
    cpu = time.process_time() - cpu
    for session in sessions:
        await session.close()
    await asyncio.gather(*serving, return_exceptions=True)
    return {
        "parts": args.parts,
        "accepted": accepted,
        "throttled": throttled,
        "not_accepted": other,
        "receipts": receipts,
        "elapsed_s": round(elapsed, 3),
        "per_second": round(accepted / elapsed, 1),
        "cpu_ms": round(cpu * 1000 / max(accepted, 1), 3),
    }


def checked(result: dict, seen: dict) -> dict:
    result["ismg_accepted"] = seen.get("accepted", 0)
    result["ismg_duplicates"] = seen.get("duplicates", 0)
    result["window_violations"] = seen.get("window_violations", 0)
    result["ok"] = (
        result["accepted"] == result["parts"] == seen.get("accepted", 0)
        and seen.get("duplicates", 0) == 0
        and seen.get("window_violations", 0) == 0
        and result["receipts"] == result["accepted"]
    )
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", type=int, default=20000)
    parser.add_argument("--links", type=int, default=2)
    parser.add_argument("--window", type=int, default=16)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--rate-limit", type=int, default=500)
    parser.add_argument("--version", choices=("3.0", "2.0"), default="3.0")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    load = os.getloadavg()[0]

    process, port = start_ismg(args.window)
    capacity = checked(asyncio.run(run(port, args, rate=None)), stop_ismg(process))

    process, port = start_ismg(
        args.window, "--latency-ms", str(args.latency_ms), "--rate-limit", str(args.rate_limit)
    )
    paced = checked(asyncio.run(run(port, args, rate=args.rate_limit)), stop_ismg(process))
    paced["ratio"] = round(paced["per_second"] / args.rate_limit, 3)

    summary = {
        "version": args.version,
        "links": args.links,
        "window": args.window,
        "load_before": round(load, 2),
        "capacity_per_second": capacity["per_second"],
        "cpu_ms": capacity["cpu_ms"],
        "rate_limit": args.rate_limit,
        "latency_ms": args.latency_ms,
        "paced_per_second": paced["per_second"],
        "ratio": paced["ratio"],
        "ok": capacity["ok"] and paced["ok"],
        "capacity": capacity,
        "paced": paced,
    }
    if args.json:
        print(json.dumps(summary))
    else:
        print(
            f"capacity: {capacity['per_second']:,.0f} parts/s, {capacity['cpu_ms']} ms CPU a part (our side)"
        )
        print(
            f"paced:    {paced['per_second']:,.1f} parts/s at a limit of {args.rate_limit}/s "
            f"with {args.latency_ms:g} ms latency: ratio {paced['ratio']} ({paced['throttled']} throttled)"
        )
        print(
            "checks:   "
            + (
                "every part accepted once, every receipt answered, the window kept"
                if summary["ok"]
                else "FAILED"
            )
        )
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
