"""Benchmark: latency of the query API's heatmap, sessions and stats requests over
millions of events in chdb, cold (cache off) and cached, and requests/s of a cached
heatmap request on one core.

    python bench/api.py [--events 5000000] [--days 14] [--data-dir DIR] [--seconds 10]

1. Fills a fresh chdb directory with ``INSERT ... SELECT FROM numbers(N)``: events shaped
   like the pipeline's (3 sites of unequal size, 20 pages each, 40 events per session,
   page views, clicks, moves, scrolls, a few errors, devices, countries, daily
   visitors), then ``sessions`` (a live row for a third of them, then the final row:
   FINAL has work to do) and ``heatmap_aggregates`` derived from those events.
2. Starts ``uvicorn`` with the API factory in a child process (chdb allows one process
   per directory: this process closes its clients first), once with the cache off (on
   every CPU: ClickHouse's query threads use them) and once on (pinned to one CPU, this
   process on the others), and sends requests over loopback: sequential requests for
   latencies, then concurrent cached heatmap requests for requests/s on that one core
   (aiohttp as the client: it costs the measurement least).

Prints the figures and a JSON summary as the last line.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SECRET = "bench-secret-bench-secret-bench-secret"
SITES = ("shop.example.com", "blog.example.org", "docs.example.net")
PAGES = (
    "/",
    "/pricing",
    "/cart",
    "/checkout",
    "/search",
    "/account",
    "/about",
    "/contact",
    "/blog",
    "/blog/2026/11/privacy-first-analytics",
    "/blog/2026/11/clickhouse-at-small-scale",
    "/docs",
    "/docs/start",
    "/docs/api",
    "/docs/sdk",
    "/products",
    "/products/trail-boots",
    "/products/rain-jacket",
    "/products/tent",
    "/help",
)
EVENTS_PER_SESSION = 40

# Session-level values come from h = cityHash64(session number); event-level ones from
# cityHash64(number, salt). Every expression is a constant of this script (no input).
_EVENTS_SQL = """
INSERT INTO {db}.events (event_id, session_id, site_id, timestamp, event_type, event_data,
    url_path, referrer, device_type, viewport_width, viewport_height, user_agent_hash,
    ip_hash, country_code, error_class, received_at)
SELECT
    generateUUIDv4(number) AS event_id,
    toUUID(concat(leftPad(lower(hex(toUInt32(s))), 8, '0'), '-0000-4000-8000-',
        leftPad(lower(hex(h % 281474976710655)), 12, '0'))) AS session_id,
    multiIf(h % 10 < 5, 'shop.example.com', h % 10 < 8, 'blog.example.org',
        'docs.example.net') AS site_id,
    toDateTime64(toDate({end_day:Date}) - toIntervalDay(intDiv(h, 7) % {days:UInt32}), 3, 'UTC')
        + toIntervalMillisecond((h % 80000000) + k * 7000 + number % 997) AS timestamp,
    multiIf(k % 10 = 0 AND (k = 0 OR h % 3 != 0), 'pageview', r < 30, 'click', r < 75, 'move',
        r < 97, 'scroll', r < 99, 'custom', 'error') AS event_type,
    multiIf(event_type IN ('click', 'move'),
        concat('{"x":', toString(x), ',"y":', toString(y), '}'),
        event_type = 'scroll', concat('{"scroll_y":', toString(y), '}'),
        event_type = 'error', concat('{"error":{"message":"',
            arrayElement(['TypeError: x is undefined', 'ChunkLoadError: Loading chunk 7 failed',
                'ReferenceError: gtag is not defined', 'Script error.'], r2 % 4 + 1), '"}}'),
        '{}') AS event_data,
    arrayElement({pages:Array(String)}, (cityHash64(s, intDiv(k, 10)) % 20) + 1) AS url_path,
    '' AS referrer,
    arrayElement(['desktop', 'desktop', 'desktop', 'desktop', 'mobile', 'mobile', 'mobile',
        'tablet', 'other', 'desktop'], intDiv(h, 16) % 10 + 1) AS device_type,
    toUInt16(multiIf(device_type = 'mobile', 390, device_type = 'tablet', 820,
        device_type = 'other', 1024, 1440)) AS viewport_width,
    toUInt16(multiIf(device_type = 'mobile', 844, device_type = 'tablet', 1180, 900))
        AS viewport_height,
    cityHash64(h % 1000) AS user_agent_hash,
    cityHash64(s % {visitors:UInt64}, toDate(timestamp)) AS ip_hash,
    arrayElement(['US', 'US', 'GB', 'DE', 'FR', 'NL', 'BR', 'IN', 'JP', ''],
        intDiv(h, 4096) % 10 + 1) AS country_code,
    if(event_type = 'error', arrayElement(['type_error', 'chunk_load', 'reference_error',
        'cross_origin_script'], r2 % 4 + 1), '') AS error_class,
    timestamp AS received_at
