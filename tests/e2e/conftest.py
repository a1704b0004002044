"""The end-to-end suite's processes: the sandbox, Home Assistant and Chromium, one each per run.

Run it with `.venv/bin/python -m pytest tests/e2e -m e2e -p no:homeassistant` (as `.ci/run`
does), after `scripts/setup --e2e`. The unit suite deselects it (`-m "not e2e"` in
pyproject.toml). Without the Home Assistant test harness plugin: these tests start their own
Home Assistant and talk to it over HTTP.
"""

from collections.abc import Iterator
import contextlib
from pathlib import Path
from typing import Any

import pytest

from .harness import Browser, HassProcess, SandboxProcess, clean_artifacts


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Nothing to enable here: the parent conftest's fixture needs the in-process harness."""


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """The run's screenshots and logs (git-ignored `e2e-artifacts/`)."""
    return clean_artifacts()


@pytest.fixture(scope="session")
def sandbox(artifacts: Path) -> Iterator[SandboxProcess]:
    """The provider sandbox, as `scripts/sandbox` runs it, on free ports."""
    process = SandboxProcess(artifacts / "sandbox.log")
    process.start()
    yield process
    process.stop()


@pytest.fixture(scope="session")
def hass(
    artifacts: Path, sandbox: SandboxProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[HassProcess]:
    """A real Home Assistant, onboarded, with config/configuration.yaml."""
    process = HassProcess(tmp_path_factory.mktemp("hass-config"), artifacts / "hass.log")
    process.write_config()
    process.start()
    try:
        process.onboard()
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="session")
def browser(hass: HassProcess, artifacts: Path) -> Iterator[Browser]:
    """Headless Chromium, signed in as the owner."""
    chromium = Browser(hass, artifacts)
    yield chromium
    chromium.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """A screenshot of the page when a scenario fails, beside the others."""
    report = yield
    if report.when == "call" and report.failed and "browser" in getattr(item, "funcargs", {}):
        chromium: Browser = item.funcargs["browser"]  # type: ignore[attr-defined]
        with contextlib.suppress(Exception):
            chromium.shot(f"FAILED-{item.name}")
    return report
