"""Config flow: a provider menu, one entry per account, a `user` subentry per person."""

from collections.abc import Mapping
from typing import Any, override

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentryFlow,
    OptionsFlow,
    SubentryFlowResult,
)
from homeassistant.core import callback
from homeassistant.data_entry_flow import section
from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
import voluptuous as vol

from .api import (
    AuthenticationError,
    NotFoundError,
    PermissionMissingError,
    PresenceBridgeError,
    PresenceClient,
    ProviderUnavailableError,
    RemoteUser,
)
from .api.zoom import DEFAULT_API_URL, DEFAULT_OAUTH_URL
from .const import (
    CONF_ACCOUNT_ID,
    CONF_ADVANCED,
    CONF_API_URL,
    CONF_CLIENT_ID,
    CONF_CLIENT_SECRET,
    CONF_OAUTH_URL,
    CONF_PROVIDER,
    CONF_UPDATE_INTERVAL,
    CONF_USER_ID,
    DEFAULT_UPDATE_INTERVAL,
    DOMAIN,
    LOGGER,
    PROVIDER_ZOOM,
    SUBENTRY_USER,
)
from .coordinator import PresenceBridgeConfigEntry
from .providers import PROVIDERS, create_client

PASSWORD = TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD))
URL = TextSelector(TextSelectorConfig(type=TextSelectorType.URL))

ZOOM_CREDENTIALS: dict[vol.Marker, Any] = {
    vol.Required(CONF_ACCOUNT_ID): str,
    vol.Required(CONF_CLIENT_ID): str,
    vol.Required(CONF_CLIENT_SECRET): PASSWORD,
}
ZOOM_ADVANCED = section(
    vol.Schema(
        {
            vol.Required(CONF_API_URL, default=DEFAULT_API_URL): URL,
            vol.Required(CONF_OAUTH_URL, default=DEFAULT_OAUTH_URL): URL,
        }
    ),
    {"collapsed": True},
)
ZOOM_SCHEMA = vol.Schema(
    {
        **ZOOM_CREDENTIALS,
        vol.Required(CONF_USER_ID): str,
        vol.Required(CONF_ADVANCED): ZOOM_ADVANCED,
    }
)
RECONFIGURE_SCHEMAS = {
    PROVIDER_ZOOM: vol.Schema({**ZOOM_CREDENTIALS, vol.Required(CONF_ADVANCED): ZOOM_ADVANCED})
}
SECRET_FIELDS = {PROVIDER_ZOOM: CONF_CLIENT_SECRET}
USER_SCHEMA = vol.Schema({vol.Required(CONF_USER_ID): str})


def _entry_data(provider: str, user_input: Mapping[str, Any]) -> dict[str, Any]:
    """An entry's data from a form: the section's fields flattened, the user left out."""
    data = {
        key: value for key, value in user_input.items() if key not in (CONF_ADVANCED, CONF_USER_ID)
    }
    return {CONF_PROVIDER: provider, **data, **user_input.get(CONF_ADVANCED, {})}


def _form_values(data: Mapping[str, Any]) -> dict[str, Any]:
    """An entry's data as suggested form values: secrets left out, URLs in their section."""
    secret = SECRET_FIELDS[data[CONF_PROVIDER]]
    values = {key: value for key, value in data.items() if key != secret}
    values[CONF_ADVANCED] = {
        key: data[key] for key in (CONF_API_URL, CONF_OAUTH_URL) if key in data
    }
    return values


async def _async_validate(
    client: PresenceClient, user_id: str | None
) -> tuple[RemoteUser | None, dict[str, str]]:
    """Call the provider as the entry will: read the person, or at least get a token."""
    try:
        if user_id is None:
            await client.check_credentials()
            return None, {}
        return await client.get_user(user_id), {}
    except AuthenticationError:
        error = "invalid_auth"
    except PermissionMissingError:
        error = "missing_scopes"
    except NotFoundError:
        error = "user_not_found"
    except ProviderUnavailableError:
        error = "cannot_connect"
    except PresenceBridgeError:
        LOGGER.exception("Unexpected answer while validating")
        error = "unknown"
    return None, {"base": error}


def _first_user_id(entry: ConfigEntry) -> str | None:
    """The id of a person the entry controls, to prove new credentials can read them."""
    users = entry.get_subentries_of_type(SUBENTRY_USER)
    return users[0].data[CONF_USER_ID] if users else None


