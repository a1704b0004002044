"""What the end-to-end tests drive: the sandbox process, a real `hass` process, Chromium.

Nothing here imports Home Assistant or the test harness: the tests talk to both processes
over HTTP only, as a person's browser and a REST client would.
"""

from collections.abc import Callable
import contextlib
from dataclasses import dataclass, field
import json
import os
from pathlib import Path
import shutil
import signal
import socket
import subprocess
import sys
import time
from typing import Any
import urllib.error
import urllib.parse
import urllib.request

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "e2e-artifacts"
"""Screenshots and logs of a run (git-ignored); the best screenshots go to docs/images/."""
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--metrics-recording-only",
]
"""Headless, without the sandbox (root in CI) or a GPU, and talking to no one but us."""
USERNAME, PASSWORD = "e2e", "e2e-password-not-secret"
ONBOARDING_STORE = {
    "version": 4,
    "minor_version": 1,
    "key": "onboarding",
    "data": {"done": ["core_config", "analytics", "integration"]},
}
"""Onboarding with only the owner left to create (see `HassProcess.write_config`)."""


def http_store(port: int) -> dict[str, Any]:
    """The HTTP server's stored settings, confirmed: loopback only, on `port`.

    Home Assistant keeps them in `.storage/http` since 2026.10; set in YAML, they would be a
    trial that asks to be confirmed in the UI and reverts to port 8123 after five minutes.
    """
    return {
        "version": 2,
        "minor_version": 2,
        "key": "http",
        "data": {
            "stable": {
                "server_port": port,
                "server_host": ["127.0.0.1"],
                "cors_allowed_origins": [],
                "login_attempts_threshold": -1,
                "ip_ban_enabled": True,
                "ssl_profile": "modern",
                "use_x_frame_options": True,
                "created_at": "2026-01-01T00:00:00+00:00",
                "error": None,
                "error_message": None,
            },
            "pending": None,
            "yaml_migration_done": True,
        },
    }


RAW_KEYS = ("[%key", "component.presence_bridge.")
"""What a page shows where a translation is missing."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http(
    method: str,
    url: str,
    body: Any = None,
    *,
    token: str | None = None,
    form: dict[str, str] | None = None,
    timeout: float = 30,
) -> tuple[int, Any]:
    """One request; the status and the JSON (or text) answer, whatever the status."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = None
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as err:
        status, raw = err.code, err.read()
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw.decode(errors="replace")


