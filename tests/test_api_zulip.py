"""The Zulip client against the fake Zulip server, and Zulip's error mapping."""

import base64
from collections.abc import AsyncGenerator
from typing import Any

import aiohttp
from aiohttp import web
import pytest

from custom_components.presence_bridge.api.client import OWN_USER, RemoteUser, StatusMessage
from custom_components.presence_bridge.api.emoji import UNICODE_EMOJI
from custom_components.presence_bridge.api.errors import (
    AuthenticationError,
    InvalidRequestError,
    InvalidStatusTextError,
    InvalidUrlError,
    NotFoundError,
    PresenceBridgeError,
    ProviderUnavailableError,
    RateLimitedError,
)
from custom_components.presence_bridge.api.http import ErrorResponse, check_url
from custom_components.presence_bridge.api.zulip import (
    USER_AGENT,
    ZulipClient,
    map_zulip_error,
    parse_zuliprc,
)

from .conftest import START, Clock
from .fake_zulip import ADMINISTRATOR, MEMBER, MODERATOR, OWNER, SUGGESTED_STATUS_FORMS, FakeZulip

ALICE = "alice@example.com"
BOB = "bob@example.com"
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
async def fake(socket_enabled: None, clock: Clock) -> AsyncGenerator[FakeZulip]:
    """A fake organization: Alice (an administrator, whose key the client has) and Bob."""
    fake = FakeZulip(clock=clock)
    fake.add_user("Alice Archer", ALICE, role=ADMINISTRATOR)
    fake.add_user("Bob Baker", BOB)
    async with fake:
        yield fake


def zulip_client(
    session: aiohttp.ClientSession, fake: FakeZulip, clock: Clock, **kwargs: Any
) -> ZulipClient:
    """A client with the caller's credentials."""
    return ZulipClient(
        session,
        url=kwargs.pop("url", fake.url),
        email=kwargs.pop("email", fake.caller.email),
        api_key=kwargs.pop("api_key", fake.caller.api_key),
        clock=clock,
    )


@pytest.fixture
def client(session: aiohttp.ClientSession, fake: FakeZulip, clock: Clock) -> ZulipClient:
    """A client for the fake, as Alice."""
    return zulip_client(session, fake, clock)


def user_id(fake: FakeZulip, email: str) -> str:
    """A user's id as the client sees it."""
    return next(str(user.user_id) for user in fake.users.values() if user.email == email)


async def test_connect(client: ZulipClient, fake: FakeZulip) -> None:
    """Two GETs with Basic email:key learn the own user, feature level and role."""
    assert (client.feature_level, client.can_read_status, client.can_add_people) == (
        0,
        False,
        False,
    )
    me = await client.connect()
    assert me == RemoteUser("8", "Alice Archer", ALICE)
    assert (client.feature_level, client.is_admin, client.is_bot) == (473, True, False)
    calls = fake.api_requests()
    assert [(call.method, call.path) for call in calls] == [
        ("GET", "/api/v1/users/me"),
        ("GET", "/api/v1/server_settings"),
    ]
    basic = base64.b64encode(f"{ALICE}:{fake.caller.api_key}".encode()).decode()
    assert {call.headers["Authorization"] for call in calls} == {f"Basic {basic}"}
    assert {call.headers["User-Agent"] for call in calls} == {USER_AGENT}
    assert USER_AGENT.startswith("PresenceBridge/")
    await client.check_credentials()
    assert len(fake.api_requests()) == 4


