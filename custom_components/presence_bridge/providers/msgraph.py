"""Microsoft Teams through Microsoft Graph, app-only: an Entra app of the tenant, and a person."""

from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession
import voluptuous as vol

from custom_components.presence_bridge.api.msgraph import (
    DEFAULT_API_URL,
    DEFAULT_LOGIN_URL,
    GraphClient,
)
from custom_components.presence_bridge.const import (
    CONF_API_URL,
    CONF_CLIENT_ID,
    CONF_CLIENT_SECRET,
    CONF_LOGIN_URL,
    CONF_TENANT_ID,
    PROVIDER_MSGRAPH,
)

from .base import PASSWORD, URL, AccountForm, ProviderRecord, server_urls


def _graph_data(data: dict[str, Any]) -> dict[str, Any]:
    """Server addresses left empty become the global cloud's."""
    return server_urls(data, {CONF_API_URL: DEFAULT_API_URL, CONF_LOGIN_URL: DEFAULT_LOGIN_URL})


async def _async_create_client(
    hass: HomeAssistant, data: Mapping[str, Any], entry: ConfigEntry | None
) -> GraphClient:
    return GraphClient(
        async_get_clientsession(hass),
        tenant_id=data[CONF_TENANT_ID],
        client_id=data[CONF_CLIENT_ID],
        client_secret=data[CONF_CLIENT_SECRET],
        api_url=data.get(CONF_API_URL) or DEFAULT_API_URL,
        login_url=data.get(CONF_LOGIN_URL) or DEFAULT_LOGIN_URL,
    )


RECORD = ProviderRecord(
    name=PROVIDER_MSGRAPH,
    form=AccountForm(
        credentials={
            vol.Required(CONF_TENANT_ID): str,
            vol.Required(CONF_CLIENT_ID): str,
            vol.Required(CONF_CLIENT_SECRET): PASSWORD,
        },
        server_urls={
            vol.Required(CONF_API_URL, default=DEFAULT_API_URL): URL,
            vol.Required(CONF_LOGIN_URL, default=DEFAULT_LOGIN_URL): URL,
        },
        secret=CONF_CLIENT_SECRET,
        unique_id=lambda data, user: f"{data[CONF_TENANT_ID]}:{data[CONF_CLIENT_ID]}",
        title=lambda data: f"Microsoft Teams {data[CONF_TENANT_ID]}",
        prepare=_graph_data,
        first_person="ask",
    ),
    create_client=_async_create_client,
)
