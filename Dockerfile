# syntax=docker/dockerfile:1
# slaclock: dependencies from the hashed lock, then a wheel of the project, in a builder
# stage; the runtime stage takes only the resulting virtualenv.
#   docker build -t slaclock .
#   docker run -p 8000:8000 -v slaclock-data:/data -e SLA_ADMIN_TOKEN=... slaclock
# Another base (a mirror, a patched release, a locally built one):
#   docker build --build-arg PYTHON_IMAGE=registry.example/python:3.11-slim -t slaclock .

# A patch release, not a moving 3.11 tag: the same Dockerfile builds the same interpreter.
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# The lock before the source: a source edit leaves this layer, and its downloads, cached.
# /opt/build holds the build backend only; it stays in this stage.
COPY requirements/base.txt requirements/build.txt ./requirements/
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --require-hashes --no-deps -r requirements/base.txt \
 && python -m venv /opt/build \
 && /opt/build/bin/pip install --require-hashes --no-deps -r requirements/build.txt
# The rest of the context: .dockerignore admits only the sources the wheel is built
# from. One COPY, one layer (each layer is a full copy where storage cannot overlay).
COPY . ./
RUN /opt/build/bin/pip wheel --no-deps --no-build-isolation --wheel-dir /wheels . \
 && /opt/venv/bin/pip install --no-deps /wheels/*.whl

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
