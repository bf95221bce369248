"""The admin console's holiday-file upload: an .ics or .csv file added to a business calendar
(the form sits under each calendar on /admin)."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from kefu.core import i18n
from kefu.core.errors import Forbidden, KefuError
from kefu.core.http import (
    DbSession,
    Id,
    OptionalCaller,
    admin_page_caller,
    check_form_csrf,
    language,
)
from kefu.desk import service as desk

router = APIRouter(include_in_schema=False)


def _flash(text: str, kind: str = "ok") -> RedirectResponse:
    query = {"flash": text[:200]} | ({"kind": "error"} if kind == "error" else {})
    return RedirectResponse("/admin?" + urlencode(query) + "#calendars", status_code=303)


@router.post("/admin/calendars/{calendar_id}/import")
def admin_calendar_import(
    request: Request,
    calendar_id: Id,
    caller: OptionalCaller,
    db: DbSession,
    file: UploadFile | None = File(None),
    csrf: str = Form(""),
) -> Response:
    """Adds the days of an uploaded .ics or .csv holiday file to a calendar; a bad file is
    refused whole with the line that is wrong, in the page's language."""
    c = admin_page_caller(request, caller)
    if isinstance(c, Response):
        return c
    check_form_csrf(c, csrf)
    lang = language(request)
    if file is None:
        return _flash(i18n.t("polish.calendar_no_file", lang), "error")
    name = (file.filename or "").rsplit("/", 1)[-1][:120]
    content = file.file.read(desk.calendar_import_limit() + 1)
    try:
        report = desk.import_calendar_file(
            db, actor=c.user, calendar_id=calendar_id, content=content, filename=name
        )
    except Forbidden:
        return _flash(i18n.t("polish.flash_forbidden", lang), "error")
    except KefuError as exc:
        db.rollback()
        line = exc.extra.get("line")
        if line:
            text = i18n.t(
                "polish.calendar_bad_line", lang, file=name, line=line, reason=exc.extra["reason"]
            )
        else:
            text = i18n.t("polish.calendar_bad_file", lang, file=name, reason=exc.detail)
        return _flash(text, "error")
    return _flash(
        i18n.t(
            "polish.calendar_imported",
            lang,
            calendar=report.calendar,
            holidays=len(report.holidays),
            workdays=len(report.workdays),
            already=report.already,
        )
    )
