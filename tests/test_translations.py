"""Every user-visible string has a Simplified Chinese translation, compiled and current."""

import ast
import gettext
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCE_DIRS = ["config", "core", "customers", "notices", "demo", "templates"]
CATALOGUES = sorted(p for p in ROOT.glob("**/locale/zh_Hans/LC_MESSAGES/django.po") if ".venv" not in p.parts)
TEMPLATE_STRING = re.compile(r"""{%\s*(?:trans|translate)\s+(["'])(.+?)\1""")
GETTEXT_NAMES = {"_", "gettext", "gettext_lazy", "pgettext", "pgettext_lazy", "ngettext", "ngettext_lazy"}


def _unquote(lines: list[str]) -> str:
    return "".join(ast.literal_eval(line) for line in lines)


def parse_po(path: Path) -> list[dict]:
    entries, current, key = [], None, None
    for raw in path.read_text(encoding="utf-8").splitlines() + [""]:
        line = raw.strip()
        if not line:
            if current and "msgid" in current:
                entries.append(current)
            current, key = None, None
            continue
        current = current if current is not None else {"flags": ""}
        if line.startswith("#,"):
            current["flags"] += line
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            current[key].append(line)
        else:
            key, _, rest = line.partition(" ")
            current[key] = [rest]
    result = []
    for entry in entries:
        msgid = _unquote(entry["msgid"])
        if not msgid:
            continue
        strs = [_unquote(v) for k, v in entry.items() if k.startswith("msgstr")]
        context = _unquote(entry["msgctxt"]) if "msgctxt" in entry else None
        result.append(
            {"msgid": msgid, "context": context, "msgstrs": strs, "fuzzy": "fuzzy" in entry["flags"]}
        )
    return result


def all_entries() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in CATALOGUES:
        for entry in parse_po(path):
            found[entry["msgid"]] = entry["msgstrs"]
    return found


def source_strings() -> set[str]:
    strings = set()
    for folder in SOURCE_DIRS:
        for path in (ROOT / folder).rglob("*"):
            if "migrations" in path.parts or "locale" in path.parts:
                continue
            if path.suffix == ".py":
                tree = ast.parse(path.read_text(encoding="utf-8"))
                for node in ast.walk(tree):
                    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                        continue
                    if node.func.id not in GETTEXT_NAMES:
                        continue
                    position = 1 if node.func.id.startswith("pgettext") else 0  # after the context
                    argument = node.args[position] if len(node.args) > position else None
                    if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                        strings.add(argument.value)
            elif path.suffix in {".html", ".txt"}:
                strings.update(m.group(2) for m in TEMPLATE_STRING.finditer(path.read_text(encoding="utf-8")))
    return strings


def test_catalogues_exist():
    assert CATALOGUES


@pytest.mark.parametrize("path", CATALOGUES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_entry_is_translated_and_not_fuzzy(path):
    bad = [e["msgid"] for e in parse_po(path) if e["fuzzy"] or not all(e["msgstrs"])]
    assert bad == [], f"untranslated or fuzzy in {path}: {bad}"


@pytest.mark.parametrize("path", CATALOGUES, ids=lambda p: str(p.relative_to(ROOT)))
def test_compiled_catalogue_is_current(path):
    mo = path.with_suffix(".mo")
    assert mo.exists(), f"run `make messages` to compile {path}"
    with mo.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    stale = [
        e["msgid"]
        for e in parse_po(path)
        if len(e["msgstrs"]) == 1
        and (compiled.pgettext(e["context"], e["msgid"]) if e["context"] else compiled.gettext(e["msgid"]))
        != e["msgstrs"][0]
    ]
    assert stale == [], f"{mo} is older than {path}; run `make messages`"


def test_every_marked_string_in_the_code_is_in_a_catalogue():
    missing = sorted(source_strings() - set(all_entries()))
    assert missing == [], f"run `make messages` and translate: {missing}"
