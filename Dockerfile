# The polymarket_pipeline image.
#
# By default it is the user-code image: a gRPC code server for the code location
# `polymarket_pipeline.definitions` on port 4000 (workspace.yaml points the webserver and the
# daemon at it). The DockerRunLauncher also starts every run in this image (`dagster api
# execute_run …`, the image is the one this code server reports through DAGSTER_CURRENT_IMAGE).
#
# The same image serves as the webserver and daemon image: Dagster, dagster-webserver,
# dagster-postgres and dagster-docker are all installed, and the production dagster.yaml and
# workspace.yaml are copied into $DAGSTER_HOME. Only the command differs (see docker-compose.yml):
#   dagster-webserver -h 0.0.0.0 -p 3000 -w /opt/dagster/dagster_home/workspace.yaml
#   dagster-daemon run -w /opt/dagster/dagster_home/workspace.yaml
# Those two override the HEALTHCHECK below, which probes the code server's gRPC port.
#
# Build: docker build -t polymarket_pipeline:latest .

FROM python:3.11-slim-bookworm AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml requirements.lock README.md ./
COPY polymarket_pipeline ./polymarket_pipeline

# Runtime dependencies only, every version pinned by requirements.lock (used as constraints: the
# lock also lists the dev tools, which `.` does not ask for, so none of them is installed).
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir -c requirements.lock .


FROM python:3.11-slim-bookworm

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DAGSTER_HOME=/opt/dagster/dagster_home

# A fixed numeric uid/gid, so Kubernetes' runAsNonRoot can verify it.
RUN groupadd --system --gid 10001 dagster \
    && useradd --system --uid 10001 --gid dagster --home-dir /opt/dagster --shell /usr/sbin/nologin dagster \
    && mkdir -p /opt/dagster/app /opt/dagster/dagster_home/storage \
    && chown -R dagster:dagster /opt/dagster

COPY --from=build /opt/venv /opt/venv
COPY --chown=dagster:dagster dagster.yaml workspace.yaml /opt/dagster/dagster_home/

USER 10001:10001
WORKDIR /opt/dagster/app

EXPOSE 4000 3000

HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["dagster", "api", "grpc-health-check", "-p", "4000"]

CMD ["dagster", "code-server", "start", "-h", "0.0.0.0", "-p", "4000", "-m", "polymarket_pipeline.definitions"]
