"""Which client serves which provider, built from a config entry's data."""

from collections.abc import Mapping
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from .api import PresenceClient, ZoomClient
from .const import (
    CONF_ACCOUNT_ID,
    CONF_API_URL,
    CONF_CLIENT_ID,
    CONF_CLIENT_SECRET,
    CONF_OAUTH_URL,
    CONF_PROVIDER,
    PROVIDER_ZOOM,
)


def create_client(hass: HomeAssistant, data: Mapping[str, Any]) -> PresenceClient:
    """The provider client for an entry's data, on Home Assistant's shared session."""
    session = async_get_clientsession(hass)
    match data[CONF_PROVIDER]:
        case "zoom":
            return ZoomClient(
                session,
                account_id=data[CONF_ACCOUNT_ID],
                client_id=data[CONF_CLIENT_ID],
                client_secret=data[CONF_CLIENT_SECRET],
                api_url=data[CONF_API_URL],
                oauth_url=data[CONF_OAUTH_URL],
            )
    raise ValueError(f"Unknown provider {data[CONF_PROVIDER]!r}")


PROVIDERS: tuple[str, ...] = (PROVIDER_ZOOM,)
