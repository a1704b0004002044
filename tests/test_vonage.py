"""Vonage Contact Center end to end: connecting, agents, presence and many agents at once."""

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable

from aiohttp import web
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import ATTR_ENTITY_ID, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import ServiceValidationError
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.presence_bridge.api.http import HttpCore
from custom_components.presence_bridge.const import DOMAIN
from custom_components.presence_bridge.providers import PROVIDERS

from .conftest import advance, run_for
from .fake_vonage import ACCEPT, BREAK_ID, LOGGED_OUT_ID, READY_ID, FakeVonage
from .providers import async_set_up, entry_of
from .test_config_flow import UNSAFE_ADDRESSES

PERSON = "select.ada_lovelace_presence"


@pytest.fixture
async def fake_vonage(socket_enabled: None) -> AsyncGenerator[FakeVonage]:
    """A running fake VCC on Home Assistant's (freezable) clock, with one agent."""
    fake = FakeVonage(clock=lambda: dt_util.utcnow().timestamp())
    fake.add_agent("Ada Lovelace", READY_ID)
    async with fake:
        yield fake


async def setup_vonage(hass: HomeAssistant, fake: FakeVonage, names: list[str]) -> MockConfigEntry:
    """A loaded Vonage entry controlling the named agents of the fake."""
    ids = {agent["name"]: guid for guid, agent in fake.agents.items()}
    entry = entry_of(
        fake,
        title="Vonage EMEA vcc-client-id",
        unique_id=f"emea:{fake.client_id}",
        people={ids[name]: name for name in names},
    )
    return await async_set_up(hass, entry)


@pytest.mark.usefixtures("mock_setup_entry")
async def test_connect_vonage(hass: HomeAssistant, fake_vonage: FakeVonage) -> None:
    """Region and credentials are checked by reading the presence definitions."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "vonage"}
    )
    assert result["step_id"] == "vonage"
    form = {
        "region": "emea",
        "client_id": fake_vonage.client_id,
        "client_secret": "wrong",
        "advanced": {"auth_url": fake_vonage.url, "api_url": fake_vonage.url},
    }
    result = await hass.config_entries.flow.async_configure(result["flow_id"], form)
    assert result["errors"] == {"base": "invalid_auth"}

    fake_vonage.requests.clear()
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], form | {"client_secret": fake_vonage.client_secret}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Vonage EMEA vcc-client-id"
    assert result["data"] == fake_vonage.entry_data()
    assert result["result"].unique_id == "emea:vcc-client-id"
    assert result["result"].subentries == {}
    assert [(r.method, r.path) for r in fake_vonage.requests] == [
        ("POST", "/Auth/connect/token"),
        ("GET", "/agents/presence-definitions"),
    ]
    assert fake_vonage.requests[1].headers["Accept"] == ACCEPT
    assert fake_vonage.requests[0].body["scope"] == "users:write"


def test_server_urls_default_to_the_region() -> None:
    """Empty server addresses become the region's documented hosts."""
    form = {"region": "nam", "client_id": "c", "client_secret": "s", "advanced": {}}
    assert PROVIDERS["vonage"].form.entry_data("vonage", form) == {
        "provider": "vonage",
        "region": "nam",
        "client_id": "c",
        "client_secret": "s",
        "auth_url": "https://nam.cc.vonage.com",
        "api_url": "https://nam.api.newvoicemedia.com",
    }


async def test_add_agent_from_list(hass: HomeAssistant, fake_vonage: FakeVonage) -> None:
    """Credentials that may list users offer the agents not yet added, by name; listed once."""
    grace = fake_vonage.add_agent("Grace Hopper", LOGGED_OUT_ID)
    entry = await setup_vonage(hass, fake_vonage, ["Ada Lovelace"])
    fake_vonage.requests.clear()
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, "user"), context={"source": SOURCE_USER}
    )
    selector = result["data_schema"].schema["user_id"].config
    assert selector["options"] == [{"value": grace, "label": "Grace Hopper"}]
    assert selector["custom_value"] is True

    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"user_id": grace}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Grace Hopper"
    assert result["data"] == {"user_id": grace}
    assert [r.path for r in fake_vonage.api_requests()] == [
        "/useradmin/users",
        f"/agents/{grace}/presence",
    ]
    await hass.async_block_till_done()
    state = hass.states.get("select.grace_hopper_presence")
    assert state.state == "Logged Out"
    assert state.attributes["category"] == "LoggedOut"


