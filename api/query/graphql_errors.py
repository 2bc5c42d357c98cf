"""How GraphQL tells a client what went wrong: coded errors for what a client may
know (``extensions.code``), everything else masked as "Unexpected error." and logged."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from graphql import GraphQLError
from pydantic import ValidationError

from api.query.auth import AccessDenied
from api.query.cursors import InvalidCursor
from api.query.filters import InvalidQuery
from connectors.clickhouse import ClickHouseUnavailable

T = TypeVar("T")
P = ParamSpec("P")

CODE_BAD_REQUEST = "BAD_REQUEST"
CODE_FORBIDDEN = "FORBIDDEN"
CODE_UNAVAILABLE = "UNAVAILABLE"
_CLIENT_CODES = frozenset({CODE_BAD_REQUEST, CODE_FORBIDDEN, CODE_UNAVAILABLE})


def _client_error(message: str, code: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code})


def _validation_message(error: ValidationError) -> str:
    parts = []
    for detail in error.errors():
        location = ".".join(str(part) for part in detail.get("loc", ()))
        parts.append(f"{location}: {detail['msg']}" if location else str(detail["msg"]))
    return "; ".join(parts)


def client_errors(
    resolver: Callable[P, Awaitable[T]],
) -> Callable[P, Awaitable[T]]:
    """A resolver that turns what a client may know into coded GraphQL errors."""

    @functools.wraps(resolver)
    async def guarded(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await resolver(*args, **kwargs)
        except AccessDenied as exc:
            raise _client_error(exc.reason, CODE_FORBIDDEN) from None
        except ValidationError as exc:
            raise _client_error(_validation_message(exc), CODE_BAD_REQUEST) from None
        except (InvalidQuery, InvalidCursor) as exc:
            raise _client_error(str(exc), CODE_BAD_REQUEST) from None
        except ClickHouseUnavailable:
            raise _client_error("the analytics store is unavailable", CODE_UNAVAILABLE) from None

    return guarded


def should_mask(error: GraphQLError) -> bool:
    # Syntax and validation errors have no original error and describe the query only.
    if error.original_error is None:
        return False
    original = error.original_error
    if isinstance(original, GraphQLError):
        return (original.extensions or {}).get("code") not in _CLIENT_CODES
    return True
