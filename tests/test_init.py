"""Setup, unload and reload of an entry."""

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from .fake_zoom import FakeZoom


async def test_setup_and_unload(
    hass: HomeAssistant, init_integration: MockConfigEntry, fake_zoom: FakeZoom
) -> None:
    """The entry loads, reads Alice's presence, and unloads."""
    assert init_integration.state is ConfigEntryState.LOADED
    state = hass.states.get("select.alice_archer_presence")
    assert state is not None
    assert state.state == "available"
    assert [r.path for r in fake_zoom.api_requests()] == [
        "/v2/users/KdYKjnimT4KPd8FFgQt9FQ/presence_status"
    ]
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    assert init_integration.state is ConfigEntryState.NOT_LOADED