@pytest.mark.parametrize(
    ("level", "role", "is_bot", "can_read", "can_add"),
    [
        (261, OWNER, False, False, False),
        (262, OWNER, False, True, False),
        (406, ADMINISTRATOR, False, True, False),
        (407, ADMINISTRATOR, False, True, True),
        (407, OWNER, False, True, True),
        (407, MODERATOR, False, True, False),
        (473, MEMBER, False, True, False),
        (407, ADMINISTRATOR, True, True, False),
        (472, ADMINISTRATOR, True, True, False),
        (473, ADMINISTRATOR, True, True, True),
    ],
)
async def test_capabilities(
    session: aiohttp.ClientSession,
    fake: FakeZulip,
    clock: Clock,
    *,
    level: int,
    role: int,
    is_bot: bool,
    can_read: bool,
    can_add: bool,
) -> None:
    """Reading needs 9.0 (262); others' status 11.0 (407), an administrator, and 12.0 for bots."""
    fake.feature_level = level
    fake.add_user("Status Bot", "bot@example.com", role=role, is_bot=is_bot, caller=True)
    client = zulip_client(session, fake, clock)
    await client.connect()
    assert (client.can_read_status, client.can_add_people) == (can_read, can_add)


async def test_old_server_and_legacy_admin_flag(client: ZulipClient, fake: FakeZulip) -> None:
    """A server without a feature level offers nothing new; `is_admin` stands in for `role`."""
    fake.fail_next += [
        web.json_response(
            {
                "result": "success",
                "msg": "",
                "user_id": 8,
                "full_name": "Alice Archer",
                "email": ALICE,
                "is_admin": True,
            }
        ),
        web.json_response({"result": "success", "msg": "", "realm_name": "Old"}),
    ]
    await client.connect()
    assert (client.feature_level, client.is_admin) == (0, True)
    assert (client.can_read_status, client.can_add_people) == (False, False)


@pytest.mark.parametrize(("preset", "form"), SUGGESTED_STATUS_FORMS.items())
async def test_presets_sent_as_forms(
    client: ZulipClient, fake: FakeZulip, preset: str, form: dict[str, str]
) -> None:
    """Each preset is one form POST of all four fields; it reads back as itself."""
    fake.caller.status = {
        "status_text": "Old",
        "emoji_name": "car",
        "emoji_code": "1f697",
        "reaction_type": "unicode_emoji",
    }
    status = ZulipClient.status_presets[preset]
    await client.set_status("8", status)
    post = fake.api_requests("POST")[-1]
    assert (post.path, post.headers["Content-Type"], post.body) == (
        "/api/v1/users/me/status",
        FORM,
        form,
    )
    assert await client.get_statuses(["8"]) == {"8": status}


def test_presets_are_zulips_suggestions() -> None:
    """The keys the select offers, with the web app's texts and emoji, taken from the table."""
    presets = ZulipClient.status_presets
    assert list(presets) == [
        "none",
        "in_a_meeting",
        "commuting",
        "out_sick",
        "vacationing",
        "working_remotely",
    ]
    for status in list(presets.values())[1:]:
        assert status.emoji_name is not None
        assert UNICODE_EMOJI[status.emoji_name] == status.emoji_code
        assert status.reaction_type == "unicode_emoji"


async def test_partial_updates(client: ZulipClient, fake: FakeZulip) -> None:
    """Only the fields given are sent, and only they change."""
    await client.set_status("8", ZulipClient.status_presets["commuting"])
    await client.set_status("8", StatusMessage(text="Stuck in traffic"))
    assert fake.api_requests("POST")[-1].body == {"status_text": "Stuck in traffic"}
    assert fake.caller.status["emoji_name"] == "bus"
    await client.set_status(
        "8", StatusMessage(emoji_name="car", emoji_code="1f697", reaction_type="unicode_emoji")
    )
    assert fake.api_requests("POST")[-1].body == {
        "emoji_name": "car",
        "emoji_code": "1f697",
        "reaction_type": "unicode_emoji",
    }
    assert (await client.get_statuses(["8"]))["8"] == StatusMessage(
        "Stuck in traffic", "car", "1f697", "unicode_emoji"
    )
    await client.set_status("8", StatusMessage(text=""))
    assert (await client.get_statuses(["8"]))["8"] == StatusMessage(
        "", "car", "1f697", "unicode_emoji"
    )
    await client.set_status("8", StatusMessage(emoji_name=""))
    assert (await client.get_statuses(["8"]))["8"] == ZulipClient.status_presets["none"]


