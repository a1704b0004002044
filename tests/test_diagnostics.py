"""Diagnostics redact every secret, id and email."""

import json

from homeassistant.components.diagnostics.const import REDACTED
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.presence_bridge.diagnostics import async_get_config_entry_diagnostics

from .conftest import ALICE_ID
from .fake_zoom import FakeZoom


async def test_diagnostics_redacted(
    hass: HomeAssistant, fake_zoom: FakeZoom, init_integration: MockConfigEntry
) -> None:
    """The entry's state is there; credentials, ids, names and emails are not."""
    assert await async_setup_component(hass, "diagnostics", {})
    diagnostics = await async_get_config_entry_diagnostics(hass, init_integration)

    assert diagnostics["entry"]["data"]["client_secret"] == REDACTED
    assert diagnostics["entry"]["data"]["provider"] == "zoom"
    assert diagnostics["people"] == [
        {
            "user_id": REDACTED,
            "presence": "available",
            "provider_status": "Available",
            "has_status": False,
            "dnd_duration": 20,
            "delivery": {"presence": {"pending": False, "send_at": None, "last_error": None}},
        }
    ]
    text = json.dumps(diagnostics)
    for secret in (
        fake_zoom.client_secret,
        fake_zoom.client_id,
        fake_zoom.account_id,
        ALICE_ID,
        "Alice",
        *fake_zoom.tokens,
    ):
        assert secret not in text
