"""ClickHouse access for InsightLite: embedded (chdb) or a server, plus schema migrations.

Example::

    client = connect("chdb:insightlite-data/clickhouse")  # or clickhouse://user:pw@host/db
    apply_migrations(client)
    client.query(
        "SELECT count() FROM insightlite.events WHERE site_id = {site:String}",
        {"site": "example.org"},
    )
    client.close()
"""

from .base import (
    ClickHouseClient,
    ClickHouseError,
    ClickHouseUnavailable,
    EmbeddedPathConflict,
    QueryError,
    QueryResult,
    format_param,
)
from .chdb_client import ChdbClient, ChdbSettings
from .client import connect, parse_url, readonly_query, redact_url
from .migrations import (
    Migration,
    MigrationChecksumMismatch,
    MigrationError,
    apply_migrations,
    list_migrations,
    pending_migrations,
)
from .native_client import NativeClient, ServerSettings

__all__ = [
    "ChdbClient",
    "ChdbSettings",
    "ClickHouseClient",
    "ClickHouseError",
    "ClickHouseUnavailable",
    "EmbeddedPathConflict",
    "Migration",
    "MigrationChecksumMismatch",
    "MigrationError",
    "NativeClient",
    "QueryError",
    "QueryResult",
    "ServerSettings",
    "apply_migrations",
    "connect",
    "format_param",
    "list_migrations",
    "parse_url",
    "pending_migrations",
    "readonly_query",
    "redact_url",
]