FROM (
    SELECT number, intDiv(number, 40) AS s, number % 40 AS k, cityHash64(intDiv(number, 40)) AS h,
        cityHash64(number, 1) % 100 AS r, cityHash64(number, 2) AS r2,
        toUInt32(if(r2 % 10 < 7, 300 + intDiv(r2, 256) % 700, intDiv(r2, 256) % 1400)) AS x,
        toUInt32(if(r2 % 10 < 7, 200 + intDiv(r2, 1048576) % 1600, intDiv(r2, 1048576) % 6000)) AS y
    FROM numbers({events:UInt64})
)
"""

_HEATMAP_SQL = """
INSERT INTO {db}.heatmap_aggregates (site_id, url_path, device_type, date_bucket,
    interaction_type, grid_x, grid_y, interaction_count, last_updated)
SELECT site_id, url_path, device_type, toDate(timestamp) AS day, event_type,
    toUInt16(least(99, intDiv(100 * JSONExtractUInt(event_data, 'x'), viewport_width))),
    toUInt16(intDiv(JSONExtractUInt(event_data, if(event_type = 'scroll', 'scroll_y', 'y'))
        + if(event_type = 'scroll', viewport_height, 0), 16)),
    count(), now()
FROM {db}.events
WHERE event_type IN ('click', 'move', 'scroll')
GROUP BY site_id, url_path, device_type, day, event_type, 6, 7
"""

_SESSIONS_SQL = """
INSERT INTO {db}.sessions (session_id, site_id, start_time, end_time, page_count,
    event_count, device_type, country_code, duration_seconds, has_errors, has_rage_clicks,
    entry_path, exit_path, rage_click_count, error_count, version)
SELECT session_id, any(site_id), min(timestamp), max(timestamp),
    toUInt16(countIf(event_type = 'pageview')) {live_pages}, toUInt32(count()),
    any(device_type), any(country_code),
    toUInt32(dateDiff('second', min(timestamp), max(timestamp))),
    countIf(event_type = 'error') > 0, cityHash64(session_id) % 12 = 0,
    argMin(url_path, timestamp), argMax(url_path, timestamp),
    toUInt32(if(cityHash64(session_id) % 12 = 0, 3, 0)), toUInt32(countIf(event_type = 'error')),
    toUInt64({version_base:UInt64} + count())