async def test_own_and_admin_endpoints(client: ZulipClient, fake: FakeZulip) -> None:
    """The own id uses `/users/me/status`; anyone else the administrators' endpoint."""
    bob = user_id(fake, BOB)
    await client.set_status("8", StatusMessage(text="Here"))
    await client.set_status(bob, ZulipClient.status_presets["vacationing"])
    assert [call.path for call in fake.api_requests("POST")] == [
        "/api/v1/users/me/status",
        f"/api/v1/users/{bob}/status",
    ]
    assert fake.users[9].status["status_text"] == "Vacationing"
    assert fake.caller.status == {"status_text": "Here"}
    sent = len(fake.requests)
    with pytest.raises(InvalidRequestError, match="not a Zulip user id"):
        await client.set_status(BOB, StatusMessage(text="x"))
    assert len(fake.requests) == sent


async def test_admin_endpoint_refusals(
    session: aiohttp.ClientSession, client: ZulipClient, fake: FakeZulip, clock: Clock
) -> None:
    """Others' status is refused with BAD_REQUEST (not a missing person) when not allowed."""
    bob = user_id(fake, BOB)
    with pytest.raises(InvalidRequestError) as refused:
        await client.set_status("99", StatusMessage(text="x"))
    assert (refused.value.code, refused.value.provider_message) == ("BAD_REQUEST", "No such user")
    fake.caller_id = 9
    member = zulip_client(session, fake, clock)
    with pytest.raises(InvalidRequestError) as refused:
        await member.set_status("8", StatusMessage(text="x"))
    assert refused.value.provider_message == "Insufficient permission"
    fake.add_user("Bot", "bot@example.com", role=ADMINISTRATOR, is_bot=True, caller=True)
    fake.feature_level = 407
    with pytest.raises(InvalidRequestError, match="bot requests"):
        await zulip_client(session, fake, clock).set_status(bob, StatusMessage(text="x"))
    fake.caller_id = 8
    fake.feature_level = 406
    old = zulip_client(session, fake, clock)
    with pytest.raises(InvalidRequestError, match="feature level 406") as refused:
        await old.set_status(bob, StatusMessage(text="x"))
    assert refused.value.code is None
    assert fake.users[9].status == {}


async def test_get_user(client: ZulipClient, fake: FakeZulip) -> None:
    """The own user by id, email or `me` costs no lookup; others by id or email."""
    me = RemoteUser("8", "Alice Archer", ALICE)
    for key in ("8", " ALICE@example.com ", OWN_USER):
        assert await client.get_user(key) == me
    assert len(fake.api_requests()) == 2
    bob = RemoteUser("9", "Bob Baker", BOB)
    assert await client.get_user("9") == bob
    assert await client.get_user("Bob@Example.com") == bob
    fake.add_user("Carol Plus", "carol+zulip@example.com")
    assert (await client.get_user("carol+zulip@example.com")).user_id == "10"
    assert [call.path for call in fake.api_requests()][2:] == [
        "/api/v1/users/9",
        "/api/v1/users/Bob@Example.com",
        "/api/v1/users/carol+zulip@example.com",
    ]
    for unknown in ("99", "nobody@example.com", "nobody"):
        with pytest.raises(NotFoundError):
            await client.get_user(unknown)
    with pytest.raises(InvalidRequestError, match="needed"):
        await client.get_user("  ")


async def test_get_user_connects_first(client: ZulipClient, fake: FakeZulip) -> None:
    """Without a connection the own user is read before anyone is looked up."""
    assert (await client.get_user(BOB)).display_name == "Bob Baker"
    assert [call.path for call in fake.api_requests()] == [
        "/api/v1/users/me",
        "/api/v1/server_settings",
        f"/api/v1/users/{BOB}",
    ]


