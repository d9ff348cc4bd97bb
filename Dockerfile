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
#
# Layers are ordered for the cache: the dependencies (minutes to install) are rebuilt only when
# pyproject.toml's dependency list or requirements.lock change; a code change rebuilds only the
# package's wheel and its small install layer.

# The runtime dependency list alone (`project.dependencies` of pyproject.toml), so that editing
# pyproject.toml's tool settings does not invalidate the dependency layer.
FROM python:3.11-slim-bookworm AS requirements

WORKDIR /src
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > requirements.in


# Runtime dependencies only, every version pinned by requirements.lock (used as constraints: the
# lock also lists the dev tools, which requirements.in does not ask for, so none is installed).
FROM python:3.11-slim-bookworm AS dependencies

WORKDIR /src
COPY --from=requirements /src/requirements.in ./
COPY requirements.lock ./
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir --disable-pip-version-check -c requirements.lock -r requirements.in


# The package as a wheel (its build backend comes from PyPI in an isolated build environment).
FROM python:3.11-slim-bookworm AS wheel

WORKDIR /src
COPY pyproject.toml README.md ./
COPY polymarket_pipeline ./polymarket_pipeline
RUN pip wheel --no-cache-dir --disable-pip-version-check --no-deps --wheel-dir /wheels .


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

COPY --from=dependencies /opt/venv /opt/venv
# Offline and without dependencies: everything it needs is in the layer above, and `pip check`
# fails the build if not.
COPY --from=wheel /wheels /tmp/wheels
RUN pip install --no-cache-dir --disable-pip-version-check --no-index --no-deps /tmp/wheels/*.whl \
    && pip check \
    && rm -rf /tmp/wheels
COPY --chown=dagster:dagster dagster.yaml workspace.yaml /opt/dagster/dagster_home/

USER 10001:10001
WORKDIR /opt/dagster/app

EXPOSE 4000 3000

HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["dagster", "api", "grpc-health-check", "-p", "4000"]

CMD ["dagster", "code-server", "start", "-h", "0.0.0.0", "-p", "4000", "-m", "polymarket_pipeline.definitions"]
