"""What every provider record is made of: its account form, its client factory.

These live below the config flow, beside the records, so that `config_flow.py` imports the
records and nothing here imports the flow.
"""

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import section
from homeassistant.helpers.selector import TextSelector, TextSelectorConfig, TextSelectorType
import voluptuous as vol

from custom_components.presence_bridge.api import OWN_USER, ProviderClient, RemoteUser
from custom_components.presence_bridge.api.errors import InvalidUrlError
from custom_components.presence_bridge.api.http import check_url
from custom_components.presence_bridge.const import (
    CONF_ADVANCED,
    CONF_PROVIDER,
    CONF_USER_ID,
    SUBENTRY_USER,
)

PASSWORD = TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD))
URL = TextSelector(TextSelectorConfig(type=TextSelectorType.URL))


class FormError(Exception):
    """A form's input is unusable as it is; `error` is the translated error's key."""

    def __init__(self, error: str) -> None:
        """Name the error shown on the form."""
        super().__init__(error)
        self.error = error


@dataclass(frozen=True, kw_only=True)
class AccountForm:
    """How one provider's account is asked for, identified and named."""

    credentials: dict[vol.Marker, Any]
    server_urls: dict[vol.Marker, Any] = field(default_factory=dict)
    """Fields of the collapsed "Server addresses" section, if the provider has one."""
    secret: str
    """The field reauthentication asks for again."""
    unique_id: Callable[[Mapping[str, Any], RemoteUser | None], str | None]
    """The account's id: from the form, or (returning None until then) from the check."""
    title: Callable[[Mapping[str, Any]], str]
    prepare: Callable[[dict[str, Any]], dict[str, Any]] = lambda data: data
    """Turns the form's values into the entry's data; raises FormError."""
    first_person: Literal["ask", "self"] | None = None
    """The first person to control: asked for in the form, or the account's own user."""

    def schema(self, *, with_person: bool) -> vol.Schema:
        """The account form, with the first person's field where the provider asks for it."""
        fields = dict(self.credentials)
        if with_person and self.first_person == "ask":
            fields[vol.Required(CONF_USER_ID)] = str
        if self.server_urls:
            advanced = section(vol.Schema(self.server_urls), {"collapsed": True})
            fields[vol.Required(CONF_ADVANCED)] = advanced
        return vol.Schema(fields)

    def entry_data(self, provider: str, user_input: Mapping[str, Any]) -> dict[str, Any]:
        """An entry's data from the form: the section flattened, empty values left out.

        A required field left blank is a form error, not a crash further on.
        """
        required = {str(key) for key in self.credentials if isinstance(key, vol.Required)}
        if CONF_USER_ID in user_input:
            required.add(CONF_USER_ID)
        if any(not str(user_input.get(key) or "").strip() for key in required):
            raise FormError("missing_field")
        values = {
            key: value
            for key, value in user_input.items()
            if key not in (CONF_ADVANCED, CONF_USER_ID)
        }
        values |= user_input.get(CONF_ADVANCED, {})
        data = {key: value for key, value in values.items() if value}
        return {CONF_PROVIDER: provider, **self.prepare(data)}

    def form_values(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """An entry's data as suggested form values: the secret left out, URLs in their section."""
        urls = {str(key) for key in self.server_urls}
        values = {k: v for k, v in data.items() if k != self.secret and k not in urls}
        return values | {CONF_ADVANCED: {k: v for k, v in data.items() if k in urls}}

    def person_to_check(
        self, user_input: Mapping[str, Any], entry: ConfigEntry | None
    ) -> str | None:
        """Whom to read to prove the account works: its own user, the first person, or no one."""
        if self.first_person == "self":
            return OWN_USER
        if entry is not None:
            users = entry.get_subentries_of_type(SUBENTRY_USER)
            return users[0].data[CONF_USER_ID] if users else None
        return user_input.get(CONF_USER_ID)


def server_url(url: str) -> str:
    """A server address credentials may be sent to (see `check_url`); raises FormError."""
    try:
        return check_url(url)
    except InvalidUrlError as err:
        if err.reason == InvalidUrlError.CREDENTIALS:
            raise FormError("url_with_credentials") from None
        if err.reason == InvalidUrlError.INSECURE:
            raise FormError("insecure_url") from None
        raise FormError("invalid_url") from None


def server_urls(data: dict[str, Any], defaults: Mapping[str, str]) -> dict[str, Any]:
    """The server addresses: each one left empty is its default; those given are checked."""
    urls = {key: str(data.get(key) or "").strip() or default for key, default in defaults.items()}
    return data | {key: server_url(url) for key, url in urls.items()}


type ClientFactory = Callable[
    [HomeAssistant, Mapping[str, Any], ConfigEntry | None], Awaitable[ProviderClient]
]
"""A client for an entry's data; the entry itself once it exists (an OAuth session needs it)."""


@dataclass(frozen=True, kw_only=True)
class ProviderRecord:
    """Everything Home Assistant needs to know of one provider, in one place."""

    name: str
    """The menu option and `entry.data["provider"]`."""
    form: AccountForm | None
    """How its account is set up, identified and named; None for a sign-in (OAuth) flow."""
    create_client: ClientFactory
    """Its client for an entry's data, on Home Assistant's shared session."""
    options: Callable[[Mapping[str, Any]], dict[vol.Marker, Any]] | None = None
    """Its own fields of the options form, with the entry's options as defaults."""