async def test_get_statuses(client: ZulipClient, fake: FakeZulip) -> None:
    """Each person is read; no status is all "", strangers are left out, text-only has no emoji."""
    fake.users[9].status = {
        "status_text": "Lunch",
        "emoji_name": "",
        "emoji_code": "",
        "reaction_type": "unicode_emoji",
    }
    statuses = await client.get_statuses(["8", "9", "99"])
    assert statuses == {
        "8": StatusMessage("", "", "", ""),
        "9": StatusMessage("Lunch", "", "", ""),
    }
    assert sorted(call.path for call in fake.api_requests("GET")) == [
        "/api/v1/users/8/status",
        "/api/v1/users/9/status",
        "/api/v1/users/99/status",
    ]
    assert await client.get_statuses([]) == {}
    with pytest.raises(InvalidRequestError, match="not a Zulip user id"):
        await client.get_statuses(["8", "me"])
    assert len(fake.api_requests()) == 3


async def test_get_statuses_failures(client: ZulipClient, fake: FakeZulip) -> None:
    """Anything but an unknown person fails the whole read; so does a server without the endpoint."""
    fake.fail_next.append(web.json_response({"result": "error", "msg": "boom"}, status=500))
    with pytest.raises(ProviderUnavailableError):
        await client.get_statuses(["8"])
    fake.fail_next.append(
        web.json_response(
            {"result": "error", "msg": "Missing 'x' argument", "code": "REQUEST_VARIABLE_MISSING"},
            status=400,
        )
    )
    with pytest.raises(InvalidRequestError) as refused:
        await client.get_statuses(["8"])
    assert refused.value.code == "REQUEST_VARIABLE_MISSING"
    fake.feature_level = 261
    with pytest.raises(InvalidRequestError, match="has no GET /users/8/status"):
        await client.get_statuses(["8"])


def test_parse_zuliprc() -> None:
    """The [api] section's site, email and key; a bare host gets https (localhost http)."""
    text = "[api]\nemail = bot@example.com\nkey= AbC%123\nsite=https://chat.example.com/\ninsecure=false\n"
    assert parse_zuliprc(text) == {
        "url": "https://chat.example.com",
        "email": "bot@example.com",
        "api_key": "AbC%123",
    }
    assert parse_zuliprc(text.replace("https://", ""))["url"] == "https://chat.example.com"
    assert parse_zuliprc(text.replace("https://chat.example.com/", "localhost:9991"))["url"] == (
        "http://localhost:9991"
    )


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("[api]\nemail=a@example.com\nsite=https://x.example\n", "lacks key"),
        ("[api]\nemail=\nkey=k\n", "lacks site, email"),
        ("[other]\nemail=a@example.com\n", r"no \[api\] section"),
        ("email=a@example.com\nkey=k\n", "Not a zuliprc"),
        ("", r"no \[api\] section"),
    ],
)
def test_parse_zuliprc_refusals(text: str, match: str) -> None:
    """A zuliprc without the section or one of its keys is refused."""
    with pytest.raises(InvalidRequestError, match=match):
        parse_zuliprc(text)


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://chat.example.com", True),
        ("https://example.zulipchat.com/", True),
        ("HTTPS://chat.example.com", True),
        ("http://chat.example.com", False),
        ("http://localhost:9991", True),
        ("http://LOCALHOST", True),
        ("http://127.0.0.1:8080", True),
        ("http://127.8.9.10", True),
        ("http://[::1]:9991", True),
        ("http://192.168.1.2", False),
        ("http://localhost.example.com", False),
        ("ftp://localhost", False),
        ("chat.example.com", False),
        ("https://", False),
        ("http://[::1", False),
        ("", False),
    ],
)
def test_is_allowed_url(url: str, allowed: bool) -> None:
    """The API key goes over https, or over http to this machine only (`check_url`)."""
    try:
        check_url(url)
    except InvalidUrlError:
        assert not allowed
    else:
        assert allowed


