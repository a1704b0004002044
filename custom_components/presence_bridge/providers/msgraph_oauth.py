"""Microsoft Teams through Microsoft Graph, signed in: one person, their own presence.

The account is set up by signing in (OAuth, with Home Assistant's application credentials),
not with a form: the flow's `msgraph_oauth` step. Tokens come from the entry's OAuth2 session.
"""

from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryAuthFailed, HomeAssistantError
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.config_entry_oauth2_flow import (
    LocalOAuth2Implementation,
    OAuth2Session,
    async_get_config_entry_implementation,
)

from custom_components.presence_bridge.api import (
    AuthenticationError,
    GraphClient,
    ProviderUnavailableError,
)
from custom_components.presence_bridge.api.msgraph import DEFAULT_API_URL
from custom_components.presence_bridge.application_credentials import sign_in_context
from custom_components.presence_bridge.const import (
    CONF_API_URL,
    CONF_LOGIN_URL,
    CONF_TENANT,
    PROVIDER_MSGRAPH_OAUTH,
)

from .base import ProviderRecord


async def _async_create_client(
    hass: HomeAssistant, data: Mapping[str, Any], entry: ConfigEntry | None
) -> GraphClient:
    """The signed-in user's client, with tokens from the entry's OAuth2 session."""
    assert entry is not None, "the flow makes its own client from the sign-in's token"
    with sign_in_context(data[CONF_LOGIN_URL], data[CONF_TENANT]):
        implementation = await async_get_config_entry_implementation(hass, entry)
    assert isinstance(implementation, LocalOAuth2Implementation)  # application credentials'
    session = OAuth2Session(hass, entry, implementation)

    async def get_token() -> str:
        """A valid access token; a refresh refused for good asks for a new sign-in."""
        try:
            await session.async_ensure_token_valid()
        except ConfigEntryAuthFailed as err:
            raise AuthenticationError("Microsoft refused the sign-in; sign in again") from err
        except HomeAssistantError as err:
            raise ProviderUnavailableError("The sign-in could not be refreshed now") from err
        return str(session.token["access_token"])

    return GraphClient(
        async_get_clientsession(hass),
        get_token=get_token,
        session_id=implementation.client_id,
        api_url=data.get(CONF_API_URL) or DEFAULT_API_URL,
    )


RECORD = ProviderRecord(name=PROVIDER_MSGRAPH_OAUTH, form=None, create_client=_async_create_client)
