"""The /academy console: the trainee's courses, lessons, quizzes (with the server's timer),
role-play, programmes and certificates; the trainer's question banks, course and lesson editor,
item statistics, essay grading, progress per trainee and cohort and mentor assignment; the
public certificate verification. Each form post calls one action and redirects back.

The routes live in ``pages_trainee.py`` and ``pages_trainer.py`` (what they share in
``pages_common.py``); this module gathers them into the one router the app registers."""

from __future__ import annotations

from fastapi import APIRouter

from kefu.academy import pages_trainee, pages_trainer

router = APIRouter(include_in_schema=False)
router.include_router(pages_trainee.router)
router.include_router(pages_trainer.router)
