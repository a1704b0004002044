"""Fixtures: the fake providers and a configured Presence Bridge entry."""

import asyncio
from collections.abc import AsyncGenerator, Callable, Generator
from datetime import timedelta
import logging
import time
from unittest.mock import patch

import aiohttp
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.presence_bridge.const import DOMAIN

from .fake_zoom import FakeZoom, ZoomUser
from .providers import PROVIDER_CASES, ProviderCase, async_set_up, entry_of

ALICE_ID = "KdYKjnimT4KPd8FFgQt9FQ"
BOB_ID = "z8yCxjabcdEFGhijKLmnOp"
ALICE_SUBENTRY = "01ALICESUBENTRY0000000000"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Load the integration from custom_components."""


DEPRECATION_REPORTS = (
    "is deprecated and will be removed",
    "will stop working",
    "Detected that custom integration",
)
"""What Home Assistant logs when it reports deprecated usage (besides `DeprecationWarning`,
which `pyproject.toml` turns into an error)."""


@pytest.fixture(autouse=True)
def no_deprecated_usage(caplog: pytest.LogCaptureFixture) -> Generator[None]:
    """Fail a test in which Home Assistant reports something deprecated being used."""
    caplog.set_level(logging.DEBUG)
    yield
    reports = [
        message
        for phase in ("setup", "call")  # `caplog.records` holds only the teardown's
        for record in caplog.get_records(phase)
        if any(report in (message := record.getMessage()) for report in DEPRECATION_REPORTS)
        or ("deprecated" in message.lower() and DOMAIN in message)
    ]
    assert not reports


async def advance(hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float) -> None:
    """Move Home Assistant's clock (and the fakes', which follow it) and run what became due."""
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


async def run_for(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float, step: float = 1.0
) -> None:
    """Move the clock `seconds` ahead a `step` at a time, as time passes for real.

    Unlike `advance`, it does not wait for background tasks (polls) between steps: one may be
    waiting for its turn in an account's request budget, which only a later step brings.
    Instead, each step lets a few real milliseconds pass, so that their requests reach the
    fakes within the step.
    """

    async def settle() -> None:
        for _ in range(3):
            await hass.async_block_till_done()
            await hass.async_add_executor_job(time.sleep, 0.005)

    for _ in range(round(seconds / step)):
        await settle()
        freezer.tick(timedelta(seconds=step))
        async_fire_time_changed(hass)
    await settle()


START = 1_700_000_000.0
"""Where the api tests' manual clock starts (Unix time)."""


class Clock:
    """A manual clock shared by a client (tokens, its request budget) and a fake provider.

    A budget's wait on it is simulated: the clock jumps to the wait's end and the waiter
    runs at once, so an api test never sleeps.
    """

    def __init__(self) -> None:
        """Start at START."""
        self.now = START

    def __call__(self) -> float:
        """The current time."""
        return self.now

    def call_later(self, delay: float, callback: Callable[[], None]) -> asyncio.Handle:
        """Jump `delay` seconds ahead, then run `callback` as soon as the loop can."""
        self.now += max(delay, 0.0)
        return asyncio.get_running_loop().call_soon(callback)


@pytest.fixture
def clock() -> Clock:
    """The api tests' manual clock."""
    return Clock()


@pytest.fixture
async def session() -> AsyncGenerator[aiohttp.ClientSession]:
    """A plain aiohttp session, as any asyncio program using api/ would have."""
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def fake_zoom(socket_enabled: None) -> AsyncGenerator[FakeZoom]:
    """A running fake Zoom with two users, on Home Assistant's (freezable) clock."""
    fake = FakeZoom(clock=lambda: dt_util.utcnow().timestamp())
    fake.add_user(ZoomUser(ALICE_ID, "alice@example.com", "Alice", "Archer"))
    fake.add_user(ZoomUser(BOB_ID, "bob@example.com", "Bob", "Baker", status="Away"))
    async with fake:
        yield fake


@pytest.fixture
def zoom_entry(fake_zoom: FakeZoom) -> MockConfigEntry:
    """A Zoom entry controlling Alice."""
    return entry_of(
        fake_zoom,
        title=f"Zoom {fake_zoom.account_id}",
        unique_id=fake_zoom.account_id,
        people={ALICE_ID: "Alice Archer"},
        subentry_ids={ALICE_ID: ALICE_SUBENTRY},
    )


@pytest.fixture
async def init_integration(
    hass: HomeAssistant, zoom_entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> MockConfigEntry:
    """Set the Zoom entry up, on a frozen clock that tests move with `freezer.tick`."""
    zoom_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(zoom_entry.entry_id)
    await hass.async_block_till_done()
    return zoom_entry


@pytest.fixture
def mock_setup_entry() -> Generator[None]:
    """Keep flow tests from setting the entry up."""
    with patch("custom_components.presence_bridge.async_setup_entry", return_value=True):
        yield


@pytest.fixture
async def case(
    request: pytest.FixtureRequest,
    hass: HomeAssistant,
    socket_enabled: None,
    freezer: FrozenDateTimeFactory,
) -> AsyncGenerator[ProviderCase]:
    """The provider a test names in its `case` parameter (indirect), its entry set up, on a
    frozen clock."""
    provider = PROVIDER_CASES[request.param]()
    async with provider.fake:
        await async_set_up(hass, provider.entry())
        yield provider


@pytest.fixture(params=sorted(PROVIDER_CASES))
async def provider(
    request: pytest.FixtureRequest, socket_enabled: None
) -> AsyncGenerator[ProviderCase]:
    """Each provider in turn: its running fake, with one person to control."""
    case = PROVIDER_CASES[request.param]()
    async with case.fake:
        yield case


@pytest.fixture
async def provider_entry(
    hass: HomeAssistant, provider: ProviderCase, freezer: FrozenDateTimeFactory
) -> MockConfigEntry:
    """The provider's entry, set up, on a frozen clock that tests move with `freezer.tick`."""
    entry = provider.entry()
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry
