"""Microsoft Teams (Graph, app-only) end to end: connecting, adding people, presence, the
presence session kept alive, the status message and reading back many people."""

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable
import json
from pathlib import Path
from typing import Any

from aiohttp import web
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.select import DOMAIN as SELECT_DOMAIN
from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.const import ATTR_ENTITY_ID, ATTR_OPTION, SERVICE_SELECT_OPTION, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.presence_bridge.api import GraphClient
from custom_components.presence_bridge.const import DOMAIN, SUBENTRY_USER

from .conftest import advance
from .fake_msgraph import CLIENT_ID, FakeGraph, Status, odata_error
from .fake_server import raw_response
from .providers import async_set_up, entry_of

EN = json.loads(
    (
        Path(__file__).parent.parent / "custom_components/presence_bridge/translations/en.json"
    ).read_text(encoding="utf-8")
)
GRACE_UPN = "grace@contoso.com"
BOB_UPN = "bob@contoso.com"
PRESENCE = "select.grace_hopper_presence"
STATUS = "text.grace_hopper_status"
RENEWAL = 48 * 60
"""Seconds between two `setPresence`: 80 % of the session's hour."""
SESSION = {
    "sessionId": CLIENT_ID,
    "availability": "Available",
    "activity": "Available",
    "expirationDuration": "PT1H",
}
"""The body of every `setPresence`: our app's session, only there to let a preference show."""


@pytest.fixture
async def fake_graph(socket_enabled: None) -> AsyncGenerator[FakeGraph]:
    """A running fake Graph on Home Assistant's (freezable) clock: Grace and Bob, no Teams
    client running for either."""
    fake = FakeGraph(clock=lambda: dt_util.utcnow().timestamp())
    fake.add_user("Grace Hopper", GRACE_UPN, mail=GRACE_UPN)
    fake.add_user("Bob Baker", BOB_UPN, mail=BOB_UPN)
    async with fake:
        yield fake


@pytest.fixture
async def graph_entry(
    hass: HomeAssistant, fake_graph: FakeGraph, freezer: FrozenDateTimeFactory
) -> MockConfigEntry:
    """A loaded Teams entry controlling Grace, on a frozen clock moved with `advance`."""
    return await setup_graph(hass, fake_graph, [uid(fake_graph)])


def uid(fake: FakeGraph, upn: str = GRACE_UPN) -> str:
    """A user's object id."""
    user = fake.find_user(upn)
    assert user is not None
    return user.user_id


async def setup_graph(
    hass: HomeAssistant, fake: FakeGraph, user_ids: list[str], options: dict[str, Any] | None = None
) -> MockConfigEntry:
    """A loaded Teams entry of the fake's app controlling these people."""
    entry = entry_of(
        fake,
        title=f"Microsoft Teams {fake.tenant_id}",
        unique_id=f"{fake.tenant_id}:{fake.client_id}",
        people={user_id: fake.users[user_id].display_name for user_id in user_ids},
        options=options,
    )
    return await async_set_up(hass, entry)


def actions(fake: FakeGraph, *names: str) -> list[tuple[str, Any]]:
    """The presence actions the fake received (all, or those named), with their bodies."""
    received = [
        (r.path.rsplit("/", 1)[1], r.body)
        for r in fake.api_requests("POST")
        if "/presence/" in r.path
    ]
    return [(name, body) for name, body in received if not names or name in names]


def bulk_reads(fake: FakeGraph) -> list[list[str]]:
    """The ids of each `getPresencesByUserId` the fake received."""
    return [
        r.body["ids"]
        for r in fake.api_requests("POST")
        if r.path == "/v1.0/communications/getPresencesByUserId"
    ]


async def choose(hass: HomeAssistant, option: str, entity_id: str = PRESENCE) -> None:
    """Pick a presence as the UI does."""
    await hass.services.async_call(
        SELECT_DOMAIN,
        SERVICE_SELECT_OPTION,
        {ATTR_ENTITY_ID: entity_id, ATTR_OPTION: option},
        blocking=True,
    )


async def set_status(hass: HomeAssistant, message: str, emoji: str | None = None) -> None:
    """Call `presence_bridge.set_status_message` for Grace."""
    data = {ATTR_ENTITY_ID: STATUS, "message": message}
    if emoji is not None:
        data["emoji"] = emoji
    await hass.services.async_call(DOMAIN, "set_status_message", data, blocking=True)