FROM {db}.events
{where}
GROUP BY session_id
"""


def fill(url: str, events: int, days: int, end_day: date) -> dict[str, Any]:
    from connectors.clickhouse import apply_migrations, connect

    client = connect(url)
    try:
        apply_migrations(client)
        database = client.database
        params = {
            "events": events,
            "days": days,
            "end_day": end_day,
            "pages": list(PAGES),
            "visitors": max(1, events // EVENTS_PER_SESSION // 3),
        }
        started = time.perf_counter()
        client.command(_EVENTS_SQL.replace("{db}", database), params)
        events_seconds = time.perf_counter() - started
        started = time.perf_counter()
        client.command(_HEATMAP_SQL.replace("{db}", database))
        # A third of the sessions first get a live row (lower version, fewer pages).
        live = (
            _SESSIONS_SQL.replace("{db}", database)
            .replace("{live_pages}", "- 0")
            .replace("{where}", "WHERE cityHash64(session_id) % 3 = 0")
        )
        client.command(live, {"version_base": 0})
        final = (
            _SESSIONS_SQL.replace("{db}", database)
            .replace("{live_pages}", "")
            .replace("{where}", "")
        )
        client.command(final, {"version_base": 2**40})
        derived_seconds = time.perf_counter() - started
        counts = {
            table: int(client.query(f"SELECT count() FROM {database}.{table}").rows[0][0])
            for table in ("events", "sessions", "heatmap_aggregates")
        }
    finally:
        client.close()
    gc.collect()
    return {
        "rows": counts,
        "events_seconds": round(events_seconds, 1),
        "derived_seconds": round(derived_seconds, 1),
    }


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def api_server(url: str, *, cache_ttl: float, cpus: set[int]) -> Iterator[str]:
    """uvicorn with the API factory in a child process running on ``cpus``."""
    port = _free_port()
    environment = {
        **os.environ,
        "INSIGHTLITE_CLICKHOUSE_URL": url,
        "INSIGHTLITE_JWT_SECRET": SECRET,
        "INSIGHTLITE_CACHE_TTL_SECONDS": str(cache_ttl),
        "INSIGHTLITE_API_RATE_LIMIT_ENTERPRISE": str(10**9),
        "INSIGHTLITE_LOG_LEVEL": "WARNING",
        "INSIGHTLITE_REDIS_URL": "",
    }
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "api.query.app:app_from_environment",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    process = subprocess.Popen(
        command,
        env=environment,
        cwd=ROOT,
        preexec_fn=lambda: os.sched_setaffinity(0, cpus),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        import httpx

        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the API server did not start")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def token() -> str:
    import jwt

    now = int(time.time())
    claims = {
        "sub": "bench",
        "aud": "insightlite-api",
        "iss": "insightlite",
        "iat": now,
        "exp": now + 86_400,
        "jti": "bench",
        "sites": list(SITES),
        "permissions": ["stats:read", "sessions:read", "heatmaps:read"],
        "tier": "enterprise",
    }
    return jwt.encode(claims, SECRET, algorithm="HS256")


def request_sets(end_day: date) -> dict[str, list[str]]:
    """Distinct requests per kind: every one is a separate answer for the cache."""
    first = (end_day - timedelta(days=29)).isoformat()
    last = end_day.isoformat()
    heatmap, sessions, stats = [], [], []
    for site in SITES:
        for path in PAGES[:8]:
            heatmap.append(
                f"/v1/sites/{site}/heatmap?path={path}&type=click&from={first}&to={last}"
            )
            heatmap.append(
                f"/v1/sites/{site}/heatmap?path={path}&type=move&device=desktop"
                f"&from={first}&to={last}"
            )
        for device in ("desktop", "mobile", "tablet", "other"):
            sessions.append(f"/v1/sites/{site}/sessions?limit=50&device={device}")
            stats.append(f"/v1/sites/{site}/stats?device={device}&from={first}&to={last}")
        sessions.append(f"/v1/sites/{site}/sessions?limit=50&has_errors=true")
        sessions.append(f"/v1/sites/{site}/sessions?limit=50&min_duration=120&country=DE")
        stats.append(f"/v1/sites/{site}/stats?from={first}&to={last}")
        stats.append(f"/v1/sites/{site}/stats?path=/pricing&from={first}&to={last}")
    return {"heatmap": heatmap, "sessions": sessions, "stats": stats}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))
    return ordered[index]


def latencies(base: str, urls: list[str], rounds: int) -> dict[str, float]:
    """Sequential requests (one at a time) over one keep-alive connection."""
    return asyncio.run(_latencies(base, urls, rounds))


async def _latencies(base: str, urls: list[str], rounds: int) -> dict[str, float]:
    import aiohttp

    headers = {"Authorization": f"Bearer {token()}"}
    timings: list[float] = []
    connector = aiohttp.TCPConnector(limit=1)
    async with aiohttp.ClientSession(base, headers=headers, connector=connector) as session:
        for _ in range(rounds):
            for url in urls:
                started = time.perf_counter()
                async with session.get(url) as response:
                    body = await response.read()
                timings.append(time.perf_counter() - started)
                if response.status != 200:
                    raise RuntimeError(f"{url}: {response.status} {body[:200]!r}")
    return {
        "requests": len(timings),
        "p50_ms": round(1000 * statistics.median(timings), 2),
        "p95_ms": round(1000 * percentile(timings, 0.95), 2),
        "max_ms": round(1000 * max(timings), 2),
    }


async def _throughput(base: str, url: str, seconds: float, concurrency: int) -> dict[str, Any]:
    # aiohttp, not httpx: httpx's asyncio client spends milliseconds per request in its
    # connection pool, which would measure the client instead of the server.
    import aiohttp

    headers = {"Authorization": f"Bearer {token()}"}
    done = 0
    failures = 0
    timings: list[float] = []
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(base, headers=headers, connector=connector) as session:
        async with session.get(url) as response:  # warm the cache
            await response.read()
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal done, failures
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                async with session.get(url) as response:
                    await response.read()
                    ok = response.status == 200
                timings.append(time.perf_counter() - started)
                if ok:
                    done += 1
                else:
                    failures += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return {
        "requests_per_second": round(done / elapsed),
        "requests": done,
        "failures": failures,
        "concurrency": concurrency,
        "p50_ms": round(1000 * statistics.median(timings), 2),
        "p95_ms": round(1000 * percentile(timings, 0.95), 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--data-dir", help="chdb directory to fill (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--rounds", type=int, default=3, help="passes over each request set")
    parser.add_argument("--seconds", type=float, default=10.0, help="throughput run length")
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()

    cpus = sorted(os.sched_getaffinity(0))
    server_cpu, client_cpus = cpus[0], set(cpus[1:]) or {cpus[0]}

    directory = Path(args.data_dir or tempfile.mkdtemp(prefix="insightlite-bench-api-"))
    url = f"chdb:{directory / 'clickhouse'}"
    end_day = datetime.now(UTC).date()
    results: dict[str, Any] = {"events": args.events, "days": args.days, "cpus": len(cpus)}
    try:
        print(f"filling {url} with {args.events:,} events over {args.days} days ...", flush=True)
        results["data"] = fill(url, args.events, args.days, end_day)
        print(f"  {results['data']}", flush=True)
        requests = request_sets(end_day)

        # Cold: ClickHouse's query threads may use every CPU (the client only waits);
        # cached and requests/s: the server on one CPU, the client on the others.
        print(f"cold (cache off): server on CPUs {cpus} ...", flush=True)
        with api_server(url, cache_ttl=0, cpus=set(cpus)) as base:
            latencies(base, requests["heatmap"][:4], 1)  # open the engine's files
            results["cold"] = {
                kind: latencies(base, urls, args.rounds) for kind, urls in requests.items()
            }
        for kind, figures in results["cold"].items():
            print(f"  {kind:9} {figures}", flush=True)

        print(
            f"cached (cache on, every request warmed first): server pinned to CPU {server_cpu} ...",
            flush=True,
        )
        os.sched_setaffinity(0, client_cpus)
        with api_server(url, cache_ttl=3600, cpus={server_cpu}) as base:
            # Session pages are never cached (they page through live data).
            cached_kinds = {kind: urls for kind, urls in requests.items() if kind != "sessions"}
            for urls in cached_kinds.values():
                latencies(base, urls, 1)
            results["cached"] = {
                kind: latencies(base, urls, args.rounds) for kind, urls in cached_kinds.items()
            }
            for kind, figures in results["cached"].items():
                print(f"  {kind:9} {figures}", flush=True)
            print(
                f"throughput of one cached heatmap request, {args.concurrency} concurrent "
                f"clients, {args.seconds:.0f} s ...",
                flush=True,
            )
            results["cached_heatmap_throughput"] = asyncio.run(
                _throughput(base, requests["heatmap"][0], args.seconds, args.concurrency)
            )
            print(f"  {results['cached_heatmap_throughput']}", flush=True)
    finally:
        if not args.data_dir and not args.keep:
            shutil.rmtree(directory, ignore_errors=True)
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
