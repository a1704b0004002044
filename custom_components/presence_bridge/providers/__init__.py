"""The providers: one record each, in the order the config flow's menu offers them.

A provider is one `api/` client module, one record here (its account form, unique id and
title, and client factory) and one fake in `tests/`.
"""

from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant

from custom_components.presence_bridge.api import ProviderClient
from custom_components.presence_bridge.const import CONF_PROVIDER

from . import msgraph, msgraph_oauth, vonage, zoom, zulip
from .base import AccountForm, FormError, ProviderRecord

PROVIDERS: dict[str, ProviderRecord] = {
    record.name: record
    for record in (
        zoom.RECORD,
        msgraph.RECORD,
        msgraph_oauth.RECORD,
        zulip.RECORD,
        vonage.RECORD,
    )
}


async def async_create_client(
    hass: HomeAssistant, data: Mapping[str, Any], entry: ConfigEntry | None = None
) -> ProviderClient:
    """The provider client for an entry's data (and the entry, once it exists)."""
    return await PROVIDERS[data[CONF_PROVIDER]].create_client(hass, data, entry)


__all__ = ["PROVIDERS", "AccountForm", "FormError", "ProviderRecord", "async_create_client"]
