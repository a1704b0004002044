"""Every path through the config, reauth, reconfigure, subentry and options flows."""

import json
from pathlib import Path
import re
import tomllib
from unittest.mock import patch

from aiohttp import web
from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.presence_bridge.api import Availability
from custom_components.presence_bridge.const import DOMAIN
from custom_components.presence_bridge.providers import (
    PROVIDERS,
    async_create_client,
    zoom as zoom_record,
)

from .conftest import ALICE_ID, BOB_ID
from .fake_zoom import FakeZoom

ROOT = Path(__file__).parent.parent
EN = json.loads(
    (ROOT / "custom_components/presence_bridge/translations/en.json").read_text(encoding="utf-8")
)


def zoom_form(fake: FakeZoom, **overrides: str) -> dict[str, object]:
    """The Zoom step's input, pointing at the fake."""
    fields = {
        "account_id": fake.account_id,
        "client_id": fake.client_id,
        "client_secret": fake.client_secret,
        "user_id": "alice@example.com",
        "api_url": fake.api_url,
        "oauth_url": fake.url,
    } | overrides
    return {
        **{k: fields[k] for k in ("account_id", "client_id", "client_secret", "user_id")},
        "advanced": {"api_url": fields["api_url"], "oauth_url": fields["oauth_url"]},
    }


async def start_zoom_flow(hass: HomeAssistant) -> str:
    """Open the menu, pick Zoom, return the flow id."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == ["zoom", "msgraph", "msgraph_oauth", "zulip", "vonage"]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "zoom"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "zoom"
    return result["flow_id"]


@pytest.mark.usefixtures("mock_setup_entry")
async def test_zoom_creates_entry_with_first_person(
    hass: HomeAssistant, fake_zoom: FakeZoom
) -> None:
    """Valid credentials and a known person create the account entry and its first subentry."""
    flow_id = await start_zoom_flow(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, zoom_form(fake_zoom))

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Zoom acct-123"
    assert result["data"] == fake_zoom.entry_data()
    entry = result["result"]
    assert entry.unique_id == "acct-123"
    [subentry] = entry.subentries.values()
    assert subentry.subentry_type == "user"
    assert subentry.data == {"user_id": ALICE_ID}
    assert subentry.unique_id == ALICE_ID
    assert subentry.title == "Alice Archer"
    token_request = fake_zoom.requests[0]
    assert token_request.path == "/oauth/token"
    assert token_request.body == {"grant_type": "account_credentials", "account_id": "acct-123"}
    assert [r.path for r in fake_zoom.api_requests()] == ["/v2/users/alice@example.com"]


@pytest.mark.usefixtures("mock_setup_entry")
@pytest.mark.parametrize(
    ("break_it", "error"),
    [
        (lambda fake: setattr(fake, "client_secret", "rotated"), "invalid_auth"),
        (lambda fake: setattr(fake, "account_id", "other-account"), "invalid_auth"),
        (lambda fake: fake.users.clear(), "user_not_found"),
        (lambda fake: setattr(fake, "scopes", frozenset({"user:write:admin"})), "missing_scopes"),
        (
            lambda fake: fake.fail_next.append(
                web.json_response({"code": 300, "message": "Validation Failed."}, status=400)
            ),
            "invalid_user_id",
        ),
        (lambda fake: fake.fail_next.append(web.Response(status=503)), "cannot_connect"),
        (
            lambda fake: fake.fail_next.append(
                web.json_response({"code": 429, "message": "Daily limit"}, status=429)
            ),
            "unknown",
        ),
    ],
)
async def test_zoom_errors_then_recovery(
    hass: HomeAssistant, fake_zoom: FakeZoom, break_it, error: str
) -> None:
    """Each failure shows its error, keeps the input, and a retry after fixing it succeeds."""
    good = (fake_zoom.client_secret, fake_zoom.account_id, dict(fake_zoom.users), fake_zoom.scopes)
    flow_id = await start_zoom_flow(hass)
    break_it(fake_zoom)
    result = await hass.config_entries.flow.async_configure(
        flow_id, zoom_form(fake_zoom, account_id="acct-123", client_secret="zoom-client-secret")
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": error}

    fake_zoom.client_secret, fake_zoom.account_id, users, fake_zoom.scopes = good
    fake_zoom.users.update(users)
    result = await hass.config_entries.flow.async_configure(flow_id, zoom_form(fake_zoom))
    assert result["type"] is FlowResultType.CREATE_ENTRY


@pytest.mark.usefixtures("mock_setup_entry")
async def test_zoom_unreachable(hass: HomeAssistant, fake_zoom: FakeZoom) -> None:
    """A server that does not answer is cannot_connect."""
    flow_id = await start_zoom_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id,
        zoom_form(fake_zoom, oauth_url="http://127.0.0.1:1", api_url="http://127.0.0.1:1/v2"),
    )
    assert result["errors"] == {"base": "cannot_connect"}


def test_zoom_server_addresses_default_to_zooms_own() -> None:
    """Cleared (or blank) server addresses become Zoom's documented ones, as for Vonage."""
    form = {
        "account_id": "a",
        "client_id": "c",
        "client_secret": "s",
        "user_id": "u",
        "advanced": {"api_url": "", "oauth_url": " "},
    }
    assert PROVIDERS["zoom"].form.entry_data("zoom", form) == {
        "provider": "zoom",
        "account_id": "a",
        "client_id": "c",
        "client_secret": "s",
        "api_url": "https://api.zoom.us/v2",
        "oauth_url": "https://zoom.us",
    }


