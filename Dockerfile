# syntax=docker/dockerfile:1
# One image for every InsightLite service; the command picks the role:
#   insightlite collector            POST /ingest on INSIGHTLITE_COLLECTOR_PORT (8080)
#   insightlite api                  query API on INSIGHTLITE_API_PORT (8000), the
#                                    dashboard at / (docs/dashboard.md)
#   insightlite run --input kafka    a flow worker (/metrics on INSIGHTLITE_METRICS_PORT)
#   insightlite kafka init | schema apply   one-off jobs
# Build: docker build -t insightlite:<version> .   (docs/operations.md)

# The Python stages use the same slim Debian Python 3.11 base (the wheels built in one
# run in the other); the dashboard is built on Node.js 20 (Vite needs 20.19 or newer).
# Pin both by digest (python:3.11-slim-bookworm@sha256:...) in release builds.

# --- dashboard: the web dashboard's static files (dashboard/dist) ---------------
FROM node:20-bookworm-slim AS dashboard

WORKDIR /dashboard
# The lock file first: the package layer is rebuilt only when it changes.
COPY dashboard/package.json dashboard/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY dashboard ./
# Builds dist/ and fails when the app is over its size budget.
RUN npm run build

# --- builder: build the wheel and install it, with its dependencies, into a venv --
FROM python:3.11-slim-bookworm AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /src
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --upgrade pip wheel

# The package metadata first: the dependency layer is rebuilt only when it changes.
COPY pyproject.toml README.md ./
COPY foundation ./foundation
COPY operators ./operators
COPY connectors ./connectors
COPY flows ./flows
COPY api ./api
COPY devtools ./devtools
COPY insightlite ./insightlite

RUN /opt/venv/bin/pip wheel --no-deps --wheel-dir /wheels . \
    && /opt/venv/bin/pip install /wheels/insightlite-*.whl \
    && /opt/venv/bin/python -m compileall -q /opt/venv/lib

# --- runtime: the venv and the dashboard's files only, no build tools, no sources --
FROM python:3.11-slim-bookworm AS runtime

# A fixed, unprivileged uid/gid matching the Kubernetes securityContext (10001).
RUN groupadd --system --gid 10001 insightlite \
    && useradd --system --uid 10001 --gid 10001 --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin insightlite

COPY --from=builder /opt/venv /opt/venv
COPY --from=dashboard /dashboard/dist /opt/insightlite/dashboard

# The package is installed in the venv, away from the repository's dashboard/dist, so
# the API is told where the dashboard's files are.
ENV PATH=/opt/venv/bin:$PATH \
    INSIGHTLITE_API_DASHBOARD_DIR=/opt/insightlite/dashboard \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    INSIGHTLITE_LOG_FORMAT=json \
    INSIGHTLITE_DATA_DIR=/tmp/insightlite

WORKDIR /tmp
USER 10001:10001

EXPOSE 8080 8000 9100 9999

# Asks the running service's own /health: the collector's port, the API's port or a
# worker's metrics port, chosen from the command PID 1 runs; one-off commands (jobs)
# have no endpoint and count as healthy. INSIGHTLITE_HEALTH_PORT overrides the choice.
# Kubernetes ignores HEALTHCHECK and uses the probes of infra/k8s instead.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os,sys,urllib.request as u;a=open('/proc/1/cmdline','rb').read().split(b'\\0');e=os.environ.get;p=e('INSIGHTLITE_HEALTH_PORT') or (e('INSIGHTLITE_COLLECTOR_PORT','8080') if b'collector' in a else e('INSIGHTLITE_API_PORT','8000') if b'api' in a else e('INSIGHTLITE_METRICS_PORT','0') if b'run' in a else '0');sys.exit(0) if p=='0' else u.urlopen('http://127.0.0.1:%s/health'%p,timeout=4)"]

ENTRYPOINT ["insightlite"]
CMD ["--help"]
