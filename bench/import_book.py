"""Loan-book import benchmark: our importer against baselines measured in the same run.

    .venv/bin/python bench/import_book.py [--rows 100000] [--format xlsx|csv|xls] [--json] [--database-url URL]

Builds a book of --rows loans the way Excel writes one (bench/book.py: shared strings,
a customer per 1.4 loans, mixed spellings), then runs each phase in a process of its own
so that each peak RSS is that phase's alone:

With --format csv or xls the same book is also written in that format (CSV as Excel's
"CSV UTF-8" saves it; .xls with xlwt, at most 65,535 rows) and the imports read that file,
while the floor stays the openpyxl parse of the .xlsx: CSV must beat it (≤ 0.5×).

- floor: openpyxl read-only iteration of the same file, doing nothing with the values,
  with its fast C XML parser (OPENPYXL_DEFUSEDXML=False) — the stricter baseline; the
  same iteration as the app is installed (defusedxml present, openpyxl then parses with
  a pure-Python parser) is reported as parse_floor_defused_s;
- import: `loan_book_import` into an empty, migrated database;
- reimport: the same file again into that database (nothing changes);
- iex: django-import-export 4 at its defaults (no bulk, a transaction, row by row)
  importing the same file into the same models (customers, then loans), into an empty
  database of its own. Its widgets reuse our value parsers so that every row imports.

Ratios: import_ratio = import_s / parse_floor_s, reimport_ratio = reimport_s /
parse_floor_s, iex_speedup = iex_s / import_s. With --json the last line is one JSON
object. The database is a fresh SQLite file (WAL, as the app runs) unless
--database-url names another (e.g. an empty PostgreSQL database: its tables are
flushed before each phase that needs them empty).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
AS_OF = datetime.date(2026, 11, 28)
TARGETS = {
    "xlsx": {"import_ratio": 1.2, "reimport_ratio": 1.2},
    "csv": {"import_ratio": 0.5, "reimport_ratio": 0.5},
    "xls": {},
}
IEX_SPEEDUP = 8.0


def peak_rss_mb() -> float:
    """This process's own peak resident set. VmHWM belongs to the process's memory map,
    which exec replaces; ru_maxrss would also carry the parent's peak across the fork."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


# --- phases (each runs in its own process) -------------------------------------------------
def phase_floor(path: str) -> dict:
    import warnings

    import openpyxl

    warnings.simplefilter("ignore")
    started = time.perf_counter()
    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    rows = 0
    for sheet in workbook.worksheets:
        for _row in sheet.iter_rows(values_only=True):
            rows += 1
    workbook.close()
    return {"seconds": time.perf_counter() - started, "rows": rows, "defused": bool(openpyxl.DEFUSEDXML)}


def _django():
    import django

    django.setup()


def phase_import(path: str) -> dict:
    _django()
    from customers.services.loan_import import loan_book_import

    started = time.perf_counter()
    result = loan_book_import(path_or_file=path, as_of=AS_OF, mode="incremental", user=None)
    seconds = time.perf_counter() - started
    result.close()
    return {
        "seconds": seconds,
        "rows": result.rows,
        "created": result.created,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "errors": result.errors,
    }


def phase_iex(path: str) -> dict:
    _django()
    import tablib

    from bench.iex_resources import CustomerResource, LoanResource

    started = time.perf_counter()
    with open(path, "rb") as handle:
        dataset = tablib.Dataset().load(handle.read(), format="xlsx")
    customers = CustomerResource().import_data(dataset, dry_run=False, raise_errors=True)
    loans = LoanResource().import_data(dataset, dry_run=False, raise_errors=True)
    seconds = time.perf_counter() - started
    from customers.models import Customer, Loan

    return {
        "seconds": seconds,
        "rows": len(dataset),
        "customers": Customer.objects.count(),
        "loans": Loan.objects.count(),
        "errors": int(customers.has_errors()) + int(loans.has_errors()),
    }


def phase_flush() -> dict:
    _django()
    from django.core.management import call_command

    call_command("flush", interactive=False, verbosity=0)
    return {}


PHASES = {"floor": phase_floor, "import": phase_import, "iex": phase_iex}


# --- the run -------------------------------------------------------------------------------------
def run_phase(name: str, path: str, env: dict) -> dict:
    command = [sys.executable, str(Path(__file__).resolve()), "--phase", name, "--file", path]
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"phase {name} failed")
    return json.loads(done.stdout.strip().splitlines()[-1])


