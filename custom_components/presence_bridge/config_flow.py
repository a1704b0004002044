"""Config flow: a provider menu, one entry per account, a `user` subentry per person."""

from collections.abc import Mapping
from functools import partial
import logging
from typing import Any, override

from homeassistant.config_entries import (
    SOURCE_REAUTH,
    ConfigEntry,
    ConfigEntryState,
    ConfigFlowResult,
    ConfigSubentryFlow,
    OptionsFlow,
    SubentryFlowResult,
)
from homeassistant.core import callback
from homeassistant.data_entry_flow import section
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.config_entry_oauth2_flow import AbstractOAuth2FlowHandler
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
)
import voluptuous as vol

from .api import (
    OWN_USER,
    AuthenticationError,
    InvalidRequestError,
    InvalidTenantError,
    NotFoundError,
    PermissionMissingError,
    PresenceBridgeError,
    PresenceClient,
    ProviderClient,
    ProviderUnavailableError,
    RemoteUser,
    StatusClient,
)
from .api.availability import SETTABLE
from .api.msgraph import DEFAULT_API_URL, DEFAULT_LOGIN_URL, DELEGATED_SCOPES, GraphClient
from .application_credentials import sign_in_context
from .const import (
    CONF_ADVANCED,
    CONF_API_URL,
    CONF_KEEP_SESSION,
    CONF_LOGIN_URL,
    CONF_PROVIDER,
    CONF_TENANT,
    CONF_UPDATE_INTERVAL,
    CONF_USER_ID,
    CONF_VOCABULARY,
    DEFAULT_TENANT,
    DEFAULT_UPDATE_INTERVAL,
    DOMAIN,
    LOGGER,
    PROVIDER_MSGRAPH_OAUTH,
    SUBENTRY_USER,
)
from .coordinator import PresenceBridgeConfigEntry
from .providers import PROVIDERS, AccountForm, FormError, async_create_client
from .providers.base import PASSWORD, URL, server_urls


async def _async_validate(
    client: ProviderClient, user_id: str | None
) -> tuple[RemoteUser | None, dict[str, str]]:
    """Call the provider as the entry will: read the person, or at least the account.

    When no particular person was asked for (none, or the account's own user), "not
    found" and "invalid" mean the server or account is wrong, not a person.
    """
    account_check = user_id in (None, OWN_USER)
    try:
        if user_id is None:
            await client.check_credentials()
            return None, {}
        return await client.get_user(user_id), {}
    except InvalidTenantError:
        error = "invalid_tenant"
    except AuthenticationError:
        error = "invalid_auth"
    except PermissionMissingError:
        error = "missing_scopes"
    except NotFoundError:
        error = "cannot_connect" if account_check else "user_not_found"
    except InvalidRequestError:
        if account_check:
            LOGGER.exception("The provider refused the account check")
            error = "unknown"
        else:
            error = "invalid_user_id"
    except ProviderUnavailableError:
        error = "cannot_connect"
    except PresenceBridgeError:
        LOGGER.exception("Unexpected answer while validating")
        error = "unknown"
    return None, {"base": error}


FORM_PROVIDERS = {name: record.form for name, record in PROVIDERS.items() if record.form}
"""The providers whose account is set up with a form, and their forms."""

SIGN_IN_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_TENANT, default=DEFAULT_TENANT): str,
        vol.Required(CONF_ADVANCED): section(
            vol.Schema(
                {
                    vol.Required(CONF_LOGIN_URL, default=DEFAULT_LOGIN_URL): URL,
                    vol.Required(CONF_API_URL, default=DEFAULT_API_URL): URL,
                }
            ),
            {"collapsed": True},
        ),
    }
)