def wait_for[T](
    check: Callable[[], T | None], *, timeout: float, what: str, interval: float = 0.25
) -> T:
    """Poll `check` until it returns something truthy; fail naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        if result := check():
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


@dataclass
class SandboxProcess:
    """`python -m tests.sandbox` on free ports, read and steered through its control API."""

    log: Path
    info: dict[str, dict[str, Any]] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start it and read the connection details it writes."""
        info_file = self.log.with_suffix(".json")
        info_file.unlink(missing_ok=True)
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(  # noqa: S603
                [sys.executable, "-m", "tests.sandbox", "--port-base", "0", "--info", info_file],
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        wait_for(info_file.exists, timeout=30, what="the sandbox")
        self.info = json.loads(info_file.read_text())

    def stop(self) -> None:
        """Stop it."""
        if self.process is not None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(10)

    def url(self, provider: str) -> str:
        """The base URL of one provider's fake."""
        return str(self.info[provider]["url"])

    def requests(self, provider: str, since: int = 0) -> list[dict[str, Any]]:
        """What reached the provider, from request number `since` on."""
        status, answer = http("GET", f"{self.url(provider)}/_sandbox/requests?since={since}")
        assert status == 200, answer
        return list(answer["requests"])

    def mark(self, provider: str) -> int:
        """The number of requests the provider received so far (for `since`)."""
        status, answer = http("GET", f"{self.url(provider)}/_sandbox/requests?since=1000000")
        assert status == 200, answer
        return int(answer["next"])

    def state(self, provider: str, changes: dict[str, Any] | None = None) -> dict[str, Any]:
        """The provider's state, after applying `changes` if given."""
        url = f"{self.url(provider)}/_sandbox/state"
        status, answer = http("POST", url, changes) if changes else http("GET", url)
        assert status == 200, answer
        return dict(answer)

    def fail(self, provider: str, **order: Any) -> None:
        """Queue canned answers (see tests/fake_server.py)."""
        status, answer = http("POST", f"{self.url(provider)}/_sandbox/fail", order)
        assert status == 200, answer


@dataclass
class HassProcess:
    """A real Home Assistant (`hass` of this venv) with a temporary configuration directory."""

    config_dir: Path
    log: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    token: str | None = None
    refresh_token: str | None = None

    @property
    def url(self) -> str:
        """Home Assistant's base URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def client_id(self) -> str:
        """The OAuth client id the frontend uses: its own origin."""
        return f"{self.url}/"

    def write_config(self) -> None:
        """config/configuration.yaml on a free port, with onboarding left at its user step.

        Onboarding's other steps are marked done beforehand, as `scripts/develop` does: the
        core configuration step would set up Met, Radio Browser, Shopping list and Google
        Translate, whose packages (and, through the to-do list's actions, Assist's) the test
        venv lacks, which leaves the frontend loading for ever.
        """
        storage = self.config_dir / ".storage"
        storage.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / "config" / "configuration.yaml", self.config_dir)
        (storage / "onboarding").write_text(json.dumps(ONBOARDING_STORE))
        (storage / "http").write_text(json.dumps(http_store(self.port)))

    def start(self) -> None:
        """Start `hass` and wait until it answers."""
        env = os.environ | {"PYTHONPATH": str(ROOT)}
        hass = Path(sys.executable).with_name("hass")
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(  # noqa: S603
                [hass, "--config", self.config_dir, "--skip-pip"],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

        def up() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"hass exited with {self.process.returncode}; see {self.log}")
            try:
                status, _ = http("GET", f"{self.url}/manifest.json", timeout=2)
            except OSError:
                return False
            return status == 200

        wait_for(up, timeout=90, what="Home Assistant to start")
        if self.token:
            self.wait_running()

    def wait_running(self) -> None:
        """Wait until Home Assistant has finished starting (its state is RUNNING)."""

        def running() -> bool:
            status, config = self.api("GET", "/api/config")
            return status == 200 and config.get("state") == "RUNNING"

        wait_for(running, timeout=60, what="Home Assistant to run")

    def stop(self) -> None:
        """Stop `hass` as a service manager would (SIGTERM), and wait for it."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def onboard(self) -> None:
        """Onboarding through its API, as the frontend does: the owner, and a token for them."""
        status, answer = http(
            "POST",
            f"{self.url}/api/onboarding/users",
            {
                "client_id": self.client_id,
                "name": "E2E Owner",
                "username": USERNAME,
                "password": PASSWORD,
                "language": "en",
            },
        )
        assert status == 200, answer
        status, tokens = http(
            "POST",
            f"{self.url}/auth/token",
            form={
                "grant_type": "authorization_code",
                "code": answer["auth_code"],
                "client_id": self.client_id,
            },
        )
        assert status == 200, tokens
        self.token, self.refresh_token = tokens["access_token"], tokens["refresh_token"]
        status, answer = http("GET", f"{self.url}/api/onboarding")
        assert status == 200, answer
        assert all(step["done"] for step in answer), answer
        self.wait_running()

    def api(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """A REST API request as the owner."""
        return http(method, f"{self.url}{path}", body, token=self.token)

    def state(self, entity_id: str) -> dict[str, Any]:
        """An entity's state object."""
        status, state = self.api("GET", f"/api/states/{entity_id}")
        assert status == 200, (entity_id, state)
        return dict(state)

    def entries(self) -> list[dict[str, Any]]:
        """Presence Bridge's config entries."""
        status, entries = self.api("GET", "/api/config/config_entries/entry?domain=presence_bridge")
        assert status == 200, entries
        return list(entries)

    def flow(self, handler: str | list[str], *steps: dict[str, Any]) -> dict[str, Any]:
        """Run a config flow through the REST API, one answer per step; the last result."""
        status, result = self.api("POST", "/api/config/config_entries/flow", {"handler": handler})
        assert status == 200, result
        for step in steps:
            status, result = self.api(
                "POST", f"/api/config/config_entries/flow/{result['flow_id']}", step
            )
            assert status == 200, result
        return dict(result)

    def tokens_for_browser(self) -> dict[str, Any]:
        """The frontend's stored tokens (`localStorage.hassTokens`) for the owner."""
        return {
            "hassUrl": self.url,
            "clientId": self.client_id,
            "access_token": self.token,
            "token_type": "Bearer",
            "expires_in": 1800,
            "expires": int(time.time() * 1000) + 1800 * 1000,
            "refresh_token": self.refresh_token,
        }


class Browser:
    """Headless Chromium (Debian's) through Playwright, logged in to Home Assistant."""

    def __init__(self, hass: HassProcess, artifacts: Path) -> None:
        """Launch Chromium; nothing is downloaded, `executable_path` is the system's."""
        from playwright.sync_api import sync_playwright

        self.hass = hass
        self.artifacts = artifacts
        self.visited: list[str] = []
        self._playwright = sync_playwright().start()
        self.browser = self._playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        self.context = self.browser.new_context(
            viewport={"width": 1280, "height": 860}, locale="en-US", color_scheme="light"
        )
        tokens = json.dumps(hass.tokens_for_browser())
        self.context.add_init_script(
            f"window.localStorage.setItem('hassTokens', JSON.stringify({tokens}));"
        )
        self.context.set_default_timeout(20_000)
        self.page = self.context.new_page()

    def goto(self, path: str) -> None:
        """Open a page of Home Assistant and wait until it has drawn itself."""
        self.page.goto(f"{self.hass.url}{path}")
        self.page.wait_for_load_state("networkidle")

    def shot(self, name: str) -> Path:
        """A screenshot of the page, under the run's artifacts."""
        path = self.artifacts / f"{name}.png"
        self.page.screenshot(path=path)
        return path

    def text(self) -> str:
        """The text a person sees, shadow roots included."""
        return str(
            self.page.evaluate(
                """() => {
                    const parts = [];
                    const skip = new Set(['SCRIPT', 'STYLE', 'TEMPLATE']);
                    const walk = (node) => {
                        if (node.shadowRoot) walk(node.shadowRoot);
                        for (const child of node.childNodes) {
                            if (child.nodeType === Node.TEXT_NODE) parts.push(child.textContent);
                            else if (!skip.has(child.nodeName)) walk(child);
                        }
                    };
                    walk(document.body);
                    return parts.join(' ').replace(/\\s+/g, ' ');
                }"""
            )
        )

    def check_translated(self, where: str) -> None:
        """Fail if the page shows a raw translation key; remember the page as visited."""
        text = self.text()
        self.visited.append(where)
        for raw in RAW_KEYS:
            assert raw not in text, f"{where} shows a raw translation key: {raw!r}"

    def close(self) -> None:
        """Close Chromium and Playwright."""
        with contextlib.suppress(Exception):
            self.context.close()
            self.browser.close()
        self._playwright.stop()


def clean_artifacts() -> Path:
    """An empty artifacts folder for this run."""
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    return ARTIFACTS
