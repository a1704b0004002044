"""Microsoft Teams, signed in (`msgraph_oauth`): sign-in, the one person, tokens, reauth."""

from collections.abc import AsyncGenerator
from typing import Any

from aiohttp import web
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.application_credentials import (
    ClientCredential,
    async_import_client_credential,
)
from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import config_entry_oauth2_flow
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.presence_bridge.const import DOMAIN, SUBENTRY_USER

from .conftest import advance
from .fake_msgraph import FakeGraph, odata_error

REDIRECT = "https://example.com/auth/external/callback"
PRESENCE = "select.grace_hopper_presence"


@pytest.fixture
async def fake_graph(socket_enabled: None) -> AsyncGenerator[FakeGraph]:
    """A fake Graph tenant where Grace signs in."""
    fake = FakeGraph(clock=lambda: dt_util.utcnow().timestamp())
    fake.signed_in = fake.add_user("Grace Hopper", "grace@contoso.com")
    async with fake:
        yield fake


@pytest.fixture
async def credentials(hass: HomeAssistant, fake_graph: FakeGraph) -> None:
    """The app registration's client id and secret, as a user enters them in Home Assistant."""
    assert await async_setup_component(hass, "application_credentials", {})
    await async_import_client_credential(
        hass, DOMAIN, ClientCredential(fake_graph.client_id, fake_graph.client_secret), "Teams"
    )


async def sign_in(
    hass: HomeAssistant,
    fake: FakeGraph,
    client_generator: ClientSessionGenerator,
    flow: dict[str, Any],
    user_id: str | None = None,
) -> dict[str, Any]:
    """Follow the external sign-in step to its end, as the browser and Microsoft would."""
    assert flow["type"] is FlowResultType.EXTERNAL_STEP
    assert flow["url"].startswith(f"{fake.url}/{fake.tenant_id}/oauth2/v2.0/authorize?")
    assert "scope=offline_access+Presence.ReadWrite+User.Read" in flow["url"]
    state = config_entry_oauth2_flow._encode_jwt(
        hass, {"flow_id": flow["flow_id"], "redirect_uri": REDIRECT}
    )
    code = fake.authorize_code(user_id or str(fake.signed_in), redirect_uri=REDIRECT)
    client = await client_generator()
    response = await client.get(f"/auth/external/callback?code={code}&state={state}")
    assert response.status == 200
    return await hass.config_entries.flow.async_configure(flow["flow_id"])


async def start_sign_in(hass: HomeAssistant, fake: FakeGraph) -> dict[str, Any]:
    """The menu and the tenant step, up to Microsoft's sign-in page."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "msgraph_oauth"}
    )
    assert result["step_id"] == "msgraph_oauth"
    blank = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"tenant": " ", "advanced": {}}
    )
    assert blank["errors"] == {"base": "missing_field"}
    return await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {"tenant": fake.tenant_id, "advanced": {"login_url": fake.url, "api_url": fake.api_url}},
    )


@pytest.mark.usefixtures("current_request_with_host", "credentials")
async def test_sign_in_creates_the_entry_and_its_one_person(
    hass: HomeAssistant,
    fake_graph: FakeGraph,
    hass_client_no_auth: ClientSessionGenerator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The tenant step, the sign-in, then an entry controlling the signed-in user only."""
    result = await sign_in(
        hass, fake_graph, hass_client_no_auth, await start_sign_in(hass, fake_graph)
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    grace = str(fake_graph.signed_in)
    assert entry.unique_id == grace
    assert entry.title == "Microsoft Teams Grace Hopper"
    assert entry.data["provider"] == "msgraph_oauth"
    assert entry.data["tenant"] == fake_graph.tenant_id
    assert entry.data["token"]["refresh_token"]
    [person] = entry.subentries.values()
    assert (person.subentry_type, person.unique_id, person.title) == (
        SUBENTRY_USER,
        grace,
        "Grace Hopper",
    )
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED

    # The signed-in user's own presence, through /me, with the token of the sign-in.
    await hass.services.async_call(
        "select", "select_option", {"entity_id": PRESENCE, "option": "busy"}, blocking=True
    )
    [preferred] = [
        r for r in fake_graph.api_requests("POST") if r.path.endswith("setUserPreferredPresence")
    ]
    assert preferred.path == "/v1.0/me/presence/setUserPreferredPresence"
    assert fake_graph.presence_of(grace) == ("Busy", "Busy")

    # Nobody else can be added.
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, SUBENTRY_USER), context={"source": SOURCE_USER}
    )
    assert result["reason"] == "cannot_add_people"

    # After the access token's hour, the refresh token gets a new one (rotated, and stored).
    old_refresh = entry.data["token"]["refresh_token"]
    await advance(hass, freezer, 3660)
    assert entry.data["token"]["refresh_token"] != old_refresh
    assert "refresh_token" in [form.get("grant_type") for form in fake_graph.token_requests()]


