"""The production databases the stack fixtures run on, and container logs in a failed test's report."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import Any

import pytest

from polymarket_pipeline_tests.deploy import harness


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    """A failed test using the ``docker_stack`` fixture gets each container's last logs appended."""
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    stack = getattr(item, "funcargs", {}).get("docker_stack")
    if stack is not None:
        report.sections.append(("container logs", stack.logs()))


@pytest.fixture(scope="module")
def production_dbs(pg_server: str) -> Iterator[harness.ProductionDatabases]:
    """A role owning Dagster's storage and the application database, dropped after the module."""
    with harness.production_databases(pg_server) as databases:
        yield databases
