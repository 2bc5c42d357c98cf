"""REST routes under ``/v1/sites/{site}/...``: thin adapters over the query layer.

Answers are written with the models' own JSON serialiser and returned as ready
responses (the response models still document them in OpenAPI), which skips a second
validation of answers the layer has just built or read from the cache. The
recordings' routes are in :mod:`api.query.replay_routes`, under the same prefix.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api.query.auth import (
    PERMISSION_EXPORT,
    PERMISSION_HEATMAPS,
    PERMISSION_REPLAY_READ,
    PERMISSION_SESSIONS,
    PERMISSION_STATS,
    Principal,
)
from api.query.deps import (
    COST_EXPORT,
    COST_HEATMAP_PNG,
    COST_HEATMAP_SNAPSHOT,
    SitePath,
    permitted,
    services,
)
from api.query.exports import ExportNotFound
from api.query.models import (
    Answer,
    Breakdown,
    BreakdownQuery,
    ErrorBody,
    ErrorsAnswer,
    ErrorsQuery,
    ExportRequest,
    ExportState,
    HeatmapAnswer,
    HeatmapImageQuery,
    HeatmapQuery,
    HeatmapSnapshot,
    HeatmapSnapshotQuery,
    ScrollDepthAnswer,
    ScrollDepthQuery,
    SessionDetail,
    SessionEventsQuery,
    SessionsPage,
    SessionsQuery,
    StatsQuery,
    StatsSummary,
    Timeseries,
    TimeseriesQuery,
)

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Malformed parameter (e.g. a cursor)."},
    401: {"model": ErrorBody, "description": "Missing or invalid bearer token."},
    403: {"model": ErrorBody, "description": "Site or permission not granted."},
    422: {"model": ErrorBody, "description": "Invalid parameters."},
    429: {
        "model": ErrorBody,
        "description": "Rate limit exceeded, or too many requests of the token in progress; "
        "see Retry-After.",
    },
    503: {"model": ErrorBody, "description": "ClickHouse unavailable."},
}

router = APIRouter(prefix="/v1/sites/{site}", responses=ERROR_RESPONSES)

HeatmapReader = Annotated[Principal, Depends(permitted(PERMISSION_HEATMAPS))]
SessionReader = Annotated[Principal, Depends(permitted(PERMISSION_SESSIONS))]
StatsReader = Annotated[Principal, Depends(permitted(PERMISSION_STATS))]
# Heavier routes take more tokens (see api.query.deps); polling an export takes one.
HeatmapImageReader = Annotated[Principal, Depends(permitted(PERMISSION_HEATMAPS, COST_HEATMAP_PNG))]
# A page's picture comes from its recordings: both permissions.
SnapshotReader = Annotated[
    Principal,
    Depends(permitted(PERMISSION_HEATMAPS, COST_HEATMAP_SNAPSHOT, also=(PERMISSION_REPLAY_READ,))),
]
ExportStarter = Annotated[Principal, Depends(permitted(PERMISSION_EXPORT, COST_EXPORT))]
Exporter = Annotated[Principal, Depends(permitted(PERMISSION_EXPORT))]


def json_answer(answer: Answer | BaseModel, status_code: int = 200) -> Response:
    body = answer.json_bytes() if isinstance(answer, Answer) else answer.model_dump_json()
    return Response(body, status_code=status_code, media_type="application/json")


def not_found(message: str) -> JSONResponse:
    return JSONResponse({"error": "not_found", "message": message}, status_code=404)


@router.get("/heatmap", response_model=HeatmapAnswer, tags=["heatmaps"])
async def heatmap(
    request: Request,
    site: SitePath,
    query: Annotated[HeatmapQuery, Query()],
    _: HeatmapReader,
) -> Response:
    """A page's heatmap cells for one interaction type (permission heatmaps:read)."""
    return json_answer(await services(request).layer.heatmap(site, query))


@router.get(
    "/heatmap.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}, "description": "The heatmap as a PNG."}},
    tags=["heatmaps"],
)
async def heatmap_png(
    request: Request,
    site: SitePath,
    query: Annotated[HeatmapImageQuery, Query()],
    _: HeatmapImageReader,
) -> Response:
    """The heatmap drawn as a PNG; type=scroll draws the scroll-depth curve."""
    png = await services(request).layer.heatmap_png(site, query)
    return Response(png, media_type="image/png")


