"""How the query API answers what goes wrong: one coded JSON body (:class:`ErrorBody`)
per refusal or failure, with the status and headers it calls for.

Refusals tell the client why (401, 403, 422, 429, 400, 404); failures of the analytics
store say only that (503 when it is down or not written yet, 500 otherwise), and are
logged here with the request path; failures of the recordings' archive are 503.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.query.auth import AccessDenied, AuthError
from api.query.cursors import InvalidCursor
from api.query.deps import RateLimited
from api.query.filters import InvalidQuery
from api.query.guards import CONCURRENCY_RETRY_AFTER_SECONDS, TooManyInProgress
from api.query.models import ErrorBody
from api.query.replay_archive import ArchiveUnavailable
from connectors.clickhouse import ClickHouseError, ClickHouseUnavailable

log = logging.getLogger("insightlite.api")

REALM = "insightlite"
# ClickHouse's UNKNOWN_TABLE and UNKNOWN_DATABASE: the pipeline has not run here yet.
_MISSING_SCHEMA_CODES = frozenset({60, 81})


def error_response(
    status: int, error: str, message: str, headers: dict[str, str] | None = None
) -> Response:
    """An :class:`ErrorBody` answer."""
    body = ErrorBody(error=error, message=message).model_dump_json(exclude_none=True)
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """The answer of every refusal and failure, by exception."""

    @app.exception_handler(AuthError)
    async def unauthorized(request: Request, exc: AuthError) -> Response:
        challenge = f'Bearer realm="{REALM}"'
        if not exc.missing:
            challenge += f', error="invalid_token", error_description="{exc.description}"'
        return error_response(401, "unauthorized", exc.description, {"WWW-Authenticate": challenge})

    @app.exception_handler(AccessDenied)
    async def forbidden(request: Request, exc: AccessDenied) -> Response:
        return error_response(403, "forbidden", exc.reason)

    @app.exception_handler(RateLimited)
    async def rate_limited(request: Request, exc: RateLimited) -> Response:
        return error_response(429, "rate_limited", "too many requests", exc.decision.headers())

    @app.exception_handler(TooManyInProgress)
    async def too_many_in_progress(request: Request, exc: TooManyInProgress) -> Response:
        return error_response(
            429,
            "too_many_in_progress",
            str(exc),
            {"Retry-After": str(CONCURRENCY_RETRY_AFTER_SECONDS)},
        )

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        # Location and message only: the offending input is not echoed back.
        detail = [
            {"loc": [str(part) for part in error.get("loc", ())], "msg": str(error.get("msg", ""))}
            for error in exc.errors()
        ]
        body = ErrorBody(error="invalid_request", message="invalid parameters", detail=detail)
        return Response(body.model_dump_json(), status_code=422, media_type="application/json")

    @app.exception_handler(InvalidQuery)
    async def invalid_query(request: Request, exc: InvalidQuery) -> Response:
        return error_response(422, "invalid_request", str(exc))

    @app.exception_handler(InvalidCursor)
    async def invalid_cursor(request: Request, exc: InvalidCursor) -> Response:
        return error_response(400, "bad_request", str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def httperror_response(request: Request, exc: StarletteHTTPException) -> Response:
        names = {404: "not_found", 405: "method_not_allowed", 400: "bad_request"}
        error = names.get(exc.status_code, "http_error")
        message = error.replace("_", " ")
        return error_response(exc.status_code, error, message, dict(exc.headers or {}))

    @app.exception_handler(ArchiveUnavailable)
    async def archive_unavailable(request: Request, exc: ArchiveUnavailable) -> Response:
        # Logged with its cause where it was raised (api.query.replay_archive).
        return error_response(503, "archive_unavailable", exc.reason, {"Retry-After": "5"})

    @app.exception_handler(ClickHouseError)
    async def storeerror_response(request: Request, exc: ClickHouseError) -> Response:
        if isinstance(exc, ClickHouseUnavailable):
            log.warning("ClickHouse unavailable: %s", exc)
            return error_response(
                503, "unavailable", "the analytics store is unavailable", {"Retry-After": "5"}
            )
        if getattr(exc, "code", None) in _MISSING_SCHEMA_CODES:
            return error_response(503, "not_ready", "no analytics data has been written yet")
        log.error("query failed on %s: %s", request.url.path, exc)
        return error_response(500, "internal_error", "the query failed")

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s", request.url.path)
        return error_response(500, "internal_error", "unexpected error")