class PresenceBridgeConfigFlow(ConfigFlow, domain=DOMAIN):
    """Add a provider account."""

    VERSION = 1

    @classmethod
    @callback
    @override
    def async_get_supported_subentry_types(
        cls, config_entry: ConfigEntry
    ) -> dict[str, type[ConfigSubentryFlow]]:
        return {SUBENTRY_USER: UserSubentryFlow}

    @staticmethod
    @callback
    @override
    def async_get_options_flow(config_entry: ConfigEntry) -> OptionsFlow:
        return PresenceBridgeOptionsFlow()

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Pick a provider."""
        return self.async_show_menu(step_id="user", menu_options=list(PROVIDERS))

    async def async_step_zoom(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Connect a Zoom Server-to-Server OAuth app and name the first person."""
        errors: dict[str, str] = {}
        if user_input is not None:
            data = _entry_data(PROVIDER_ZOOM, user_input)
            await self.async_set_unique_id(data[CONF_ACCOUNT_ID])
            self._abort_if_unique_id_configured()
            client = create_client(self.hass, data)
            user, errors = await _async_validate(client, user_input[CONF_USER_ID])
            if user is not None:
                return self._async_create_account(f"Zoom {data[CONF_ACCOUNT_ID]}", data, user)
        return self.async_show_form(
            step_id="zoom",
            data_schema=self.add_suggested_values_to_schema(ZOOM_SCHEMA, user_input),
            errors=errors,
        )

    def _async_create_account(
        self, title: str, data: dict[str, Any], user: RemoteUser
    ) -> ConfigFlowResult:
        """Create the entry with its first person."""
        return self.async_create_entry(
            title=title,
            data=data,
            subentries=[
                {
                    "subentry_type": SUBENTRY_USER,
                    "data": {CONF_USER_ID: user.user_id},
                    "title": user.display_name,
                    "unique_id": user.user_id,
                }
            ],
        )

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """The provider refused the credentials."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for a new secret and check it."""
        entry = self._get_reauth_entry()
        secret = SECRET_FIELDS[entry.data[CONF_PROVIDER]]
        errors: dict[str, str] = {}
        if user_input is not None:
            data = {**entry.data, secret: user_input[secret]}
            _, errors = await _async_validate(create_client(self.hass, data), _first_user_id(entry))
            if not errors:
                return self._async_update_entry(entry, data)
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=vol.Schema({vol.Required(secret): PASSWORD}),
            description_placeholders={"account": entry.title},
            errors=errors,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the account's credentials or server URLs."""
        entry = self._get_reconfigure_entry()
        provider = entry.data[CONF_PROVIDER]
        errors: dict[str, str] = {}
        if user_input is not None:
            data = _entry_data(provider, user_input)
            await self.async_set_unique_id(data[CONF_ACCOUNT_ID])
            self._abort_if_unique_id_mismatch(reason="wrong_account")
            _, errors = await _async_validate(create_client(self.hass, data), _first_user_id(entry))
            if not errors:
                return self._async_update_entry(entry, data)
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                RECONFIGURE_SCHEMAS[provider], user_input or _form_values(entry.data)
            ),
            errors=errors,
        )

    def _async_update_entry(self, entry: ConfigEntry, data: dict[str, Any]) -> ConfigFlowResult:
        """Store new data; a running entry is reloaded by us, not by the update listener."""
        if entry.state is not ConfigEntryState.LOADED:
            return self.async_update_reload_and_abort(entry, data=data)
        result = self.async_update_and_abort(entry, data=data)
        self.hass.config_entries.async_schedule_reload(entry.entry_id)
        return result


class UserSubentryFlow(ConfigSubentryFlow):
    """Add a person the account controls."""

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Ask for the person's id or email address and look them up."""
        entry: PresenceBridgeConfigEntry = self._get_entry()
        if entry.state is not ConfigEntryState.LOADED:
            return self.async_abort(reason="entry_not_loaded")
        errors: dict[str, str] = {}
        if user_input is not None:
            user, errors = await _async_validate(
                entry.runtime_data.client, user_input[CONF_USER_ID]
            )
            if user is not None:
                return self.async_create_entry(
                    title=user.display_name,
                    data={CONF_USER_ID: user.user_id},
                    unique_id=user.user_id,
                )
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(USER_SCHEMA, user_input),
            errors=errors,
        )


class PresenceBridgeOptionsFlow(OptionsFlow):
    """Tune how often presence is read back."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the update interval."""
        if user_input is not None:
            return self.async_create_entry(data=user_input)
        schema = vol.Schema(
            {
                vol.Required(
                    CONF_UPDATE_INTERVAL,
                    default=self.config_entry.options.get(
                        CONF_UPDATE_INTERVAL, DEFAULT_UPDATE_INTERVAL.total_seconds()
                    ),
                ): NumberSelector(
                    NumberSelectorConfig(
                        min=30,
                        max=3600,
                        step=1,
                        unit_of_measurement="s",
                        mode=NumberSelectorMode.BOX,
                    )
                ),
            }
        )
        return self.async_show_form(step_id="init", data_schema=schema)
