"""What every provider shares, run against each one's fake: setup, unload, reload, the
actions, diagnostics and the "no longer exists" repair."""

import json

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.diagnostics.const import REDACTED
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.presence_bridge.const import DOMAIN
from custom_components.presence_bridge.diagnostics import async_get_config_entry_diagnostics

from .conftest import advance
from .providers import ProviderCase


async def test_setup_unload_and_reload(
    hass: HomeAssistant, provider: ProviderCase, provider_entry: MockConfigEntry
) -> None:
    """The person's entity is there after setup and a reload, and gone after unload."""
    assert provider_entry.state is ConfigEntryState.LOADED
    assert hass.states.get(provider.entity_id).state != "unavailable"
    assert await hass.config_entries.async_reload(provider_entry.entry_id)
    await hass.async_block_till_done()
    assert provider_entry.state is ConfigEntryState.LOADED
    assert hass.states.get(provider.entity_id).state != "unavailable"
    assert await hass.config_entries.async_unload(provider_entry.entry_id)
    assert provider_entry.state is ConfigEntryState.NOT_LOADED
    assert hass.states.get(provider.entity_id).state == "unavailable"


async def test_the_action_answers_each_target(
    hass: HomeAssistant, provider: ProviderCase, provider_entry: MockConfigEntry
) -> None:
    """The provider's own action sets the value and answers `sent` for the target."""
    value = provider.values[0]
    if provider.entity_id.startswith("select."):
        service, data = "set_presence", {"presence": value}
    else:
        service, data = "set_status_message", {"message": value}
    response = await hass.services.async_call(
        DOMAIN,
        service,
        {"entity_id": provider.entity_id, **data},
        blocking=True,
        return_response=True,
    )
    assert response == {provider.entity_id: {"result": "sent"}}
    assert provider.holds() == value


async def test_diagnostics_hold_no_secret(
    hass: HomeAssistant, provider: ProviderCase, provider_entry: MockConfigEntry
) -> None:
    """Credentials, ids, names and emails are redacted; the delivery state is there."""
    assert await async_setup_component(hass, "diagnostics", {})
    diagnostics = await async_get_config_entry_diagnostics(hass, provider_entry)
    assert diagnostics["entry"]["data"]["provider"] == provider.name
    [person] = diagnostics["people"]
    assert person["user_id"] == REDACTED
    text = json.dumps(diagnostics)
    for secret in provider.secrets():
        assert secret not in text


async def test_a_person_the_provider_forgot_raises_a_repair(
    hass: HomeAssistant,
    provider: ProviderCase,
    provider_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    issue_registry: ir.IssueRegistry,
) -> None:
    """Unavailable, with the "no longer exists" repair naming them."""
    provider.remove_person()
    await advance(hass, freezer, 61)
    assert hass.states.get(provider.entity_id).state == "unavailable"
    [issue] = [i for i in issue_registry.issues.values() if i.domain == DOMAIN]
    assert issue.translation_key == "user_gone"
    assert issue.translation_placeholders["name"] == provider.person_name
