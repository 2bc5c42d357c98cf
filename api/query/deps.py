"""What every protected route depends on: the services, the token, the rate limit.

Order of checks for a request: the client address's refusals (429, see
``api.query.guards``), token (401), the token's requests in progress (429), rate limit
(429: a REST request takes its route's cost, 1 unless heavy; a GraphQL request is only
checked for one token here and takes its query's cost once the query is parsed),
parameters (422), then the site and permission (403).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Final

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.query.auth import AuthError, Principal, TokenVerifier
from api.query.exports import ExportManager
from api.query.filters import SITE_ID_REGEX
from api.query.guards import QUERY_SLOTS, TokenSlots, TooManyInProgress
from api.query.layer import QueryLayer
from api.query.metrics import APIMetrics
from api.query.ratelimit import RateLimitDecision, RateLimiter
from api.query.replay_archive import ReplayArchive
from foundation.settings import Settings

Clock = Callable[[], float]

# Where the decision waits in the request's state (``scope["state"]``) for the middleware.
RATE_LIMIT_STATE = "insightlite_rate_limit"

# REST routes that cost more than one token: a PNG is a query plus a rendering, an
# export reads a whole range (up to api_max_range_days) in the background, a
# recording's events are a query plus every blob of it read and sent (megabytes for a
# long one), deleting a recording is a query, two row deletions and the blobs' removal;
# a heatmap's page picture is a query and up to 20 recordings' blobs read (megabytes).
COST_HEATMAP_PNG: Final = 2
COST_EXPORT: Final = 10
COST_REPLAY_EVENTS: Final = 5
COST_REPLAY_DELETE: Final = 2
COST_HEATMAP_SNAPSHOT: Final = 5


class RateLimited(Exception):
    """The token used up its requests for now (HTTP 429)."""

    def __init__(self, decision: RateLimitDecision) -> None:
        super().__init__("rate limited")
        self.decision = decision


@dataclass
class Services:
    """Everything routes use, built once per app (see ``app.create_app``)."""

    settings: Settings
    layer: QueryLayer
    verifier: TokenVerifier
    limiter: RateLimiter
    exports: ExportManager
    metrics: APIMetrics
    slots: TokenSlots
    replays: ReplayArchive
    clock: Clock = time.time


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


_bearer = HTTPBearer(
    auto_error=False,
    description="A JWT from `insightlite token create` (or your issuer), sent as "
    "`Authorization: Bearer <token>`.",
)


async def admitted(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> AsyncIterator[Principal]:
    """The verified principal, holding one of its token's request slots meanwhile."""
    found = services(request)
    if credentials is None:
        raise AuthError("bearer token required", missing=True)
    principal = found.verifier.verify(credentials.credentials)
    try:
        async with found.slots.request(principal.rate_key) as query_slots:
            # Not reset on the way out: the variable lives in this request's task only.
            QUERY_SLOTS.set(query_slots)
            yield principal
    except TooManyInProgress:
        found.metrics.concurrency_refused.labels(principal.tier).inc()
        raise


async def charge(request: Request, principal: Principal, cost: int, *, take: bool = True) -> None:
    """Take ``cost`` tokens from the principal's bucket (only look when not ``take``);
    RateLimited when they are not there."""
    found = services(request)
    limit = found.settings.rate_limit_per_minute(principal.tier)
    if take:
        decision = await found.limiter.hit(principal.rate_key, limit, cost)
    else:
        decision = await found.limiter.peek(principal.rate_key, limit, cost)
    # The middleware writes the RateLimit-* headers of every response from this.
    request.state.insightlite_rate_limit = decision
    if not decision.allowed:
        found.metrics.rate_limited.labels(principal.tier).inc()
        raise RateLimited(decision)


def charged(cost: int) -> Callable[..., Awaitable[Principal]]:
    """A dependency admitting the token and taking ``cost`` tokens from its bucket."""

    async def dependency(
        request: Request, principal: Annotated[Principal, Depends(admitted)]
    ) -> Principal:
        await charge(request, principal, cost)
        return principal

    return dependency


SitePath = Annotated[
    str,
    Path(
        min_length=1,
        max_length=64,
        pattern=SITE_ID_REGEX,
        description="Site id (1-64 of A-Za-z0-9._-).",
    ),
]


def permitted(
    permission: str, cost: int = 1, *, also: tuple[str, ...] = ()
) -> Callable[..., Awaitable[Principal]]:
    """A dependency granting the route to tokens with ``permission`` (and every one of
    ``also``) on ``{site}``, for ``cost`` tokens of their bucket."""

    # A default rather than an Annotated hint: the hint is a string (postponed
    # annotations) that FastAPI resolves in the module's globals, where locals are not.
    charge_cost = charged(cost)

    async def dependency(
        site: SitePath,
        principal: Principal = Depends(charge_cost),  # noqa: B008 (see above)
    ) -> Principal:
        for required in (permission, *also):
            principal.require(site, required)
        return principal

    return dependency