def test_client_refuses_insecure_url(session: aiohttp.ClientSession) -> None:
    """The client itself will not send a key in the clear to another machine."""
    with pytest.raises(ValueError, match="https"):
        ZulipClient(session, url="http://chat.example.com", email="a@example.com", api_key="k")
    client = ZulipClient(session, url=" https://chat.example.com/ ", email="a", api_key="k")
    assert client.http.base_url == "https://chat.example.com/api/v1"
    assert (client.manufacturer, client.status_max_length) == ("Zulip", 60)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("green_tick", StatusMessage(None, "green_tick", "1", "realm_emoji")),
        (":car:", StatusMessage(None, "car", "1f697", "unicode_emoji")),
        ("Palm_Tree", StatusMessage(None, "palm_tree", "1f334", "unicode_emoji")),
        ("zulip", StatusMessage(None, "zulip", "zulip", "zulip_extra_emoji")),
        ("hot_beverage", StatusMessage(None, "coffee", "2615", "unicode_emoji")),
        ("unicorn_face", StatusMessage(None, "unicorn_face", "1f984", "unicode_emoji")),
    ],
)
async def test_resolve_emoji(
    client: ZulipClient, fake: FakeZulip, name: str, expected: StatusMessage
) -> None:
    """Custom emoji first, then Zulip's names, then Unicode's (under Zulip's name if known)."""
    assert await client.resolve_emoji(name) == expected
    assert [call.path for call in fake.api_requests()] == ["/api/v1/realm/emoji"]


async def test_realm_emoji_shadow_unicode_and_skip_deactivated(
    client: ZulipClient, fake: FakeZulip
) -> None:
    """An active custom emoji wins over a Unicode name; a deactivated one is ignored."""
    fake.realm_emoji["3"] = fake.realm_emoji["1"] | {"id": "3", "name": "coffee"}
    assert await client.resolve_emoji("coffee") == StatusMessage(None, "coffee", "3", "realm_emoji")
    fake.realm_emoji["3"]["deactivated"] = True
    assert (await client.resolve_emoji("coffee")).reaction_type == "unicode_emoji"
    with pytest.raises(InvalidRequestError, match="Unknown emoji 'old_logo'"):
        await client.resolve_emoji("old_logo")


@pytest.mark.parametrize(
    "name", ["no_such_emoji", "latin_small_letter_a", "keycap_number_sign", "", "::"]
)
async def test_resolve_unknown_emoji(client: ZulipClient, name: str) -> None:
    """A name neither Zulip nor Unicode gives a symbol for is refused."""
    with pytest.raises(InvalidRequestError, match="Unknown emoji"):
        await client.resolve_emoji(name)


async def test_resolved_emoji_accepted(client: ZulipClient, fake: FakeZulip) -> None:
    """What `resolve_emoji` returns is what the server accepts, custom or Unicode."""
    for name in ("green_tick", "stop_sign", "zulip", "hot_beverage"):
        emoji = await client.resolve_emoji(name)
        await client.set_status(
            "8", StatusMessage("Busy", emoji.emoji_name, emoji.emoji_code, emoji.reaction_type)
        )
        assert (await client.get_statuses(["8"]))["8"] == StatusMessage(
            "Busy", emoji.emoji_name, emoji.emoji_code, emoji.reaction_type
        )


def test_emoji_table() -> None:
    """Every entry is a Zulip-style name and code: lower-case hex code points of a symbol."""
    assert len(UNICODE_EMOJI) >= 60
    for name, code in UNICODE_EMOJI.items():
        assert name == name.lower() and " " not in name
        characters = "".join(chr(int(part, 16)) for part in code.split("-"))
        assert code == code.lower() and "fe0f" not in code
        assert characters.isprintable()


async def test_status_text_limit(client: ZulipClient, fake: FakeZulip) -> None:
    """60 code points are the limit, checked before sending; the server agrees."""
    with pytest.raises(InvalidStatusTextError, match="limit is 60") as refused:
        await client.set_status("8", StatusMessage(text="🚌" * 61))
    assert refused.value.reason == InvalidStatusTextError.TOO_LONG == "too_long"
    assert fake.api_requests() == []
    await client.set_status("8", StatusMessage(text="🚌" * 60))
    assert fake.caller.status["status_text"] == "🚌" * 60