def graph_form(fake: FakeGraph, **fields: str) -> dict[str, Any]:
    """The msgraph step's input, pointing at the fake; `user_id=None` leaves the person out."""
    values = {
        "tenant_id": fake.tenant_id,
        "client_id": fake.client_id,
        "client_secret": fake.client_secret,
        "user_id": GRACE_UPN,
    } | fields
    form = {key: value for key, value in values.items() if value is not None}
    return form | {"advanced": {"api_url": fake.api_url, "login_url": fake.url}}


async def start_graph_flow(hass: HomeAssistant) -> str:
    """Open the menu, pick Microsoft Teams; the flow id."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.MENU
    assert "msgraph" in result["menu_options"]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "msgraph"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "msgraph"
    assert [str(key) for key in result["data_schema"].schema] == [
        "tenant_id",
        "client_id",
        "client_secret",
        "user_id",
        "advanced",
    ]
    return result["flow_id"]


# 1. The config flow.


@pytest.mark.usefixtures("mock_setup_entry")
async def test_connect_with_a_upn(hass: HomeAssistant, fake_graph: FakeGraph) -> None:
    """A token, then the person looked up by UPN: the subentry keeps the object id and the
    directory's name; the entry is the tenant's app."""
    flow_id = await start_graph_flow(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, graph_form(fake_graph))

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == f"Microsoft Teams {fake_graph.tenant_id}"
    assert result["data"] == fake_graph.entry_data()
    entry = result["result"]
    assert entry.unique_id == f"{fake_graph.tenant_id}:{fake_graph.client_id}"
    [person] = entry.subentries.values()
    grace = uid(fake_graph)
    assert (person.subentry_type, person.title, person.data, person.unique_id) == (
        SUBENTRY_USER,
        "Grace Hopper",
        {"user_id": grace},
        grace,
    )
    assert [(r.method, r.path, r.query) for r in fake_graph.requests] == [
        ("POST", fake_graph.token_path, {}),
        ("GET", f"/v1.0/users/{GRACE_UPN}", {"$select": "id,displayName,mail"}),
        ("GET", f"/v1.0/users/{grace}/presence", {}),
    ]
    assert fake_graph.requests[0].body == {
        "client_id": fake_graph.client_id,
        "client_secret": fake_graph.client_secret,
        "scope": f"{fake_graph.url}/.default",
        "grant_type": "client_credentials",
    }


@pytest.mark.usefixtures("mock_setup_entry")
@pytest.mark.parametrize(
    ("form", "break_it", "error"),
    [
        ({"client_secret": "wrong"}, None, "invalid_auth"),  # AADSTS7000215
        ({"tenant_id": "nowhere.onmicrosoft.com"}, None, "invalid_tenant"),  # AADSTS90002
        ({"tenant_id": "common"}, None, "invalid_tenant"),  # not sent at all
        ({}, {"User.Read.All"}, "missing_scopes"),
    ],
    ids=["wrong_secret", "unknown_tenant", "common", "no_presence_permission"],
)
async def test_connect_errors_then_recovery(
    hass: HomeAssistant,
    fake_graph: FakeGraph,
    form: dict[str, str],
    break_it: set[str] | None,
    error: str,
) -> None:
    """Each refusal is its translated form error; fixed, the same flow creates the entry."""
    flow_id = await start_graph_flow(hass)
    if break_it is not None:
        fake_graph.app_roles = frozenset(break_it)
    result = await hass.config_entries.flow.async_configure(flow_id, graph_form(fake_graph, **form))
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": error}
    assert EN["config"]["error"][error]

    fake_graph.app_roles = frozenset({"Presence.ReadWrite.All", "User.Read.All"})
    result = await hass.config_entries.flow.async_configure(flow_id, graph_form(fake_graph))
    assert result["type"] is FlowResultType.CREATE_ENTRY


@pytest.mark.usefixtures("mock_setup_entry")
async def test_a_read_only_app_is_missing_scopes(
    hass: HomeAssistant, fake_graph: FakeGraph
) -> None:
    """An app granted Presence.Read.All (reads only) lacks what setting presence needs."""
    fake_graph.app_roles = frozenset({"Presence.Read.All", "User.Read.All"})
    flow_id = await start_graph_flow(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, graph_form(fake_graph))
    assert result.get("errors") == {"base": "missing_scopes"}


def test_the_form_names_the_permission() -> None:
    """The form tells which application permission to grant."""
    assert "Presence.ReadWrite.All" in EN["config"]["step"]["msgraph"]["description"]


async def test_already_configured(
    hass: HomeAssistant, fake_graph: FakeGraph, graph_entry: MockConfigEntry
) -> None:
    """The same tenant and app twice is refused before anything is sent."""
    fake_graph.requests.clear()
    flow_id = await start_graph_flow(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, graph_form(fake_graph))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert fake_graph.requests == []


@pytest.mark.parametrize("blank", ["tenant_id", "client_id", "client_secret", "user_id"])
async def test_a_blank_required_field_is_a_form_error(
    hass: HomeAssistant, fake_graph: FakeGraph, blank: str
) -> None:
    """A required field submitted blank shows an error and sends nothing."""
    flow_id = await start_graph_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, graph_form(fake_graph, **{blank: "  "})
    )
    assert result["errors"] == {"base": "missing_field"}
    assert fake_graph.requests == []


async def test_reauth_with_a_new_secret(
    hass: HomeAssistant,
    fake_graph: FakeGraph,
    graph_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A rotated secret fails the next poll and starts reauth; the new secret is checked by
    reading Grace, stored, and the entry loads again."""
    grace = uid(fake_graph)
    fake_graph.client_secret = "rotated~secret"
    fake_graph.expire_tokens()
    await advance(hass, freezer, 61)
    [flow] = hass.config_entries.flow.async_progress()
    assert flow["context"]["source"] == "reauth"
    assert flow["step_id"] == "reauth_confirm"

    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {"client_secret": "wrong"}
    )
    assert result["errors"] == {"base": "invalid_auth"}
    fake_graph.requests.clear()
    result = await hass.config_entries.flow.async_configure(
        flow["flow_id"], {"client_secret": "rotated~secret"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert graph_entry.data == fake_graph.entry_data()
    assert [r.path for r in fake_graph.requests][:3] == [
        fake_graph.token_path,
        f"/v1.0/users/{grace}/presence",
        f"/v1.0/users/{grace}",
    ]
    await hass.async_block_till_done()
    assert graph_entry.state is ConfigEntryState.LOADED
    assert hass.states.get(PRESENCE).state == STATE_UNKNOWN  # Offline: no session


async def test_reconfigure_the_same_app(
    hass: HomeAssistant, fake_graph: FakeGraph, graph_entry: MockConfigEntry
) -> None:
    """The same tenant and client with a new secret is taken; another tenant is another
    account, refused before anything is sent."""
    result = await graph_entry.start_reconfigure_flow(hass)
    assert result["step_id"] == "reconfigure"
    suggested = {
        str(key): key.description["suggested_value"]
        for key in result["data_schema"].schema
        if key.description and "suggested_value" in key.description
    }
    assert suggested["tenant_id"] == fake_graph.tenant_id
    assert suggested["client_id"] == fake_graph.client_id
    assert "client_secret" not in suggested
    assert "user_id" not in suggested

    fake_graph.requests.clear()
    other = graph_form(fake_graph, tenant_id="another.onmicrosoft.com", user_id=None)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], other)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_account"
    assert fake_graph.requests == []

    result = await graph_entry.start_reconfigure_flow(hass)
    fake_graph.client_secret = "new~secret"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], graph_form(fake_graph, client_secret="stale", user_id=None)
    )
    assert result["errors"] == {"base": "invalid_auth"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], graph_form(fake_graph, user_id=None)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert graph_entry.data == fake_graph.entry_data()
    assert graph_entry.unique_id == f"{fake_graph.tenant_id}:{fake_graph.client_id}"
    await hass.async_block_till_done()
    assert graph_entry.state is ConfigEntryState.LOADED


