# syntax=docker/dockerfile:1
# slaclock: build a wheel and a virtualenv in one stage, run from a slim one.
#   docker build -t slaclock .
#   docker run -p 8000:8000 -v slaclock-data:/data -e SLA_ADMIN_TOKEN=... slaclock

ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/venv
# README* may be absent; a wildcard source that matches nothing is allowed.
COPY pyproject.toml README* ./
COPY domain ./domain
COPY projections ./projections
COPY service ./service
COPY policies ./policies
RUN /opt/venv/bin/pip install --upgrade pip \
 && /opt/venv/bin/pip wheel --no-deps --wheel-dir /wheels . \
 && /opt/venv/bin/pip install /wheels/*.whl

FROM ${PYTHON_IMAGE} AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    SLA_DATABASE_URL=sqlite:////data/slaclock.db
RUN groupadd --system --gid 10001 slaclock \
 && useradd --system --uid 10001 --gid slaclock --home-dir /app --no-create-home slaclock \
 && mkdir -p /app /data \
 && chown slaclock:slaclock /data
# The same base image in both stages, so the venv's interpreter path is valid here.
COPY --from=builder /opt/venv /opt/venv
WORKDIR /app
USER 10001:10001
VOLUME ["/data"]
EXPOSE 8000
# No curl in slim images: ask /healthz with the standard library (urlopen raises on non-2xx).
HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('SLA_PORT', '8000') + '/healthz', timeout=4)"]
CMD ["slaclock", "serve", "--host", "0.0.0.0"]