async def test_add_agent_by_guid(hass: HomeAssistant, fake_vonage: FakeVonage) -> None:
    """Without user listing, a GUID is asked for and checked by reading its presence."""
    fake_vonage.can_list_users = False
    grace = fake_vonage.add_agent("Grace Hopper")
    entry = await setup_vonage(hass, fake_vonage, ["Ada Lovelace"])
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, "user"), context={"source": SOURCE_USER}
    )
    assert result["data_schema"].schema["user_id"] is str

    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"user_id": "not-a-guid"}
    )
    assert result["errors"] == {"base": "invalid_user_id"}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"user_id": "00000000-0000-0000-0000-000000000000"}
    )
    assert result["errors"] == {"base": "user_not_found"}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"user_id": grace.upper()}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {"user_id": grace}
    assert result["title"] == f"Agent {grace[:8]}"


async def test_add_agent_missing_from_list(hass: HomeAssistant, fake_vonage: FakeVonage) -> None:
    """An agent the list leaves out can be typed in by GUID; the form's list still names no one."""
    fake_vonage.add_agent("Grace Hopper")
    entry = await setup_vonage(hass, fake_vonage, ["Ada Lovelace"])
    fake_vonage.requests.clear()
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, "user"), context={"source": SOURCE_USER}
    )
    assert result["data_schema"].schema["user_id"].config["custom_value"] is True
    unlisted = fake_vonage.add_agent("Katherine Johnson")

    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"user_id": f" {unlisted.upper()} "}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {"user_id": unlisted}
    assert result["title"] == f"Agent {unlisted[:8]}"
    assert [r.path for r in fake_vonage.api_requests()] == [
        "/useradmin/users",
        f"/agents/{unlisted}/presence",
    ]


async def _not_found() -> web.Response:
    return web.Response(status=404)


async def _unavailable() -> web.Response:
    return web.Response(status=503)


async def _hang() -> web.Response:
    await asyncio.sleep(1.5)
    return web.Response(status=504)


@pytest.mark.parametrize(
    "failure", [_not_found, _unavailable, _hang], ids=["404", "503", "timeout"]
)
async def test_add_agent_when_user_list_fails(
    hass: HomeAssistant,
    fake_vonage: FakeVonage,
    monkeypatch: pytest.MonkeyPatch,
    failure: Callable[[], Awaitable[web.Response]],
) -> None:
    """The user list only names agents: when it fails, a GUID whose presence reads is added."""
    # Requests time out after 0.5 s instead of 15 s, so the hanging user list times out.
    monkeypatch.setitem(HttpCore.__init__.__kwdefaults__, "timeout", 0.5)
    grace = fake_vonage.add_agent("Grace Hopper")
    entry = await setup_vonage(hass, fake_vonage, ["Ada Lovelace"])
    fake_vonage.user_list_failure = failure
    fake_vonage.requests.clear()
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, "user"), context={"source": SOURCE_USER}
    )
    assert result["data_schema"].schema["user_id"] is str

    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"user_id": grace}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {"user_id": grace}
    assert result["title"] == f"Agent {grace[:8]}"
    assert [r.path for r in fake_vonage.api_requests()] == [
        "/useradmin/users",
        f"/agents/{grace}/presence",
        "/useradmin/users",
    ]


