"""Setup, unload and reload of an entry."""

import ast
from pathlib import Path

from aiohttp import web
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.presence_bridge.const import DOMAIN

from .conftest import ALICE_SUBENTRY
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


async def test_setup_retries_when_zoom_is_down(
    hass: HomeAssistant, fake_zoom: FakeZoom, zoom_entry: MockConfigEntry
) -> None:
    """An unreachable Zoom at startup means retry later, not failure."""
    fake_zoom.fail_next.append(web.Response(status=503))
    zoom_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(zoom_entry.entry_id)
    assert zoom_entry.state is ConfigEntryState.SETUP_RETRY


async def test_removing_a_person_reloads_and_removes_the_device(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
) -> None:
    """Removing the subentry removes the person's device and entities."""
    assert hass.states.get("select.alice_archer_presence") is not None
    assert hass.config_entries.async_remove_subentry(init_integration, ALICE_SUBENTRY)
    await hass.async_block_till_done()
    assert init_integration.state is ConfigEntryState.LOADED
    assert hass.states.get("select.alice_archer_presence") is None
    assert not dr.async_entries_for_config_entry(device_registry, init_integration.entry_id)


async def test_only_orphan_devices_can_be_removed(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    device_registry: dr.DeviceRegistry,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """A configured person's device stays; a device of no subentry may go."""
    assert await async_setup_component(hass, "config", {})
    [device] = dr.async_entries_for_config_entry(device_registry, init_integration.entry_id)
    orphan = device_registry.async_get_or_create(
        config_entry_id=init_integration.entry_id, identifiers={(DOMAIN, "zoom_acct-123_gone")}
    )
    client = await hass_ws_client(hass)
    for device_id, removable in ((device.id, False), (orphan.id, True)):
        await client.send_json_auto_id(
            {
                "type": "config/device_registry/remove",
                "device_id": device_id,
            }
        )
        response = await client.receive_json()
        assert response["success"] is removable


async def test_api_has_no_home_assistant_import() -> None:
    """api/ stays plain asyncio + aiohttp: no homeassistant import, no import from outside it."""
    api = Path(__file__).parent.parent / "custom_components" / "presence_bridge" / "api"
    for path in api.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                assert not any(a.name.split(".")[0] == "homeassistant" for a in node.names), path
            elif isinstance(node, ast.ImportFrom):
                assert node.level <= 1, path
                assert not (node.module or "").startswith("homeassistant"), path


async def test_setup_and_unload_return_what_the_release_expects(
    hass: HomeAssistant, zoom_entry: MockConfigEntry
) -> None:
    """None from 2026.11 on, as core integrations return; True on 2026.10, which needs a bool."""
    from homeassistant.const import MAJOR_VERSION, MINOR_VERSION

    from custom_components.presence_bridge import ENTRY_SUCCESS, async_unload_entry

    expected = None if (MAJOR_VERSION, MINOR_VERSION) >= (2026, 11) else True
    assert ENTRY_SUCCESS is expected
    zoom_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(zoom_entry.entry_id)
    assert zoom_entry.state is ConfigEntryState.LOADED
    assert await async_unload_entry(hass, zoom_entry) is expected
