"""REST routes of session recordings under ``/v1/sites/{site}/replays``.

The list and the summaries come from ClickHouse (:mod:`api.query.replay_reads`), the
events from the archive's blobs (:mod:`api.query.replay_archive`). A recording that does
not exist, expired, or belongs to another site is a 404 alike (the site is the path's,
which the token must grant). The session id must be a UUID (422 otherwise). The events
of a recording whose site's keys were destroyed (crypto-shredding) are 410 Gone.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from api.query.auth import PERMISSION_REPLAY_DELETE, PERMISSION_REPLAY_READ, Principal
from api.query.deps import COST_REPLAY_DELETE, COST_REPLAY_EVENTS, SitePath, permitted, services
from api.query.models import ErrorBody, Replay, ReplaysPage, ReplaysQuery
from api.query.replay_archive import RecordingShredded
from api.query.rest import ERROR_RESPONSES, json_answer, not_found

_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    **ERROR_RESPONSES,
    503: {
        "model": ErrorBody,
        "description": "ClickHouse or the recordings archive unavailable.",
    },
}
_NOT_FOUND: Final[dict[int | str, dict[str, Any]]] = {
    404: {"model": ErrorBody, "description": "No such recording for the site, or it expired."}
}
_GONE: Final[dict[int | str, dict[str, Any]]] = {
    410: {
        "model": ErrorBody,
        "description": "The recording's site's encryption keys were destroyed: its events "
        "can never be read again.",
    }
}
_EVENTS_BODY: Final[dict[int | str, dict[str, Any]]] = {
    200: {
        "description": "The recording's rrweb events as one JSON array, in time order.",
        "content": {"application/json": {"schema": {"type": "array", "items": {"type": "object"}}}},
    }
}

router = APIRouter(prefix="/v1/sites/{site}/replays", responses=_RESPONSES, tags=["replays"])

ReplayReader = Annotated[Principal, Depends(permitted(PERMISSION_REPLAY_READ))]
ReplayStreamer = Annotated[
    Principal, Depends(permitted(PERMISSION_REPLAY_READ, COST_REPLAY_EVENTS))
]
ReplayDeleter = Annotated[
    Principal, Depends(permitted(PERMISSION_REPLAY_DELETE, COST_REPLAY_DELETE))
]
SessionIdPath = Annotated[uuid.UUID, Path(description="The recording's session id (a UUID).")]


@router.get("", response_model=ReplaysPage)
async def replays(
    request: Request,
    site: SitePath,
    query: Annotated[ReplaysQuery, Query()],
    _: ReplayReader,
) -> Response:
    """A page of recordings, newest first (permission replay:read); pass `next_cursor`
    as `cursor` for the next."""
    return json_answer(await services(request).layer.replays(site, query))


@router.get("/{session_id}", response_model=Replay, responses=_NOT_FOUND)
async def replay(
    request: Request, site: SitePath, session_id: SessionIdPath, _: ReplayReader
) -> Response:
    """One recording's summary (permission replay:read)."""
    found = await services(request).layer.replay(site, session_id)
    if found is None:
        return not_found("no such recording")
    return json_answer(found)


@router.get(
    "/{session_id}/events",
    response_class=StreamingResponse,
    responses={**_EVENTS_BODY, **_NOT_FOUND, **_GONE},
)
async def replay_events(
    request: Request, site: SitePath, session_id: SessionIdPath, _: ReplayStreamer
) -> Response:
    """The recording's rrweb events as one JSON array, streamed blob by blob in time
    order, ready for rrweb's Replayer (permission replay:read)."""
    found = services(request)
    if await found.layer.replay(site, session_id) is None:
        return not_found("no such recording")
    names = await found.replays.chunk_names(site, session_id)
    if not names:
        return not_found("the recording has no stored events")
    try:
        pieces = await found.replays.open_events(names)
    except RecordingShredded as exc:
        return JSONResponse({"error": "gone", "message": exc.reason}, status_code=410)
    return StreamingResponse(pieces, media_type="application/json")


@router.delete("/{session_id}", status_code=204, response_class=Response, responses=_NOT_FOUND)
async def delete_replay(
    request: Request, site: SitePath, session_id: SessionIdPath, _: ReplayDeleter
) -> Response:
    """Remove a recording: its blobs, then its rows (permission replay:delete). An
    expired recording not yet swept is removed too."""
    found = services(request)
    # Blobs first: when the archive fails (503) the recording is still listed, and
    # the same request can be made again.
    blobs = await found.replays.delete(site, session_id)
    had_rows = await found.layer.delete_replay_rows(site, session_id)
    if not blobs and not had_rows:
        return not_found("no such recording")
    return Response(status_code=204)
