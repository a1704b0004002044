"""The fault matrix, for every provider: the last wanted value is delivered exactly once after
the fault clears, nothing is lost, nothing is sent twice, the entity shows pending and the error
meanwhile, and it stays available and settable."""

import asyncio
from typing import Any

from aiohttp import web
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.presence_bridge.const import DOMAIN
from custom_components.presence_bridge.delivery import STORAGE_VERSION

from .conftest import advance
from .providers import PERSON_SUBENTRY, ProviderCase


def unavailable(times: int) -> list[web.Response]:
    """`times` answers of a provider that is down."""
    return [web.Response(status=503) for _ in range(times)]


async def test_an_outage_keeps_the_person_settable(
    hass: HomeAssistant,
    provider: ProviderCase,
    provider_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Reads and writes fail: the entity stays available and stale; the last wish arrives once."""
    first, last = provider.values
    provider.fake.fail_next.extend(unavailable(3))
    await advance(hass, freezer, 61)  # a failed poll
    state = hass.states.get(provider.entity_id)
    assert state.attributes["stale_since"] is not None
    await provider.wish(hass, first)  # 503: queued for a retry
    await provider.wish(hass, last)
    state = hass.states.get(provider.entity_id)
    assert state.state == last
    assert state.attributes["pending"] is True
    assert state.attributes["last_delivery_error"]
    await advance(hass, freezer, 6)  # the retry fails too (the third 503)
    await advance(hass, freezer, 11)
    assert provider.holds() == last
    assert len(provider.sent()) == 3  # two refused, one delivered
    await advance(hass, freezer, 300)
    assert len(provider.sent()) == 3
    state = hass.states.get(provider.entity_id)
    assert state.attributes["pending"] is False
    assert state.attributes["stale_since"] is None


@pytest.mark.parametrize("retry_after", ["0", "Thu, 01 Jan 2026 00:00:00 GMT"])
async def test_a_429_asking_to_retry_at_once_is_paced(
    hass: HomeAssistant,
    provider: ProviderCase,
    provider_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    retry_after: str,
) -> None:
    """`Retry-After: 0` or a past date still waits the backoff (5 s): no retry storm."""
    provider.fake.fail_next.append(provider.rate_limit(retry_after))
    await provider.wish(hass, provider.values[0])
    await advance(hass, freezer, 4)
    assert len(provider.sent()) == 1
    await advance(hass, freezer, 1.5)
    assert len(provider.sent()) == 2
    assert provider.holds() == provider.values[0]


async def test_a_refused_value_does_not_strand_a_newer_one(
    hass: HomeAssistant,
    provider: ProviderCase,
    provider_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The value on its way is refused for good; the one wished meanwhile is still sent."""
    first, last = provider.values
    provider.fake.fail_next.append(provider.refusal())
    refused, queued = await asyncio.gather(
        provider.wish(hass, first), provider.wish(hass, last), return_exceptions=True
    )
    assert isinstance(refused, Exception)
    assert queued is None
    await advance(hass, freezer, 0)
    assert len(provider.sent()) == 2
    assert provider.holds() == last
    assert hass.states.get(provider.entity_id).attributes["pending"] is False


async def test_nothing_is_sent_after_unload(
    hass: HomeAssistant,
    provider: ProviderCase,
    provider_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A change waiting for a retry at unload is kept, not sent, and no timer remains."""
    provider.fake.fail_next.extend(unavailable(1))
    await provider.wish(hass, provider.values[0])
    assert await hass.config_entries.async_unload(provider_entry.entry_id)
    assert provider_entry.state is ConfigEntryState.NOT_LOADED
    await advance(hass, freezer, 600)
    assert len(provider.sent()) == 1


async def test_a_reload_keeps_the_queued_change(
    hass: HomeAssistant,
    provider: ProviderCase,
    provider_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A change waiting for a retry survives a reload and is delivered once."""
    provider.fake.fail_next.extend(unavailable(1))
    await provider.wish(hass, provider.values[0])
    assert await hass.config_entries.async_reload(provider_entry.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get(provider.entity_id).attributes["pending"] is True
    await advance(hass, freezer, 6)
    assert provider.holds() == provider.values[0]
    await advance(hass, freezer, 300)
    assert len(provider.sent()) == 2


async def test_a_restart_delivers_the_stored_change(
    hass: HomeAssistant,
    provider: ProviderCase,
    hass_storage: dict[str, Any],
    freezer: FrozenDateTimeFactory,
) -> None:
    """Set up with a queued change in the Store: it is delivered, once."""
    entry = provider.entry()
    kind = "status" if provider.name == "zulip" else "presence"
    wish = (
        {"text": provider.values[1]}
        if kind == "status"
        else {"option": provider.values[1], "duration": None}
    )
    hass_storage[f"{DOMAIN}.{entry.entry_id}"] = {
        "version": STORAGE_VERSION,
        "minor_version": 1,
        "key": f"{DOMAIN}.{entry.entry_id}",
        "data": {PERSON_SUBENTRY: {kind: {"wish": wish, "send_at": dt_util.utcnow().isoformat()}}},
    }
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get(provider.entity_id).state == provider.values[1]
    await advance(hass, freezer, 0)
    assert provider.holds() == provider.values[1]
    await advance(hass, freezer, 300)
    assert len(provider.sent()) == 1


async def test_reauth_keeps_the_queued_change(
    hass: HomeAssistant,
    provider: ProviderCase,
    provider_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Credentials revoked: the change waits, reauth starts, and it is sent after reauth."""
    reauth_input = provider.revoke()
    await provider.wish(hass, provider.values[0])
    await provider.wish(hass, provider.values[1])
    state = hass.states.get(provider.entity_id)
    assert state.state == provider.values[1]
    assert state.attributes["pending"] is True
    await hass.async_block_till_done()
    [flow] = hass.config_entries.flow.async_progress()
    assert flow["context"]["source"] == SOURCE_REAUTH
    refused = len(provider.sent())
    result = await hass.config_entries.flow.async_configure(flow["flow_id"], reauth_input)
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()  # the reload
    await advance(hass, freezer, 0)
    assert provider.holds() == provider.values[1]
    assert len(provider.sent()) == refused + 1


async def test_a_malformed_poll_is_one_failed_read(
    hass: HomeAssistant,
    provider: ProviderCase,
    provider_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """JSON of the wrong shape on a poll: one error line, no traceback, the person available."""
    provider.fake.fail_next.extend(web.json_response(["not", "an", "object"]) for _ in range(5))
    await advance(hass, freezer, 61)
    await advance(hass, freezer, 61)
    errors = [r for r in caplog.records if r.levelname == "ERROR" and DOMAIN in r.name]
    assert len(errors) == 1
    assert errors[0].exc_info is None
    state = hass.states.get(provider.entity_id)
    assert state.attributes["stale_since"] is not None
