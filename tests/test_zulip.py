"""Zulip end to end: connecting, own and colleagues' status, presets, emoji, limits."""

from collections.abc import AsyncGenerator

from aiohttp import web
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.presence_bridge.api.zulip import normalize_url
from custom_components.presence_bridge.const import DOMAIN

from .conftest import advance, run_for
from .fake_zulip import ADMINISTRATOR, MEMBER, SUGGESTED_STATUS_FORMS, FakeZulip
from .providers import async_set_up, entry_of

STATUS = "text.ada_lovelace_status"
PRESET = "select.ada_lovelace_status_preset"
GRACE_STATUS = "text.grace_hopper_status"


@pytest.fixture
async def fake_zulip(socket_enabled: None) -> AsyncGenerator[FakeZulip]:
    """A running fake Zulip: Ada (admin, the API key's owner) and Grace."""
    fake = FakeZulip(clock=lambda: dt_util.utcnow().timestamp())
    fake.add_user("Ada Lovelace", "ada@example.com", role=ADMINISTRATOR, caller=True)
    fake.add_user("Grace Hopper", "grace@example.com")
    async with fake:
        yield fake


def ids(fake: FakeZulip) -> dict[str, int]:
    """User ids by first name."""
    return {user.full_name.split()[0]: user_id for user_id, user in fake.users.items()}


async def setup_zulip(
    hass: HomeAssistant, fake: FakeZulip, names: tuple[str, ...] = ("Ada",)
) -> MockConfigEntry:
    """A loaded Zulip entry controlling the named people."""
    people = {user.full_name.split()[0]: (uid, user) for uid, user in fake.users.items()}
    entry = entry_of(
        fake,
        title="Zulip ada@example.com",
        unique_id=f"{fake.url}:{people['Ada'][0]}",
        people={str(people[name][0]): people[name][1].full_name for name in names},
    )
    return await async_set_up(hass, entry)


def status_posts(fake: FakeZulip) -> list[tuple[str, object]]:
    """Path and form body of every status update the fake received."""
    return [(r.path, r.body) for r in fake.api_requests("POST") if r.path.endswith("/status")]


async def open_zulip_form(hass: HomeAssistant) -> str:
    """Pick Zulip in the menu."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "zulip"}
    )
    assert result["step_id"] == "zulip"
    return result["flow_id"]


@pytest.mark.usefixtures("mock_setup_entry")
async def test_connect_with_fields(hass: HomeAssistant, fake_zulip: FakeZulip) -> None:
    """URL, email and key create the entry with the account's own status as first person."""
    flow_id = await open_zulip_form(hass)
    form = {"url": fake_zulip.url + "/", "email": "ada@example.com", "api_key": "wrong" * 6}
    result = await hass.config_entries.flow.async_configure(flow_id, form)
    assert result["errors"] == {"base": "invalid_auth"}

    form["api_key"] = fake_zulip.caller.api_key
    result = await hass.config_entries.flow.async_configure(flow_id, form)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Zulip ada@example.com"
    assert result["data"] == fake_zulip.entry_data()
    ada = ids(fake_zulip)["Ada"]
    assert result["result"].unique_id == f"{fake_zulip.url}:{ada}"
    [person] = result["result"].subentries.values()
    assert (person.title, person.data, person.unique_id) == (
        "Ada Lovelace",
        {"user_id": str(ada)},
        str(ada),
    )
    assert [r.path for r in fake_zulip.requests][-2:] == [
        "/api/v1/users/me",
        "/api/v1/server_settings",
    ]
    assert fake_zulip.requests[-2].headers["Authorization"].startswith("Basic ")


