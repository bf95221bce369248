"""The /academy console: the trainee's courses, lessons, quizzes (with the server's timer),
role-play, programmes and certificates; the trainer's question banks, course and lesson editor,
item statistics, essay grading, progress per trainee and cohort and mentor assignment; the
public certificate verification. Each form post calls one action and redirects back."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from kefu.academy import catalogue, programmes, quizzes, roleplays, updates
from kefu.core.db import utcnow
from kefu.core.errors import KefuError, NotFound
from kefu.core.http import (
    Caller,
    DbSession,
    Id,
    OptionalCaller,
    check_form_csrf,
    fragment,
    language,
    login_redirect,
    render,
)
from kefu.core.security import User, can, require

router = APIRouter(include_in_schema=False)


async def _form(request: Request) -> FormData:
    return await request.form()


FormDep = Annotated[FormData, Depends(_form)]


def _gate(request: Request, caller: Caller | None, permission: str) -> Caller | Response:
    if caller is None:
        return login_redirect(request)
    require(caller.user, permission)
    return caller


def _back(url: str, message: str = "", kind: str = "ok") -> RedirectResponse:
    if message:
        sep = "&" if "?" in url else "?"
        url = f"{url}{sep}" + urlencode({"flash": message, "kind": kind})
    return RedirectResponse(url, status_code=303)


def _post(
    request: Request,
    caller: Caller | None,
    db: Session,
    csrf: str,
    permission: str,
    back: str,
    fn: Callable[[User], str],
) -> Response:
    """A console form: role and CSRF checks, then ``fn(user)`` (one action) whose answer is the
    URL to go to; a refusal is flashed back on ``back`` and nothing is written."""
    c = _gate(request, caller, permission)
    if isinstance(c, Response):
        return c
    check_form_csrf(c, csrf)
    try:
        target = fn(c.user)
    except NotFound:
        raise
    except KefuError as exc:
        db.rollback()
        return _back(back, exc.detail, "error")
    return RedirectResponse(target, status_code=303)


def _lg(request: Request) -> str:
    return "en" if language(request) == "en" else "zh"


# --- the trainee's academy ----------------------------------------------------------------------


@router.get("/academy", response_class=HTMLResponse)
def home(request: Request, caller: OptionalCaller, db: DbSession) -> Response:
    c = _gate(request, caller, "academy.learn")
    if isinstance(c, Response):
        return c
    user = c.user
    courses = catalogue.courses(db)
    done = programmes.lessons_done(db, user.id)
    lg = _lg(request)
    personas = catalogue.personas(db)
    course_rows = []
    titles: dict[str, str] = {}
    for course in courses:
        lessons = catalogue.lessons_of(db, course.id)
        titles[course.slug] = course.data["title"][lg]
        titles.update({f"{course.slug}/{x.slug}": x.data["title"][lg] for x in lessons})
        course_rows.append(
            {
                "course": course,
                "lessons": len(lessons),
                "read": sum(1 for x in lessons if x.id in done),
                "best": quizzes.best_score(db, user_id=user.id, course_id=course.id),
            }
        )
    return render(
        request,
        "academy/home.html",
        c,
        area="academy",
        lg=lg,
        titles=titles,
        courses=course_rows,
        progress=programmes.my_progress(db, viewer=user),
        personas=personas,
        persona_titles={p.slug: p.title(lg) for _, p in personas},
        runs=roleplays.runs_of(db, viewer=user)[:10],
        attempts=quizzes.attempts_of(db, viewer=user)[:10],
        certificates=programmes.certificates_of(db, user.id),
        pending=updates.pending_for(db, viewer=user),
        can_teach=can(user, "academy.teach"),
        mentees=[
            (
                m,
                roleplays.runs_of(db, viewer=user, user_id=m.id)[:5],
                quizzes.attempts_of(db, viewer=user, user_id=m.id)[:5],
            )
            for m in programmes.mentees(db, viewer=user)
        ],
        flash=request.query_params.get("flash"),
        flash_kind=request.query_params.get("kind", "ok"),
    )


@router.get("/academy/courses/{course}", response_class=HTMLResponse)
def course_page(request: Request, caller: OptionalCaller, db: DbSession, course: str) -> Response:
    c = _gate(request, caller, "academy.learn")
    if isinstance(c, Response):
        return c
    row = catalogue.get_course(db, course)
    done = programmes.lessons_done(db, c.user.id)
    quiz = row.data["quiz"]
    used = quizzes.attempts_used(db, user_id=c.user.id, course_id=row.id)
    return render(
        request,
        "academy/course.html",
        c,
        area="academy",
        lg=_lg(request),
        course=row,
        lessons=catalogue.lessons_of(db, row.id),
        done=done,
        quiz=quiz,
        used=used,
        attempts=[a for a, co in quizzes.attempts_of(db, viewer=c.user) if co.id == row.id],
        can_teach=can(c.user, "academy.teach"),
        flash=request.query_params.get("flash"),
        flash_kind=request.query_params.get("kind", "ok"),
    )


@router.get("/academy/courses/{course}/lessons/{lesson}", response_class=HTMLResponse)
def lesson_page(
    request: Request, caller: OptionalCaller, db: DbSession, course: str, lesson: str
) -> Response:
    c = _gate(request, caller, "academy.learn")
    if isinstance(c, Response):
        return c
    row = catalogue.get_lesson(db, course, lesson)
    course_row = catalogue.get_course(db, course)
    lessons = catalogue.lessons_of(db, course_row.id)
    index = next((i for i, x in enumerate(lessons) if x.id == row.id), 0)
    return render(
        request,
        "academy/lesson.html",
        c,
        area="academy",
        lg=_lg(request),
        course=course_row,
        lesson=catalogue.render_lesson(db, row, language(request)),
        row=row,
        read=row.id in programmes.lessons_done(db, c.user.id),
        next_lesson=lessons[index + 1] if index + 1 < len(lessons) else None,
    )


@router.post("/academy/courses/{course}/lessons/{lesson}/done")
def lesson_done(
    request: Request,
    caller: OptionalCaller,
    db: DbSession,
    course: str,
    lesson: str,
    csrf: str = Form(""),
) -> Response:
    def run(user: User) -> str:
        programmes.mark_lesson_done(db, actor=user, course=course, lesson=lesson)
        return f"/academy/courses/{course}"

    return _post(request, caller, db, csrf, "academy.learn", f"/academy/courses/{course}", run)


@router.post("/academy/courses/{course}/quiz")
def quiz_start(
    request: Request, caller: OptionalCaller, db: DbSession, course: str, csrf: str = Form("")
) -> Response:
    def run(user: User) -> str:
        attempt = quizzes.start_attempt(db, actor=user, course=course, lang=language(request))
        return f"/academy/attempts/{attempt.id}"

    return _post(request, caller, db, csrf, "academy.learn", f"/academy/courses/{course}", run)


@router.get("/academy/attempts/{attempt_id}", response_class=HTMLResponse)
def attempt_page(
    request: Request, caller: OptionalCaller, db: DbSession, attempt_id: Id
) -> Response:
    c = _gate(request, caller, "academy.learn")
    if isinstance(c, Response):
        return c
    row = quizzes.get_attempt(db, viewer=c.user, attempt_id=attempt_id)
    review = row.state == "finished"
    if not review and row.user_id != c.user.id:
        raise NotFound(f"no attempt {attempt_id}")
    items = quizzes.attempt_view(db, viewer=c.user, attempt_id=attempt_id, review=review)
    course = catalogue.courses(db)
    course_row = next(x for x in course if x.id == row.course_id)
    comments = programmes.comments_on(db, "item", [i.item_id for i in items]) if review else {}
    return render(
        request,
        "academy/attempt.html",
        c,
        area="academy",
        lg=_lg(request),
        attempt=row,
        course=course_row,
        items=items,
        review=review,
        comments=comments,
        may_comment=review and row.user_id != c.user.id,
        timer={"deadline": row.deadline_at.isoformat(), "form": "quiz-form"},
        flash=request.query_params.get("flash"),
        flash_kind=request.query_params.get("kind", "ok"),
    )


def _responses(form: FormData, items: list[quizzes.ItemView]) -> dict[int, Any]:
    out: dict[int, Any] = {}
    for item in items:
        key = f"q{item.slot}"
        if item.kind == "multiple":
            values = [str(v) for v in form.getlist(key)]
            if values:
                out[item.slot] = values
        elif item.kind == "matching":
            pairs = {left: str(form.get(f"{key}.{i}", "")) for i, left in enumerate(item.lefts)}
            if any(pairs.values()):
                out[item.slot] = {k: v for k, v in pairs.items() if v}
        else:
            value = form.get(key)
            if isinstance(value, str) and value.strip():
                out[item.slot] = value.strip()
    return out


@router.post("/academy/attempts/{attempt_id}")
def attempt_submit(
    request: Request, caller: OptionalCaller, db: DbSession, attempt_id: Id, form: FormDep
) -> Response:
    csrf = str(form.get("csrf", ""))
    back = f"/academy/attempts/{attempt_id}"

    def run(user: User) -> str:
        items = quizzes.attempt_view(db, viewer=user, attempt_id=attempt_id, review=False)
        finish = form.get("finish") == "1"
        quizzes.submit(
            db, actor=user, attempt_id=attempt_id, responses=_responses(form, items), finish=finish
        )
        return back

    return _post(request, caller, db, csrf, "academy.learn", back, run)


# --- role-play ------------------------------------------------------------------------------------


def _judge() -> roleplays.Judge:
    """The guard and the QA scorer, loaded when a run is actually replayed."""
    from kefu.academy.judge import default_judge

    return default_judge()


@router.post("/academy/roleplay/{persona}")
def roleplay_start(
    request: Request, caller: OptionalCaller, db: DbSession, persona: str, csrf: str = Form("")
) -> Response:
    def run(user: User) -> str:
        row = roleplays.start_run(db, actor=user, persona=persona, lang=language(request))
        return f"/academy/runs/{row.id}"

    return _post(request, caller, db, csrf, "academy.learn", "/academy", run)


@router.get("/academy/runs/{run_id}", response_class=HTMLResponse)
def run_page(request: Request, caller: OptionalCaller, db: DbSession, run_id: Id) -> Response:
    c = _gate(request, caller, "academy.learn")
    if isinstance(c, Response):
        return c
    row, persona, run = roleplays.run_state(db, viewer=c.user, run_id=run_id, judge=_judge)
    return render(
        request,
        "academy/run.html",
        c,
        area="academy",
        lg=row.lang,
        row=row,
        persona=persona,
        run=run,
        result=row.result if run.finished else None,
        transcript=roleplays.transcript(run),
        comments=programmes.comments_on(db, "run", [row.id]).get(row.id, []),
        may_comment=row.user_id != c.user.id,
        mine=row.user_id == c.user.id,
        flash=request.query_params.get("flash"),
        flash_kind=request.query_params.get("kind", "ok"),
    )


@router.post("/academy/runs/{run_id}")
def run_reply(
    request: Request,
    caller: OptionalCaller,
    db: DbSession,
    run_id: Id,
    text: str = Form("", max_length=4000),
    csrf: str = Form(""),
) -> Response:
    back = f"/academy/runs/{run_id}"

    def run(user: User) -> str:
        roleplays.send_reply(db, actor=user, run_id=run_id, text=text, judge=_judge)
        return back

    return _post(request, caller, db, csrf, "academy.learn", back, run)


@router.post("/academy/comments/{target}/{target_id}")
def comment_post(
    request: Request,
    caller: OptionalCaller,
    db: DbSession,
    target: str,
    target_id: Id,
    body: str = Form("", max_length=4000),
    back: str = Form("/academy", max_length=200),
    csrf: str = Form(""),
) -> Response:
    safe_back = back if back.startswith("/academy/") else "/academy"

    def run(user: User) -> str:
        programmes.comment(db, actor=user, target=target, target_id=target_id, body=body)
        return safe_back

    return _post(request, caller, db, csrf, "academy.learn", safe_back, run)


# --- programmes and certificates ------------------------------------------------------------------


@router.post("/academy/programmes/{programme}/enrol")
def programme_enrol(
    request: Request,
    caller: OptionalCaller,
    db: DbSession,
    programme: str,
    user_id: int = Form(0),
    csrf: str = Form(""),
) -> Response:
    back = "/academy/teach/trainees" if user_id else "/academy"

    def run(user: User) -> str:
        programmes.enrol(db, actor=user, programme=programme, user_id=user_id or None)
        return back

    return _post(request, caller, db, csrf, "academy.learn", back, run)


@router.get("/academy/certificates/{certificate_id}", response_class=HTMLResponse)
def certificate_page(
    request: Request, caller: OptionalCaller, db: DbSession, certificate_id: Id
) -> Response:
    c = _gate(request, caller, "academy.learn")
    if isinstance(c, Response):
        return c
    cert, prog = programmes.get_certificate(db, viewer=c.user, certificate_id=certificate_id)
    verify = str(request.url_for("certificate_verify", code=cert.code))
    return render(
        request,
        "academy/certificate.html",
        c,
        area="academy",
        lg=_lg(request),
        cert=cert,
        prog=prog,
        verify=verify,
    )


@router.get("/academy/verify/{code}", response_class=HTMLResponse, name="certificate_verify")
def certificate_verify(
    request: Request, caller: OptionalCaller, db: DbSession, code: str
) -> Response:
    """Public: anyone holding a certificate's code checks that it is genuine and in force."""
    found = programmes.certificate_by_code(db, code[:24])
    page = render(
        request,
        "academy/verify.html",
        caller,
        area="academy",
        lg=_lg(request),
        code=code[:24],
        found=found,
        now=utcnow(),
    )
    if found is None:
        page.status_code = 404
    return page


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

            raise ValidationFailed("points: a number", fields=[{"field": "points"}]) from None
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
    trainee_id: int = Form(0),
    mentor_id: int = Form(0),
    csrf: str = Form(""),
) -> Response:
    def run(user: User) -> str:
        programmes.assign_mentor(db, actor=user, trainee_id=trainee_id, mentor_id=mentor_id)
        return "/academy/teach/trainees"

    return _post(request, caller, db, csrf, "academy.teach", "/academy/teach/trainees", run)


# --- product-knowledge updates --------------------------------------------------------------------


@router.get("/academy/updates/mine", response_class=HTMLResponse)
def updates_partial(request: Request, caller: OptionalCaller, db: DbSession) -> Response:
    """The desk's small include: the agent's pending update lessons."""
    if caller is None or caller.user.role == "customer":
        return HTMLResponse("", status_code=401)
    require(caller.user, "academy.learn")
    return fragment(
        request,
        "academy/_updates.html",
        pending=updates.pending_for(db, viewer=caller.user),
        lg=_lg(request),
    )


@router.post("/academy/updates/{update_id}")
def update_answer(
    request: Request,
    caller: OptionalCaller,
    db: DbSession,
    update_id: Id,
    answer: str = Form(""),
    csrf: str = Form(""),
) -> Response:
    def run(user: User) -> str:
        row = updates.answer_update(db, actor=user, update_id=update_id, answer=answer)
        msg = "✓" if row.correct else "✗"
        return "/academy?" + urlencode({"flash": msg, "kind": "ok" if row.correct else "error"})

    return _post(request, caller, db, csrf, "academy.learn", "/academy", run)