async def test_client_without_server_addresses(hass: HomeAssistant) -> None:
    """An entry without server addresses gets a client for the default ones, not a KeyError."""
    credentials = {"client_id": "c", "client_secret": "s"}
    zoom = await async_create_client(hass, {"provider": "zoom", "account_id": "a", **credentials})
    assert zoom.http.base_url == "https://api.zoom.us/v2"
    vonage = await async_create_client(
        hass, {"provider": "vonage", "region": "nam", "api_url": "", **credentials}
    )
    assert vonage.http.base_url == "https://nam.api.newvoicemedia.com/agents"


@pytest.mark.usefixtures("mock_setup_entry")
async def test_zoom_cleared_server_addresses(
    hass: HomeAssistant, fake_zoom: FakeZoom, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cleared server addresses are the defaults (here the fake's): the check goes there."""
    monkeypatch.setattr(zoom_record, "DEFAULT_API_URL", fake_zoom.api_url)
    monkeypatch.setattr(zoom_record, "DEFAULT_OAUTH_URL", fake_zoom.url)
    flow_id = await start_zoom_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, zoom_form(fake_zoom, api_url="", oauth_url="")
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == fake_zoom.entry_data()
    assert [r.path for r in fake_zoom.requests] == ["/oauth/token", "/v2/users/alice@example.com"]


UNSAFE_ADDRESSES = [
    ("http://server.example.com", "insecure_url"),
    ("http://192.168.1.2:8080/v2", "insecure_url"),
    ("server.example.com", "insecure_url"),
    ("https://client-id:hunter2@server.example.com", "url_with_credentials"),
    ("http://client-id:hunter2@127.0.0.1:1", "url_with_credentials"),
    ("https://server.example.com:port", "invalid_url"),
    ("https://", "invalid_url"),
]
"""Server addresses a secret must not be sent to, and the form error each one gets."""


@pytest.mark.parametrize(
    ("address", "error"),
    [
        ({field: address}, error)
        for field in ("api_url", "oauth_url")
        for address, error in UNSAFE_ADDRESSES
    ],
)
async def test_zoom_unsafe_server_address_sends_nothing(
    hass: HomeAssistant,
    fake_zoom: FakeZoom,
    caplog: pytest.LogCaptureFixture,
    address: dict[str, str],
    error: str,
) -> None:
    """The secret goes over https only (http only to this machine), never with URL credentials."""
    flow_id = await start_zoom_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, zoom_form(fake_zoom, **address)
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": error}
    assert EN["config"]["error"][error]
    assert fake_zoom.requests == []
    assert "hunter2" not in caplog.text


@pytest.mark.usefixtures("mock_setup_entry")
async def test_zoom_api_url_without_v2_is_cannot_connect(
    hass: HomeAssistant, fake_zoom: FakeZoom
) -> None:
    """A 404 without Zoom's error body is a wrong server address, not a missing person."""
    flow_id = await start_zoom_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, zoom_form(fake_zoom, api_url=fake_zoom.url)
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "cannot_connect"}
    assert [r.path for r in fake_zoom.requests] == ["/oauth/token", "/users/alice@example.com"]


async def test_same_account_in_two_windows(hass: HomeAssistant, fake_zoom: FakeZoom) -> None:
    """A second flow for an account another flow is setting up aborts, with text for it."""
    first = await start_zoom_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        first, zoom_form(fake_zoom, client_secret="wrong")
    )
    assert result["errors"] == {"base": "invalid_auth"}

    fake_zoom.requests.clear()
    second = await start_zoom_flow(hass)
    result = await hass.config_entries.flow.async_configure(second, zoom_form(fake_zoom))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_in_progress"
    assert EN["config"]["abort"]["already_in_progress"]
    assert fake_zoom.requests == []


