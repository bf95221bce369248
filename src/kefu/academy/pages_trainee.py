"""The /academy console for trainees: the academy home, courses, lessons, quizzes (with the
server's timer), role-play runs and comments, programme enrolment, certificates and their
public verification, and the desk's include of pending product-knowledge updates."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from kefu.academy import catalogue, programmes, quizzes, roleplays, updates
from kefu.academy.pages_common import FormDep, _gate, _lg, _post
from kefu.core.db import utcnow
from kefu.core.errors import NotFound
from kefu.core.http import (
    DbSession,
    Id,
    OptionalCaller,
    fragment,
    language,
    render,
)
from kefu.core.security import User, can, require

router = APIRouter(include_in_schema=False)


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
        raise NotFound(key="academy.errors.attempt_missing", params={"id": attempt_id})
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
    user_id: int = Form(0, ge=0, le=2**31 - 1),
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
