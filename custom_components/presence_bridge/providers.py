"""Which client serves which provider, built from a config entry's data."""

from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import ClientSession
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from .api import ProviderClient, VonageClient, ZoomClient, ZulipClient
from .api.zoom import DEFAULT_API_URL, DEFAULT_OAUTH_URL
from .const import (
    CONF_ACCOUNT_ID,
    CONF_API_KEY,
    CONF_API_URL,
    CONF_AUTH_URL,
    CONF_CLIENT_ID,
    CONF_CLIENT_SECRET,
    CONF_EMAIL,
    CONF_OAUTH_URL,
    CONF_PROVIDER,
    CONF_REGION,
    CONF_URL,
    PROVIDER_VONAGE,
    PROVIDER_ZOOM,
    PROVIDER_ZULIP,
)


def _zoom(session: ClientSession, data: Mapping[str, Any]) -> ZoomClient:
    """Server addresses missing or empty are Zoom's own, as for Vonage."""
    return ZoomClient(
        session,
        account_id=data[CONF_ACCOUNT_ID],
        client_id=data[CONF_CLIENT_ID],
        client_secret=data[CONF_CLIENT_SECRET],
        api_url=data.get(CONF_API_URL) or DEFAULT_API_URL,
        oauth_url=data.get(CONF_OAUTH_URL) or DEFAULT_OAUTH_URL,
    )


def _vonage(session: ClientSession, data: Mapping[str, Any]) -> VonageClient:
    """Server addresses missing or empty are the region's."""
    return VonageClient(
        session,
        region=data[CONF_REGION],
        client_id=data[CONF_CLIENT_ID],
        client_secret=data[CONF_CLIENT_SECRET],
        auth_url=data.get(CONF_AUTH_URL) or None,
        api_url=data.get(CONF_API_URL) or None,
    )


def _zulip(session: ClientSession, data: Mapping[str, Any]) -> ZulipClient:
    return ZulipClient(
        session, url=data[CONF_URL], email=data[CONF_EMAIL], api_key=data[CONF_API_KEY]
    )


CLIENT_FACTORIES: dict[str, Callable[[ClientSession, Mapping[str, Any]], ProviderClient]] = {
    PROVIDER_ZOOM: _zoom,
    PROVIDER_VONAGE: _vonage,
    PROVIDER_ZULIP: _zulip,
}
"""The providers, in the order the config flow's menu offers them."""
PROVIDERS = tuple(CLIENT_FACTORIES)


def create_client(hass: HomeAssistant, data: Mapping[str, Any]) -> ProviderClient:
    """The provider client for an entry's data, on Home Assistant's shared session."""
    return CLIENT_FACTORIES[data[CONF_PROVIDER]](async_get_clientsession(hass), data)
