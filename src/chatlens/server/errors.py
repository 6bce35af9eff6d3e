"""The one error shape of the API, produced here and nowhere else:
`{"error": {"code": ..., "message": ..., "details": ...}}`.

Errors are answered by class: every `chatlens.errors.ChatlensError`
with the status its class carries (InputError 400, Forbidden 403, NotFound 404, Conflict 409,
EventError 422 with one detail per bad field) and the message it was raised with; `ApiError`,
the web layer's own member of that tree, with the status it was raised with (401, 413, 429...).
A browser opening a dashboard page (not under /api/, asking for HTML) gets the same message
as a small HTML page instead. Clients never see a stack trace; an unexpected failure is
logged with an id they can quote.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from chatlens.errors import ChatlensError, EventError

log = logging.getLogger("chatlens.server")

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "too_many_requests",
    500: "internal",
}


class ApiError(ChatlensError):
    """Raised by routes: an HTTP status, a stable code and a message that says how to fix it
    (for what the tree's classes do not say: 401, 413, 415, 429...)."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.code = code or _CODES.get(status, "error")
        self.message = message
        self.details = details
        self.headers = headers


class SignIn(ApiError):
    """A page needs a signed-in user: answered with a redirect to /login (an API route
    answers 401 instead)."""

    def __init__(self) -> None:
        super().__init__(401, "sign in to see this page")


_TITLES = {
    400: "That request is not valid",
    401: "Please sign in",
    403: "Not allowed",
    404: "Not found",
    409: "Already there",
    422: "That request is not valid",
    429: "Too many requests",
    500: "Something went wrong",
}
_pages = Jinja2Templates(directory=Path(__file__).parent.parent / "web" / "templates")


def error_response(
    status: int,
    code: str,
    message: str,
    details: Any = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "details": details}}
    return JSONResponse(body, status_code=status, headers=headers)


def _answer(
    request: Request,
    status: int,
    code: str,
    message: str,
    details: Any = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """The API's JSON error, or for a browser's page request the same message as HTML."""
    page = not request.url.path.startswith("/api/") and "text/html" in request.headers.get(
        "accept", ""
    )
    if not page:
        return error_response(status, code, message, details, headers)
    title = _TITLES.get(status, "Something went wrong")
    return _pages.TemplateResponse(
        request,
        "error.html",
        {"title": title, "message": message},
        status_code=status,
        headers=dict(headers or {}),
    )


async def _chatlens_error(request: Request, exc: Exception) -> Response:
    """Any error of the tree: the status of its class, the message it was raised with."""
    assert isinstance(exc, ChatlensError)
    if isinstance(exc, SignIn):
        url = request.url
        target = url.path + (f"?{url.query}" if url.query else "")
        return RedirectResponse("/login?" + urlencode({"next": target}), status_code=303)
    if isinstance(exc, ApiError):
        return _answer(request, exc.status, exc.code, exc.message, exc.details, exc.headers)
    details = exc.as_dicts() if isinstance(exc, EventError) else None
    return _answer(request, exc.status, _CODES.get(exc.status, "error"), str(exc), details)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code = _CODES.get(exc.status_code, "error")
    return _answer(request, exc.status_code, code, str(exc.detail), None, exc.headers)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    details = [
        {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()
    ]
    return _answer(request, 422, "invalid", "the request is not valid", details)


async def _unexpected(request: Request, exc: Exception) -> Response:
    incident = secrets.token_hex(6)
    log.error("unexpected error %s: %s", incident, type(exc).__name__, exc_info=exc)
    message = f"something went wrong on the server (incident {incident})"
    return _answer(request, 500, "internal", message)


def install(app: FastAPI) -> None:
    app.add_exception_handler(ChatlensError, _chatlens_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)