@pytest.mark.parametrize(
    ("address", "error"),
    [
        ({field: address}, error)
        for field in ("auth_url", "api_url")
        for address, error in UNSAFE_ADDRESSES
    ],
)
async def test_unsafe_server_address_sends_nothing(
    hass: HomeAssistant,
    fake_vonage: FakeVonage,
    caplog: pytest.LogCaptureFixture,
    address: dict[str, str],
    error: str,
) -> None:
    """The secret goes over https only (http only to this machine), never with URL credentials."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "vonage"}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            "region": "emea",
            "client_id": fake_vonage.client_id,
            "client_secret": fake_vonage.client_secret,
            "advanced": {"auth_url": fake_vonage.url, "api_url": fake_vonage.url} | address,
        },
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": error}
    assert fake_vonage.requests == []
    assert "hunter2" not in caplog.text


async def test_select_options_and_patch(hass: HomeAssistant, fake_vonage: FakeVonage) -> None:
    """Options are the selectable definitions by description; setting one PATCHes its id."""
    await setup_vonage(hass, fake_vonage, ["Ada Lovelace"])
    state = hass.states.get(PERSON)
    assert state.attributes["options"] == ["Ready", "Break", "Lunch", "Logged Out"]
    assert state.state == "Ready"
    assert state.attributes["category"] == "Ready"
    assert not hass.states.async_entity_ids("number")

    await hass.services.async_call(
        "select", "select_option", {ATTR_ENTITY_ID: PERSON, "option": "Break"}, blocking=True
    )
    [patch] = fake_vonage.api_requests("PATCH")
    ada = next(iter(fake_vonage.agents))
    assert patch.path == f"/agents/{ada}/presence"
    assert patch.body == {"presenceId": BREAK_ID}
    assert patch.headers["Accept"] == ACCEPT
    assert patch.headers["Content-Type"] == "application/json"
    assert fake_vonage.agents[ada]["presenceId"] == BREAK_ID
    assert hass.states.get(PERSON).state == "Break"


async def test_definitions_follow_the_admin_portal(
    hass: HomeAssistant, fake_vonage: FakeVonage, freezer: FrozenDateTimeFactory
) -> None:
    """A new definition appears without a restart; a withdrawn selected one shows no option."""
    await setup_vonage(hass, fake_vonage, ["Ada Lovelace"])
    await hass.services.async_call(
        "select", "select_option", {ATTR_ENTITY_ID: PERSON, "option": "Break"}, blocking=True
    )
    fake_vonage.add_definition("Training", "Away")
    fake_vonage.set_definition_selectable(BREAK_ID, False)
    await advance(hass, freezer, 61)

    state = hass.states.get(PERSON)
    assert state.attributes["options"] == ["Ready", "Lunch", "Logged Out", "Training"]
    assert state.state == STATE_UNKNOWN
    assert state.attributes["provider_status"] == "Break"
    assert state.attributes["category"] == "Away"


async def test_read_back_in_batches_of_50(hass: HomeAssistant, fake_vonage: FakeVonage) -> None:
    """Presence of 60 agents is read with two calls of at most 50 ids."""
    names = [f"Agent {n:02d}" for n in range(60)]
    for name in names:
        fake_vonage.add_agent(name, READY_ID)
    await setup_vonage(hass, fake_vonage, names)
    reads = [r for r in fake_vonage.api_requests("GET") if r.path == "/agents/presences/users"]
    assert sorted(len(r.query["userId"].split(",")) for r in reads) == [10, 50]
    assert hass.states.get("select.agent_59_presence").state == "Ready"


async def test_forty_agents_on_break_under_fair_usage(
    hass: HomeAssistant, fake_vonage: FakeVonage, freezer: FrozenDateTimeFactory
) -> None:
    """One call sets 40 agents at VCC's fair usage of 15 a minute, from the default budget of
    60 a minute: a burst goes at once, the rest is paced; the few 429s halve the budget, and
    nobody is lost."""
    names = [f"Agent {n:02d}" for n in range(40)]
    for name in names:
        fake_vonage.add_agent(name, READY_ID)
    await setup_vonage(hass, fake_vonage, names)
    fake_vonage.budget = 15
    fake_vonage.budget_window = 60
    targets = [f"select.agent_{n:02d}_presence" for n in range(40)]

    response = await hass.services.async_call(
        DOMAIN,
        "set_presence",
        {ATTR_ENTITY_ID: targets, "presence": "Break"},
        blocking=True,
        return_response=True,
    )
    results = [response[target]["result"] for target in targets]
    assert set(results) == {"sent", "queued"}
    assert 0 < results.count("sent") < 40
    assert fake_vonage.rejected_429 == 0  # paced, not a burst of 40
    assert all(hass.states.get(target).state == "Break" for target in targets)

    await run_for(hass, freezer, 300)
    on_break = [g for g, a in fake_vonage.agents.items() if a["presenceId"] == BREAK_ID]
    assert len(on_break) == 40
    patches = fake_vonage.api_requests("PATCH")
    assert {r.body["presenceId"] for r in patches} == {BREAK_ID}
    assert len(fake_vonage.token_requests()) == 1
    # Every PATCH beyond the 40 was one the fair-usage limit refused, and the
    # account slowed down instead of hammering: few refusals for 40 agents.
    assert len(patches) == 40 + fake_vonage.rejected_429
    assert 0 < fake_vonage.rejected_429 <= 3
    assert hass.config_entries.async_entries(DOMAIN)[0].runtime_data.client.budget.limit < 60
    for target in targets:
        state = hass.states.get(target)
        assert state.attributes["pending"] is False
        assert state.attributes["last_delivery_error"] is None


async def test_user_list_failing_falls_back_to_guid(
    hass: HomeAssistant, fake_vonage: FakeVonage
) -> None:
    """When the user list cannot be read right now, the GUID field is offered instead."""
    entry = await setup_vonage(hass, fake_vonage, ["Ada Lovelace"])
    fake_vonage.fail_next.append(web.Response(status=503))
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, "user"), context={"source": SOURCE_USER}
    )
    assert result["data_schema"].schema["user_id"] is str
    assert fake_vonage.api_requests()[-1].path == "/useradmin/users"


@pytest.mark.usefixtures("mock_setup_entry")
async def test_account_check_refused(hass: HomeAssistant, fake_vonage: FakeVonage) -> None:
    """A 400 on the definitions read is an unexpected answer, not a bad user id."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "vonage"}
    )
    fake_vonage.fail_next.append(
        web.json_response({"message": "The request is invalid."}, status=400)
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            "region": "emea",
            "client_id": fake_vonage.client_id,
            "client_secret": fake_vonage.client_secret,
            "advanced": {"auth_url": fake_vonage.url, "api_url": fake_vonage.url},
        },
    )
    assert result["errors"] == {"base": "unknown"}


