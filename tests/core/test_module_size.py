"""No module over 500 lines without a reason written at its top (issue 10): a module of
src/kefu longer than that starts its docstring with a ``Size:`` line saying why it is one
thing, or it is split by topic."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "kefu"
LIMIT = 500
#: the first line of the module docstring: "Size: " and the reason (a few words at least)
REASON = re.compile(r"Size: \S.{15,}")

#: modules allowed over the limit without a reason while a split is under way (none today); a
#: test below fails when an entry here is no longer long or already has its reason
ALLOWED_FOR_NOW: frozenset[str] = frozenset()


def line_count(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def size_reason(path: Path) -> str | None:
    """The reason on the first line of the module docstring (``Size: …``), else None."""
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")), clean=True)
    first = doc.splitlines()[0].strip() if doc else ""
    return first if REASON.fullmatch(first) else None


def offenders(root: Path, allowed: frozenset[str] = frozenset()) -> list[str]:
    """Every module under ``root`` over the limit without a ``Size:`` reason, as a path relative
    to ``root`` with its length."""
    out = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        n = line_count(path)
        if n > LIMIT and rel not in allowed and size_reason(path) is None:
            out.append(f"{rel} ({n} lines)")
    return out


def test_every_long_module_gives_its_reason_at_the_top() -> None:
    missing = offenders(SRC, ALLOWED_FOR_NOW)
    assert not missing, (
        f"modules over {LIMIT} lines without a reason: split them by topic, or start the module "
        f'docstring with a line "Size: <why this module is one thing>": ' + ", ".join(missing)
    )


def test_the_allow_list_names_only_long_modules_without_a_reason() -> None:
    stale = [
        rel
        for rel in sorted(ALLOWED_FOR_NOW)
        if not (SRC / rel).exists()
        or line_count(SRC / rel) <= LIMIT
        or size_reason(SRC / rel) is not None
    ]
    assert not stale, f"remove from ALLOWED_FOR_NOW (split or reasoned now): {', '.join(stale)}"


@pytest.mark.parametrize(
    ("docstring", "flagged"),
    [
        (None, True),
        ('"""A long module."""', True),
        ('"""A long module.\n\nSize: one engine whose parts share one state."""', True),
        ('"""Size:"""', True),
        ('"""Size: one engine whose parts share one state.\n\nWhat it does."""', False),
        ('"""Size: one engine whose parts share one state\nand one cache.\n\nMore."""', False),
    ],
)
def test_the_check_names_a_long_module_without_a_size_line(
    tmp_path: Path, docstring: str | None, flagged: bool
) -> None:
    body = "\n".join(f"x{i} = {i}" for i in range(LIMIT + 1))
    (tmp_path / "pkg").mkdir()
    long = tmp_path / "pkg" / "long.py"
    long.write_text(f"{docstring or ''}\n{body}\n", encoding="utf-8")
    (tmp_path / "pkg" / "short.py").write_text("x = 1\n", encoding="utf-8")
    expected = [f"pkg/long.py ({line_count(long)} lines)"] if flagged else []
    assert offenders(tmp_path) == expected
    assert offenders(tmp_path, frozenset({"pkg/long.py"})) == []
