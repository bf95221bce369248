"""The message catalogs: no key defined twice, none present in one language only."""

from __future__ import annotations

from pathlib import Path

import pytest

from kefu.core import i18n


def test_both_languages_have_the_same_keys() -> None:
    zh, en = set(i18n.catalog("zh-CN")), set(i18n.catalog("en"))
    assert sorted(zh - en) == [], "keys only in zh-CN"
    assert sorted(en - zh) == [], "keys only in en"


def test_the_internal_note_and_the_change_note_are_different_words() -> None:
    # the KB editor's "change note" once reused ui.note, so the desk's internal-note box
    # read 修改说明
    assert i18n.t("ui.note", "zh-CN") == "内部备注"
    assert i18n.t("ui.version_note", "zh-CN") == "修改说明"


def test_a_key_repeated_in_one_file_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = "ui:\n  note: 内部备注\n  note: 修改说明\n"
    (tmp_path / "zh-CN.yaml").write_text(text, encoding="utf-8")
    monkeypatch.setattr(i18n, "_DIR", tmp_path)
    i18n.catalog.cache_clear()
    try:
        with pytest.raises(ValueError, match="line 3: key 'note' defined twice"):
            i18n.catalog("zh-CN")
    finally:
        monkeypatch.undo()
        i18n.catalog.cache_clear()


def test_a_key_defined_in_two_files_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "en.yaml").write_text("quality:\n  title: Quality\n", encoding="utf-8")
    (tmp_path / "quality").mkdir()
    (tmp_path / "quality" / "en.yaml").write_text("quality:\n  title: QA\n", encoding="utf-8")
    monkeypatch.setattr(i18n, "_DIR", tmp_path)
    i18n.catalog.cache_clear()
    try:
        with pytest.raises(ValueError, match=r"quality\.title"):
            i18n.catalog("en")
    finally:
        monkeypatch.undo()
        i18n.catalog.cache_clear()