async def test_a_new_presence_definition_shows_after_the_next_poll(
    hass: HomeAssistant, fake_vonage: FakeVonage, freezer: FrozenDateTimeFactory
) -> None:
    """A definition added in the Admin Portal is an option after one poll, with nobody moved."""
    await setup_vonage(hass, fake_vonage, ["Ada Lovelace"])
    assert "Training" not in hass.states.get(PERSON).attributes["options"]
    fake_vonage.add_definition("Training", "Away")
    await advance(hass, freezer, 61)
    assert "Training" in hass.states.get(PERSON).attributes["options"]


async def test_a_duration_is_refused_by_name_of_the_provider(
    hass: HomeAssistant, fake_vonage: FakeVonage
) -> None:
    """VCC takes no duration: the error says so, without a placeholder dash."""
    await setup_vonage(hass, fake_vonage, ["Ada Lovelace"])
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN,
            "set_presence",
            {ATTR_ENTITY_ID: PERSON, "presence": "Break", "duration": 5},
            blocking=True,
        )
    assert err.value.translation_key == "duration_not_supported_by_provider"
    assert err.value.translation_placeholders == {"entity": PERSON}
    assert not fake_vonage.api_requests("PATCH")


async def test_a_poll_429_without_retry_after_names_the_real_retry(
    hass: HomeAssistant,
    fake_vonage: FakeVonage,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Without `Retry-After` the next read comes at the next interval, and the log says so."""
    await setup_vonage(hass, fake_vonage, ["Ada Lovelace"])
    fake_vonage.fail_next.append(web.json_response({"message": "Too Many Requests"}, status=429))
    await advance(hass, freezer, 61)
    assert "retrying in 60 seconds" in caplog.text
    assert "retrying in 0 seconds" not in caplog.text
