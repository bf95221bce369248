"""Every message key a refusal names is in the locale files, in both languages: a key missing
from them would be shown to the reader as the key itself (``quality.errors.…``), or — missing
in English only — an English API client would read Chinese. The sources are read, not run, so
a refusal on a path no test reaches is checked too."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from kefu.core import errors as core_errors
from kefu.core import i18n

SRC = Path(__file__).resolve().parents[2] / "src" / "kefu"

#: the error classes of kefu (a call of one names its message with ``key=``)
ERRORS = {
    name
    for name, obj in vars(core_errors).items()
    if isinstance(obj, type) and issubclass(obj, core_errors.KefuError)
} | {"GuardUnavailable", "NeedsConfirmation", "TimeUp", "PayloadTooLarge"}
#: a literal that looks like a refusal's key wherever it is written
KEY_LIKE = re.compile(r"^(?:[a-z_]+\.)?errors\.[a-z0-9_.]+[a-z0-9_]$")
#: helpers that take a short key and put their prefix before it:
#: (module path or None for any, function name, prefix, where the key is)
SHORT_KEYS: tuple[tuple[str | None, str, str, int | str], ...] = (
    (None, "field_error", "errors.", "key"),
    ("quality/", "_err", "quality.errors.", 2),
    ("customers/kyc.py", "_field", "customers.errors.", 2),
    ("knowledge/store.py", "_refused", "knowledge.errors.", 1),
    # the engines' refusals name their words for the services that raise them
    ("academy/grading.py", "ResponseError", "academy.errors.response_", 1),
    ("customers/suitability_rules.py", "AnswerError", "customers.errors.answer_", 2),
    ("knowledge/calculators.py", "CalcError", "calc.e_", 1),
    ("compliance/guard.py", "GuardInputError", "compliance_review.errors.input_", 1),
)


def _literal(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _name(call: ast.Call) -> str:
    f = call.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""


def keys_named(path: Path) -> set[tuple[str, int]]:
    """The message keys the module's refusals name, with their line."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    rel = path.relative_to(SRC).as_posix()
    found: set[tuple[str, int]] = set()
    in_fstrings = {
        id(v) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for v in node.values
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and id(node) not in in_fstrings:
            text = _literal(node)
            if text and KEY_LIKE.match(text):
                found.add((text, node.lineno))
        if not isinstance(node, ast.Call):
            continue
        name = _name(node)
        kwargs = {k.arg: k.value for k in node.keywords}
        if name in ERRORS and (key := _literal(kwargs.get("key"))):
            found.add((key, node.lineno))
        if name == "Phrase" and node.args and (key := _literal(node.args[0])):
            found.add((key, node.lineno))
        for where, fn, prefix, at in SHORT_KEYS:
            if name != fn or (where is not None and not rel.startswith(where)):
                continue
            arg = kwargs.get(at) if isinstance(at, str) else None
            if isinstance(at, int) and len(node.args) > at:
                arg = node.args[at]
            if (short := _literal(arg)) is not None:
                found.add((prefix + short, node.lineno))
    return found


def all_keys() -> dict[str, list[str]]:
    named: dict[str, list[str]] = {}
    for path in sorted(SRC.rglob("*.py")):
        for key, line in keys_named(path):
            named.setdefault(key, []).append(f"{path.relative_to(SRC)}:{line}")
    return named


def test_the_scan_sees_the_refusals_of_every_context() -> None:
    named = all_keys()
    for prefix in (
        "errors.",
        "aml.errors.",
        "quality.errors.",
        "academy.errors.",
        "market.errors.",
        "knowledge.errors.",
        "customers.errors.",
        "compliance_review.errors.",
        "identity.errors.",
    ):
        assert any(k.startswith(prefix) for k in named), prefix
    # short keys of the helpers are seen with their prefix
    assert "errors.bad_tag" in named and "quality.errors.reason_required" in named
    assert "customers.errors.doc_expired" in named and "knowledge.errors.empty" in named
    assert "academy.errors.response_numeric" in named and "calc.e_positive" in named
    assert "customers.errors.answer_missing" in named


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_every_key_a_refusal_names_is_in_the_locale_files(lang: str) -> None:
    catalog = i18n.catalog(lang)
    # a group named as such (the ``names=`` of field names) counts when it holds keys
    groups = {k.rsplit(".", n)[0] for k in catalog for n in range(1, k.count(".") + 1)}
    missing = {k: where for k, where in all_keys().items() if k not in set(catalog) | groups}
    assert missing == {}, f"keys missing from locales/*/{lang}.yaml"


def test_a_missing_key_is_caught(tmp_path: Path) -> None:
    """The check itself: a module naming a key no locale file has is reported."""
    module = tmp_path / "probe.py"
    module.write_text(
        'raise Conflict(key="quality.errors.no_such_words")\n'
        'raise _err("x", "y", "no_such_short_key")\n',
        encoding="utf-8",
    )
    global SRC
    saved = SRC
    SRC = tmp_path
    try:
        (tmp_path / "quality").mkdir()
        moved = tmp_path / "quality" / "probe.py"
        module.rename(moved)
        named = {k for k, _ in keys_named(moved)}
    finally:
        SRC = saved
    assert named == {"quality.errors.no_such_words", "quality.errors.no_such_short_key"}
    assert not named & set(i18n.catalog("en"))
