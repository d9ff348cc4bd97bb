"""Readers for the container files (Dockerfile, docker-compose.yml, dagster.yaml) shared by the tests.

The tests take commands, ports, variables and paths from these files instead of repeating them,
so a test exercises what the files say.
"""

from __future__ import annotations

import importlib
import json
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from polymarket_pipeline_tests.deploy.harness import REPO_ROOT

DOCKERFILE = REPO_ROOT / "Dockerfile"
COMPOSE = REPO_ROOT / "docker-compose.yml"
DAGSTER_YAML = REPO_ROOT / "dagster.yaml"
WORKSPACE_YAML = REPO_ROOT / "workspace.yaml"
CODE_SERVICE = "polymarket_pipeline_code"


# ------------------------------------------------------------------------------------- Dockerfile
@dataclass(frozen=True)
class Instruction:
    stage: int
    keyword: str
    args: str


def dockerfile_instructions(text: str | None = None) -> list[Instruction]:
    """Instructions with continuation lines joined and comments dropped; ``stage`` counts FROMs."""
    logical: list[str] = []
    current = ""
    for raw in (DOCKERFILE.read_text() if text is None else text).splitlines():
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
    return exec_form(instruction(dockerfile_instructions(), "CMD").args)


def dockerfile_healthcheck() -> list[str]:
    """The HEALTHCHECK's command (its CMD part)."""
    return exec_form(instruction(dockerfile_instructions(), "HEALTHCHECK").args)


def dockerfile_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for item in dockerfile_instructions():
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


def load_yaml(path: Any) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict), f"{path} is not a mapping"
    return data


def service_environment(
    compose: Mapping[str, Any], name: str, variables: Mapping[str, str]
) -> dict[str, str]:
    """A docker-compose service's environment (mapping or list form), its ``${VAR}`` filled in."""
    raw = compose["services"][name].get("environment", {})
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) for item in raw)
    return {key: interpolate(str(value), variables) for key, value in raw.items()}


# ---------------------------------------------------------------------------------- dagster.yaml
def env_refs(config: Any) -> set[str]:
    """Every ``{env: NAME}`` in a piece of dagster.yaml."""
    if isinstance(config, dict):
        if set(config) == {"env"}:
            return {str(config["env"])}
        return set().union(*(env_refs(v) for v in config.values())) if config else set()
    if isinstance(config, list):
        return set().union(*(env_refs(v) for v in config)) if config else set()
    return set()


def forwarded_env_vars(instance_yaml: Mapping[str, Any]) -> list[str]:
    """The variables the DockerRunLauncher copies from the daemon into every run container."""
    return [str(name) for name in instance_yaml["run_launcher"]["config"].get("env_vars", [])]


def daemon_required_env(instance_yaml: Mapping[str, Any]) -> set[str]:
    """What the daemon must define to launch a run: storage, the launcher's settings, the forwarded ones."""
    names = {name.split("=", 1)[0] for name in forwarded_env_vars(instance_yaml) if "=" not in name}
    return names | env_refs(instance_yaml["storage"]) | env_refs(instance_yaml["run_launcher"])


def package_env_vars() -> set[str]:
    """Every POLYMARKET_* variable the package reads: string literals anywhere in its source, and
    the fields of its settings model where there is one (their names are built from a prefix)."""
    names: set[str] = set()
    for path in (REPO_ROOT / "polymarket_pipeline").rglob("*.py"):
        names |= set(re.findall(r"[\"'](POLYMARKET_[A-Z0-9_]+)[\"']", path.read_text()))
    try:
        settings = importlib.import_module("polymarket_pipeline.settings")
    except ModuleNotFoundError:
        pass
    else:
        names |= {name for name in settings.env_names().values() if name.startswith("POLYMARKET_")}
    assert "POLYMARKET_DATABASE_URL" in names
    return names


def commented_k8s_launcher() -> dict[str, Any]:
    """The K8sRunLauncher block dagster.yaml documents in a comment, parsed."""
    lines = DAGSTER_YAML.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("# run_launcher:"))
    block: list[str] = []
    for line in lines[start:]:
        if not line.startswith("#") or line.strip() == "#":
            break
        block.append(line[2:] if line.startswith("# ") else line[1:])
    parsed = yaml.safe_load("\n".join(block))
    assert isinstance(parsed, dict)
    launcher = parsed["run_launcher"]
    assert isinstance(launcher, dict)
    return launcher