@pytest.mark.usefixtures("mock_setup_entry")
async def test_connect_with_zuliprc(hass: HomeAssistant, fake_zulip: FakeZulip) -> None:
    """A pasted zuliprc works alone; the same account twice is refused."""
    zuliprc = (
        f"[api]\nemail=ada@example.com\nkey={fake_zulip.caller.api_key}\nsite={fake_zulip.url}\n"
    )
    flow_id = await open_zulip_form(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, {"zuliprc": zuliprc})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == fake_zulip.entry_data()

    flow_id = await open_zulip_form(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, {"zuliprc": zuliprc})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"url": "https://chat.example.com", "email": "ada@example.com"}, "missing_credentials"),
        (
            {"url": "http://chat.example.com", "email": "ada@example.com", "api_key": "k" * 32},
            "insecure_url",
        ),
        ({"zuliprc": "[other]\nkey=1\n"}, "invalid_zuliprc"),
        (
            {
                "url": "http://ada:hunter2@127.0.0.1:9991",
                "email": "ada@example.com",
                "api_key": "k",
            },
            "url_with_credentials",
        ),
        (
            {"zuliprc": "[api]\nemail=ada@example.com\nkey=k\nsite=ada:hunter2@127.0.0.1:9991\n"},
            "url_with_credentials",
        ),
        (
            {"url": "https://chat.example.com:port", "email": "ada@example.com", "api_key": "k"},
            "invalid_url",
        ),
        ({"zuliprc": "[api]\nemail=ada@example.com\nkey=k\nsite=[::1\n"}, "invalid_url"),
    ],
)
async def test_bad_input_sends_nothing(
    hass: HomeAssistant,
    fake_zulip: FakeZulip,
    caplog: pytest.LogCaptureFixture,
    form: dict[str, str],
    error: str,
) -> None:
    """Missing credentials, plain http to another host, a broken zuliprc, a URL with a
    user name and password, or no URL at all are refused with a translated error."""
    flow_id = await open_zulip_form(hass)
    result = await hass.config_entries.flow.async_configure(flow_id, form)
    assert result["errors"] == {"base": error}
    assert fake_zulip.requests == []
    assert "hunter2" not in caplog.text


@pytest.mark.usefixtures("mock_setup_entry")
async def test_one_account_however_the_url_is_typed(
    hass: HomeAssistant, fake_zulip: FakeZulip
) -> None:
    """Spaces, a trailing /, upper case and a zuliprc's bare site are the same server."""
    port = fake_zulip.url.rsplit(":", 1)[1]
    key = fake_zulip.caller.api_key
    ada = ids(fake_zulip)["Ada"]
    fields = {"email": "ada@example.com", "api_key": key}
    flow_id = await open_zulip_form(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id, {"url": f" http://127.0.0.1:{port}/ ", **fields}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"]["url"] == f"http://127.0.0.1:{port}"
    assert result["result"].unique_id == f"http://127.0.0.1:{port}:{ada}"

    for form in (
        {"url": f"http://127.0.0.1:{port}", **fields},
        {"url": f"HTTP://127.0.0.1:{port}/", **fields},
        {"zuliprc": f"[api]\nemail=ada@example.com\nkey={key}\nsite=127.0.0.1:{port}\n"},
    ):
        flow_id = await open_zulip_form(hass)
        result = await hass.config_entries.flow.async_configure(flow_id, form)
        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == "already_configured"
    assert len(hass.config_entries.async_entries(DOMAIN)) == 1
    # The zuliprc's site reached the fake over http, as a typed loopback URL does.
    assert fake_zulip.requests[-1].path == "/api/v1/server_settings"


@pytest.mark.parametrize(
    ("url", "normalised"),
    [
        (" HTTPS://Chat.Example.COM:443/ ", "https://chat.example.com"),
        ("http://chat.example.com:80", "http://chat.example.com"),
        ("https://chat.example.com:80/", "https://chat.example.com:80"),
        ("https://example.com/Zulip/", "https://example.com/Zulip"),
        ("https://chat.example.com/?next=x#top", "https://chat.example.com"),
        ("http://[::1]:80/", "http://[::1]"),
        ("http://LOCALHOST:9991//", "http://localhost:9991"),
    ],
)
def test_normalize_url(url: str, normalised: str) -> None:
    """One server has one spelling, which the flow (unique id) and the client share."""
    assert normalize_url(url) == normalised


@pytest.mark.parametrize(
    "url", ["https://", "https://chat.example.com:port", "https://ada:hunter2@chat.example.com"]
)
def test_normalize_url_refusals(url: str) -> None:
    """No host, a port that is no number, or credentials: refused, without repeating the URL."""
    with pytest.raises(ValueError) as err:
        normalize_url(url)
    assert "hunter2" not in str(err.value)


async def test_status_text(hass: HomeAssistant, fake_zulip: FakeZulip) -> None:
    """The text shows the status; setting and clearing it sends only status_text."""
    fake_zulip.caller.status = {"status_text": "Writing notes"}
    await setup_zulip(hass, fake_zulip)
    state = hass.states.get(STATUS)
    assert state.state == "Writing notes"
    assert state.attributes["read_back"] is True
    assert state.attributes["max"] == 60

    for text in ("On vacation", ""):
        await hass.services.async_call(
            "text", "set_value", {ATTR_ENTITY_ID: STATUS, "value": text}, blocking=True
        )
        assert hass.states.get(STATUS).state == text
    assert status_posts(fake_zulip) == [
        ("/api/v1/users/me/status", {"status_text": "On vacation"}),
        ("/api/v1/users/me/status", {"status_text": ""}),
    ]


async def test_status_text_too_long(hass: HomeAssistant, fake_zulip: FakeZulip) -> None:
    """61 code points are refused with a translated error before anything is sent."""
    await setup_zulip(hass, fake_zulip)
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN,
            "set_status_message",
            {ATTR_ENTITY_ID: STATUS, "message": "🌴" * 61},
            blocking=True,
        )
    assert err.value.translation_key == "status_too_long"
    assert err.value.translation_placeholders["length"] == "61"
    assert status_posts(fake_zulip) == []


