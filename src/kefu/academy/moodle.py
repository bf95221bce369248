"""Moodle XML export of GIFT questions (pure): the parsed questions of :mod:`kefu.academy.gift`
as a Moodle XML quiz file, each type with its Moodle element, categories as ``$course$/…``."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from decimal import Decimal

from kefu.academy.gift import Question, _num

_XML_TYPES = {
    "single": "multichoice",
    "multiple": "multichoice",
    "truefalse": "truefalse",
    "short": "shortanswer",
    "numeric": "numerical",
    "matching": "matching",
    "essay": "essay",
    "description": "description",
}


def _text_el(parent: ET.Element, tag: str, text: str, fmt: str | None = None) -> ET.Element:
    el = ET.SubElement(parent, tag)
    if fmt:
        el.set("format", fmt)
    ET.SubElement(el, "text").text = text
    return el


def _fraction(w: Decimal) -> str:
    return _num(w.normalize()) if w else "0"


def moodle_xml(questions: Iterable[Question]) -> str:
    """The questions as a Moodle XML quiz file (categories as ``$course$/…`` questions)."""
    root = ET.Element("quiz")
    category: str | None = None
    for q in questions:
        if q.category and q.category != category:
            cat = ET.SubElement(root, "question", type="category")
            _text_el(cat, "category", f"$course$/{q.category}")
        category = q.category
        el = ET.SubElement(root, "question", type=_XML_TYPES[q.kind])
        _text_el(el, "name", q.title or q.text[:60])
        fmt = {"moodle": "moodle_auto_format"}.get(q.fmt, q.fmt)
        _text_el(
            el, "questiontext", q.text + (f" _____ {q.text_after}" if q.text_after else ""), fmt
        )
        _text_el(el, "generalfeedback", q.general_feedback, fmt)
        ET.SubElement(el, "defaultgrade").text = "1"
        if q.kind in ("single", "multiple"):
            ET.SubElement(el, "single").text = "true" if q.kind == "single" else "false"
            ET.SubElement(el, "shuffleanswers").text = "true"
            ET.SubElement(el, "answernumbering").text = "abc"
        if q.kind == "truefalse":
            for value, name in ((True, "true"), (False, "false")):
                right = value == q.truth
                ans = ET.SubElement(el, "answer", fraction="100" if right else "0")
                ET.SubElement(ans, "text").text = name
                _text_el(ans, "feedback", q.feedback_right if right else q.feedback_wrong)
        elif q.kind == "matching":
            ET.SubElement(el, "shuffleanswers").text = "true"
            for a in q.answers:
                sub = _text_el(el, "subquestion", a.text, fmt)
                ans = ET.SubElement(sub, "answer")
                ET.SubElement(ans, "text").text = a.match or ""
        elif q.kind == "numeric":
            for a in q.answers:
                if a.low is not None and a.high is not None:
                    mid, tol = (a.low + a.high) / 2, (a.high - a.low) / 2
                else:
                    mid, tol = a.value or Decimal(0), a.tolerance or Decimal(0)
                ans = ET.SubElement(el, "answer", fraction=_fraction(a.weight))
                ET.SubElement(ans, "text").text = _num(mid.normalize())
                ET.SubElement(ans, "tolerance").text = _num(tol.normalize())
                _text_el(ans, "feedback", a.feedback)
        elif q.kind == "essay":
            ET.SubElement(el, "responseformat").text = "editor"
            ET.SubElement(el, "responsefieldlines").text = "15"
            _text_el(el, "graderinfo", q.general_feedback, fmt)
        else:
            if q.kind == "short":
                ET.SubElement(el, "usecase").text = "0"
            for a in q.answers:
                ans = ET.SubElement(el, "answer", fraction=_fraction(a.weight), format=fmt)
                ET.SubElement(ans, "text").text = a.text
                _text_el(ans, "feedback", a.feedback)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
