"""Signing in and out: a form for people (CSRF-protected, rate-limited) and a JSON twin for
scripts. The session cookie is signed, httponly and SameSite=Lax; the token it carries is
stored only as a hash, so signing out ends the session for good."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel

from chatlens.app import service
from chatlens.app.credentials import new_token, same
from chatlens.server.auth import CSRF_HEADER, SESSION_COOKIE, Anyone, session_token
from chatlens.server.context import Server, server
from chatlens.server.errors import ApiError
from chatlens.server.routes import json_response

router = APIRouter()
templates = Jinja2Templates(directory=Path(__file__).parent.parent / "web" / "templates")
LOGIN_CSRF_COOKIE = "chatlens_login_csrf"
Ctx = Annotated[Server, Depends(server)]


def _client(request: Request) -> str:
    return request.client.host if request.client else "?"


def _safe_next(target: str) -> str:
    """Only same-site paths: never an open redirect."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _sign_in(ctx: Server, request: Request, email: str, password: str) -> tuple[str, str]:
    """(cookie value, csrf token) for valid credentials; 401/429 otherwise."""
    client, key = _client(request), email.strip().lower()
    wait = ctx.limiter.retry_after(client, key)
    if wait:
        raise ApiError(
            429,
            f"too many failed sign-ins: try again in {wait} s",
            headers={"Retry-After": str(wait)},
        )
    with ctx.sessions() as db:
        user = service.authenticate(db, email, password)
        if user is None:
            ctx.limiter.failed(client, key)
            raise ApiError(401, "wrong email or password", code="bad_credentials")
        ctx.limiter.succeeded(client, key)
        token, session = service.start_session(db, user)
        return ctx.signer.dumps(token), session.csrf_token


def _set_session(response: Response, ctx: Server, cookie: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=service.SESSION_DAYS * 86400,
        httponly=True,
        samesite="lax",
        secure=ctx.secure_cookies,
    )


def _login_page(request: Request, error: str = "", email: str = "", status: int = 200) -> Response:
    csrf = new_token()
    response = templates.TemplateResponse(
        request,
        "login.html",
        {
            "csrf_token": csrf,
            "next": _safe_next(request.query_params.get("next", "/")),
            "error": error,
            "email": email,
        },
        status_code=status,
    )
    response.set_cookie(LOGIN_CSRF_COOKIE, csrf, httponly=True, samesite="strict", max_age=3600)
    return response


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_page(request: Request) -> Response:
    return _login_page(request)


@router.post("/login", include_in_schema=False)
def login_form(
    request: Request,
    ctx: Ctx,
    email: Annotated[str, Form()],
    password: Annotated[str, Form()],
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not same(expected, csrf_token):
        return _login_page(request, "The form expired: please sign in again.", email, 403)
    try:
        cookie, _ = _sign_in(ctx, request, email, password)
    except ApiError as exc:
        return _login_page(
            request, exc.message[:1].upper() + exc.message[1:] + ".", email, exc.status
        )
    response = RedirectResponse(_safe_next(next), status_code=303)
    _set_session(response, ctx, cookie)
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


class LoginIn(BaseModel):
    email: str
    password: str


@router.post("/api/v1/auth/login", summary="Sign in (JSON); returns the CSRF token to send")
def login_json(body: LoginIn, request: Request, ctx: Ctx) -> Response:
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise ApiError(415, "send the credentials as application/json")
    cookie, csrf = _sign_in(ctx, request, body.email, body.password)
    response = json_response({"csrf_token": csrf, "csrf_header": CSRF_HEADER})
    _set_session(response, ctx, cookie)
    return response


@router.post("/logout", include_in_schema=False)
def logout_form(request: Request, ctx: Ctx, csrf_token: Annotated[str, Form()] = "") -> Response:
    _end(request, ctx, csrf_token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.post("/api/v1/auth/logout", summary="Sign out (send the CSRF header)")
def logout_json(request: Request, ctx: Ctx) -> Response:
    _end(request, ctx, request.headers.get(CSRF_HEADER, ""))
    response = json_response({"signed_out": True})
    response.delete_cookie(SESSION_COOKIE)
    return response


def _end(request: Request, ctx: Server, csrf: str) -> None:
    token = session_token(ctx, request.cookies.get(SESSION_COOKIE, ""))
    if token is None:
        return
    with ctx.sessions() as db:
        session = service.find_session(db, token)
        if session is None:
            return
        if not csrf or not same(csrf, session.csrf_token):
            raise ApiError(403, "missing or wrong CSRF token", code="csrf")
        service.end_session(db, token)


@router.get("/api/v1/me", summary="Who is signed in, and where")
def me(request: Request, who: Anyone, ctx: Ctx) -> Any:
    body: dict[str, Any] = {
        "workspace": who.workspace,
        "role": who.role,
        "agent_id": who.agent_id,
        "team": who.team,
        "email": who.email,
    }
    token = session_token(ctx, request.cookies.get(SESSION_COOKIE, ""))
    if who.is_person and token:
        with ctx.sessions() as db:
            session = service.find_session(db, token)
            body["csrf_token"] = session.csrf_token if session else None
    return json_response(body)
