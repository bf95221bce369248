"""The academy's part of content/ (``KEFU_CONTENT_DIR``, default the repository's), read into
plain data: courses and their lessons, GIFT question banks (zh and en aligned by title), role-play
personas and programmes. Errors name the file and the field. Loading into the database is
``catalogue.sync``; this module only reads and checks files (see docs/academy.md)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kefu.academy import gift
from kefu.academy.roleplay import Persona, PersonaError, parse_persona
from kefu.core.config import get_settings

EN_MARK = "<!-- en -->"
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]*")
STEP_KINDS = ("course", "lesson", "quiz", "roleplay")


class ContentError(ValueError):
    """A malformed academy file, naming the file and the field."""


def academy_dir(folder: Path | None = None) -> Path:
    return folder if folder is not None else get_settings().content_dir / "academy"


@dataclass(frozen=True)
class LessonSpec:
    slug: str
    data: dict[str, Any]  # title, minutes, kb, objectives, body_zh, body_en


@dataclass(frozen=True)
class CourseSpec:
    slug: str
    order: int
    bank: str
    data: dict[str, Any]  # title, summary, audience, minutes, pass_mark, quiz
    lessons: tuple[LessonSpec, ...]


@dataclass(frozen=True)
class BankSpec:
    name: str
    #: (zh, en) per question, aligned by title, in file order
    questions: tuple[tuple[gift.Question, gift.Question], ...]


@dataclass(frozen=True)
class ProgrammeSpec:
    slug: str
    data: dict[str, Any]


@dataclass
class Catalogue:
    courses: list[CourseSpec] = field(default_factory=list)
    banks: list[BankSpec] = field(default_factory=list)
    personas: list[tuple[Persona, dict[str, Any]]] = field(default_factory=list)
    programmes: list[ProgrammeSpec] = field(default_factory=list)


def _yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ContentError(f"{path}: not valid YAML ({exc})") from exc


def _text(raw: Any, where: str) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise ContentError(f"{where}: needs {{zh: …, en: …}}")
    out = {}
    for lg in ("zh", "en"):
        v = raw.get(lg)
        if not isinstance(v, str) or not v.strip():
            raise ContentError(f"{where}.{lg}: missing or empty")
        out[lg] = v.strip()
    return out


def _int(raw: Any, where: str, lo: int, hi: int) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or not lo <= raw <= hi:
        raise ContentError(f"{where}: needs a whole number in {lo}…{hi} (got {raw!r})")
    return raw


def parse_lesson(text: str, slug: str, where: str) -> LessonSpec:
    if not text.startswith("---"):
        raise ContentError(f"{where}: no YAML front matter (the file must start with ---)")
    try:
        _, front, body = text.split("---", 2)
        meta = yaml.safe_load(front) or {}
    except (ValueError, yaml.YAMLError) as exc:
        raise ContentError(f"{where}: front matter is not valid YAML ({exc})") from exc
    if not isinstance(meta, dict):
        raise ContentError(f"{where}: the front matter must be a mapping")
    if EN_MARK not in body:
        raise ContentError(f"{where}: the body needs the line {EN_MARK} between zh and en")
    zh, en = (part.strip() for part in body.split(EN_MARK, 1))
    if not zh or not en:
        raise ContentError(f"{where}: the {'zh' if not zh else 'en'} body is empty")
    kb = meta.get("kb") or []
    if not isinstance(kb, list) or not all(isinstance(k, str) for k in kb):
        raise ContentError(f"{where}: kb: needs a list of article slugs")
    objectives = meta.get("objectives") or {"zh": [], "en": []}
    if not isinstance(objectives, dict) or not all(
        isinstance(objectives.get(lg, []), list) for lg in ("zh", "en")
    ):
        raise ContentError(f"{where}: objectives: needs {{zh: [...], en: [...]}}")
    return LessonSpec(
        slug=slug,
        data={
            "title": _text(meta.get("title"), f"{where}: title"),
            "minutes": _int(meta.get("minutes", 0), f"{where}: minutes", 0, 600),
            "kb": list(kb),
            "objectives": {lg: [str(o) for o in objectives.get(lg, [])] for lg in ("zh", "en")},
            "body_zh": zh,
            "body_en": en,
        },
    )


def quiz_settings(raw: Any, where: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ContentError(f"{where}: needs {{questions: …, minutes: …, attempts: …}}")
    per = raw.get("per_category") or {}
    if not isinstance(per, dict):
        raise ContentError(f"{where}.per_category: needs category: count")
    return {
        "questions": _int(raw.get("questions"), f"{where}.questions", 1, 200),
        "minutes": _int(raw.get("minutes"), f"{where}.minutes", 1, 600),
        "attempts": _int(raw.get("attempts"), f"{where}.attempts", 1, 100),
        "per_category": {
            str(k): _int(v, f"{where}.per_category.{k}", 0, 200) for k, v in per.items()
        },
    }


def read_course(folder: Path) -> CourseSpec:
    path = folder / "course.yaml"
    meta = _yaml(path)
    if not isinstance(meta, dict):
        raise ContentError(f"{path}: must hold a mapping")
    for key in ("slug", "order", "title", "summary", "bank", "pass_mark", "quiz", "lessons"):
        if key not in meta:
            raise ContentError(f"{path}: {key}: missing")
    slug = str(meta["slug"])
    if slug != folder.name:
        raise ContentError(f"{path}: slug: {slug!r} differs from the folder name {folder.name!r}")
    lesson_names = meta["lessons"]
    if not isinstance(lesson_names, list) or not lesson_names:
        raise ContentError(f"{path}: lessons: needs the lesson file stems in order")
    lessons = []
    for stem in lesson_names:
        lpath = folder / "lessons" / f"{stem}.md"
        if not lpath.is_file():
            raise ContentError(f"{path}: lessons: {stem!r} has no file {lpath.name}")
        lslug = re.sub(r"^\d+-", "", str(stem))
        lessons.append(parse_lesson(lpath.read_text(encoding="utf-8"), str(stem), str(lpath)))
        if not _SLUG.fullmatch(lslug):
            raise ContentError(f"{lpath}: the file name must be <NN>-<slug>.md")
    data = {
        "title": _text(meta["title"], f"{path}: title"),
        "summary": _text(meta["summary"], f"{path}: summary"),
        "audience": _text(meta["audience"], f"{path}: audience")
        if "audience" in meta
        else {"zh": "", "en": ""},
        "minutes": _int(meta.get("minutes", 0), f"{path}: minutes", 0, 10_000),
        "pass_mark": _int(meta["pass_mark"], f"{path}: pass_mark", 0, 100),
        "quiz": quiz_settings(meta["quiz"], f"{path}: quiz"),
    }
    return CourseSpec(
        slug=slug,
        order=_int(meta["order"], f"{path}: order", 0, 10_000),
        bank=str(meta["bank"]),
        data=data,
        lessons=tuple(lessons),
    )


def align_bank(name: str, zh: list[gift.Question], en: list[gift.Question]) -> BankSpec:
    """Pairs the zh and en questions by title; they must agree in type, answer count, weights
    and numeric values (only the words differ)."""
    where = f"bank {name}"
    for lg, qs in (("zh", zh), ("en", en)):
        untitled = next((q for q in qs if not q.title), None)
        if untitled is not None:
            raise ContentError(
                f"{where}.{lg}.gift line {untitled.line}: the question has no ::title::"
            )
    by_en = {q.title: q for q in en}
    missing = [q.title for q in zh if q.title not in by_en]
    extra = sorted(set(by_en) - {q.title for q in zh})
    if missing or extra:
        raise ContentError(
            f"{where}: titles differ between languages "
            f"(only zh: {missing[:5]}, only en: {extra[:5]})"
        )
    pairs = []
    for a in zh:
        b = by_en[a.title]
        w = f"{where}: {a.title}"
        if a.kind != b.kind:
            raise ContentError(f"{w}: zh is {a.kind}, en is {b.kind}")
        if a.kind == "short":
            pass  # each language accepts its own spellings; the two lists may differ in length
        elif len(a.answers) != len(b.answers):
            raise ContentError(f"{w}: zh has {len(a.answers)} answers, en {len(b.answers)}")
        pairs_ab = [] if a.kind == "short" else list(zip(a.answers, b.answers, strict=True))
        for i, (x, y) in enumerate(pairs_ab):
            if (x.weight, x.value, x.tolerance, x.low, x.high) != (
                y.weight,
                y.value,
                y.tolerance,
                y.low,
                y.high,
            ):
                raise ContentError(f"{w}: answer {i + 1} has different weights or values")
        if a.truth != b.truth:
            raise ContentError(f"{w}: the true/false answer differs between languages")
        pairs.append((a, b))
    return BankSpec(name=name, questions=tuple(pairs))


def read_bank(folder: Path, name: str) -> BankSpec:
    parsed = {}
    for lg in ("zh", "en"):
        path = folder / f"{name}.{lg}.gift"
        if not path.is_file():
            raise ContentError(f"bank {name}: {path.name} is missing")
        try:
            parsed[lg] = gift.parse(path.read_text(encoding="utf-8"))
        except gift.GiftError as exc:
            raise ContentError(f"{path}: {exc}") from exc
    return align_bank(name, parsed["zh"], parsed["en"])


def read_persona(path: Path) -> tuple[Persona, dict[str, Any]]:
    raw = _yaml(path)
    try:
        persona = parse_persona(raw, str(path))
    except PersonaError as exc:
        raise ContentError(str(exc)) from exc
    if persona.slug != path.stem:
        raise ContentError(f"{path}: slug: {persona.slug!r} differs from the file name")
    return persona, _jsonable(raw)


def _jsonable(raw: Any) -> Any:
    """YAML as JSON: the bare key ``on`` (read as true by YAML 1.1) is written back as "on"."""
    if isinstance(raw, dict):
        return {("on" if k is True else str(k)): _jsonable(v) for k, v in raw.items()}
    if isinstance(raw, list):
        return [_jsonable(v) for v in raw]
    return raw


def parse_programmes(raw: Any, where: str) -> list[ProgrammeSpec]:
    if not isinstance(raw, dict) or not isinstance(raw.get("programmes"), list):
        raise ContentError(f"{where}: needs programmes: [...]")
    out = []
    for i, p in enumerate(raw["programmes"]):
        w = f"{where}: programmes[{i}]"
        if not isinstance(p, dict):
            raise ContentError(f"{w}: needs a mapping")
        slug = str(p.get("slug", ""))
        if not _SLUG.fullmatch(slug):
            raise ContentError(f"{w}.slug: {slug!r} must be lowercase letters, digits, hyphens")
        steps = p.get("steps")
        if not isinstance(steps, list) or not steps:
            raise ContentError(f"{w}.steps: needs a list of steps")
        clean = []
        for j, s in enumerate(steps):
            sw = f"{w}.steps[{j}]"
            kinds = [k for k in STEP_KINDS if isinstance(s, dict) and k in s]
            if len(kinds) != 1:
                raise ContentError(f"{sw}: needs exactly one of {', '.join(STEP_KINDS)}")
            kind = kinds[0]
            step: dict[str, Any] = {"kind": kind, "ref": str(s[kind])}
            if "pass_mark" in s:
                step["pass_mark"] = _int(s["pass_mark"], f"{sw}.pass_mark", 0, 100)
            clean.append(step)
        audience = p.get("audience", "trainees")
        if audience not in ("trainees", "agents"):
            raise ContentError(f"{w}.audience: trainees or agents (got {audience!r})")
        out.append(
            ProgrammeSpec(
                slug=slug,
                data={
                    "title": _text(p.get("title"), f"{w}.title"),
                    "summary": _text(p.get("summary"), f"{w}.summary"),
                    "audience": audience,
                    "deadline_days": _int(p.get("deadline_days"), f"{w}.deadline_days", 1, 3650),
                    "valid_days": _int(p.get("valid_days"), f"{w}.valid_days", 1, 3650),
                    "steps": clean,
                },
            )
        )
    return out


def read(folder: Path | None = None) -> Catalogue:
    """Everything under ``academy/`` (missing sub-folders are simply empty)."""
    root = academy_dir(folder)
    cat = Catalogue()
    courses_dir, banks_dir = root / "courses", root / "banks"
    if courses_dir.is_dir():
        for sub in sorted(p for p in courses_dir.iterdir() if p.is_dir()):
            cat.courses.append(read_course(sub))
    names = set()
    if banks_dir.is_dir():
        names = {p.name.split(".")[0] for p in banks_dir.glob("*.gift")}
    for course in cat.courses:
        if course.bank not in names:
            raise ContentError(f"course {course.slug}: bank: no banks/{course.bank}.zh.gift")
    cat.banks = [read_bank(banks_dir, n) for n in sorted(names)]
    personas_dir = root / "personas"
    if personas_dir.is_dir():
        cat.personas = [read_persona(p) for p in sorted(personas_dir.glob("*.yaml"))]
    prog = root / "programmes.yaml"
    if prog.is_file():
        cat.programmes = parse_programmes(_yaml(prog), str(prog))
    _check_steps(cat)
    return cat


def _check_steps(cat: Catalogue) -> None:
    courses = {c.slug: c for c in cat.courses}
    personas = {p.slug for p, _ in cat.personas}
    for prog in cat.programmes:
        for i, s in enumerate(prog.data["steps"]):
            where = f"programmes.yaml: {prog.slug}.steps[{i}]"
            ref = s["ref"]
            if s["kind"] in ("course", "quiz") and ref not in courses:
                raise ContentError(f"{where}: no course {ref!r}")
            if s["kind"] == "lesson":
                course, _, lesson = ref.partition("/")
                if course not in courses or lesson not in {x.slug for x in courses[course].lessons}:
                    raise ContentError(f"{where}: no lesson {ref!r} (course/lesson-file-stem)")
            if s["kind"] == "roleplay" and ref not in personas:
                raise ContentError(f"{where}: no persona {ref!r}")
