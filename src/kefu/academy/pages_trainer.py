"""The /academy console for trainers: question banks (GIFT import and export, question edits,
item statistics), the course and lesson editor, essay grading, progress per trainee and
cohort, and mentor assignment."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from kefu.academy import catalogue, programmes, quizzes, updates
from kefu.academy.pages_common import _gate, _lg, _post
from kefu.core import i18n
from kefu.core.db import utcnow
from kefu.core.http import (
    DbSession,
    Id,
    OptionalCaller,
    language,
    render,
)
from kefu.core.security import User, can

router = APIRouter(include_in_schema=False)


# --- trainers -------------------------------------------------------------------------------------


@router.get("/academy/teach", response_class=HTMLResponse)
def teach_home(request: Request, caller: OptionalCaller, db: DbSession) -> Response:
    c = _gate(request, caller, "academy.teach")
    if isinstance(c, Response):
        return c
    return render(
        request,
        "academy/teach.html",
        c,
        area="academy",
        lg=_lg(request),
        banks=catalogue.list_banks(db),
        courses=catalogue.courses(db),
        essays=quizzes.pending_essays(db, viewer=c.user),
        flash=request.query_params.get("flash"),
        flash_kind=request.query_params.get("kind", "ok"),
    )


@router.post("/academy/teach/banks")
def bank_import(
    request: Request,
    caller: OptionalCaller,
    db: DbSession,
    bank: str = Form("", max_length=80),
    gift_zh: str = Form("", max_length=500_000),
    gift_en: str = Form("", max_length=500_000),
    csrf: str = Form(""),
) -> Response:
    def run(user: User) -> str:
        report = catalogue.import_gift(
            db,
            actor=user,
            text=gift_zh,
            bank=bank.strip(),
            text_en=gift_en if gift_en.strip() else None,
        )
        msg = (
            f"{len(report.created)} new, {len(report.updated)} updated, "
            f"{report.unchanged} unchanged"
        )
        return f"/academy/teach/banks/{bank.strip()}?" + urlencode({"flash": msg})

    return _post(request, caller, db, csrf, "academy.teach", "/academy/teach", run)


@router.get("/academy/teach/banks/{name}", response_class=HTMLResponse)
def bank_page(request: Request, caller: OptionalCaller, db: DbSession, name: str) -> Response:
    c = _gate(request, caller, "academy.teach")
    if isinstance(c, Response):
        return c
    catalogue.get_bank(db, name)
    zh = catalogue.bank_questions(db, name, "zh")
    en = {q.title: q for q in catalogue.bank_questions(db, name, "en")}
    from kefu.academy import gift

    rows = [
        {
            "q": q,
            "gift_zh": gift.write_question(q),
            "gift_en": gift.write_question(en[q.title]) if q.title in en else "",
        }
        for q in zh
    ]
    return render(
        request,
        "academy/bank.html",
        c,
        area="academy",
        lg=_lg(request),
        bank=name,
        rows=rows,
        flash=request.query_params.get("flash"),
        flash_kind=request.query_params.get("kind", "ok"),
    )


@router.get("/academy/teach/banks/{name}/export")
def bank_export(
    request: Request,
    caller: OptionalCaller,
    db: DbSession,
    name: str,
    fmt: str = Query("gift", pattern="^(gift|moodle)$"),
    lang: str = Query("zh", pattern="^(zh|en)$"),
) -> Response:
    c = _gate(request, caller, "academy.teach")
    if isinstance(c, Response):
        return c
    if fmt == "moodle":
        body, media, ext = catalogue.export_moodle(db, name, lang), "application/xml", "xml"
    else:
        body, media, ext = (
            catalogue.export_gift(db, name, lang),
            "text/plain; charset=utf-8",
            "gift",
        )
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{name}.{lang}.{ext}"'},
    )


@router.post("/academy/teach/banks/{name}/questions/{question}")
def question_edit(
    request: Request,
    caller: OptionalCaller,
    db: DbSession,
    name: str,
    question: str,
    gift_zh: str = Form("", max_length=50_000),
    gift_en: str = Form("", max_length=50_000),
    csrf: str = Form(""),
) -> Response:
    back = f"/academy/teach/banks/{name}"

    def run(user: User) -> str:
        row = catalogue.edit_question(
            db, actor=user, bank=name, key=question, gift_zh=gift_zh, gift_en=gift_en
        )
        return f"{back}?" + urlencode({"flash": f"{question}: v{row.version}"}) + f"#{question}"

    return _post(request, caller, db, csrf, "academy.teach", back, run)


@router.get("/academy/teach/courses/{course}", response_class=HTMLResponse)
def course_edit_page(
    request: Request, caller: OptionalCaller, db: DbSession, course: str
) -> Response:
    c = _gate(request, caller, "academy.teach")
    if isinstance(c, Response):
        return c
    row = catalogue.get_course(db, course) if course != "new" else None
    lessons = catalogue.lessons_of(db, row.id) if row else []
    stats = quizzes.item_statistics(db, viewer=c.user, course=course) if row else ([], None)
    return render(
        request,
        "academy/course_edit.html",
        c,
        area="academy",
        lg=_lg(request),
        course=row,
        bank=catalogue.bank_name(db, row.bank_id) if row and row.bank_id else "",
        banks=catalogue.list_banks(db),
        lessons=lessons,
        items=stats[0],
        quiz=stats[1],
        chart={
            "labels": [
                i18n.t("academy.facility", language(request)),
                i18n.t("academy.discrimination", language(request)),
            ],
            "keys": [i.key for i in stats[0]],
            "facility": [round(i.facility, 1) for i in stats[0]],
            "discrimination": [
                None if i.discrimination is None else round(i.discrimination, 3) for i in stats[0]
            ],
        },
        flash=request.query_params.get("flash"),
        flash_kind=request.query_params.get("kind", "ok"),
    )


def _int(value: str, default: int = -1) -> int:
    try:
        return int(value)
    except ValueError:
        return default


@router.post("/academy/teach/courses/{course}")
def course_save(
    request: Request,
    caller: OptionalCaller,
    db: DbSession,
    course: str,
    slug: str = Form("", max_length=80),
    title_zh: str = Form("", max_length=200),
    title_en: str = Form("", max_length=200),
    summary_zh: str = Form("", max_length=2000),
    summary_en: str = Form("", max_length=2000),
    bank: str = Form("", max_length=80),
    pass_mark: str = Form(""),
    questions: str = Form(""),
    minutes: str = Form(""),
    attempts: str = Form(""),
    csrf: str = Form(""),
) -> Response:
    back = f"/academy/teach/courses/{course}"

    def run(user: User) -> str:
        row = catalogue.save_course(
            db,
            actor=user,
            slug=course if course != "new" else slug.strip(),
            title_zh=title_zh,
            title_en=title_en,
            summary_zh=summary_zh,
            summary_en=summary_en,
            bank=bank.strip(),
            pass_mark=_int(pass_mark),
            questions=_int(questions),
            minutes=_int(minutes),
            attempts=_int(attempts),
        )
        return f"/academy/teach/courses/{row.slug}?" + urlencode({"flash": f"v{row.version}"})

    return _post(request, caller, db, csrf, "academy.teach", back, run)


@router.get("/academy/teach/courses/{course}/lessons/{lesson}", response_class=HTMLResponse)
def lesson_edit_page(
    request: Request, caller: OptionalCaller, db: DbSession, course: str, lesson: str
) -> Response:
    c = _gate(request, caller, "academy.teach")
    if isinstance(c, Response):
        return c
    course_row = catalogue.get_course(db, course)
    row = catalogue.get_lesson(db, course, lesson) if lesson != "new" else None
    return render(
        request,
        "academy/lesson_edit.html",
        c,
        area="academy",
        lg=_lg(request),
        course=course_row,
        row=row,
        versions=catalogue.lesson_versions(db, row.id) if row else [],
        flash=request.query_params.get("flash"),
        flash_kind=request.query_params.get("kind", "ok"),
    )


@router.post("/academy/teach/courses/{course}/lessons/{lesson}")
def lesson_save(
    request: Request,
    caller: OptionalCaller,
    db: DbSession,
    course: str,
    lesson: str,
    slug: str = Form("", max_length=120),
    title_zh: str = Form("", max_length=200),
    title_en: str = Form("", max_length=200),
    body_zh: str = Form("", max_length=50_000),
    body_en: str = Form("", max_length=50_000),
    minutes: str = Form("0"),
    kb: str = Form("", max_length=2000),
    note: str = Form("", max_length=200),
    csrf: str = Form(""),
) -> Response:
    back = f"/academy/teach/courses/{course}/lessons/{lesson}"

    def run(user: User) -> str:
        row = catalogue.save_lesson(
            db,
            actor=user,
            course=course,
            slug=lesson if lesson != "new" else slug.strip(),
            title_zh=title_zh,
            title_en=title_en,
            body_zh=body_zh,
            body_en=body_en,
            minutes=_int(minutes),
            kb=[k for k in kb.replace("，", ",").split(",")],
            note=note,
        )
        return f"/academy/teach/courses/{course}/lessons/{row.slug}?" + urlencode(
            {"flash": f"v{row.version}"}
        )

    return _post(request, caller, db, csrf, "academy.teach", back, run)


@router.post("/academy/teach/essays/{item_id}")
def essay_grade(
    request: Request,
    caller: OptionalCaller,
    db: DbSession,
    item_id: Id,
    points: str = Form(""),
    out_of: str = Form("4"),
    comment: str = Form("", max_length=4000),
    csrf: str = Form(""),
) -> Response:
    def run(user: User) -> str:
        try:
            p, o = Decimal(points), Decimal(out_of)
        except InvalidOperation:
            from kefu.core.errors import ValidationFailed

            raise ValidationFailed(
                key="academy.errors.points_number", fields=[{"field": "points"}]
            ) from None
        quizzes.grade_essay(db, actor=user, item_id=item_id, points=p, out_of=o, comment=comment)
        return "/academy/teach?" + urlencode({"flash": "✓"})

    return _post(request, caller, db, csrf, "academy.teach", "/academy/teach", run)


@router.get("/academy/teach/trainees", response_class=HTMLResponse)
def trainees_page(request: Request, caller: OptionalCaller, db: DbSession) -> Response:
    c = _gate(request, caller, "academy.progress")
    if isinstance(c, Response):
        return c
    rows = programmes.trainees(db, viewer=c.user)
    return render(
        request,
        "academy/trainees.html",
        c,
        area="academy",
        lg=_lg(request),
        rows=rows,
        cohort=programmes.cohort_summary(rows),
        programmes=programmes.programmes(db),
        mentors=programmes.mentor_candidates(db),
        updates=updates.completion(db, viewer=c.user),
        can_teach=can(c.user, "academy.teach"),
        now=utcnow(),
        flash=request.query_params.get("flash"),
        flash_kind=request.query_params.get("kind", "ok"),
    )


@router.post("/academy/teach/mentors")
def mentor_assign(
    request: Request,
    caller: OptionalCaller,
    db: DbSession,
    trainee_id: int = Form(0, ge=0, le=2**31 - 1),
    mentor_id: int = Form(0, ge=0, le=2**31 - 1),
    csrf: str = Form(""),
) -> Response:
    def run(user: User) -> str:
        programmes.assign_mentor(db, actor=user, trainee_id=trainee_id, mentor_id=mentor_id)
        return "/academy/teach/trainees"

    return _post(request, caller, db, csrf, "academy.teach", "/academy/teach/trainees", run)
