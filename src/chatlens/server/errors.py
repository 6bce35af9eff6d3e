"""The one error shape of the API, produced here and nowhere else:
`{"error": {"code": ..., "message": ..., "details": ...}}`.

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

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from chatlens.events import ChatlensError

log = logging.getLogger("chatlens.server")

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "too_many_requests",
}


class ApiError(Exception):
    """Raised by routes: an HTTP status, a stable code and a message that says how to fix it."""

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


_TITLES = {
    400: "That request is not valid",
    401: "Please sign in",
    403: "Not allowed",
    404: "Not found",
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


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return _answer(request, exc.status, exc.code, exc.message, exc.details, exc.headers)


async def _chatlens_error(request: Request, exc: Exception) -> Response:
    status = getattr(exc, "status", 400)  # chatlens.reading's Forbidden 403, NotFound 404
    return _answer(request, status, _CODES.get(status, "error"), str(exc))


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
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(ChatlensError, _chatlens_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)