def test_zoom_form_names_every_scope() -> None:
    """The form lists the scopes to read and set presence and, to add people, to read users."""
    description = EN["config"]["step"]["zoom"]["description"]
    assert set(re.findall(r"user:[a-z_:]*[a-z]", description)) == {
        "user:read:admin",
        "user:write:admin",
        "user:read:presence_status:admin",
        "user:update:presence_status:admin",
        "user:read:user:admin",
    }


def test_package_description_names_the_menu_providers() -> None:
    """pyproject's description promises exactly the providers the menu offers."""
    description = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "description"
    ]
    for provider in EN["config"]["step"]["user"]["menu_options"].values():
        assert provider.split(" (")[0] in description  # "Microsoft Teams (sign in …)"
    for other in ("Graph", "Slack", "Webex"):
        assert other not in description


async def test_zoom_already_configured(
    hass: HomeAssistant, fake_zoom: FakeZoom, zoom_entry: MockConfigEntry
) -> None:
    """The same Zoom account cannot be added twice, and nothing is sent for it."""
    zoom_entry.add_to_hass(hass)
    flow_id = await start_zoom_flow(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, zoom_form(fake_zoom))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert fake_zoom.requests == []


async def test_reauth_while_loaded(
    hass: HomeAssistant, fake_zoom: FakeZoom, init_integration: MockConfigEntry
) -> None:
    """A new secret is checked against Zoom, stored, and the entry reloads."""
    fake_zoom.client_secret = "rotated-secret"
    result = await init_integration.start_reauth_flow(hass)
    assert result["step_id"] == "reauth_confirm"

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"client_secret": "wrong"}
    )
    assert result["errors"] == {"base": "invalid_auth"}

    fake_zoom.requests.clear()
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"client_secret": "rotated-secret"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert EN["config"]["abort"]["reauth_successful"]
    assert init_integration.data["client_secret"] == "rotated-secret"
    assert [r.path for r in fake_zoom.api_requests()] == [f"/v2/users/{ALICE_ID}"]
    await hass.async_block_till_done()
    assert init_integration.state is ConfigEntryState.LOADED


async def test_reauth_after_failed_setup(
    hass: HomeAssistant, fake_zoom: FakeZoom, zoom_entry: MockConfigEntry
) -> None:
    """A refused secret at setup starts reauth; the new one loads the entry."""
    fake_zoom.client_secret = "rotated-secret"
    zoom_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(zoom_entry.entry_id)
    await hass.async_block_till_done()
    assert zoom_entry.state is ConfigEntryState.SETUP_ERROR
    [flow] = hass.config_entries.flow.async_progress()
    assert flow["context"]["source"] == "reauth"

    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {"client_secret": "rotated-secret"}
    )
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    assert zoom_entry.state is ConfigEntryState.LOADED


async def test_reauth_keeps_the_new_secret_off_cleartext(
    hass: HomeAssistant, zoom_entry: MockConfigEntry
) -> None:
    """An entry from before https was required: the new secret is not sent over plain http."""
    data = {**zoom_entry.data, "oauth_url": "http://zoom.example.com"}
    entry = MockConfigEntry(domain=DOMAIN, unique_id="acct-123", data=data)
    entry.add_to_hass(hass)
    result = await entry.start_reauth_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"client_secret": "new-secret"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "insecure_url"}
    assert entry.data["client_secret"] == "zoom-client-secret"


async def test_reauth_without_people_checks_the_token(
    hass: HomeAssistant, fake_zoom: FakeZoom, zoom_entry: MockConfigEntry
) -> None:
    """With nobody left to read, reauth proves the secret by getting a token."""
    entry = MockConfigEntry(domain=DOMAIN, unique_id="acct-123", data=zoom_entry.data)
    entry.add_to_hass(hass)
    result = await entry.start_reauth_flow(hass)
    with patch("custom_components.presence_bridge.async_setup_entry", return_value=True):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"client_secret": "zoom-client-secret"}
        )
    assert result["reason"] == "reauth_successful"
    assert [r.path for r in fake_zoom.requests] == ["/oauth/token"]


