"""Container logs in the report of a failed container test."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest


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