@pytest.mark.parametrize(("preset", "body"), SUGGESTED_STATUS_FORMS.items())
async def test_each_preset_sends_its_status(
    hass: HomeAssistant, fake_zulip: FakeZulip, preset: str, body: dict[str, str]
) -> None:
    """Each preset is one form POST with its text and Unicode emoji; the select shows it."""
    fake_zulip.caller.status = {"status_text": "Something else"}
    await setup_zulip(hass, fake_zulip)
    assert hass.states.get(PRESET).state == "unknown"
    await hass.services.async_call(
        "select", "select_option", {ATTR_ENTITY_ID: PRESET, "option": preset}, blocking=True
    )
    assert status_posts(fake_zulip) == [("/api/v1/users/me/status", body)]
    assert hass.states.get(PRESET).state == preset
    assert hass.states.get(STATUS).state == body["status_text"]


async def test_admin_sets_a_colleague(
    hass: HomeAssistant, fake_zulip: FakeZulip, freezer: FrozenDateTimeFactory
) -> None:
    """An administrator adds Grace by email and sets her status through the admin endpoint."""
    entry = await setup_zulip(hass, fake_zulip)
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, "user"), context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"user_id": "grace@example.com"}
    )
    grace = ids(fake_zulip)["Grace"]
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {"user_id": str(grace)}
    await hass.async_block_till_done()

    await hass.services.async_call(
        DOMAIN,
        "set_status_message",
        {ATTR_ENTITY_ID: [GRACE_STATUS, STATUS], "message": "on vacation", "emoji": "car"},
        blocking=True,
    )
    await advance(hass, freezer, 1)  # setup and adding Grace used the budget's burst
    car = {
        "status_text": "on vacation",
        "emoji_name": "car",
        "emoji_code": "1f697",
        "reaction_type": "unicode_emoji",
    }
    assert sorted(status_posts(fake_zulip)) == [
        (f"/api/v1/users/{grace}/status", car),
        ("/api/v1/users/me/status", car),
    ]
    assert fake_zulip.users[grace].status["status_text"] == "on vacation"
    emoji_reads = [r for r in fake_zulip.requests if r.path == "/api/v1/realm/emoji"]
    assert len(emoji_reads) == 1


@pytest.mark.parametrize(
    ("role", "feature_level"), [(MEMBER, 500), (ADMINISTRATOR, 406)], ids=["member", "zulip10"]
)
async def test_others_only_for_admins_on_new_servers(
    hass: HomeAssistant, fake_zulip: FakeZulip, role: int, feature_level: int
) -> None:
    """Without admin rights or Zulip 11, adding people aborts with a reason."""
    fake_zulip.caller.role = role
    fake_zulip.feature_level = feature_level
    entry = await setup_zulip(hass, fake_zulip)
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, "user"), context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "cannot_add_people"