# 2. Optional look-ups never block.


async def _hang() -> web.Response:
    await asyncio.sleep(1)
    return web.json_response({})


async def _canned(response: web.Response) -> web.Response:
    return response


LOOKUP_FAILURES: dict[str, Callable[[], Awaitable[web.Response]] | None] = {
    "no_user_read_all": None,
    "404": lambda: _canned(odata_error(404, "Request_ResourceNotFound", "Resource not found.")),
    "500": lambda: _canned(odata_error(500, "InternalServerError", "Something went wrong.")),
    "503_without_body": lambda: _canned(web.Response(status=503)),
    "timeout": _hang,
    "malformed": lambda: _canned(raw_response(200, b'{"id": ')),
    "not_a_user": lambda: _canned(raw_response(200, b'{"id": 5, "displayName": []}')),
}
"""What the directory look-up (`GET /users/{upn}`) may answer instead of the user."""


def break_lookup(
    fake: FakeGraph,
    monkeypatch: pytest.MonkeyPatch,
    failure: Callable[[], Awaitable[web.Response]] | None,
) -> None:
    """Make every directory look-up fail this way; requests time out after 0.3 s."""
    monkeypatch.setitem(GraphClient.__init__.__kwdefaults__, "timeout", 0.3)
    if failure is None:
        fake.app_roles = frozenset({"Presence.ReadWrite.All"})
        fake.expire_tokens()
    else:
        fake.user_lookup_failure = failure


