"""The Do not disturb duration number."""

from homeassistant.components.number.const import DOMAIN as NUMBER_DOMAIN, SERVICE_SET_VALUE
from homeassistant.components.select.const import DOMAIN as SELECT_DOMAIN
from homeassistant.const import ATTR_ENTITY_ID, SERVICE_SELECT_OPTION
from homeassistant.core import HomeAssistant, State
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    mock_restore_cache_with_extra_data,
)

from .fake_zoom import FakeZoom

DURATION = "number.alice_archer_do_not_disturb_duration"


async def choose_dnd(hass: HomeAssistant) -> None:
    """Pick Do not disturb in the select."""
    await hass.services.async_call(
        SELECT_DOMAIN,
        SERVICE_SELECT_OPTION,
        {ATTR_ENTITY_ID: "select.alice_archer_presence", "option": "do_not_disturb"},
        blocking=True,
    )


@pytest.mark.usefixtures("init_integration")
async def test_duration_used_for_dnd(hass: HomeAssistant, fake_zoom: FakeZoom) -> None:
    """The number defaults to 20 and what it is set to goes with Do not disturb."""
    state = hass.states.get(DURATION)
    assert state.state == "20"
    assert state.attributes["min"] == 1
    assert state.attributes["max"] == 1440
    await hass.services.async_call(
        NUMBER_DOMAIN, SERVICE_SET_VALUE, {ATTR_ENTITY_ID: DURATION, "value": 90}, blocking=True
    )
    assert hass.states.get(DURATION).state == "90"
    await choose_dnd(hass)
    assert [r.body for r in fake_zoom.api_requests("PUT")] == [
        {"status": "Do_Not_Disturb", "duration": 90}
    ]


async def test_duration_restored(
    hass: HomeAssistant, fake_zoom: FakeZoom, zoom_entry: MockConfigEntry
) -> None:
    """The duration survives a restart."""
    mock_restore_cache_with_extra_data(
        hass,
        [
            (
                State(DURATION, "45"),
                {
                    "native_max_value": 1440,
                    "native_min_value": 1,
                    "native_step": 1,
                    "native_unit_of_measurement": "min",
                    "native_value": 45,
                },
            )
        ],
    )
    zoom_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(zoom_entry.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get(DURATION).state == "45"
    await choose_dnd(hass)
    assert [r.body for r in fake_zoom.api_requests("PUT")] == [
        {"status": "Do_Not_Disturb", "duration": 45}
    ]