@pytest.mark.usefixtures("current_request_with_host", "credentials")
async def test_a_refused_refresh_asks_to_sign_in_again(
    hass: HomeAssistant,
    fake_graph: FakeGraph,
    hass_client_no_auth: ClientSessionGenerator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """`invalid_grant` starts reauth; the same user signs in again; another one is refused."""
    entry = (
        await sign_in(hass, fake_graph, hass_client_no_auth, await start_sign_in(hass, fake_graph))
    )["result"]
    await hass.async_block_till_done()

    fake_graph.revoke_refresh_tokens()
    await advance(hass, freezer, 3660)
    [flow] = hass.config_entries.flow.async_progress()
    assert flow["context"]["source"] == "reauth"
    result = await hass.config_entries.flow.async_configure(flow["flow_id"], {})

    other = fake_graph.add_user("Alan Turing", "alan@contoso.com")
    refused = await sign_in(hass, fake_graph, hass_client_no_auth, result, other)
    assert refused["reason"] == "wrong_account"

    entry.async_start_reauth(hass)
    await hass.async_block_till_done()
    [flow] = hass.config_entries.flow.async_progress()
    result = await hass.config_entries.flow.async_configure(flow["flow_id"], {})
    result = await sign_in(hass, fake_graph, hass_client_no_auth, result)
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED


@pytest.mark.usefixtures("current_request_with_host", "credentials")
@pytest.mark.parametrize(
    ("status", "reason"),
    [(401, "invalid_auth"), (403, "missing_scopes"), (503, "cannot_connect")],
)
async def test_reading_the_signed_in_user_fails(
    hass: HomeAssistant,
    fake_graph: FakeGraph,
    hass_client_no_auth: ClientSessionGenerator,
    status: int,
    reason: str,
) -> None:
    """Signed in, but `/me` refused or down: the flow ends with the reason, no entry."""
    result = await start_sign_in(hass, fake_graph)
    fake_graph.fail_at["/v1.0/me"] = [odata_error(status, "Error", "refused") for _ in range(3)]
    result = await sign_in(hass, fake_graph, hass_client_no_auth, result)
    assert result["reason"] == reason
    assert not hass.config_entries.async_entries(DOMAIN)


@pytest.mark.usefixtures("current_request_with_host", "credentials")
async def test_a_refresh_failing_for_now_is_retried(
    hass: HomeAssistant,
    fake_graph: FakeGraph,
    hass_client_no_auth: ClientSessionGenerator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The token endpoint down at a refresh: a failed read, no reauth; then it works again."""
    entry = (
        await sign_in(hass, fake_graph, hass_client_no_auth, await start_sign_in(hass, fake_graph))
    )["result"]
    await hass.async_block_till_done()
    fake_graph.fail_at[fake_graph.token_path] = [web.Response(status=503)]
    await advance(hass, freezer, 3660)
    assert not hass.config_entries.flow.async_progress()
    assert hass.states.get(PRESENCE).attributes["stale_since"] is not None
    await advance(hass, freezer, 61)
    assert hass.states.get(PRESENCE).attributes["stale_since"] is None
    assert entry.state is ConfigEntryState.LOADED