@pytest.mark.parametrize(
    "character",
    [
        *"\x00\x07\x08\t\n\r\x1b\x7f\x85\u2028\u2029",
        *"\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069",
    ],
    ids=repr,
)
async def test_status_text_control_characters(
    client: ZulipClient, fake: FakeZulip, character: str
) -> None:
    """Control characters (NUL, BEL, ESC, line breaks …) and text-direction overrides are
    refused before sending, with a reason the text-too-long refusal does not share."""
    with pytest.raises(InvalidStatusTextError) as refused:
        await client.set_status("8", StatusMessage(text=f"Lunch{character}break"))
    assert refused.value.reason == InvalidStatusTextError.CONTROL_CHARACTERS
    assert refused.value.reason == "control_characters"
    assert isinstance(refused.value, InvalidRequestError)
    assert fake.api_requests() == []


async def test_status_text_keeps_emoji_sequences(client: ZulipClient, fake: FakeZulip) -> None:
    """Other format characters pass: the zero-width joiner of an emoji sequence, say."""
    text = "👩\u200d💻 Coding, \u05e9\u05dc\u05d5\u05dd"
    await client.set_status("8", StatusMessage(text=text))
    assert fake.caller.status["status_text"] == text


async def test_server_refusals(client: ZulipClient, fake: FakeZulip) -> None:
    """Zulip's own checks of a status POST, all BAD_REQUEST."""
    refusals = [
        (StatusMessage(), "Client did not pass any new values."),
        (StatusMessage(emoji_code="1f697"), "Client did not pass any new values."),
        (
            StatusMessage("x", emoji_code="1f697"),
            "Client must pass emoji_name if they pass either emoji_code or reaction_type.",
        ),
        (StatusMessage(emoji_name="no_such"), "Emoji 'no_such' does not exist"),
        (StatusMessage(emoji_name="old_logo"), "Emoji 'old_logo' does not exist"),
        (StatusMessage(None, "green_tick", "9", "realm_emoji"), "Invalid custom emoji."),
        (StatusMessage(None, "car", "1", "realm_emoji"), "Invalid custom emoji name."),
        (
            StatusMessage(None, "old_logo", "2", "realm_emoji"),
            "This custom emoji has been deactivated.",
        ),
        (StatusMessage(None, "zulip", "zulip2", "zulip_extra_emoji"), "Invalid emoji code."),
        (StatusMessage(None, "zap", "zulip", "zulip_extra_emoji"), "Invalid emoji name."),
        (StatusMessage(None, "car", "1f698", "unicode_emoji"), "Invalid emoji code."),
        (StatusMessage(None, "bus", "1f697", "unicode_emoji"), "Invalid emoji name."),
        (StatusMessage(None, "car", "1f697", "image"), "Invalid emoji type."),
    ]
    for status, message in refusals:
        with pytest.raises(InvalidRequestError) as refused:
            await client.set_status("8", status)
        assert (refused.value.code, refused.value.provider_message) == ("BAD_REQUEST", message)
    assert fake.caller.status == {}
    for name, code in (("green_tick", "1"), ("zulip", "zulip"), ("car", "1f697")):
        await client.set_status("8", StatusMessage(emoji_name=name))
        assert fake.caller.status["emoji_code"] == code


async def test_server_refuses_long_text_and_json(
    session: aiohttp.ClientSession, fake: FakeZulip
) -> None:
    """The server's own limit (after stripping), and a JSON body, which Zulip does not read."""
    url = f"{fake.url}/api/v1/users/me/status"
    auth = aiohttp.encode_basic_auth(ALICE, fake.caller.api_key)
    async with session.post(
        url, data={"status_text": " " + "x" * 61}, headers={"Authorization": auth}
    ) as response:
        assert response.status == 400
        assert (await response.json())["msg"] == "status_text is too long (limit: 60 characters)"
    async with session.post(
        url, data={"status_text": "  " + "x" * 60 + " "}, headers={"Authorization": auth}
    ) as response:
        assert response.status == 200
    async with session.post(
        url, json={"status_text": "x"}, headers={"Authorization": auth}
    ) as response:
        assert (await response.json())["msg"] == "Client did not pass any new values."
    assert fake.caller.status == {"status_text": "x" * 60}