def ensure_iex() -> None:
    try:
        import import_export  # noqa: F401
        import tablib  # noqa: F401
    except ImportError:
        requirements = ROOT / "bench" / "requirements.txt"
        print(f"django-import-export is a bench-only requirement: installing {requirements}", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-r", str(requirements)], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument(
        "--format", choices=["xlsx", "csv", "xls"], default="xlsx", help="the file the imports read"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    parser.add_argument("--database-url", default="", help="default: a fresh SQLite file")
    parser.add_argument(
        "--iex-max-rows",
        type=int,
        default=200_000,
        help="skip the django-import-export baseline above this many rows (it takes ~1 ms a row)",
    )
    parser.add_argument("--no-iex", action="store_true", help="skip the django-import-export baseline")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (book and databases)")
    parser.add_argument("--phase", choices=[*PHASES, "flush"], help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.phase:
        sys.path.insert(0, str(ROOT))
        result = phase_flush() if args.phase == "flush" else PHASES[args.phase](args.file)
        result["peak_rss_mb"] = peak_rss_mb()
        print(json.dumps(result))
        return

    work = Path(tempfile.mkdtemp(prefix="import-bench-"))
    book = work / "book.xlsx"
    started = time.perf_counter()
    # Written by a child process: the writer's string table must not inflate this one.
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import datetime, sys; from bench.book import write_book; "
            "write_book(sys.argv[1], int(sys.argv[2]), datetime.date.fromisoformat(sys.argv[3]), title=False)",
            str(book),
            str(args.rows),
            AS_OF.isoformat(),
        ],
        cwd=ROOT,
        check=True,
    )
    print(
        f"book: {args.rows:,} rows, {book.stat().st_size / 1e6:.1f} MB, written in {time.perf_counter() - started:.1f} s"
    )
    imported = book
    if args.format != "xlsx":
        imported = work / f"book.{args.format}"
        writer = "write_csv" if args.format == "csv" else "write_xls"
        subprocess.run(
            [
                sys.executable,
                "-c",
                f"import datetime, sys; from bench.book import {writer}; "
                f"{writer}(sys.argv[1], int(sys.argv[2]), datetime.date.fromisoformat(sys.argv[3]))",
                str(imported),
                str(args.rows),
                AS_OF.isoformat(),
            ],
            cwd=ROOT,
            check=True,
        )
        print(f"as {args.format}: {imported.stat().st_size / 1e6:.1f} MB")

    base_env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "CACHE_URL": "locmemcache://",
        "LOAN_IMPORT_MAX_MB": str(max(300, imported.stat().st_size // 2**20 + 10)),
        "LOAN_IMPORT_MAX_UNCOMPRESSED_MB": str(max(1024, args.rows // 100)),
        "MEDIA_ROOT": str(work / "media"),
        "PYTHONPATH": str(ROOT),
    }

    def database(name: str) -> dict:
        if args.database_url:
            env = {**base_env, "DATABASE_URL": args.database_url}
            subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], env=env, cwd=ROOT, check=True)
            run_phase("flush", str(book), env)
            return env
        template = work / "template.sqlite3"
        if not template.exists():
            env = {**base_env, "DATABASE_URL": f"sqlite:///{template}"}
            subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], env=env, cwd=ROOT, check=True)
            with __import__("sqlite3").connect(template) as con:
                con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        target = work / f"{name}.sqlite3"
        shutil.copy(template, target)
        return {**base_env, "DATABASE_URL": f"sqlite:///{target}"}

    results: dict = {"rows": args.rows, "format": args.format}
    floor = run_phase("floor", str(book), {**base_env, "OPENPYXL_DEFUSEDXML": "False"})
    print(
        f"parse floor (openpyxl read-only, C parser): {floor['seconds']:.2f} s, peak {floor['peak_rss_mb']} MB"
    )
    defused = run_phase("floor", str(book), base_env)
    print(
        f"parse floor (openpyxl as installed, defusedxml): {defused['seconds']:.2f} s, peak {defused['peak_rss_mb']} MB"
    )

    env = database("ours")
    ours = run_phase("import", str(imported), env)
    print(
        f"our import into an empty database: {ours['seconds']:.2f} s, peak {ours['peak_rss_mb']} MB ({ours['created']:,} loans)"
    )
    again = run_phase("import", str(imported), env)
    print(
        f"our re-import of the same file: {again['seconds']:.2f} s, peak {again['peak_rss_mb']} MB ({again['unchanged']:,} unchanged)"
    )
    assert ours["created"] == args.rows and again["unchanged"] == args.rows and again["updated"] == 0

    iex = None
    if args.rows <= args.iex_max_rows and args.format == "xlsx" and not args.no_iex:
        ensure_iex()
        iex = run_phase("iex", str(book), database("iex"))
        print(
            f"django-import-export at its defaults: {iex['seconds']:.2f} s, peak {iex['peak_rss_mb']} MB ({iex['loans']:,} loans)"
        )
        assert iex["loans"] == args.rows
    else:
        print("django-import-export skipped (--no-iex, another format, or above --iex-max-rows)")

    results.update(
        {
            "parse_floor_s": round(floor["seconds"], 2),
            "parse_floor_defused_s": round(defused["seconds"], 2),
            "import_s": round(ours["seconds"], 2),
            "reimport_s": round(again["seconds"], 2),
            "iex_s": round(iex["seconds"], 2) if iex else None,
            "import_ratio": round(ours["seconds"] / floor["seconds"], 2),
            "reimport_ratio": round(again["seconds"] / floor["seconds"], 2),
            "iex_speedup": round(iex["seconds"] / ours["seconds"], 1) if iex else None,
            "peak_rss_mb": max(ours["peak_rss_mb"], again["peak_rss_mb"]),
            "floor_peak_rss_mb": floor["peak_rss_mb"],
            "iex_peak_rss_mb": iex["peak_rss_mb"] if iex else None,
            "database": "postgresql" if args.database_url.startswith("postgres") else "sqlite",
        }
    )
    limit = 400 if args.rows > 100_000 else 250
    targets = TARGETS[args.format]
    checks = [
        (f"{name.split('_')[0]} ≤ {target}× floor", results[name] <= target)
        for name, target in targets.items()
    ]
    checks.append((f"peak memory ≤ {limit} MB", results["peak_rss_mb"] <= limit))
    if iex:
        checks.append(("≥ 8× faster than django-import-export", results["iex_speedup"] >= IEX_SPEEDUP))
    print(
        f"import {results['import_ratio']}× floor · re-import {results['reimport_ratio']}× floor · "
        + (f"{results['iex_speedup']}× faster than django-import-export · " if iex else "")
        + f"peak {results['peak_rss_mb']} MB"
    )
    for label, ok in checks:
        print(f"  {'ok  ' if ok else 'MISS'} {label}")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"kept {work}")
    if args.json:
        print(json.dumps(results))


if __name__ == "__main__":
    main()