@pytest.mark.usefixtures("mock_setup_entry")
@pytest.mark.parametrize("failure", LOOKUP_FAILURES.values(), ids=LOOKUP_FAILURES.keys())
async def test_first_person_without_the_lookup(
    hass: HomeAssistant,
    fake_graph: FakeGraph,
    monkeypatch: pytest.MonkeyPatch,
    failure: Callable[[], Awaitable[web.Response]] | None,
) -> None:
    """The look-up only names people: without it the first person is still added, by the
    object id the presence read gives, named as typed; a person Graph does not know is not."""
    break_lookup(fake_graph, monkeypatch, failure)
    flow_id = await start_graph_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, graph_form(fake_graph, user_id="nobody@contoso.com")
    )
    assert result["errors"] == {"base": "user_not_found"}

    result = await hass.config_entries.flow.async_configure(flow_id, graph_form(fake_graph))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    [person] = result["result"].subentries.values()
    grace = uid(fake_graph)
    assert (person.title, person.data, person.unique_id) == (GRACE_UPN, {"user_id": grace}, grace)


@pytest.mark.parametrize("failure", LOOKUP_FAILURES.values(), ids=LOOKUP_FAILURES.keys())
async def test_add_person_without_the_lookup(
    hass: HomeAssistant,
    fake_graph: FakeGraph,
    monkeypatch: pytest.MonkeyPatch,
    failure: Callable[[], Awaitable[web.Response]] | None,
) -> None:
    """Through "Add person" (the `user` subentry flow) too: Bob is added by UPN and gets
    his entities; Grace, typed by UPN, is recognised as already set up; nobody@ is refused."""
    break_lookup(fake_graph, monkeypatch, failure)
    entry = await setup_graph(hass, fake_graph, [uid(fake_graph)])
    bob = uid(fake_graph, BOB_UPN)

    async def add(user_id: str) -> Any:
        result = await hass.config_entries.subentries.async_init(
            (entry.entry_id, SUBENTRY_USER), context={"source": SOURCE_USER}
        )
        assert result["type"] is FlowResultType.FORM
        return await hass.config_entries.subentries.async_configure(
            result["flow_id"], {"user_id": user_id}
        )

    result = await add("nobody@contoso.com")
    assert result["errors"] == {"base": "user_not_found"}
    result = await add(BOB_UPN)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert (result["title"], result["data"], result["unique_id"]) == (
        BOB_UPN,
        {"user_id": bob},
        bob,
    )
    await hass.async_block_till_done()
    assert hass.states.get("select.bob_contoso_com_presence") is not None
    result = await add(GRACE_UPN)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_add_person_named_by_the_directory(
    hass: HomeAssistant, fake_graph: FakeGraph, graph_entry: MockConfigEntry
) -> None:
    """With User.Read.All, "Add person" by UPN stores the object id under the directory's name."""
    result = await hass.config_entries.subentries.async_init(
        (graph_entry.entry_id, SUBENTRY_USER), context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"user_id": BOB_UPN.upper()}
    )
    bob = uid(fake_graph, BOB_UPN)
    assert (result["title"], result["data"], result["unique_id"]) == (
        "Bob Baker",
        {"user_id": bob},
        bob,
    )


# 3. Presence options.

PREFERENCES = {
    "available": {"availability": "Available", "activity": "Available"},
    "busy": {"availability": "Busy", "activity": "Busy"},
    "do_not_disturb": {"availability": "DoNotDisturb", "activity": "DoNotDisturb"},
    "be_right_back": {"availability": "BeRightBack", "activity": "BeRightBack"},
    "away": {"availability": "Away", "activity": "Away"},
    "appear_offline": {"availability": "Offline", "activity": "OffWork"},
}


async def test_the_options(hass: HomeAssistant, graph_entry: MockConfigEntry) -> None:
    """The select offers the six preferred presences and automatic."""
    assert hass.states.get(PRESENCE).attributes["options"] == [*PREFERENCES, "automatic"]