async def test_unauthenticated(session: aiohttp.ClientSession, fake: FakeZulip) -> None:
    """No credentials: 401 UNAUTHORIZED asking for Basic; server settings need none."""
    async with session.get(f"{fake.url}/api/v1/users/me") as response:
        assert response.status == 401
        assert response.headers["WWW-Authenticate"] == 'Basic realm="zulip"'
        body = await response.json()
        error = map_zulip_error(ErrorResponse(401, body, response.headers, None))
    assert body == {
        "result": "error",
        "msg": "Not logged in: API authentication or user session required",
        "code": "UNAUTHORIZED",
    }
    assert isinstance(error, AuthenticationError)
    async with session.get(f"{fake.url}/api/v1/server_settings") as response:
        assert (await response.json())["zulip_feature_level"] == fake.feature_level
    no_colon = base64.b64encode(b"alice").decode()
    for header in ("Bearer token", "Basic !!!", f"Basic {no_colon}"):
        async with session.get(
            f"{fake.url}/api/v1/users/me", headers={"Authorization": header}
        ) as response:
            assert response.status == 401
            assert (await response.json())["msg"] == "Invalid authorization header for basic auth"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/users/me"),
        ("GET", "/users/9"),
        ("GET", "/users/9/status"),
        ("GET", "/realm/emoji"),
        ("GET", "/server_settings"),
        ("POST", "/users/me/status"),
        ("POST", "/users/9/status"),
    ],
)
async def test_every_endpoint_checks_credentials(
    session: aiohttp.ClientSession, fake: FakeZulip, method: str, path: str
) -> None:
    """Credentials sent are checked everywhere, even where none are needed."""
    auth = aiohttp.encode_basic_auth(ALICE, "x" * 32)
    async with session.request(
        method, f"{fake.url}/api/v1{path}", headers={"Authorization": auth}
    ) as response:
        assert response.status == 401
        assert (await response.json())["code"] == "INVALID_API_KEY"
    assert fake.caller.status == {}


@pytest.mark.parametrize(
    ("change", "code", "message"),
    [
        ({"api_key": "x" * 32}, "INVALID_API_KEY", "Invalid API key"),
        ({"api_key": "not a key"}, "INVALID_API_KEY", "Malformed API key"),
        ({"email": BOB}, "INVALID_API_KEY", "Invalid API key"),
        ({}, "USER_DEACTIVATED", "Account is deactivated"),
        ({}, "REALM_DEACTIVATED", "This organization has been deactivated"),
    ],
)
async def test_refused_credentials(
    session: aiohttp.ClientSession,
    fake: FakeZulip,
    clock: Clock,
    *,
    change: dict[str, str],
    code: str,
    message: str,
) -> None:
    """A wrong or malformed key, or a deactivated account or organization, fails authentication."""
    fake.caller.deactivated = code == "USER_DEACTIVATED"
    fake.realm_deactivated = code == "REALM_DEACTIVATED"
    with pytest.raises(AuthenticationError, match=message):
        await zulip_client(session, fake, clock, **change).check_credentials()


async def test_rate_limit_headers_and_hold(
    client: ZulipClient, fake: FakeZulip, clock: Clock
) -> None:
    """Every answer reports the budget; after the last request the next one waits for the
    reset (the simulated clock jumps there), then goes: no 429, nothing fails."""
    fake.rate_limit = 3
    await client.connect()
    await client.get_statuses(["9"])
    assert len(fake.api_requests()) == 3
    assert client.budget.paused_for() == 60
    assert (await client.resolve_emoji("car")).emoji_code == "1f697"
    assert clock.now == START + 60
    assert fake.rejected_429 == 0
    assert fake.windows[ALICE] == (START + 60, 1)