@router.get(
    "/heatmap/snapshot",
    response_model=HeatmapSnapshot,
    responses={
        404: {"model": ErrorBody, "description": "No kept recording holds a picture of the page."},
        503: {
            "model": ErrorBody,
            "description": "ClickHouse or the recordings archive unavailable.",
        },
    },
    tags=["heatmaps"],
)
async def heatmap_snapshot(
    request: Request,
    site: SitePath,
    query: Annotated[HeatmapSnapshotQuery, Query()],
    _: SnapshotReader,
) -> Response:
    """The page as its latest recording captured it, rrweb's Meta and FullSnapshot
    events, for drawing a heatmap over (permissions heatmaps:read and replay:read)."""
    found = services(request)
    chunks = await found.layer.snapshot_chunks(site, query)
    if not chunks:
        return not_found("no kept recording visited this page")
    picture = await found.replays.page_snapshot(site, chunks, query.path)
    if picture is None:
        return not_found("no kept recording of this page holds a full snapshot of it")
    chunk, page_load = picture
    width, height = page_load.size()
    return json_answer(
        HeatmapSnapshot(
            session_id=chunk.session_id,
            captured_at=page_load.captured_at(chunk.start_time),
            width=width,
            height=height,
            events=[page_load.meta, page_load.snapshot],
        )
    )


@router.get("/scroll-depth", response_model=ScrollDepthAnswer, tags=["heatmaps"])
async def scroll_depth(
    request: Request,
    site: SitePath,
    query: Annotated[ScrollDepthQuery, Query()],
    _: HeatmapReader,
) -> Response:
    """Share of a page's views that reached each depth (permission heatmaps:read)."""
    return json_answer(await services(request).layer.scroll_depth(site, query))


@router.get("/sessions", response_model=SessionsPage, tags=["sessions"])
async def sessions(
    request: Request,
    site: SitePath,
    query: Annotated[SessionsQuery, Query()],
    _: SessionReader,
) -> Response:
    """A page of sessions, newest first; pass `next_cursor` as `cursor` for the next."""
    return json_answer(await services(request).layer.sessions(site, query))


@router.get(
    "/sessions/{session_id}",
    response_model=SessionDetail,
    responses={404: {"model": ErrorBody, "description": "No such session for the site."}},
    tags=["sessions"],
)
async def session(
    request: Request,
    site: SitePath,
    session_id: uuid.UUID,
    query: Annotated[SessionEventsQuery, Query()],
    _: SessionReader,
) -> Response:
    """One session and its events in time order (permission sessions:read)."""
    found = await services(request).layer.session(site, session_id, query.limit)
    if found is None:
        return not_found("no such session")
    return json_answer(found)


@router.get("/stats", response_model=StatsSummary, tags=["stats"])
async def stats(
    request: Request,
    site: SitePath,
    query: Annotated[StatsQuery, Query()],
    _: StatsReader,
) -> Response:
    """Totals over the range (permission stats:read)."""
    return json_answer(await services(request).layer.stats(site, query))


@router.get("/stats/timeseries", response_model=Timeseries, tags=["stats"])
async def timeseries(
    request: Request,
    site: SitePath,
    query: Annotated[TimeseriesQuery, Query()],
    _: StatsReader,
) -> Response:
    """The stats per hour, day or week (permission stats:read)."""
    return json_answer(await services(request).layer.timeseries(site, query))


@router.get("/stats/breakdown", response_model=Breakdown, tags=["stats"])
async def breakdown(
    request: Request,
    site: SitePath,
    query: Annotated[BreakdownQuery, Query()],
    _: StatsReader,
) -> Response:
    """The stats per page, device, country, entry page, exit page or referrer host
    (permission stats:read)."""
    return json_answer(await services(request).layer.breakdown(site, query))


@router.get("/errors", response_model=ErrorsAnswer, tags=["stats"])
async def errors(
    request: Request,
    site: SitePath,
    query: Annotated[ErrorsQuery, Query()],
    _: StatsReader,
) -> Response:
    """Errors grouped by class and message (permission stats:read)."""
    return json_answer(await services(request).layer.errors(site, query))


@router.post("/exports", response_model=ExportState, status_code=202, tags=["exports"])
async def create_export(
    request: Request,
    site: SitePath,
    body: ExportRequest,
    _: ExportStarter,
) -> Response:
    """Start an export (permission export:write); poll its state at the returned id."""
    # Writing the state file may be a network call (S3): keep it off the event loop.
    state = await run_in_threadpool(services(request).exports.submit, site, body)
    return json_answer(state, status_code=202)


@router.get(
    "/exports/{export_id}",
    response_model=ExportState,
    responses={404: {"model": ErrorBody, "description": "No such export for the site."}},
    tags=["exports"],
)
async def export_state(
    request: Request,
    site: SitePath,
    export_id: Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")],
    _: Exporter,
) -> Response:
    """An export's state: queued, running, done (files, rows) or failed (reason)."""
    try:
        state = await run_in_threadpool(services(request).exports.get, site, export_id)
    except ExportNotFound:
        return not_found("no such export")
    return json_answer(state)
