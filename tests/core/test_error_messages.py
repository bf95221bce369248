"""An error people read can carry a message key: its ``detail`` is the English (or the raiser's
language), and it is said in any language on request; a field without a name of its own in the
locale files keeps its code, and fixed-text errors stay as they were."""

from __future__ import annotations

from kefu.core.errors import Conflict, Phrase, ValidationFailed, by_language
from kefu.desk.validation import field_error


def test_a_keyed_error_is_english_by_default_and_said_in_chinese_on_request() -> None:
    e = field_error("subject", "must not be empty", key="empty")
    assert e.detail == "subject: must not be empty"
    assert e.message("zh-CN") == "主题：不能为空"
    assert e.message("en") == e.detail
    # the failing field stays machine-readable
    assert e.problem("/x", "zh-CN")["errors"] == [
        {"field": "subject", "message": "must not be empty"}
    ]


def test_the_raiser_may_know_the_readers_language_and_names_follow_the_language() -> None:
    e = Conflict(
        key="ui.handover_offline",
        params={"agent": by_language("张伟", "Zhang Wei")},
        lang="zh-CN",
        needs_confirm=True,
    )
    assert e.detail.startswith("张伟 当前不在线")
    assert e.message("en").startswith("Zhang Wei is not online")
    assert e.problem("/x", "en")["needs_confirm"] is True


def test_an_unnamed_field_keeps_its_code_and_a_fixed_text_stays() -> None:
    e = ValidationFailed(
        key="errors.field",
        params={"field": Phrase("errors.fields.no_such_field", "no_such_field"), "message": "x"},
    )
    assert e.message("zh-CN") == "no_such_field：x"
    plain = Conflict("this case is read-only")
    assert plain.message("zh-CN") == plain.detail == "this case is read-only"
    # a param may be named like t()'s own arguments
    assert Conflict(key="errors.canned_exists", params={"key": "'faq'"}).message("zh-CN") == (
        "快捷回复 'faq' 已存在"
    )