async def test_old_server_is_write_only(hass: HomeAssistant, fake_zulip: FakeZulip) -> None:
    """Before feature level 262 nothing is read back; the entities say so and show what was set."""
    fake_zulip.feature_level = 200
    await setup_zulip(hass, fake_zulip)
    assert not [r for r in fake_zulip.api_requests("GET") if r.path.endswith("/status")]
    state = hass.states.get(STATUS)
    assert state.state == "unknown"
    assert state.attributes["read_back"] is False
    assert hass.states.get(PRESET).attributes["read_back"] is False

    await hass.services.async_call(
        "select", "select_option", {ATTR_ENTITY_ID: PRESET, "option": "commuting"}, blocking=True
    )
    assert hass.states.get(STATUS).state == "Commuting"
    assert hass.states.get(PRESET).state == "commuting"


async def test_emoji_resolution(hass: HomeAssistant, fake_zulip: FakeZulip) -> None:
    """Custom realm emoji are used by id; deactivated or unknown ones are refused up front."""
    await setup_zulip(hass, fake_zulip)
    await hass.services.async_call(
        DOMAIN,
        "set_status_message",
        {ATTR_ENTITY_ID: STATUS, "message": "Shipped", "emoji": "green_tick"},
        blocking=True,
    )
    assert status_posts(fake_zulip)[-1][1] == {
        "status_text": "Shipped",
        "emoji_name": "green_tick",
        "emoji_code": "1",
        "reaction_type": "realm_emoji",
    }
    for emoji in ("old_logo", "no_such_emoji_anywhere"):
        with pytest.raises(ServiceValidationError) as err:
            await hass.services.async_call(
                DOMAIN,
                "set_status_message",
                {ATTR_ENTITY_ID: STATUS, "message": "x", "emoji": emoji},
                blocking=True,
            )
        assert err.value.translation_key == "unknown_emoji"
    assert len(status_posts(fake_zulip)) == 1


async def test_rate_limit_hit_is_waited_out(
    hass: HomeAssistant, fake_zulip: FakeZulip, freezer: FrozenDateTimeFactory
) -> None:
    """RATE_LIMIT_HIT queues the change and sends it after Retry-After."""
    await setup_zulip(hass, fake_zulip)
    fake_zulip.fail_next.append(
        web.json_response(
            {
                "result": "error",
                "msg": "API usage exceeded rate limit",
                "code": "RATE_LIMIT_HIT",
                "retry-after": 7.5,
            },
            status=429,
            headers={"Retry-After": "8"},
        )
    )
    await hass.services.async_call(
        "text", "set_value", {ATTR_ENTITY_ID: STATUS, "value": "Later"}, blocking=True
    )
    assert hass.states.get(STATUS).attributes["pending"] is True
    await advance(hass, freezer, 9)
    assert fake_zulip.caller.status["status_text"] == "Later"
    assert hass.states.get(STATUS).attributes["pending"] is False


async def test_used_up_budget_waits_for_reset(
    hass: HomeAssistant, fake_zulip: FakeZulip, freezer: FrozenDateTimeFactory
) -> None:
    """With X-RateLimit-Remaining 0, the next change waits for X-RateLimit-Reset, unsent."""
    fake_zulip.rate_limit = 3  # what setup uses: users/me, server_settings, Ada's status
    await setup_zulip(hass, fake_zulip)
    assert fake_zulip.requests[-1].path == f"/api/v1/users/{ids(fake_zulip)['Ada']}/status"
    await hass.services.async_call(
        "text", "set_value", {ATTR_ENTITY_ID: STATUS, "value": "Soon"}, blocking=True
    )
    assert status_posts(fake_zulip) == []
    assert hass.states.get(STATUS).attributes["pending"] is True
    assert fake_zulip.rejected_429 == 0
    fake_zulip.rate_limit = 200
    # The poll due at the reset waits in the budget too: step on without waiting for it.
    await run_for(hass, freezer, 80)
    assert status_posts(fake_zulip) == [("/api/v1/users/me/status", {"status_text": "Soon"})]