@pytest.mark.usefixtures("graph_entry")
@pytest.mark.parametrize(("option", "body"), PREFERENCES.items())
async def test_each_option_sends_its_preferred_presence(
    hass: HomeAssistant,
    fake_graph: FakeGraph,
    freezer: FrozenDateTimeFactory,
    option: str,
    body: dict[str, str],
) -> None:
    """Each option is one setUserPreferredPresence with its pair (no duration), then our
    session; the next poll reads the pair back as the same option."""
    await choose(hass, option)
    assert actions(fake_graph) == [("setUserPreferredPresence", body), ("setPresence", SESSION)]
    assert hass.states.get(PRESENCE).state == option
    assert fake_graph.presence_of(uid(fake_graph)) == (body["availability"], body["activity"])
    await advance(hass, freezer, 61)
    state = hass.states.get(PRESENCE)
    assert (state.state, state.attributes["provider_status"], state.attributes["activity"]) == (
        option,
        body["availability"],
        body["activity"],
    )
    assert state.attributes["availability"] == body["availability"]


@pytest.mark.usefixtures("graph_entry")
async def test_automatic_clears_the_preferred_presence(
    hass: HomeAssistant, fake_graph: FakeGraph
) -> None:
    """automatic is clearUserPreferredPresence with an empty body; no session was kept, so
    none is ended."""
    await choose(hass, "automatic")
    assert actions(fake_graph) == [("clearUserPreferredPresence", {})]
    assert hass.states.get(PRESENCE).state == "automatic"


@pytest.mark.usefixtures("graph_entry")
async def test_a_duration_is_an_iso_8601_expiration(
    hass: HomeAssistant, fake_graph: FakeGraph
) -> None:
    """set_presence with 45 minutes sends PT45M; the preference expires then."""
    await hass.services.async_call(
        DOMAIN,
        "set_presence",
        {ATTR_ENTITY_ID: PRESENCE, "presence": "do_not_disturb", "duration": 45},
        blocking=True,
    )
    assert actions(fake_graph, "setUserPreferredPresence") == [
        (
            "setUserPreferredPresence",
            PREFERENCES["do_not_disturb"] | {"expirationDuration": "PT45M"},
        )
    ]
    preferred = fake_graph.users[uid(fake_graph)].preferred
    assert preferred.expires_at == dt_util.utcnow().timestamp() + 45 * 60


@pytest.mark.usefixtures("graph_entry")
async def test_automatic_takes_no_duration(hass: HomeAssistant, fake_graph: FakeGraph) -> None:
    """A duration on automatic is refused with a translated error, and nothing is sent."""
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN,
            "set_presence",
            {ATTR_ENTITY_ID: PRESENCE, "presence": "automatic", "duration": 30},
            blocking=True,
        )
    assert err.value.translation_key == "duration_not_supported"
    assert str(err.value) == (
        f"{PRESENCE}: a duration applies only to available, busy, do_not_disturb, "
        'be_right_back, away, appear_offline, not to "automatic"'
    )
    assert actions(fake_graph) == []


@pytest.mark.usefixtures("graph_entry")
async def test_an_unknown_option_is_refused(hass: HomeAssistant, fake_graph: FakeGraph) -> None:
    """An option Graph has no pair for (Zoom's own in_a_zoom_meeting, offline) is refused, by
    the action and by the select, and nothing is sent."""
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN,
            "set_presence",
            {ATTR_ENTITY_ID: PRESENCE, "presence": "in_a_zoom_meeting"},
            blocking=True,
        )
    assert err.value.translation_key == "invalid_presence"
    assert err.value.translation_placeholders["presence"] == "in_a_zoom_meeting"
    with pytest.raises(ServiceValidationError):
        await choose(hass, "offline")
    assert actions(fake_graph) == []
    assert hass.states.get(PRESENCE).state == STATE_UNKNOWN


# 4. The presence session.


@pytest.mark.usefixtures("graph_entry")
async def test_the_session_is_renewed_every_48_minutes(
    hass: HomeAssistant, fake_graph: FakeGraph, freezer: FrozenDateTimeFactory
) -> None:
    """Without a Teams client, Grace shows Offline; away opens our session for an hour and
    renews it at 48 minutes, again and again, so that Away keeps showing."""
    grace = uid(fake_graph)
    assert fake_graph.presence_of(grace) == ("Offline", "Offline")
    await choose(hass, "away")
    assert actions(fake_graph) == [
        ("setUserPreferredPresence", PREFERENCES["away"]),
        ("setPresence", SESSION),
    ]
    assert fake_graph.presence_of(grace) == ("Away", "Away")

    for renewals in (1, 2):
        await advance(hass, freezer, RENEWAL - 1)
        assert len(actions(fake_graph, "setPresence")) == renewals
        await advance(hass, freezer, 1)
        assert actions(fake_graph)[-1] == ("setPresence", SESSION)
        assert len(actions(fake_graph, "setPresence")) == renewals + 1
        assert fake_graph.presence_of(grace) == ("Away", "Away")
    assert len(actions(fake_graph, "setUserPreferredPresence")) == 1
    state = hass.states.get(PRESENCE)
    assert (state.state, state.attributes["provider_status"]) == ("away", "Away")


