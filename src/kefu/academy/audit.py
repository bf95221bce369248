"""The academy's audit action names (stored as their values; never built at run time)."""

from __future__ import annotations

from enum import StrEnum


class AcademyAudit(StrEnum):
    bank_create = "academy.bank_create"
    question_create = "academy.question_create"
    question_update = "academy.question_update"
    question_retire = "academy.question_retire"
    course_create = "academy.course_create"
    course_update = "academy.course_update"
    lesson_create = "academy.lesson_create"
    lesson_update = "academy.lesson_update"
    lesson_retire = "academy.lesson_retire"
    lesson_done = "academy.lesson_done"
    persona_sync = "academy.persona_sync"
    programme_sync = "academy.programme_sync"
    attempt_start = "academy.attempt_start"
    attempt_answer = "academy.attempt_answer"
    attempt_finish = "academy.attempt_finish"
    attempt_submit = "academy.attempt_submit"
    essay_grade = "academy.essay_grade"
    roleplay_start = "academy.roleplay_start"
    roleplay_reply = "academy.roleplay_reply"
    roleplay_finish = "academy.roleplay_finish"
    enrol = "academy.enrol"
    certificate_issue = "academy.certificate_issue"
    mentor_assign = "academy.mentor_assign"
    comment = "academy.comment"
    update_create = "academy.update_create"
    update_answer = "academy.update_answer"
