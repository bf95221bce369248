"""Login, logout and "who am I"."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from kefu.core import audit
from kefu.core.config import get_settings
from kefu.core.security import authenticate, close_session, open_session
from kefu.web.deps import COOKIE, Caller, caller, get_db

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
def login(
    body: LoginIn, request: Request, response: Response, db: Session = Depends(get_db)
) -> LoginOut:
    ip = request.client.host if request.client else ""
    user = authenticate(db, body.username, body.password, ip=ip)
    token, sess = open_session(db, user)
    audit.record(
        db, actor_id=user.id, action="auth.login", entity="user", entity_id=user.id, data={"ip": ip}
    )
    settings = get_settings()
    response.set_cookie(
        COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        max_age=settings.session_hours * 3600,
        path="/",
    )
    return LoginOut(token=token, csrf_token=sess.csrf_token, role=user.role, username=user.username)


@router.post("/auth/logout", status_code=204)
def logout(
    request: Request, response: Response, c: Caller = Depends(caller), db: Session = Depends(get_db)
) -> Response:
    token = request.cookies.get(COOKIE) if c.via_cookie else request.headers["authorization"][7:]
    if token:
        close_session(db, token.strip())
    audit.record(db, actor_id=c.user.id, action="auth.logout", entity="user", entity_id=c.user.id)
    response.delete_cookie(COOKIE, path="/")
    response.status_code = 204
    return response


@router.get("/me", response_model=MeOut)
def me(c: Caller = Depends(caller)) -> MeOut:
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