def _sign_in_data(user_input: Mapping[str, Any]) -> dict[str, str]:
    """The tenant and the cloud's addresses to sign in to; raises FormError."""
    tenant = str(user_input.get(CONF_TENANT) or "").strip()
    if not tenant:
        raise FormError("missing_field")
    advanced = user_input.get(CONF_ADVANCED, {})
    urls = server_urls(
        dict(advanced), {CONF_LOGIN_URL: DEFAULT_LOGIN_URL, CONF_API_URL: DEFAULT_API_URL}
    )
    return {
        CONF_TENANT: tenant,
        CONF_LOGIN_URL: urls[CONF_LOGIN_URL],
        CONF_API_URL: urls[CONF_API_URL],
    }


class PresenceBridgeConfigFlow(AbstractOAuth2FlowHandler, domain=DOMAIN):
    """Add a provider account: with a form, or (Teams, signed in) by signing in."""

    DOMAIN = DOMAIN
    VERSION = 1
    MINOR_VERSION = 2
    """2: Zulip server URLs (and unique ids built from them) are normalised."""

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

    def __getattr__(self, name: str) -> Any:
        """`async_step_<provider>`: each provider's account form step, from its record."""
        for provider in FORM_PROVIDERS:
            if name == f"async_step_{provider}":
                return partial(self._async_step_account, provider)
        raise AttributeError(name)

    @property
    @override
    def logger(self) -> logging.Logger:
        return LOGGER

    @property
    @override
    def extra_authorize_data(self) -> dict[str, Any]:
        """The delegated permissions Teams needs, and a refresh token."""
        return {"scope": " ".join(DELEGATED_SCOPES)}

    async def async_step_msgraph_oauth(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Teams, signed in: which tenant (and cloud) to sign in to, then sign in."""
        errors: dict[str, str] = {}
        if user_input is not None:
            try:
                self._sign_in = _sign_in_data(user_input)
            except FormError as err:
                errors = {"base": err.error}
            else:
                return await self.async_step_pick_implementation()
        return self.async_show_form(
            step_id="msgraph_oauth",
            data_schema=self.add_suggested_values_to_schema(SIGN_IN_SCHEMA, user_input),
            errors=errors,
        )

    @override
    async def async_step_pick_implementation(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Sign in to the chosen tenant (the step is re-entered, so the context is set here)."""
        with sign_in_context(self._sign_in[CONF_LOGIN_URL], self._sign_in[CONF_TENANT]):
            return await super().async_step_pick_implementation(user_input)

    @override
    async def async_oauth_create_entry(self, data: dict[str, Any]) -> ConfigFlowResult:
        """Signed in: the person is the signed-in user, the entry's only one."""
        token = str(data["token"]["access_token"])

        async def get_token() -> str:
            return token

        client = GraphClient(
            async_get_clientsession(self.hass),
            get_token=get_token,
            session_id=self.flow_impl.client_id,  # type: ignore[attr-defined]
            api_url=self._sign_in[CONF_API_URL],
        )
        try:
            user = await client.get_user(OWN_USER)
        except AuthenticationError:
            return self.async_abort(reason="invalid_auth")
        except PermissionMissingError:
            return self.async_abort(reason="missing_scopes")
        except PresenceBridgeError as err:
            LOGGER.debug("Reading the signed-in user failed: %s", err)
            return self.async_abort(reason="cannot_connect")
        await self.async_set_unique_id(user.user_id)
        entry_data = {CONF_PROVIDER: PROVIDER_MSGRAPH_OAUTH, **self._sign_in, **data}
        if self.source == SOURCE_REAUTH:
            self._abort_if_unique_id_mismatch(reason="wrong_account")
            return self._async_update_entry(self._get_reauth_entry(), entry_data)
        self._abort_if_unique_id_configured()
        return self.async_create_entry(
            title=f"Microsoft Teams {user.display_name}",
            data=entry_data,
            subentries=[_person_subentry(user)],
        )

    async def _async_step_account(
        self, provider: str, user_input: dict[str, Any] | None
    ) -> ConfigFlowResult:
        """Check the account (and first person) with the provider, then create the entry."""
        form = FORM_PROVIDERS[provider]
        errors: dict[str, str] = {}
        if user_input is not None:
            data, user, errors = await self._async_check_account(form, provider, user_input, None)
            if not errors:
                subentries = [_person_subentry(user)] if user else []
                return self.async_create_entry(
                    title=form.title(data), data=data, subentries=subentries
                )
        return self.async_show_form(
            step_id=provider,
            data_schema=self.add_suggested_values_to_schema(
                form.schema(with_person=True), user_input
            ),
            errors=errors,
        )

    async def _async_check_account(
        self,
        form: AccountForm,
        provider: str,
        user_input: dict[str, Any],
        entry: ConfigEntry | None,
    ) -> tuple[dict[str, Any], RemoteUser | None, dict[str, str]]:
        """The entry's data, the person read and the form's errors.

        A new account must not be configured yet; a reconfigured `entry` must stay
        the same account. Where the form tells the account, that is checked before
        anything is sent; otherwise once the provider named its user.
        """

        async def check_account(unique_id: str) -> None:
            await self.async_set_unique_id(unique_id)
            if entry is None:
                self._abort_if_unique_id_configured()
            else:
                self._abort_if_unique_id_mismatch(reason="wrong_account")

        try:
            data = form.entry_data(provider, user_input)
        except FormError as err:
            return {}, None, {"base": err.error}
        if (unique_id := form.unique_id(data, None)) is not None:
            await check_account(unique_id)
        client = await async_create_client(self.hass, data)
        user, errors = await _async_validate(client, form.person_to_check(user_input, entry))
        if not errors and unique_id is None:
            await check_account(str(form.unique_id(data, user)))
        return data, user, errors

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """The provider refused the credentials: ask again, or sign in again."""
        if entry_data[CONF_PROVIDER] in FORM_PROVIDERS:
            return await self.async_step_reauth_confirm()
        self._sign_in = {
            key: entry_data[key] for key in (CONF_TENANT, CONF_LOGIN_URL, CONF_API_URL)
        }
        return await self.async_step_reauth_sign_in()

    async def async_step_reauth_sign_in(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Say why, then sign in again; the same user must sign in."""
        if user_input is None:
            return self.async_show_form(
                step_id="reauth_sign_in",
                description_placeholders={"account": self._get_reauth_entry().title},
            )
        return await self.async_step_pick_implementation()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for a new secret and check it, unless the stored server addresses are unsafe.

        An entry made before https was required may hold an http address of another
        machine: the new secret is not sent there (reconfigure the addresses instead).
        """
        entry = self._get_reauth_entry()
        form = FORM_PROVIDERS[entry.data[CONF_PROVIDER]]
        secret = form.secret
        errors: dict[str, str] = {}
        if user_input is not None:
            data = {**entry.data, secret: user_input[secret]}
            try:
                form.prepare(dict(data))
            except FormError as err:
                errors = {"base": err.error}
            else:
                client = await async_create_client(self.hass, data)
                _, errors = await _async_validate(client, form.person_to_check(user_input, entry))
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
        """Change the account's credentials or server URLs (a signed-in account has none)."""
        entry = self._get_reconfigure_entry()
        provider = entry.data[CONF_PROVIDER]
        if provider not in FORM_PROVIDERS:
            return self.async_abort(reason="reconfigure_signed_in")
        form = FORM_PROVIDERS[provider]
        errors: dict[str, str] = {}
        if user_input is not None:
            data, _, errors = await self._async_check_account(form, provider, user_input, entry)
            if not errors:
                return self._async_update_entry(entry, data)
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                form.schema(with_person=False), user_input or form.form_values(entry.data)
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


def _person_subentry(user: RemoteUser) -> dict[str, Any]:
    """A `user` subentry for a person."""
    return {
        "subentry_type": SUBENTRY_USER,
        "data": {CONF_USER_ID: user.user_id},
        "title": user.display_name,
        "unique_id": user.user_id,
    }


class UserSubentryFlow(ConfigSubentryFlow):
    """Add a person the account controls."""

    _choices: list[RemoteUser] | None = None

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Offer the people the account can list, else ask for an id or email address."""
        entry: PresenceBridgeConfigEntry = self._get_entry()
        if entry.state is not ConfigEntryState.LOADED:
            return self.async_abort(reason="entry_not_loaded")
        client = entry.runtime_data.client
        if not client.can_add_people:
            return self.async_abort(reason="cannot_add_people")
        errors: dict[str, str] = {}
        if user_input is not None:
            user, errors = await _async_validate(client, user_input[CONF_USER_ID])
            if user is not None:
                return self.async_create_entry(
                    title=user.display_name,
                    data={CONF_USER_ID: user.user_id},
                    unique_id=user.user_id,
                )
        if self._choices is None:
            self._choices = await self._async_list_choices(client, entry)
        field: Any = str
        if self._choices:
            field = SelectSelector(
                SelectSelectorConfig(
                    options=[
                        SelectOptionDict(value=user.user_id, label=user.display_name)
                        for user in self._choices
                    ],
                    mode=SelectSelectorMode.DROPDOWN,
                    # Someone the list leaves out can still be typed in (a GUID, an email).
                    custom_value=True,
                )
            )
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(
                vol.Schema({vol.Required(CONF_USER_ID): field}), user_input
            ),
            errors=errors,
        )

    @staticmethod
    async def _async_list_choices(client: ProviderClient, entry: ConfigEntry) -> list[RemoteUser]:
        """The people the account may list and does not control yet; none if it may not."""
        try:
            users = await client.list_users() or []
        except PresenceBridgeError as err:
            LOGGER.debug("Cannot list people, asking for an id instead: %s", err)
            return []
        configured = {subentry.unique_id for subentry in entry.subentries.values()}
        return [user for user in users if user.user_id not in configured]


def settable_values(client: ProviderClient) -> tuple[str, ...]:
    """What a shared value may be set to on this account: its presence options, or, for an
    account of statuses only (Zulip), its status presets."""
    if isinstance(client, PresenceClient):
        return client.presence_options
    if isinstance(client, StatusClient):
        return tuple(client.status_presets)
    return ()


class PresenceBridgeOptionsFlow(OptionsFlow):
    """Tune how often presence is read back, whether a presence session is kept, the account's
    budget, and what the shared values set on it."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the update interval (and, where the provider needs one, the session)."""
        if user_input is not None:
            return self.async_create_entry(data=user_input)
        options = self.config_entry.options
        fields: dict[vol.Marker, Any] = {
            vol.Required(
                CONF_UPDATE_INTERVAL,
                default=options.get(CONF_UPDATE_INTERVAL, DEFAULT_UPDATE_INTERVAL.total_seconds()),
            ): NumberSelector(
                NumberSelectorConfig(
                    min=30, max=3600, step=1, unit_of_measurement="s", mode=NumberSelectorMode.BOX
                )
            ),
        }
        entry: PresenceBridgeConfigEntry = self.config_entry
        if (provider_options := PROVIDERS[entry.data[CONF_PROVIDER]].options) is not None:
            fields |= provider_options(options)
        if (
            entry.state is ConfigEntryState.LOADED
            and entry.runtime_data.client.capabilities.presence_session
        ):
            fields[
                vol.Required(CONF_KEEP_SESSION, default=options.get(CONF_KEEP_SESSION, True))
            ] = BooleanSelector()
        if entry.state is ConfigEntryState.LOADED and (
            choices := settable_values(entry.runtime_data.client)
        ):
            chosen = options.get(CONF_VOCABULARY, {})
            override = SelectSelector(
                SelectSelectorConfig(options=list(choices), mode=SelectSelectorMode.DROPDOWN)
            )
            fields[vol.Optional(CONF_VOCABULARY)] = section(
                vol.Schema(
                    {
                        vol.Optional(
                            shared.value, description={"suggested_value": chosen.get(shared)}
                        ): override
                        for shared in SETTABLE
                    }
                ),
                {"collapsed": True},
            )
        return self.async_show_form(step_id="init", data_schema=vol.Schema(fields))
