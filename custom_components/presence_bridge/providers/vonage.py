"""Vonage Contact Center: API credentials of one region; agents are added afterwards."""

from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
)
import voluptuous as vol

from custom_components.presence_bridge.api import VonageClient
from custom_components.presence_bridge.api.vonage import (
    DEFAULT_REQUESTS_PER_MINUTE,
    REGIONS,
    default_api_url,
    default_auth_url,
)
from custom_components.presence_bridge.const import (
    CONF_API_URL,
    CONF_AUTH_URL,
    CONF_CLIENT_ID,
    CONF_CLIENT_SECRET,
    CONF_REGION,
    CONF_REQUESTS_PER_MINUTE,
    PROVIDER_VONAGE,
)

from .base import PASSWORD, URL, AccountForm, ProviderRecord, server_urls


def _vonage_data(data: dict[str, Any]) -> dict[str, Any]:
    """Server addresses left empty become the region's."""
    region = data[CONF_REGION]
    defaults = {CONF_AUTH_URL: default_auth_url(region), CONF_API_URL: default_api_url(region)}
    return server_urls(data, defaults)


async def _async_create_client(
    hass: HomeAssistant, data: Mapping[str, Any], entry: ConfigEntry | None
) -> VonageClient:
    """Server addresses missing or empty are the region's."""
    return VonageClient(
        async_get_clientsession(hass),
        region=data[CONF_REGION],
        client_id=data[CONF_CLIENT_ID],
        client_secret=data[CONF_CLIENT_SECRET],
        auth_url=data.get(CONF_AUTH_URL) or None,
        api_url=data.get(CONF_API_URL) or None,
        requests_per_minute=int(
            entry.options.get(CONF_REQUESTS_PER_MINUTE, DEFAULT_REQUESTS_PER_MINUTE)
            if entry
            else DEFAULT_REQUESTS_PER_MINUTE
        ),
    )


def _options(options: Mapping[str, Any]) -> dict[vol.Marker, Any]:
    """Where the account's adaptive request budget starts."""
    default = options.get(CONF_REQUESTS_PER_MINUTE, DEFAULT_REQUESTS_PER_MINUTE)
    return {
        vol.Required(CONF_REQUESTS_PER_MINUTE, default=default): NumberSelector(
            NumberSelectorConfig(
                min=1,
                max=6000,
                step=1,
                unit_of_measurement="requests/min",
                mode=NumberSelectorMode.BOX,
            )
        )
    }


RECORD = ProviderRecord(
    name=PROVIDER_VONAGE,
    form=AccountForm(
        credentials={
            vol.Required(CONF_REGION): SelectSelector(
                SelectSelectorConfig(
                    options=list(REGIONS), translation_key=CONF_REGION, mode=SelectSelectorMode.LIST
                )
            ),
            vol.Required(CONF_CLIENT_ID): str,
            vol.Required(CONF_CLIENT_SECRET): PASSWORD,
        },
        server_urls={vol.Optional(CONF_AUTH_URL): URL, vol.Optional(CONF_API_URL): URL},
        secret=CONF_CLIENT_SECRET,
        unique_id=lambda data, user: f"{data[CONF_REGION]}:{data[CONF_CLIENT_ID]}",
        title=lambda data: f"Vonage {data[CONF_REGION].upper()} {data[CONF_CLIENT_ID]}",
        prepare=_vonage_data,
    ),
    create_client=_async_create_client,
    options=_options,
)
