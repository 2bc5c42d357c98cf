"""Admin routes erasing data: one session, or everything of a site.

    DELETE /v1/sites/{site}/sessions/{session_id}   a session, everywhere
    DELETE /v1/sites/{site}/data?confirm={site}      the whole site

Both need the permission ``data:erase`` on the path's site (403 otherwise) and run the
erasure service (``connectors.erasure``) on a ClickHouse client of their own. They
answer 200 with what was erased, per store; an erasure that finds nothing (already
erased, or never stored) is a 200 with zero counts, so a retried request succeeds.
``?dry_run=true`` only counts. The token's subject is logged as who erased.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any, Final

import anyio.to_thread
from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from api.query.auth import PERMISSION_DATA_ERASE, Principal
from api.query.client_pool import ClientPool
from api.query.deps import COST_REPLAY_DELETE, SitePath, permitted, services
from api.query.error_handlers import error_response
from api.query.models import ErrorBody
from api.query.rest import ERROR_RESPONSES
from connectors.erasure import ErasureReport, ErasureService, KeyDestroyer

log = logging.getLogger("insightlite.api")

_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    **ERROR_RESPONSES,
    503: {"model": ErrorBody, "description": "ClickHouse or the archive unavailable."},
}
_ANSWER: Final[dict[int | str, dict[str, Any]]] = {
    200: {
        "description": "What was erased (or, in a dry run, would be), per store.",
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}

Eraser = Annotated[Principal, Depends(permitted(PERMISSION_DATA_ERASE, COST_REPLAY_DELETE))]
SessionIdPath = Annotated[uuid.UUID, Path(description="The session id (a UUID).")]
DryRun = Annotated[bool, Query(description="Only count what would be erased.")]
Confirm = Annotated[
    str, Query(max_length=64, description="The site id again: a site erasure is final.")
]


def erasure_router(client_factory: Any, *, key_destroyer: KeyDestroyer | None = None) -> APIRouter:
    """The erasure routes, over clients ``client_factory`` makes (one at a time: an
    erasure is rare and writes)."""
    pool = ClientPool(client_factory, 1)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            pool.close()

    router = APIRouter(
        prefix="/v1/sites/{site}", responses=_RESPONSES, tags=["erasure"], lifespan=lifespan
    )

    async def run(request: Request, erase: Any) -> Response:
        settings = services(request).settings
        now = datetime.fromtimestamp(services(request).clock(), tz=UTC)

        def work() -> ErasureReport:
            with pool.client() as client:
                service = ErasureService(
                    client, settings.resolved_archive_url, key_destroyer=key_destroyer
                )
                report: ErasureReport = erase(service, now)
                return report

        try:
            report = await anyio.to_thread.run_sync(work)
        except OSError as exc:
            log.warning("erasure not done: archive %s: %s", type(exc).__name__, exc)
            return error_response(503, "unavailable", "the archive is unavailable; retry")
        if not report.dry_run:
            # No answer computed before the erasure may be served after it.
            await services(request).layer.forget_site(report.site_id)
        return JSONResponse(report.as_dict())

    @router.delete("/sessions/{session_id}", responses=_ANSWER)
    async def erase_session(
        request: Request,
        site: SitePath,
        session_id: SessionIdPath,
        principal: Eraser,
        dry_run: DryRun = False,
    ) -> Response:
        """Erase one session: its events, session row, recording, archived events and
        dead letters (permission data:erase). Its heatmap counts, anonymous, stay."""
        return await run(
            request,
            lambda service, now: service.erase_session(
                site, session_id, actor=principal.subject, now=now, dry_run=dry_run
            ),
        )

    @router.delete("/data", responses=_ANSWER)
    async def erase_site(
        request: Request,
        site: SitePath,
        principal: Eraser,
        confirm: Confirm,
        dry_run: DryRun = False,
    ) -> Response:
        """Erase everything of the site, heatmaps included (permission data:erase);
        ``confirm`` must repeat the site id (422 otherwise)."""
        if confirm != site:
            return error_response(
                422, "not_confirmed", "confirm must repeat the site id: a site erasure is final"
            )
        return await run(
            request,
            lambda service, now: service.erase_site(
                site, actor=principal.subject, now=now, dry_run=dry_run
            ),
        )

    return router