async def test_a_reload_keeps_the_renewal_on_time(
    hass: HomeAssistant,
    fake_graph: FakeGraph,
    graph_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A reload 20 minutes in neither renews at once nor drops the renewal: it comes once, at
    48 minutes after the session was opened."""
    await choose(hass, "away")
    await advance(hass, freezer, 20 * 60)
    assert await hass.config_entries.async_reload(graph_entry.entry_id)
    await hass.async_block_till_done()
    assert len(actions(fake_graph, "setPresence")) == 1
    await advance(hass, freezer, RENEWAL - 20 * 60 - 1)
    assert len(actions(fake_graph, "setPresence")) == 1
    await advance(hass, freezer, 1)
    assert len(actions(fake_graph, "setPresence")) == 2
    await advance(hass, freezer, RENEWAL - 1)
    assert len(actions(fake_graph, "setPresence")) == 2
    await advance(hass, freezer, 1)
    assert len(actions(fake_graph, "setPresence")) == 3
    assert len(actions(fake_graph, "setUserPreferredPresence")) == 1
    assert fake_graph.presence_of(uid(fake_graph)) == ("Away", "Away")


@pytest.mark.usefixtures("graph_entry")
async def test_automatic_ends_the_session(
    hass: HomeAssistant, fake_graph: FakeGraph, freezer: FrozenDateTimeFactory
) -> None:
    """automatic clears the preference and our session (clearPresence); nothing is renewed."""
    await choose(hass, "busy")
    await advance(hass, freezer, 10 * 60)
    await choose(hass, "automatic")
    assert actions(fake_graph)[2:] == [
        ("clearUserPreferredPresence", {}),
        ("clearPresence", {"sessionId": CLIENT_ID}),
    ]
    assert fake_graph.users[uid(fake_graph)].sessions == {}
    for _ in range(3):
        await advance(hass, freezer, RENEWAL)
    assert len(actions(fake_graph)) == 4


async def test_no_session_when_switched_off(
    hass: HomeAssistant,
    fake_graph: FakeGraph,
    graph_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """keep_session off (options, which reload): only the preference is sent, which shows
    only while Grace has Teams open."""
    result = await hass.config_entries.options.async_init(graph_entry.entry_id)
    assert "keep_session" in [str(key) for key in result["data_schema"].schema]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"update_interval": 60, "keep_session": False}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert graph_entry.state is ConfigEntryState.LOADED
    assert graph_entry.runtime_data.people[next(iter(graph_entry.subentries))].session is None

    await choose(hass, "away")
    await advance(hass, freezer, 2 * RENEWAL)
    await choose(hass, "automatic")
    assert actions(fake_graph) == [
        ("setUserPreferredPresence", PREFERENCES["away"]),
        ("clearUserPreferredPresence", {}),
    ]
    grace = uid(fake_graph)
    assert fake_graph.presence_of(grace) == ("Offline", "Offline")
    await choose(hass, "away")
    fake_graph.add_session(grace)  # Grace opens Teams
    assert fake_graph.presence_of(grace) == ("Away", "Away")


# 5. The status message.


@pytest.mark.usefixtures("graph_entry")
@pytest.mark.parametrize(
    ("emoji", "message", "content"),
    [
        ("palm_tree", "On vacation", "🌴 On vacation"),
        (":coffee:", "Break", "\u2615\ufe0f Break"),  # one character: the emoji selector added
        ("🌴", "On vacation", "🌴 On vacation"),
        ("👍🏽", "Sure", "👍🏽 Sure"),
        (None, "Writing notes", "Writing notes"),
    ],
    ids=["name", "short_name", "character", "with_skin_tone", "no_emoji"],
)
async def test_status_message_with_emoji(
    hass: HomeAssistant, fake_graph: FakeGraph, emoji: str | None, message: str, content: str
) -> None:
    """Graph has no emoji field: the emoji and a space go in front of the text."""
    await set_status(hass, message, emoji)
    assert actions(fake_graph) == [
        (
            "setStatusMessage",
            {"statusMessage": {"message": {"content": content, "contentType": "text"}}},
        )
    ]
    assert fake_graph.users[uid(fake_graph)].status.content == content
    assert hass.states.get(STATUS).state == content


@pytest.mark.usefixtures("graph_entry")
async def test_an_empty_message_clears(
    hass: HomeAssistant, fake_graph: FakeGraph, freezer: FrozenDateTimeFactory
) -> None:
    """An empty message is sent as empty content, which clears the status."""
    await set_status(hass, "In the lab", "computer")
    await set_status(hass, "")
    assert actions(fake_graph)[-1] == (
        "setStatusMessage",
        {"statusMessage": {"message": {"content": "", "contentType": "text"}}},
    )
    assert fake_graph.users[uid(fake_graph)].status is None
    await advance(hass, freezer, 61)
    assert hass.states.get(STATUS).state == ""


@pytest.mark.usefixtures("graph_entry")
async def test_the_limit_counts_the_emoji(hass: HomeAssistant, fake_graph: FakeGraph) -> None:
    """280 characters with the emoji and its space are sent; 281 are refused up front."""
    await set_status(hass, "x" * 278, "palm_tree")
    assert len(actions(fake_graph, "setStatusMessage")) == 1
    assert len(fake_graph.users[uid(fake_graph)].status.content) == 280

    with pytest.raises(ServiceValidationError) as err:
        await set_status(hass, "x" * 279, "palm_tree")
    assert err.value.translation_key == "status_too_long"
    assert err.value.translation_placeholders["length"] == "281"
    assert err.value.translation_placeholders["max"] == "280"
    assert len(actions(fake_graph, "setStatusMessage")) == 1


async def test_a_long_message_is_cut_in_the_state_only(
    hass: HomeAssistant, fake_graph: FakeGraph
) -> None:
    """A 270-character message (set in Teams) shows cut to 255 in the state, whole in the
    `message` attribute."""
    text = "".join(f"{n:03d}-sentence " for n in range(21))[:270]
    grace = uid(fake_graph)
    fake_graph.users[grace].status = Status(text, "text", "2026-01-05T09:00:00Z")
    await setup_graph(hass, fake_graph, [grace])
    state = hass.states.get(STATUS)
    assert len(text) == 270
    assert state.state == text[:255]
    assert state.attributes["message"] == text
    assert state.attributes["max"] == 255


# 6. Reading back.


async def test_700_people_are_read_in_two_requests(
    hass: HomeAssistant, fake_graph: FakeGraph, freezer: FrozenDateTimeFactory
) -> None:
    """Each poll reads 650 + 50 people with getPresencesByUserId, presence and status
    together, and nothing else."""
    people = [fake_graph.add_user(f"Person {n}", f"person{n}@contoso.com") for n in range(700)]
    fake_graph.add_session(people[-1], "Busy", "InACall")
    fake_graph.users[people[-1]].status = Status("On a call", "text", "2026-01-05T09:00:00Z")
    await setup_graph(hass, fake_graph, people)

    for polls in (1, 2):
        reads = bulk_reads(fake_graph)
        assert [len(ids) for ids in reads] == [650, 50] * polls
        assert set(reads[-2] + reads[-1]) == set(people)
        assert fake_graph.api_requests("GET") == []
        await advance(hass, freezer, 61)
    assert hass.states.get("select.person_699_presence").state == "busy"
    assert hass.states.get("text.person_699_status").state == "On a call"
    assert hass.states.get("select.person_0_presence").state == STATE_UNKNOWN


@pytest.mark.parametrize(
    ("availability", "activity", "option"),
    [
        ("AvailableIdle", "Inactive", "away"),
        ("BusyIdle", "Inactive", "busy"),
        ("Busy", "InAMeeting", "busy"),
        ("DoNotDisturb", "Presenting", "do_not_disturb"),
        ("BeRightBack", "BeRightBack", "be_right_back"),
        ("PresenceUnknown", "PresenceUnknown", STATE_UNKNOWN),
        ("Offline", "Offline", STATE_UNKNOWN),
    ],
)
async def test_graphs_availability_as_an_option(
    hass: HomeAssistant, fake_graph: FakeGraph, availability: str, activity: str, option: str
) -> None:
    """What Teams shows maps to an option (or none), with Graph's values as attributes."""
    grace = uid(fake_graph)
    if availability != "Offline":
        fake_graph.add_session(grace, availability, activity)
    await setup_graph(hass, fake_graph, [grace])
    state = hass.states.get(PRESENCE)
    assert state.state == option
    assert state.attributes["provider_status"] == availability
    assert state.attributes["activity"] == activity


@pytest.mark.usefixtures("graph_entry")
async def test_the_wanted_option_shows_while_pending(
    hass: HomeAssistant, fake_graph: FakeGraph, freezer: FrozenDateTimeFactory
) -> None:
    """A 503 with Retry-After queues busy: the select shows it at once, Graph's availability
    stays in the attributes until it is delivered and read back."""
    grace = uid(fake_graph)
    fake_graph.add_session(grace, "Available", "Available")
    await advance(hass, freezer, 61)
    fake_graph.fail_at[f"/v1.0/users/{grace}/presence/setUserPreferredPresence"] = [
        odata_error(503, "ServiceUnavailable", "Try later.", headers={"Retry-After": "10"})
    ]
    await choose(hass, "busy")
    state = hass.states.get(PRESENCE)
    assert (state.state, state.attributes["pending"]) == ("busy", True)
    assert state.attributes["provider_status"] == "Available"
    assert actions(fake_graph, "setPresence") == []

    await advance(hass, freezer, 11)
    assert actions(fake_graph) == [
        ("setUserPreferredPresence", PREFERENCES["busy"]),
        ("setUserPreferredPresence", PREFERENCES["busy"]),
        ("setPresence", SESSION),
    ]
    await advance(hass, freezer, 61)
    state = hass.states.get(PRESENCE)
    assert (state.state, state.attributes["pending"]) == ("busy", False)
    assert (state.attributes["provider_status"], state.attributes["activity"]) == ("Busy", "Busy")


@pytest.mark.usefixtures("graph_entry")
async def test_a_403_on_a_poll_is_a_repair(
    hass: HomeAssistant,
    fake_graph: FakeGraph,
    freezer: FrozenDateTimeFactory,
    issue_registry: ir.IssueRegistry,
) -> None:
    """An app that lost Presence.ReadWrite.All gets a repair naming it; it clears once
    the permission is back."""
    fake_graph.app_roles = frozenset({"User.Read.All"})
    fake_graph.expire_tokens()
    await advance(hass, freezer, 61)
    issue = next(i for i in issue_registry.issues.values() if i.domain == DOMAIN)
    assert issue.translation_key == "missing_permission"
    assert issue.translation_placeholders["scope"] == "Presence.ReadWrite.All"
    assert hass.states.get(PRESENCE).attributes["stale_since"] is not None

    fake_graph.app_roles = frozenset({"Presence.ReadWrite.All"})
    fake_graph.expire_tokens()
    await advance(hass, freezer, 61)
    assert not [i for i in issue_registry.issues.values() if i.domain == DOMAIN]
    assert hass.states.get(PRESENCE).attributes["stale_since"] is None


@pytest.mark.usefixtures("graph_entry")
async def test_a_failed_renewal_is_retried_and_never_fails_the_presence(
    hass: HomeAssistant, fake_graph: FakeGraph, freezer: FrozenDateTimeFactory
) -> None:
    """Graph down at the renewal: it is retried after the backoff; the presence stays set."""
    await choose(hass, "away")
    fake_graph.fail_at[f"/v1.0/users/{uid(fake_graph)}/presence/setPresence"] = [
        web.Response(status=503)
    ]
    await advance(hass, freezer, RENEWAL)
    assert len(actions(fake_graph, "setPresence")) == 2  # the renewal, refused (503)
    await advance(hass, freezer, 4)
    assert len(actions(fake_graph, "setPresence")) == 2
    await advance(hass, freezer, 2)  # the backoff (5 s) has passed: retried
    assert len(actions(fake_graph, "setPresence")) == 3
    assert fake_graph.presence_of(uid(fake_graph)) == ("Away", "Away")
    assert hass.states.get(PRESENCE).attributes["last_delivery_error"] is None


@pytest.mark.usefixtures("graph_entry")
async def test_a_failed_session_end_is_only_logged(
    hass: HomeAssistant,
    fake_graph: FakeGraph,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """clearPresence failing does not fail `automatic`, which was accepted."""
    await choose(hass, "busy")
    fake_graph.fail_at[f"/v1.0/users/{uid(fake_graph)}/presence/clearPresence"] = [
        web.Response(status=500)
    ]
    await choose(hass, "automatic")
    assert "Could not end the presence session" in caplog.text
    assert hass.states.get(PRESENCE).attributes["last_delivery_error"] is None


@pytest.mark.usefixtures("graph_entry")
async def test_the_text_entity_refuses_more_than_255_characters(
    hass: HomeAssistant, fake_graph: FakeGraph
) -> None:
    """Through the entity, 255 is the most (a state's limit): Home Assistant's own check refuses
    256 before anything is sent (translated from 2026.11 on; a ValueError on 2026.10)."""
    with pytest.raises((ValueError, ServiceValidationError)):
        await hass.services.async_call(
            "text", "set_value", {"entity_id": STATUS, "value": "x" * 256}, blocking=True
        )
    assert actions(fake_graph, "setStatusMessage") == []
