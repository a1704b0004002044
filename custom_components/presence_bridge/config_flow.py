"""Config flow: a provider menu, one entry per account, a `user` subentry per person."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, override
from urllib.parse import urlsplit

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
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
import voluptuous as vol

from .api import (
    OWN_USER,
    AuthenticationError,
    InvalidRequestError,
    NotFoundError,
    PermissionMissingError,
    PresenceBridgeError,
    ProviderClient,
    ProviderUnavailableError,
    RemoteUser,
)
from .api.vonage import REGIONS, default_api_url, default_auth_url
from .api.zoom import DEFAULT_API_URL, DEFAULT_OAUTH_URL
from .api.zulip import is_allowed_url, normalize_url, parse_zuliprc
from .const import (
    CONF_ACCOUNT_ID,
    CONF_ADVANCED,
    CONF_API_KEY,
    CONF_API_URL,
    CONF_AUTH_URL,
    CONF_CLIENT_ID,
    CONF_CLIENT_SECRET,
    CONF_EMAIL,
    CONF_OAUTH_URL,
    CONF_PROVIDER,
    CONF_REGION,
    CONF_UPDATE_INTERVAL,
    CONF_URL,
    CONF_USER_ID,
    CONF_ZULIPRC,
    DEFAULT_UPDATE_INTERVAL,
    DOMAIN,
    LOGGER,
    PROVIDER_VONAGE,
    PROVIDER_ZOOM,
    PROVIDER_ZULIP,
    SUBENTRY_USER,
)
from .coordinator import PresenceBridgeConfigEntry
from .providers import PROVIDERS, create_client

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


def _server_url(url: str) -> str:
    """A server address credentials may be sent to, stripped; raises FormError.

    Only https, or http to this machine (`localhost`, a loopback address), and no user
    name or password in it: the credentials have their own fields.
    """
    url = url.strip()
    try:
        parts = urlsplit(url)
        host, _ = parts.hostname, parts.port
    except ValueError:
        raise FormError("invalid_url") from None
    if parts.scheme in ("https", "http") and not host:
        raise FormError("invalid_url")
    if "@" in parts.netloc:
        raise FormError("url_with_credentials")
    if not is_allowed_url(url):
        raise FormError("insecure_url")
    return url


def _server_urls(data: dict[str, Any], defaults: Mapping[str, str]) -> dict[str, Any]:
    """The server addresses: each one left empty is its default; those given are checked."""
    urls = {key: str(data.get(key) or "").strip() or default for key, default in defaults.items()}
    return data | {key: _server_url(url) for key, url in urls.items()}


def _zoom_data(data: dict[str, Any]) -> dict[str, Any]:
    """Server addresses left empty become Zoom's own."""
    return _server_urls(data, {CONF_API_URL: DEFAULT_API_URL, CONF_OAUTH_URL: DEFAULT_OAUTH_URL})


def _vonage_data(data: dict[str, Any]) -> dict[str, Any]:
    """Server addresses left empty become the region's."""
    region = data[CONF_REGION]
    defaults = {CONF_AUTH_URL: default_auth_url(region), CONF_API_URL: default_api_url(region)}
    return _server_urls(data, defaults)


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
    return {**data, CONF_URL: normalize_url(_server_url(data[CONF_URL]))}


ACCOUNT_FORMS: dict[str, AccountForm] = {
    PROVIDER_ZOOM: AccountForm(
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
    PROVIDER_VONAGE: AccountForm(
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
    PROVIDER_ZULIP: AccountForm(
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
}


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


class PresenceBridgeConfigFlow(ConfigFlow, domain=DOMAIN):
    """Add a provider account."""

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

    async def async_step_zoom(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Connect a Zoom Server-to-Server OAuth app and name the first person."""
        return await self._async_step_account(PROVIDER_ZOOM, user_input)

    async def async_step_vonage(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Connect Vonage Contact Center API credentials of one region."""
        return await self._async_step_account(PROVIDER_VONAGE, user_input)

    async def async_step_zulip(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Connect a Zulip account (its own status first) by key or zuliprc."""
        return await self._async_step_account(PROVIDER_ZULIP, user_input)

    async def _async_step_account(
        self, provider: str, user_input: dict[str, Any] | None
    ) -> ConfigFlowResult:
        """Check the account (and first person) with the provider, then create the entry."""
        form = ACCOUNT_FORMS[provider]
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
        client = create_client(self.hass, data)
        user, errors = await _async_validate(client, form.person_to_check(user_input, entry))
        if not errors and unique_id is None:
            await check_account(str(form.unique_id(data, user)))
        return data, user, errors

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """The provider refused the credentials."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for a new secret and check it, unless the stored server addresses are unsafe.

        An entry made before https was required may hold an http address of another
        machine: the new secret is not sent there (reconfigure the addresses instead).
        """
        entry = self._get_reauth_entry()
        form = ACCOUNT_FORMS[entry.data[CONF_PROVIDER]]
        secret = form.secret
        errors: dict[str, str] = {}
        if user_input is not None:
            data = {**entry.data, secret: user_input[secret]}
            try:
                form.prepare(dict(data))
            except FormError as err:
                errors = {"base": err.error}
            else:
                client = create_client(self.hass, data)
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
        """Change the account's credentials or server URLs."""
        entry = self._get_reconfigure_entry()
        provider = entry.data[CONF_PROVIDER]
        form = ACCOUNT_FORMS[provider]
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