async def test_reconfigure(
    hass: HomeAssistant, fake_zoom: FakeZoom, init_integration: MockConfigEntry
) -> None:
    """Credentials and URLs can change; the form shows the stored values but not the secret."""
    result = await init_integration.start_reconfigure_flow(hass)
    assert result["step_id"] == "reconfigure"
    suggested = {
        str(key): key.description["suggested_value"]
        for key in result["data_schema"].schema
        if key.description and "suggested_value" in key.description
    }
    assert suggested["account_id"] == "acct-123"
    assert "client_secret" not in suggested

    form = zoom_form(fake_zoom)
    del form["user_id"]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**form, "client_id": "wrong"}
    )
    assert result["errors"] == {"base": "invalid_auth"}

    fake_zoom.client_id = "new-client"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**form, "client_id": "new-client"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert EN["config"]["abort"]["reconfigure_successful"]
    assert init_integration.data["client_id"] == "new-client"
    await hass.async_block_till_done()
    assert init_integration.state is ConfigEntryState.LOADED


async def test_reconfigure_other_account(
    hass: HomeAssistant, fake_zoom: FakeZoom, init_integration: MockConfigEntry
) -> None:
    """Credentials of another Zoom account are refused before anything is sent."""
    result = await init_integration.start_reconfigure_flow(hass)
    form = zoom_form(fake_zoom, account_id="another-account")
    del form["user_id"]
    fake_zoom.requests.clear()
    result = await hass.config_entries.flow.async_configure(result["flow_id"], form)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_account"
    assert fake_zoom.requests == []


async def test_add_person(
    hass: HomeAssistant, fake_zoom: FakeZoom, init_integration: MockConfigEntry
) -> None:
    """A second person is looked up by email, added, and gets their own device after the reload."""
    result = await hass.config_entries.subentries.async_init(
        (init_integration.entry_id, "user"), context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM

    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"user_id": "nobody@example.com"}
    )
    assert result["errors"] == {"base": "user_not_found"}

    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"user_id": "bob@example.com"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Bob Baker"
    assert result["data"] == {"user_id": BOB_ID}
    assert result["unique_id"] == BOB_ID
    await hass.async_block_till_done()

    state = hass.states.get("select.bob_baker_presence")
    assert state is not None
    assert state.state == "away"


async def test_add_same_person_twice(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Alice is already controlled."""
    result = await hass.config_entries.subentries.async_init(
        (init_integration.entry_id, "user"), context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"user_id": "alice@example.com"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_add_person_needs_loaded_entry(
    hass: HomeAssistant, zoom_entry: MockConfigEntry
) -> None:
    """People are looked up with the running client, so the entry must be loaded."""
    zoom_entry.add_to_hass(hass)
    result = await hass.config_entries.subentries.async_init(
        (zoom_entry.entry_id, "user"), context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "entry_not_loaded"


async def test_options_change_interval_and_reload(
    hass: HomeAssistant, fake_zoom: FakeZoom, init_integration: MockConfigEntry
) -> None:
    """The update interval, Zoom's plan and the account's choice for a shared value are stored
    in the options; after the reload the coordinator polls at that interval and the account's
    budget is the plan's."""
    assert init_integration.runtime_data.client.budget.limit == 20  # Pro, the default
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    assert result["type"] is FlowResultType.FORM
    vocabulary = result["data_schema"].schema["vocabulary"].schema.schema
    assert sorted(str(key) for key in vocabulary) == sorted(
        value for value in Availability if value != "unknown"
    )
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {"update_interval": 120, "plan": "free", "vocabulary": {"busy": "in_calendar_event"}},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert init_integration.options == {
        "update_interval": 120,
        "plan": "free",
        "vocabulary": {"busy": "in_calendar_event"},
    }
    await hass.async_block_till_done()
    assert init_integration.state is ConfigEntryState.LOADED
    assert init_integration.runtime_data.coordinator.update_interval.total_seconds() == 120
    assert init_integration.runtime_data.client.budget.limit == 2


@pytest.mark.parametrize("blank", ["account_id", "client_id", "client_secret", "user_id"])
async def test_a_blank_required_field_is_a_form_error(
    hass: HomeAssistant, fake_zoom: FakeZoom, blank: str
) -> None:
    """A required Zoom field submitted empty shows an error and sends nothing."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "zoom"}
    )
    form = {
        "account_id": fake_zoom.account_id,
        "client_id": fake_zoom.client_id,
        "client_secret": fake_zoom.client_secret,
        "user_id": ALICE_ID,
        "advanced": {"api_url": fake_zoom.api_url, "oauth_url": fake_zoom.url},
    }
    result = await hass.config_entries.flow.async_configure(result["flow_id"], form | {blank: " "})
    assert result["errors"] == {"base": "missing_field"}
    assert fake_zoom.requests == []
