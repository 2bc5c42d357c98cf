"""What every protected route depends on: the services, the token, the rate limit.

Order of checks for a request: token (401), rate limit (429, counted per token for
every authenticated request), parameters (422), then the site and permission (403).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.query.auth import AuthError, Principal, TokenVerifier
from api.query.exports import ExportManager
from api.query.layer import QueryLayer
from api.query.metrics import APIMetrics
from api.query.models import SITE_ID_REGEX
from api.query.ratelimit import RateLimitDecision, RateLimiter
from api.query.settings import APISettings

Clock = Callable[[], float]

# Where the decision waits in the request's state (``scope["state"]``) for the middleware.
RATE_LIMIT_STATE = "insightlite_rate_limit"


class RateLimited(Exception):
    """The token used up its requests for now (HTTP 429)."""

    def __init__(self, decision: RateLimitDecision) -> None:
        super().__init__("rate limited")
        self.decision = decision


@dataclass
class Services:
    """Everything routes use, built once per app (see ``app.create_app``)."""

    api_settings: APISettings
    layer: QueryLayer
    verifier: TokenVerifier
    limiter: RateLimiter
    exports: ExportManager
    metrics: APIMetrics
    clock: Clock = time.time


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


_bearer = HTTPBearer(
    auto_error=False,
    description="A JWT from `insightlite token create` (or your issuer), sent as "
    "`Authorization: Bearer <token>`.",
)


async def authenticated(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The verified principal, after counting the request against its rate limit."""
    found = services(request)
    if credentials is None:
        raise AuthError("bearer token required", missing=True)
    principal = found.verifier.verify(credentials.credentials)
    limit = found.api_settings.rate_limit_per_minute(principal.tier)
    decision = await found.limiter.hit(principal.rate_key, limit)
    # The middleware writes the RateLimit-* headers of every response from this.
    request.state.insightlite_rate_limit = decision
    if not decision.allowed:
        found.metrics.rate_limited.labels(principal.tier).inc()
        raise RateLimited(decision)
    return principal


SitePath = Annotated[
    str,
    Path(
        min_length=1,
        max_length=64,
        pattern=SITE_ID_REGEX,
        description="Site id (1-64 of A-Za-z0-9._-).",
    ),
]


def permitted(permission: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency granting the route to tokens with ``permission`` on ``{site}``."""

    async def dependency(
        site: SitePath, principal: Annotated[Principal, Depends(authenticated)]
    ) -> Principal:
        principal.require(site, permission)
        return principal

    return dependency
