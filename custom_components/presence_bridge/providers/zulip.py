"""Zulip: an account's API key (or zuliprc); its own status is the first person's."""

from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.selector import TextSelector, TextSelectorConfig
import voluptuous as vol

from custom_components.presence_bridge.api import InvalidRequestError, ZulipClient
from custom_components.presence_bridge.api.zulip import normalize_url, parse_zuliprc
from custom_components.presence_bridge.const import (
    CONF_API_KEY,
    CONF_EMAIL,
    CONF_URL,
    CONF_ZULIPRC,
    PROVIDER_ZULIP,
)

from .base import PASSWORD, URL, AccountForm, FormError, ProviderRecord, server_url


def _zulip_data(data: dict[str, Any]) -> dict[str, Any]:
    """Credentials from a pasted zuliprc, or from the fields; the URL checked and normalised.

    One server is one account however its URL is typed (see `normalize_url`), so the
    unique id, built from the URL, finds an account added before.
    """
    if zuliprc := data.pop(CONF_ZULIPRC, None):
        try:
            data = parse_zuliprc(zuliprc)
        except InvalidRequestError as err:
            raise FormError("invalid_zuliprc") from err
    if not all(data.get(key) for key in (CONF_URL, CONF_EMAIL, CONF_API_KEY)):
        raise FormError("missing_credentials")
    return {**data, CONF_URL: normalize_url(server_url(data[CONF_URL]))}


async def _async_create_client(
    hass: HomeAssistant, data: Mapping[str, Any], entry: ConfigEntry | None
) -> ZulipClient:
    return ZulipClient(
        async_get_clientsession(hass),
        url=data[CONF_URL],
        email=data[CONF_EMAIL],
        api_key=data[CONF_API_KEY],
    )


RECORD = ProviderRecord(
    name=PROVIDER_ZULIP,
    form=AccountForm(
        credentials={
            vol.Optional(CONF_URL): URL,
            vol.Optional(CONF_EMAIL): str,
            vol.Optional(CONF_API_KEY): PASSWORD,
            vol.Optional(CONF_ZULIPRC): TextSelector(TextSelectorConfig(multiline=True)),
        },
        secret=CONF_API_KEY,
        unique_id=lambda data, user: f"{data[CONF_URL]}:{user.user_id}" if user else None,
        title=lambda data: f"Zulip {data[CONF_EMAIL]}",
        prepare=_zulip_data,
        first_person="self",
    ),
    create_client=_async_create_client,
)
