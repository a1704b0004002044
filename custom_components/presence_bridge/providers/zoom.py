"""Zoom: a Server-to-Server OAuth app, and the first person to control."""

from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.selector import SelectSelector, SelectSelectorConfig, SelectSelectorMode
import voluptuous as vol

from custom_components.presence_bridge.api import ZoomClient
from custom_components.presence_bridge.api.zoom import (
    DEFAULT_API_URL,
    DEFAULT_OAUTH_URL,
    DEFAULT_PLAN,
    REQUESTS_PER_SECOND,
)
from custom_components.presence_bridge.const import (
    CONF_ACCOUNT_ID,
    CONF_API_URL,
    CONF_CLIENT_ID,
    CONF_CLIENT_SECRET,
    CONF_OAUTH_URL,
    CONF_PLAN,
    PROVIDER_ZOOM,
)

from .base import PASSWORD, URL, AccountForm, ProviderRecord, server_urls


def _zoom_data(data: dict[str, Any]) -> dict[str, Any]:
    """Server addresses left empty become Zoom's own."""
    return server_urls(data, {CONF_API_URL: DEFAULT_API_URL, CONF_OAUTH_URL: DEFAULT_OAUTH_URL})


async def _async_create_client(
    hass: HomeAssistant, data: Mapping[str, Any], entry: ConfigEntry | None
) -> ZoomClient:
    """Server addresses missing or empty are Zoom's own."""
    return ZoomClient(
        async_get_clientsession(hass),
        account_id=data[CONF_ACCOUNT_ID],
        client_id=data[CONF_CLIENT_ID],
        client_secret=data[CONF_CLIENT_SECRET],
        api_url=data.get(CONF_API_URL) or DEFAULT_API_URL,
        oauth_url=data.get(CONF_OAUTH_URL) or DEFAULT_OAUTH_URL,
        plan=entry.options.get(CONF_PLAN, DEFAULT_PLAN) if entry else DEFAULT_PLAN,
    )


def _options(options: Mapping[str, Any]) -> dict[vol.Marker, Any]:
    """The account's plan, which sets its request budget."""
    return {
        vol.Required(CONF_PLAN, default=options.get(CONF_PLAN, DEFAULT_PLAN)): SelectSelector(
            SelectSelectorConfig(
                options=list(REQUESTS_PER_SECOND),
                translation_key=CONF_PLAN,
                mode=SelectSelectorMode.LIST,
            )
        )
    }


RECORD = ProviderRecord(
    name=PROVIDER_ZOOM,
    form=AccountForm(
        credentials={
            vol.Required(CONF_ACCOUNT_ID): str,
            vol.Required(CONF_CLIENT_ID): str,
            vol.Required(CONF_CLIENT_SECRET): PASSWORD,
        },
        server_urls={
            vol.Required(CONF_API_URL, default=DEFAULT_API_URL): URL,
            vol.Required(CONF_OAUTH_URL, default=DEFAULT_OAUTH_URL): URL,
        },
        secret=CONF_CLIENT_SECRET,
        unique_id=lambda data, user: data[CONF_ACCOUNT_ID],
        title=lambda data: f"Zoom {data[CONF_ACCOUNT_ID]}",
        prepare=_zoom_data,
        first_person="ask",
    ),
    create_client=_async_create_client,
    options=_options,
)