async def test_invalid_key_keeps_the_change_for_after_reauth(
    hass: HomeAssistant, fake_zulip: FakeZulip
) -> None:
    """A revoked key queues the change and starts reauth; with a new key, it is delivered."""
    entry = await setup_zulip(hass, fake_zulip)
    old_key = fake_zulip.caller.api_key
    fake_zulip.caller.api_key = "n" * 32
    await hass.services.async_call(
        "text", "set_value", {ATTR_ENTITY_ID: STATUS, "value": "x"}, blocking=True
    )
    state = hass.states.get(STATUS)
    assert state.state == "x"
    assert state.attributes["pending"] is True
    assert state.attributes["send_at"] is None
    assert state.attributes["last_delivery_error"]
    await hass.async_block_till_done()
    [flow] = hass.config_entries.flow.async_progress()
    assert flow["context"]["source"] == "reauth"
    result = await hass.config_entries.flow.async_configure(flow["flow_id"], {"api_key": old_key})
    assert result["errors"] == {"base": "invalid_auth"}
    refused = [("/api/v1/users/me/status", {"status_text": "x"})]
    assert status_posts(fake_zulip) == refused
    result = await hass.config_entries.flow.async_configure(flow["flow_id"], {"api_key": "n" * 32})
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done(wait_background_tasks=True)
    assert entry.state is ConfigEntryState.LOADED
    assert status_posts(fake_zulip) == refused * 2
    assert hass.states.get(STATUS).attributes["pending"] is False


async def test_reconfigure_to_another_account(hass: HomeAssistant, fake_zulip: FakeZulip) -> None:
    """Grace's key is another account: reconfigure refuses it after reading the user."""
    entry = await setup_zulip(hass, fake_zulip)
    grace = fake_zulip.users[ids(fake_zulip)["Grace"]]
    result = await entry.start_reconfigure_flow(hass)
    fake_zulip.caller_id = ids(fake_zulip)["Grace"]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {"url": fake_zulip.url, "email": "grace@example.com", "api_key": grace.api_key},
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_account"


@pytest.mark.usefixtures("mock_setup_entry")
async def test_wrong_server_is_cannot_connect(hass: HomeAssistant, fake_zulip: FakeZulip) -> None:
    """A URL with no Zulip API behind it (404) is a connection problem, not a missing person."""
    flow_id = await open_zulip_form(hass)
    result = await hass.config_entries.flow.async_configure(
        flow_id,
        {
            "url": f"{fake_zulip.url}/not-zulip",
            "email": "ada@example.com",
            "api_key": fake_zulip.caller.api_key,
        },
    )
    assert result["errors"] == {"base": "cannot_connect"}


async def test_emoji_lookup_failing_is_translated(
    hass: HomeAssistant, fake_zulip: FakeZulip
) -> None:
    """If the custom emoji cannot be read, the action fails with a translated error, unsent."""
    await setup_zulip(hass, fake_zulip)
    fake_zulip.fail_next.append(web.Response(status=503))
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            DOMAIN,
            "set_status_message",
            {ATTR_ENTITY_ID: STATUS, "message": "x", "emoji": "green_tick"},
            blocking=True,
        )
    assert err.value.translation_key == "provider_unavailable"
    assert status_posts(fake_zulip) == []


async def test_an_entry_of_version_1_1_gets_a_normalised_url(
    hass: HomeAssistant, fake_zulip: FakeZulip
) -> None:
    """An entry added before URLs were normalised is migrated: its URL and unique id."""
    spelled = fake_zulip.url.replace("http://", "HTTP://") + "/"
    user_id = fake_zulip.caller_id
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Zulip ada@example.com",
        unique_id=f"{spelled}:{user_id}",
        data=fake_zulip.entry_data() | {"url": spelled},
        version=1,
        minor_version=1,
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.LOADED
    assert entry.minor_version == 2
    assert entry.data["url"] == fake_zulip.url
    assert entry.unique_id == f"{fake_zulip.url}:{user_id}"


@pytest.mark.parametrize("text", ["a\x00b", "bell\x07", "esc\x1b[31m", "two\nlines", "\u202eevil"])
async def test_control_characters_are_refused(
    hass: HomeAssistant, fake_zulip: FakeZulip, text: str
) -> None:
    """Control, line-break and bidi-override characters get a translated error; nothing is sent."""
    await setup_zulip(hass, fake_zulip)
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            "text", "set_value", {ATTR_ENTITY_ID: STATUS, "value": text}, blocking=True
        )
    assert err.value.translation_key == "status_control_characters"
    assert status_posts(fake_zulip) == []
