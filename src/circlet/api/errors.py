"""The one table that maps circlet errors to HTTP responses with CircleCI's ``{"message": ...}`` body."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from circlet.errors import (
    BadRequest,
    CIError,
    ConfigInvalid,
    Conflict,
    Forbidden,
    NotFound,
    StoreError,
    Unauthorized,
    Unavailable,
    VcsError,
)

log = logging.getLogger(__name__)

STATUS_CODES: dict[type[CIError], int] = {
    NotFound: 404,
    Unauthorized: 401,
    Forbidden: 403,
    BadRequest: 400,
    ConfigInvalid: 400,
    VcsError: 400,
    Conflict: 409,
    StoreError: 500,
    Unavailable: 503,
}


def status_for(exc: CIError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS_CODES:
            return STATUS_CODES[cls]
    return 500


async def _ci_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, CIError)
    status = status_for(exc)
    if status >= 500:  # noqa: PLR2004
        log.error("request failed: %s", exc, extra={"action": "request_failed"})
    return JSONResponse({"message": exc.message}, status_code=status)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        parts.append(f"{where}: {err.get('msg')}" if where else str(err.get("msg")))
    return JSONResponse({"message": "; ".join(parts) or "Invalid request."}, status_code=400)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    message = exc.detail if isinstance(exc.detail, str) else "Request failed."
    if exc.status_code == 404 and message == "Not Found":  # noqa: PLR2004
        message = "Not found."
    return JSONResponse(
        {"message": message}, status_code=exc.status_code, headers=getattr(exc, "headers", None)
    )


async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error", exc_info=exc, extra={"action": "request_crashed"})
    return JSONResponse({"message": "Internal server error."}, status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(CIError, _ci_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