async def test_rate_limit_hit(
    session: aiohttp.ClientSession, client: ZulipClient, fake: FakeZulip, clock: Clock
) -> None:
    """Another client of the same account meets RATE_LIMIT_HIT with Retry-After; headers follow."""
    fake.rate_limit = 2
    await client.connect()
    clock.now += 20.5
    other = zulip_client(session, fake, clock)
    async with session.get(f"{fake.url}/api/v1/server_settings") as response:
        assert response.headers["X-RateLimit-Limit"] == "2"
        assert response.headers["X-RateLimit-Remaining"] == "1"
        assert response.headers["X-RateLimit-Reset"] == str(int(clock.now + 60))
    with pytest.raises(RateLimitedError) as limited:
        await other.get_user("9")
    assert limited.value.retry_after == pytest.approx(39.5)
    assert limited.value.account_wide
    assert fake.rejected_429 == 1


async def test_rate_limit_retry_after_from_body(client: ZulipClient, fake: FakeZulip) -> None:
    """Without a Retry-After header the body's `retry-after` says how long to wait."""
    fake.fail_next.append(
        web.json_response(
            {
                "result": "error",
                "msg": "API usage exceeded rate limit",
                "code": "RATE_LIMIT_HIT",
                "retry-after": 28.706807374954224,
            },
            status=429,
        )
    )
    with pytest.raises(RateLimitedError) as limited:
        await client.connect()
    assert limited.value.retry_after == pytest.approx(28.7068, abs=1e-4)


@pytest.mark.parametrize(
    ("status", "body", "headers", "expected", "detail"),
    [
        (401, {"code": "UNAUTHORIZED", "msg": "Not logged in"}, {}, AuthenticationError, None),
        (401, {"code": "INVALID_API_KEY", "msg": "Invalid API key"}, {}, AuthenticationError, None),
        (401, {"code": "USER_DEACTIVATED", "msg": "x"}, {}, AuthenticationError, None),
        (403, {"code": "USER_DEACTIVATED", "msg": "x"}, {}, AuthenticationError, None),
        (401, {"code": "REALM_DEACTIVATED", "msg": "x"}, {}, AuthenticationError, None),
        (429, {"code": "RATE_LIMIT_HIT", "msg": "x", "retry-after": 3}, {}, RateLimitedError, 3.0),
        (
            429,
            {"code": "RATE_LIMIT_HIT", "msg": "x", "retry-after": 3},
            {"Retry-After": "7.5"},
            RateLimitedError,
            7.5,
        ),
        (
            429,
            {"code": "RATE_LIMIT_HIT", "msg": "x", "retry-after": "soon"},
            {},
            RateLimitedError,
            None,
        ),
        (
            400,
            {"code": "BAD_REQUEST", "msg": "No such user"},
            {},
            InvalidRequestError,
            "BAD_REQUEST",
        ),
        (
            400,
            {"code": "REQUEST_VARIABLE_MISSING", "msg": "Missing 'x' argument", "var_name": "x"},
            {},
            InvalidRequestError,
            "REQUEST_VARIABLE_MISSING",
        ),
        (
            404,
            {"code": "NONEXISTENT_SUBDOMAIN", "msg": "Invalid subdomain"},
            {},
            InvalidRequestError,
            "NONEXISTENT_SUBDOMAIN",
        ),
        (500, {"code": "BAD_REQUEST", "msg": "Internal server error"}, {}, None, None),
        (404, "<html>Page not found</html>", {}, None, None),
        (429, {"result": "error", "msg": "API usage exceeded rate limit"}, {}, None, None),
    ],
)
def test_map_zulip_error(
    status: int,
    body: Any,
    headers: dict[str, str],
    expected: type[PresenceBridgeError] | None,
    detail: float | str | None,
) -> None:
    """Errors are told apart by `code` only; 5xx and code-less answers go by status.

    `detail` is the expected `retry_after` of a rate limit, or `code` of a refusal.
    """
    response = ErrorResponse(
        status, body, headers, float(headers["Retry-After"]) if headers else None
    )
    error = map_zulip_error(response)
    if expected is None:
        assert error is None
        return
    assert type(error) is expected
    if isinstance(error, RateLimitedError):
        assert error.retry_after == detail
    if isinstance(error, InvalidRequestError):
        assert error.code == detail
        assert error.provider_message == body["msg"]
