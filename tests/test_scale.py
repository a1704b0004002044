"""Many people per account under the providers' rate limits: the account's request budget.

Setup with more people than one burst of the budget, a change going before the rest of a
poll, pacing after a 429, and a poll stretched to fit the budget (with its repair issue).
"""

from collections.abc import AsyncGenerator

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import ATTR_ENTITY_ID, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.presence_bridge.const import DOMAIN

from .conftest import run_for
from .fake_vonage import READY_ID, FakeVonage
from .fake_zoom import FakeZoom, ZoomUser
from .providers import async_set_up, entry_of

PEOPLE = 6


def presence_path(user_id: str) -> str:
    """Zoom's presence endpoint of one person."""
    return f"/v2/users/{user_id}/presence_status"


@pytest.fixture
async def free_zoom(socket_enabled: None) -> AsyncGenerator[FakeZoom]:
    """A fake Zoom account on the Free plan (2 requests a second), with six people."""
    fake = FakeZoom(clock=lambda: dt_util.utcnow().timestamp(), requests_per_second=2)
    for n in range(PEOPLE):
        fake.add_user(ZoomUser(f"p{n}", f"p{n}@example.com", "Person", str(n)))
    async with fake:
        yield fake


async def set_up_free_zoom(hass: HomeAssistant, fake: FakeZoom, plan: str = "free") -> str:
    """A loaded entry controlling the six people, with the plan set; returns its entry id."""
    entry = entry_of(
        fake,
        title="Zoom free",
        unique_id=fake.account_id,
        people={f"p{n}": f"Person {n}" for n in range(PEOPLE)},
        options={"plan": plan},
    )
    return (await async_set_up(hass, entry)).entry_id


def select_of(n: int) -> str:
    """The Presence select of person `n`."""
    return f"select.person_{n}_presence"


async def test_more_people_than_one_burst_load_first_then_are_read_at_the_budgets_pace(
    hass: HomeAssistant, free_zoom: FakeZoom, freezer: FrozenDateTimeFactory
) -> None:
    """Six people on the Free plan (2/s): the entry loads before reading anyone, then
    everyone is read, two a second, without a single 429."""
    entry_id = await set_up_free_zoom(hass, free_zoom)
    entry = hass.config_entries.async_get_entry(entry_id)
    assert entry is not None
    assert entry.state is ConfigEntryState.LOADED
    assert len(free_zoom.api_requests("GET")) <= 2  # one burst at most, so far
    assert hass.states.get(select_of(5)).state == STATE_UNKNOWN
    assert hass.states.get(select_of(5)).attributes["stale_since"] is None

    await run_for(hass, freezer, 4)
    assert sorted(r.path for r in free_zoom.api_requests("GET")) == sorted(
        presence_path(f"p{n}") for n in range(PEOPLE)
    )
    assert free_zoom.rejected_429 == 0
    assert all(hass.states.get(select_of(n)).state == "available" for n in range(PEOPLE))


async def test_a_change_goes_before_the_rest_of_a_poll(
    hass: HomeAssistant, free_zoom: FakeZoom, freezer: FrozenDateTimeFactory
) -> None:
    """Writes first: a change asked for while a poll waits for the budget is sent in the next
    slot, ahead of the poll's remaining reads."""
    await set_up_free_zoom(hass, free_zoom)
    read_before = len(free_zoom.api_requests("GET"))
    response = await hass.services.async_call(
        DOMAIN,
        "set_presence",
        {ATTR_ENTITY_ID: select_of(0), "presence": "away"},
        blocking=True,
        return_response=True,
    )
    assert response[select_of(0)]["result"] == "queued"
    await run_for(hass, freezer, 4)
    order = [r.method for r in free_zoom.api_requests()]
    assert order.index("PUT") <= read_before + 1  # behind at most the slot under way
    assert order.count("GET") == PEOPLE
    assert free_zoom.rejected_429 == 0
    assert hass.states.get(select_of(0)).state == "away"


async def test_after_a_429_the_account_resumes_at_the_limit_the_provider_names(
    hass: HomeAssistant, free_zoom: FakeZoom, freezer: FrozenDateTimeFactory
) -> None:
    """The plan says Pro (20/s), the account allows 2/s: Zoom's 429s name the limit, the
    budget keeps it, and the rest goes paced at it; every change arrives exactly once."""
    entry_id = await set_up_free_zoom(hass, free_zoom, plan="pro")
    entry = hass.config_entries.async_get_entry(entry_id)
    assert entry is not None
    for n in range(PEOPLE):
        free_zoom.last_update.pop(f"p{n}", None)
    await run_for(hass, freezer, 2)
    refused_by_setup = free_zoom.rejected_429
    await hass.services.async_call(
        DOMAIN,
        "set_presence",
        {ATTR_ENTITY_ID: [select_of(n) for n in range(PEOPLE)], "presence": "away"},
        blocking=True,
    )
    await run_for(hass, freezer, 30)
    assert entry.runtime_data.client.budget.limit == 2
    accepted = free_zoom.api_requests("PUT")
    assert len({r.path for r in accepted}) == PEOPLE
    assert len(accepted) == PEOPLE + (free_zoom.rejected_429 - refused_by_setup)
    assert free_zoom.rejected_429 - refused_by_setup <= 2  # one burst too many, then paced
    assert all(hass.states.get(select_of(n)).state == "away" for n in range(PEOPLE))


@pytest.fixture
async def fake_vonage(socket_enabled: None) -> AsyncGenerator[FakeVonage]:
    """A fake VCC with three agents, on Home Assistant's (freezable) clock."""
    fake = FakeVonage(clock=lambda: dt_util.utcnow().timestamp())
    for name in ("Ada", "Bea", "Cy"):
        fake.add_agent(name, READY_ID)
    async with fake:
        yield fake


@pytest.mark.parametrize(("rate", "interval", "stretched"), [(60, 60, False), (3, 80, True)])
async def test_a_poll_too_large_for_the_budget_stretches_the_interval(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    fake_vonage: FakeVonage,
    *,
    rate: int,
    interval: int,
    stretched: bool,
) -> None:
    """A poll of three agents costs 2 requests (definitions, one batch); at 3 a minute it
    may use 1.5 a minute, so it runs every 80 s, and a repair issue says why."""
    entry = entry_of(
        fake_vonage,
        title="Vonage EMEA",
        unique_id="emea:x",
        people={guid: agent["name"] for guid, agent in fake_vonage.agents.items()},
        options={"requests_per_minute": rate},
    )
    await async_set_up(hass, entry)
    coordinator = entry.runtime_data.coordinator
    assert coordinator.update_interval.total_seconds() == interval
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"{entry.entry_id}_poll_stretched")
    if not stretched:
        assert issue is None
    else:
        assert issue is not None
        assert issue.translation_placeholders == {
            "account": "Vonage EMEA",
            "people": "3",
            "requests": "2",
            "budget": "3 requests per 60 s",
            "interval": "80",
            "wanted": "60",
        }
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert diagnostics["polls"] == {
        "people": 3,
        "requests_per_poll": 2,
        "interval_wanted": 60.0,
        "interval": float(interval),
        "stretched": stretched,
    }
    assert diagnostics["budget"]["limit"] == rate
