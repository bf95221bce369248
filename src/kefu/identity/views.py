"""JSON API: log in, log out and "who am I"."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from kefu.core.http import COOKIE, CallerDep, DbSession, set_session_cookie
from kefu.identity import service as identity

router = APIRouter(prefix="/api/v1", tags=["auth"])


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class LoginOut(BaseModel):
    token: str
    csrf_token: str
    role: str
    username: str


class MeOut(BaseModel):
    id: int
    username: str
    role: str
    display_name: str
    language: str
    is_trainee: bool
    csrf_token: str


@router.post("/auth/login", response_model=LoginOut)
def login(body: LoginIn, request: Request, response: Response, db: DbSession) -> LoginOut:
    ip = request.client.host if request.client else ""
    done = identity.login(db, username=body.username, password=body.password, ip=ip)
    set_session_cookie(response, done.token)
    user = done.user
    return LoginOut(
        token=done.token, csrf_token=done.session.csrf_token, role=user.role, username=user.username
    )


@router.post("/auth/logout", status_code=204)
def logout(request: Request, response: Response, c: CallerDep, db: DbSession) -> Response:
    token = request.cookies.get(COOKIE) if c.via_cookie else request.headers["authorization"][7:]
    identity.logout(db, actor=c.user, token=token)
    response.delete_cookie(COOKIE, path="/")
    response.status_code = 204
    return response


@router.get("/me", response_model=MeOut)
def me(c: CallerDep) -> MeOut:
    u = c.user
    return MeOut(
        id=u.id,
        username=u.username,
        role=u.role,
        display_name=u.display_name,
        language=u.language,
        is_trainee=u.is_trainee,
        csrf_token=c.session.csrf_token,
    )
