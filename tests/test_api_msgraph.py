"""The Microsoft Graph client against the fake Graph, both ways in, and Graph's error mapping."""

import asyncio
from collections.abc import AsyncGenerator, Callable
import json
import time
from typing import Any

import aiohttp
from aiohttp import web
from homeassistant.exceptions import (
    OAuth2TokenRequestConnectionError,
    OAuth2TokenRequestReauthError,
    OAuth2TokenRequestTransientError,
)
import pytest
from yarl import URL

from custom_components.presence_bridge.api import (
    OWN_USER,
    AuthenticationError,
    GraphClient,
    InvalidRequestError,
    InvalidStatusTextError,
    InvalidTenantError,
    InvalidUrlError,
    NotFoundError,
    PermissionMissingError,
    Presence,
    PresenceBridgeError,
    ProviderUnavailableError,
    RateLimitedError,
    RemoteUser,
    StatusMessage,
    UnexpectedResponseError,
)
from custom_components.presence_bridge.api.client import Capabilities
from custom_components.presence_bridge.api.errors import MESSAGE_LIMIT
from custom_components.presence_bridge.api.http import ErrorResponse
from custom_components.presence_bridge.api.msgraph import (
    DELEGATED_SCOPES,
    OPTIONS,
    PREFERRED,
    READ_REUSE,
    emoji_character,
    granted_roles,
    html_to_text,
    iso_minutes,
    map_graph_error,
    map_token_error,
    option_of,
)

from .conftest import START, Clock
from .fake_msgraph import FakeGraph, aad_error, odata_error
from .fake_server import RecordedRequest, raw_response
from .test_api_faults import NOT_A_SUCCESS, ODD_BODIES, PORTAL_PAGE

ALICE_UPN = "alice@contoso.com"
BOB_UPN = "bob@contoso.com"
FORM = "application/x-www-form-urlencoded"
UNKNOWN = "0f0f0f0f-0000-4000-8000-000000000000"
ACTIONS_OK = (200, 204)


@pytest.fixture
async def fake(socket_enabled: None, clock: Clock) -> AsyncGenerator[FakeGraph]:
    """A fake tenant with Alice and Bob, neither signed in to Teams."""
    fake = FakeGraph(clock=clock)
    fake.add_user("Alice Archer", ALICE_UPN, mail=ALICE_UPN)
    fake.add_user("Bob Baker", BOB_UPN, mail=BOB_UPN)
    async with fake:
        yield fake


def app_client(
    session: aiohttp.ClientSession, fake: FakeGraph, clock: Clock, **kwargs: Any
) -> GraphClient:
    """An app-only client for the fake tenant; keyword arguments replace the defaults."""
    data = fake.entry_data()
    del data["provider"]
    return GraphClient(session, **(data | {"clock": clock} | kwargs))


@pytest.fixture
def client(session: aiohttp.ClientSession, fake: FakeGraph, clock: Clock) -> GraphClient:
    """An app-only client."""
    return app_client(session, fake, clock)


def uid(fake: FakeGraph, upn: str = ALICE_UPN) -> str:
    """A user's object id."""
    user = fake.find_user(upn)
    assert user is not None
    return user.user_id


def calls(fake: FakeGraph) -> list[tuple[str, str, Any]]:
    """Method, path (with `$select`, if any) and body of each API request."""
    return [(r.method, _path(r), r.body) for r in fake.api_requests()]


def _path(request: RecordedRequest) -> str:
    select = request.query.get("$select")
    return f"{request.path}?$select={select}" if select else request.path


class SignedIn:
    """What Home Assistant's OAuth2 session does for a delegated client: it redeems the
    code, keeps the tokens, and refreshes them (rotating the refresh token) when they expire
    or, told through `rejected`, when the API refused one."""

    def __init__(self, session: aiohttp.ClientSession, fake: FakeGraph, clock: Clock) -> None:
        """Nothing is sent until `sign_in`."""
        self.session, self.fake, self.clock = session, fake, clock
        self.access_token = ""
        self.refresh_token = ""
        self.expires_at = 0.0
        self.calls = 0
        self.refreshes = 0

    async def sign_in(self, code: str) -> None:
        """Redeem an authorization code."""
        await self._grant({"grant_type": "authorization_code", "code": code})

    async def get_token(self) -> str:
        """A valid access token, refreshed first when it is (nearly) expired."""
        self.calls += 1
        if self.expires_at - 20 <= self.clock():
            self.refreshes += 1
            await self._grant({"grant_type": "refresh_token", "refresh_token": self.refresh_token})
        return self.access_token

    def rejected(self, value: str) -> None:
        """Refresh on the next `get_token`."""
        if value == self.access_token:
            self.expires_at = 0.0

    async def _grant(self, form: dict[str, str]) -> None:
        credentials = {"client_id": self.fake.client_id, "client_secret": self.fake.client_secret}
        async with self.session.post(
            f"{self.fake.url}/organizations/oauth2/v2.0/token", data=form | credentials
        ) as response:
            response.raise_for_status()
            body = await response.json()
        self.access_token = body["access_token"]
        self.refresh_token = body.get("refresh_token", "")
        self.expires_at = self.clock() + body["expires_in"]


async def delegated_client(
    session: aiohttp.ClientSession,
    fake: FakeGraph,
    clock: Clock,
    *,
    scopes: Any = DELEGATED_SCOPES,
    listen: bool = False,
) -> tuple[GraphClient, SignedIn]:
    """A delegated client for Alice, signed in with `scopes`."""
    signed_in = SignedIn(session, fake, clock)
    await signed_in.sign_in(fake.authorize_code(uid(fake), scopes))
    client = GraphClient(
        session,
        get_token=signed_in.get_token,
        session_id=fake.client_id,
        on_token_rejected=signed_in.rejected if listen else None,
        api_url=fake.api_url,
        clock=clock,
    )
    return client, signed_in


# The client's shape.


async def test_constants_and_capabilities(session: aiohttp.ClientSession) -> None:
    """What Home Assistant builds its entities and budgets from."""

    async def token() -> str:
        return "t"

    client = GraphClient(session, tenant_id="contoso.com", client_id="app", client_secret="s")
    assert client.manufacturer == "Microsoft"
    assert client.presence_options == (
        "available",
        "busy",
        "do_not_disturb",
        "be_right_back",
        "away",
        "appear_offline",
        "automatic",
    )
    assert [client.takes_duration(option) for option in OPTIONS] == [True] * 6 + [False]
    assert (client.duration_option, client.duration_range) == (None, (5, 240))
    assert (client.status_max_length, client.can_read_status) == (280, True)
    assert GraphClient.RATE_LIMIT == (1500, 30.0)
    assert GraphClient.SESSION_LIFETIME == 3600
    assert client.session_id == "app"
    assert client.capabilities == Capabilities(
        presence=True,
        default_duration=False,
        status_message=True,
        add_people=True,
        presence_session=True,
    )
    assert client.http.base_url == "https://graph.microsoft.com/v1.0"
    assert client._login.base_url == "https://login.microsoftonline.com"
    assert client._resource == "https://graph.microsoft.com"
    us_gov = GraphClient(
        session,
        tenant_id="t",
        client_id="app",
        client_secret="s",
        api_url="https://graph.microsoft.us/v1.0/",
        login_url="https://login.microsoftonline.us",
    )
    assert us_gov._resource == "https://graph.microsoft.us"
    delegated = GraphClient(session, get_token=token, session_id="app")
    assert (delegated.can_add_people, delegated.scope) == (False, "Presence.ReadWrite")
    assert delegated.capabilities.add_people is False
    assert delegated.accepted_presence("appear_offline") == Presence(
        "appear_offline", "Offline", activity="OffWork", availability="Offline"
    )


async def test_constructor_refusals(session: aiohttp.ClientSession) -> None:
    """One way in, with all it needs; no URL with credentials in it."""

    async def token() -> str:
        return "t"

    for kwargs in (
        {},
        {"tenant_id": "t", "client_id": "c"},
        {"get_token": token},
        {"get_token": token, "tenant_id": "t", "session_id": "c"},
        {"get_token": token, "client_secret": "s", "client_id": "c"},
    ):
        with pytest.raises(ValueError, match=r"get_token|tenant_id|session_id"):
            GraphClient(session, **kwargs)
    assert GraphClient(session, get_token=token, client_id="c").session_id == "c"
    app = {"tenant_id": "t", "client_id": "c", "client_secret": "s"}
    for field in ("api_url", "login_url"):
        with pytest.raises(InvalidUrlError, match="user name or password") as refused:
            GraphClient(session, **app, **{field: "https://user:secret@graph.example"})
        assert "secret" not in str(refused.value)


# App-only tokens.


async def test_client_credentials_token(client: GraphClient, fake: FakeGraph, clock: Clock) -> None:
    """A form POST to the tenant's v2.0 token endpoint for the API host's `.default`; the
    token serves every call and is replaced after 90 % of its 3599 s."""
    await client.check_credentials()
    await client.set_presence(uid(fake), "busy")
    assert fake.token_requests() == [
        {
            "client_id": fake.client_id,
            "client_secret": fake.client_secret,
            "scope": f"{fake.url}/.default",
            "grant_type": "client_credentials",
        }
    ]
    token = fake.requests[0]
    assert token.path == f"/{fake.tenant_id}/oauth2/v2.0/token"
    assert token.headers["Content-Type"] == FORM
    assert "Authorization" not in token.headers
    write = fake.api_requests()[0]
    assert write.headers["Authorization"].startswith("Bearer eyJ")
    assert write.headers["Content-Type"] == "application/json"
    clock.now = START + 3599 * 0.9 - 1
    await client.get_presences([uid(fake)])
    assert len(fake.token_requests()) == 1
    clock.now = START + 3599 * 0.9 + 1
    await client.get_presences([uid(fake)])
    assert len(fake.token_requests()) == 2


async def test_tenant_by_domain(
    session: aiohttp.ClientSession, fake: FakeGraph, clock: Clock
) -> None:
    """A tenant's domain names it as well as its id."""
    await app_client(session, fake, clock, tenant_id=fake.tenant_domain).check_credentials()
    assert fake.requests[-1].path == f"/{fake.tenant_domain}/oauth2/v2.0/token"


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"client_secret": "wrong"}, AuthenticationError, "AADSTS7000215: Invalid client secret"),
        (
            {"client_id": UNKNOWN},
            AuthenticationError,
            f"AADSTS700016: Application with identifier '{UNKNOWN}'",
        ),
        (
            {"tenant_id": "fabrikam.example"},
            InvalidTenantError,
            "AADSTS90002: Tenant 'fabrikam.example' not found",
        ),
    ],
)
async def test_token_refusals(
    session: aiohttp.ClientSession,
    fake: FakeGraph,
    clock: Clock,
    *,
    kwargs: dict[str, str],
    error: type,
    match: str,
) -> None:
    """The identity platform's AADSTS errors: a wrong secret or app fails authentication, an
    unknown tenant is its own error (an authentication error too); the text is one line."""
    with pytest.raises(error, match=match) as refused:
        await app_client(session, fake, clock, **kwargs).check_credentials()
    assert type(refused.value) is error
    assert "Trace ID" not in str(refused.value)
    assert fake.api_requests() == []


@pytest.mark.parametrize("tenant", ["common", "Organizations", "consumers", " "])
async def test_tenant_must_be_named(
    session: aiohttp.ClientSession, fake: FakeGraph, clock: Clock, tenant: str
) -> None:
    """Client credentials need a tenant: `common` and the like are refused unsent."""
    with pytest.raises(InvalidTenantError):
        await app_client(session, fake, clock, tenant_id=tenant).check_credentials()
    assert fake.requests == []


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (lambda: raw_response(503, headers={"Retry-After": "7"}), ProviderUnavailableError),
        (lambda: raw_response(429, headers={"Retry-After": "7"}), RateLimitedError),
        (lambda: raw_response(404, PORTAL_PAGE, content_type="text/html"), UnexpectedResponseError),
        (lambda: raw_response(400, b'{"message": "no"}'), UnexpectedResponseError),
        (lambda: raw_response(200, PORTAL_PAGE, content_type="text/html"), UnexpectedResponseError),
        (lambda: raw_response(200, b'{"token_type": "Bearer"}'), UnexpectedResponseError),
    ],
)
async def test_token_endpoint_failures(
    client: GraphClient, fake: FakeGraph, answer: Callable[[], web.Response], error: type
) -> None:
    """A busy sign-in endpoint is unavailable; anything that is not its answer (a wrong login
    URL, a page) is a communication error; no token, no API call."""
    fake.fail_at[fake.token_path] = [answer()]
    with pytest.raises(error) as failed:
        await client.check_credentials()
    assert type(failed.value) is error
    if error in (RateLimitedError, ProviderUnavailableError):
        assert failed.value.retry_after == 7.0
    assert fake.api_requests() == []


async def test_401_fetches_a_new_token_once(client: GraphClient, fake: FakeGraph) -> None:
    """A revoked token is replaced once and the request resent; a second 401 is final."""
    await client.get_presences([uid(fake)])
    fake.expire_tokens()
    assert (await client.get_presences([uid(fake)]))[uid(fake)].raw == "Offline"
    assert len(fake.token_requests()) == 2
    bearers = [r.headers["Authorization"] for r in fake.api_requests()]
    assert len(bearers) == 3 and bearers[0] == bearers[1] != bearers[2]
    fake.fail_next += [
        odata_error(
            401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid."
        ),
        odata_error(
            401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid."
        ),
    ]
    with pytest.raises(AuthenticationError, match="Access token has expired"):
        await client.set_presence(uid(fake), "away")
    assert len(fake.token_requests()) == 3
    assert len(fake.api_requests()) == 5
    assert fake.fail_next == []


# Presence.


@pytest.mark.parametrize("option", list(PREFERRED))
@pytest.mark.parametrize("duration", [None, 45])
async def test_every_option_sets_the_preferred_presence(
    client: GraphClient, fake: FakeGraph, option: str, duration: int | None
) -> None:
    """Each option is its availability/activity pair (§4.5); a duration is sent as ISO 8601,
    none leaves Graph's default (the field is left out)."""
    await client.set_presence(uid(fake), option, duration)
    availability, activity = PREFERRED[option]
    body: dict[str, str] = {"availability": availability, "activity": activity}
    if duration is not None:
        body["expirationDuration"] = "PT45M"
    assert calls(fake) == [
        ("POST", f"/v1.0/users/{uid(fake)}/presence/setUserPreferredPresence", body)
    ]
    preferred = fake.users[uid(fake)].preferred
    assert preferred is not None
    assert (preferred.availability, preferred.activity) == (availability, activity)
    default = 86400 if option in ("busy", "do_not_disturb") else 7 * 86400
    assert preferred.expires_at == START + (45 * 60 if duration else default)


EXPECTED_PAIRS = {
    "available": ("Available", "Available"),
    "busy": ("Busy", "Busy"),
    "do_not_disturb": ("DoNotDisturb", "DoNotDisturb"),
    "be_right_back": ("BeRightBack", "BeRightBack"),
    "away": ("Away", "Away"),
    "appear_offline": ("Offline", "OffWork"),
}


def test_option_pairs_are_the_documented_ones() -> None:
    """The table written out, so that an edit of PREFERRED fails here."""
    assert PREFERRED == EXPECTED_PAIRS


@pytest.mark.parametrize(
    ("minutes", "text"),
    [(5, "PT5M"), (45, "PT45M"), (60, "PT1H"), (90, "PT1H30M"), (125, "PT2H5M"), (240, "PT4H")],
)
async def test_durations(client: GraphClient, fake: FakeGraph, minutes: int, text: str) -> None:
    """Minutes as Graph's docs write durations; the fake reads them back to the second."""
    assert iso_minutes(minutes) == text
    await client.set_presence(uid(fake), "do_not_disturb", minutes)
    assert fake.api_requests()[-1].body["expirationDuration"] == text
    preferred = fake.users[uid(fake)].preferred
    assert preferred is not None and preferred.expires_at == START + minutes * 60


async def test_automatic_clears_the_preferred_presence(
    client: GraphClient, fake: FakeGraph
) -> None:
    """`automatic` is clearUserPreferredPresence with `{}`; it takes no duration."""
    await client.set_presence(uid(fake), "busy")
    await client.set_presence(uid(fake), "automatic")
    assert calls(fake)[-1] == (
        "POST",
        f"/v1.0/users/{uid(fake)}/presence/clearUserPreferredPresence",
        {},
    )
    assert fake.users[uid(fake)].preferred is None
    assert client.accepted_presence("automatic") == Presence("automatic", "automatic")


@pytest.mark.parametrize(
    ("option", "duration", "match"),
    [
        ("automatic", 30, "takes no duration"),
        ("busy", 4, "outside 5-240"),
        ("busy", 241, "outside 5-240"),
        ("in_a_meeting", None, "Unknown presence"),
        ("Busy", None, "Unknown presence"),
    ],
)
async def test_refused_unsent(
    client: GraphClient, fake: FakeGraph, option: str, duration: int | None, match: str
) -> None:
    """What Graph would refuse is refused before any request."""
    with pytest.raises(InvalidRequestError, match=match):
        await client.set_presence(uid(fake), option, duration)
    assert fake.requests == []


async def test_session_keep_alive_and_end(
    client: GraphClient, fake: FakeGraph, clock: Clock
) -> None:
    """A preferred presence shows only while a session exists: ours is setPresence with the
    app's id for an hour, renewed by the caller; its end is clearPresence, 404 and all."""
    alice = uid(fake)
    await client.set_presence(alice, "busy")
    assert (await client.get_presences([alice]))[alice] == Presence(
        None, "Offline", activity="Offline", availability="Offline"
    )
    await client.keep_session(alice)
    assert calls(fake)[-1] == (
        "POST",
        f"/v1.0/users/{alice}/presence/setPresence",
        {
            "sessionId": fake.client_id,
            "availability": "Available",
            "activity": "Available",
            "expirationDuration": "PT1H",
        },
    )
    assert (await client.get_presences([alice]))[alice] == Presence(
        "busy", "Busy", activity="Busy", availability="Busy"
    )
    clock.now = START + GraphClient.SESSION_LIFETIME - 1
    assert (await client.get_presences([alice]))[alice].option == "busy"
    clock.now = START + GraphClient.SESSION_LIFETIME
    assert (await client.get_presences([alice]))[alice].raw == "Offline"
    await client.keep_session(alice)
    await client.set_presence(alice, "automatic")
    assert (await client.get_presences([alice]))[alice].option == "available"
    await client.end_session(alice)
    assert calls(fake)[-1] == (
        "POST",
        f"/v1.0/users/{alice}/presence/clearPresence",
        {"sessionId": fake.client_id},
    )
    assert fake.users[alice].sessions == {}
    sent = len(fake.api_requests())
    await client.end_session(alice)  # no session any more: Graph's 404 is fine
    assert len(fake.api_requests()) == sent + 1
    assert fake.api_requests()[-1].path.endswith("/clearPresence")


async def test_aggregate_with_a_teams_client(client: GraphClient, fake: FakeGraph) -> None:
    """Sessions aggregate DoNotDisturb > Busy > Available > Away; a preferred presence
    overrides them; the activity is read too."""
    alice = uid(fake)
    fake.add_session(alice, "Away", "Away")
    await client.keep_session(alice)
    assert (await client.get_presences([alice]))[alice] == Presence(
        "available", "Available", activity="Available", availability="Available"
    )
    fake.add_session(alice, "Busy", "InACall")
    assert (await client.get_presences([alice]))[alice] == Presence(
        "busy", "Busy", activity="InACall", availability="Busy"
    )
    fake.add_session(alice, "DoNotDisturb", "Presenting", session_id="other-app")
    assert (await client.get_presences([alice]))[alice].option == "do_not_disturb"
    await client.set_presence(alice, "appear_offline")
    assert (await client.get_presences([alice]))[alice] == Presence(
        "appear_offline", "Offline", activity="OffWork", availability="Offline"
    )
    await client.set_presence(alice, "be_right_back", 5)
    assert (await client.get_presences([alice]))[alice].option == "be_right_back"


@pytest.mark.parametrize(
    ("availability", "activity", "option"),
    [
        ("Available", "Available", "available"),
        ("AvailableIdle", "Inactive", "away"),
        ("Away", "Away", "away"),
        ("BeRightBack", "BeRightBack", "be_right_back"),
        ("Busy", "InAMeeting", "busy"),
        ("BusyIdle", "Inactive", "busy"),
        ("DoNotDisturb", "Presenting", "do_not_disturb"),
        ("Offline", "OffWork", "appear_offline"),
        ("Offline", "Offline", None),
        ("PresenceUnknown", "PresenceUnknown", None),
        ("SomethingNew", "Whatever", None),
        ("Available", None, "available"),
    ],
)
async def test_read_mapping(
    client: GraphClient,
    fake: FakeGraph,
    availability: str,
    activity: str | None,
    option: str | None,
) -> None:
    """Every availability maps to an option or none; unknown values never raise."""
    assert option_of(availability, activity) == option
    item = {"id": uid(fake), "availability": availability, "activity": activity}
    fake.fail_next.append(web.json_response({"value": [item]}))
    presence = (await client.get_presences([uid(fake)]))[uid(fake)]
    assert presence == Presence(option, availability, activity=activity, availability=availability)


# Reading many people.


async def test_a_poll_of_700_people_is_two_requests(
    client: GraphClient, fake: FakeGraph, clock: Clock
) -> None:
    """Presences and statuses of 700 people: two getPresencesByUserId of at most 650 ids,
    shared by both reads of the poll; people Graph does not return are left out."""
    people = [fake.add_user(f"Person {n}", f"p{n}@contoso.com") for n in range(698)]
    fake.add_session(people[0], "Busy", "InACall")
    await client.set_status(people[0], StatusMessage("On a call"))
    asked = [uid(fake), uid(fake, BOB_UPN).upper(), *people, UNKNOWN]
    fake.requests.clear()
    presences = await client.get_presences(asked)
    statuses = await client.get_statuses(asked)
    posts = fake.api_requests()
    assert [(r.method, r.path) for r in posts] == [
        ("POST", "/v1.0/communications/getPresencesByUserId")
    ] * 2
    assert [len(r.body["ids"]) for r in posts] == [650, 51]
    sent = [user_id for r in posts for user_id in r.body["ids"]]
    assert sent == [user_id.lower() for user_id in asked]
    assert set(presences) == set(statuses) == set(asked) - {UNKNOWN}
    assert presences[people[0]] == Presence("busy", "Busy", activity="InACall", availability="Busy")
    assert presences[people[1]].raw == "Offline"
    assert statuses[people[0]] == StatusMessage("On a call")
    assert statuses[people[1]] == StatusMessage("")
    # The next poll reads anew.
    clock.now += 30
    await client.get_presences(asked)
    await client.get_statuses(asked)
    assert len(fake.api_requests()) == 4


async def test_a_read_is_reused_once_and_briefly(
    client: GraphClient, fake: FakeGraph, clock: Clock
) -> None:
    """Only the other read of the same poll uses a read: not the same method again, not
    after READ_REUSE seconds, not for other people, not after a write."""
    alice, bob = uid(fake), uid(fake, BOB_UPN)

    async def reads(*steps: Callable[[], Any]) -> int:
        before = len(fake.api_requests())
        for step in steps:
            await step()
        return len(fake.api_requests()) - before

    assert (
        await reads(lambda: client.get_statuses([alice]), lambda: client.get_presences([alice]))
        == 1
    )
    assert (
        await reads(lambda: client.get_presences([alice]), lambda: client.get_presences([alice]))
        == 2
    )
    await client.get_presences([alice])
    clock.now += READ_REUSE
    assert await reads(lambda: client.get_statuses([alice])) == 1
    clock.now += READ_REUSE
    assert (
        await reads(
            lambda: client.get_presences([alice]), lambda: client.get_statuses([alice, bob])
        )
        == 2
    )
    clock.now += READ_REUSE
    assert await reads(lambda: client.get_presences([alice])) == 1
    await client.set_status(alice, StatusMessage("Back soon"))
    assert await reads(lambda: client.get_statuses([alice])) == 1
    assert (await client.get_statuses([alice]))[alice].text == "Back soon"
    assert await client.get_presences([]) == {}
    assert await client.get_statuses([]) == {}


# Status message.


@pytest.mark.parametrize(
    ("emoji", "content"),
    [
        ("palm_tree", "🌴 On holiday"),
        (":palm_tree:", "🌴 On holiday"),
        ("🌴", "🌴 On holiday"),
        ("airplane", "✈\ufe0f On holiday"),
        ("👍🏽", "👍🏽 On holiday"),
        (
            "🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f",
            "🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f On holiday",
        ),
        ("👩\u200d💻", "👩\u200d💻 On holiday"),
        ("1\ufe0f\u20e3", "1\ufe0f\u20e3 On holiday"),
        (None, "On holiday"),
        ("", "On holiday"),
    ],
)
async def test_status_with_emoji(
    client: GraphClient, fake: FakeGraph, emoji: str | None, content: str
) -> None:
    """An emoji (a name of the table, or the character) goes in front of the text, with one
    space; it is one text/plain status message and reads back as sent."""
    status = await client.compose_status("On holiday", emoji)
    assert status == StatusMessage(text=content)
    await client.set_status(uid(fake), status)
    assert calls(fake) == [
        (
            "POST",
            f"/v1.0/users/{uid(fake)}/presence/setStatusMessage",
            {"statusMessage": {"message": {"content": content, "contentType": "text"}}},
        )
    ]
    assert (await client.get_statuses([uid(fake)]))[uid(fake)] == StatusMessage(content)


@pytest.mark.parametrize("emoji", ["not_an_emoji", "hello", "🌴x", "x", "1", "\u200d"])
async def test_unknown_emoji_is_refused_unsent(
    client: GraphClient, fake: FakeGraph, emoji: str
) -> None:
    """A name the table does not know, or text that is not an emoji, is refused."""
    with pytest.raises(InvalidRequestError, match="Unknown emoji"):
        await client.compose_status("Out", emoji)
    assert fake.requests == []


async def test_emoji_only_and_clearing(client: GraphClient, fake: FakeGraph) -> None:
    """An emoji without text is the emoji alone; an empty text clears the message."""
    alice = uid(fake)
    await client.set_status(alice, await client.compose_status("", "coffee"))
    assert fake.users[alice].status is not None
    assert fake.users[alice].status.content == "☕\ufe0f"
    await client.set_status(alice, await client.compose_status("", None))
    assert fake.api_requests()[-1].body == {
        "statusMessage": {"message": {"content": "", "contentType": "text"}}
    }
    assert fake.users[alice].status is None
    assert (await client.get_statuses([alice]))[alice] == StatusMessage("")
    sent = len(fake.api_requests())
    await client.set_status(alice, StatusMessage(text=None))
    assert len(fake.api_requests()) == sent


async def test_status_length_counts_the_emoji(client: GraphClient, fake: FakeGraph) -> None:
    """280 code points at most, the emoji and its space included; longer is refused unsent."""
    status = await client.compose_status("x" * 278, "palm_tree")
    assert len(status.text or "") == 280
    await client.set_status(uid(fake), status)
    assert fake.users[uid(fake)].status is not None
    for text, emoji in (("x" * 279, "palm_tree"), ("x" * 281, None), ("x" * 278, "👍🏽")):
        with pytest.raises(InvalidStatusTextError) as refused:
            await client.compose_status(text, emoji)
        assert refused.value.reason == InvalidStatusTextError.TOO_LONG
    with pytest.raises(InvalidStatusTextError) as refused:
        await client.set_status(uid(fake), StatusMessage("x" * 281))
    assert refused.value.reason == InvalidStatusTextError.TOO_LONG
    with pytest.raises(InvalidStatusTextError):
        await client.compose_status("line\nbreak", "palm_tree")
    assert len(fake.api_requests()) == 1


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p>Out of office</p>", "Out of office"),
        ("<p>Back&nbsp;on <b>Monday</b> &amp; Tuesday</p>", "Back on Monday & Tuesday"),
        ("<div>Line one</div><div>Line two<br/>three</div>", "Line one Line two three"),
        ("  <p>\n spaced \t out </p> ", "spaced out"),
        ("<style>p {color: red}</style>Plain", "Plain"),
        ("a &lt;b&gt; c", "a <b> c"),
        ("", ""),
    ],
)
async def test_html_status_is_reduced_to_text(
    client: GraphClient, fake: FakeGraph, html: str, text: str
) -> None:
    """An HTML status message (Teams sets some) reads back as its text."""
    assert html_to_text(html) == text
    await client.http.request(
        "POST",
        f"/users/{uid(fake)}/presence/setStatusMessage",
        json_body={"statusMessage": {"message": {"content": html, "contentType": "html"}}},
    )
    assert (await client.get_statuses([uid(fake)]))[uid(fake)] == StatusMessage(text)


async def test_plain_text_status_is_kept_as_it_is(client: GraphClient, fake: FakeGraph) -> None:
    """A text/plain message is not taken for HTML."""
    await client.set_status(uid(fake), StatusMessage("a <b> &amp;  c"))
    assert (await client.get_statuses([uid(fake)]))[uid(fake)] == StatusMessage("a <b> &amp;  c")


# Delegated.


async def test_delegated_acts_as_me(
    session: aiohttp.ClientSession, fake: FakeGraph, clock: Clock
) -> None:
    """A signed-in account: /me paths, its own user, the app's id as session id, the
    token from the getter for each request."""
    client, signed_in = await delegated_client(session, fake, clock)
    alice = uid(fake)
    await client.check_credentials()
    me = await client.get_user(OWN_USER)
    assert me == RemoteUser(alice, "Alice Archer", ALICE_UPN)
    assert await client.get_user(f" {alice.upper()} ") == me
    assert await client.get_user(ALICE_UPN.upper()) == me
    with pytest.raises(InvalidRequestError, match="itself only"):
        await client.get_user(uid(fake, BOB_UPN))
    await client.set_presence(alice, "do_not_disturb", 90)
    await client.keep_session(alice)
    await client.set_status(alice, await client.compose_status("Focus", "headphones"))
    presences = await client.get_presences([alice])
    statuses = await client.get_statuses([alice])
    await client.set_presence(alice, "automatic")
    await client.end_session(alice)
    await client.end_session(alice)
    select = "?$select=id,displayName,mail"
    assert calls(fake) == [
        ("GET", f"/v1.0/me{select}", None),
        ("GET", f"/v1.0/me{select}", None),
        ("GET", f"/v1.0/me{select}", None),
        ("GET", f"/v1.0/me{select}", None),
        ("GET", f"/v1.0/me{select}", None),
        (
            "POST",
            "/v1.0/me/presence/setUserPreferredPresence",
            {
                "availability": "DoNotDisturb",
                "activity": "DoNotDisturb",
                "expirationDuration": "PT1H30M",
            },
        ),
        (
            "POST",
            "/v1.0/me/presence/setPresence",
            {
                "sessionId": fake.client_id,
                "availability": "Available",
                "activity": "Available",
                "expirationDuration": "PT1H",
            },
        ),
        (
            "POST",
            "/v1.0/me/presence/setStatusMessage",
            {"statusMessage": {"message": {"content": "🎧 Focus", "contentType": "text"}}},
        ),
        ("GET", "/v1.0/me/presence", None),
        ("POST", "/v1.0/me/presence/clearUserPreferredPresence", {}),
        ("POST", "/v1.0/me/presence/clearPresence", {"sessionId": fake.client_id}),
        ("POST", "/v1.0/me/presence/clearPresence", {"sessionId": fake.client_id}),
    ]
    assert presences == {
        alice: Presence(
            "do_not_disturb", "DoNotDisturb", activity="DoNotDisturb", availability="DoNotDisturb"
        )
    }
    assert statuses == {alice: StatusMessage("🎧 Focus")}
    assert signed_in.calls == len(fake.api_requests())
    assert {r.headers["Authorization"] for r in fake.api_requests()} == {
        f"Bearer {signed_in.access_token}"
    }


async def test_delegated_token_refresh_rotates(
    session: aiohttp.ClientSession, fake: FakeGraph, clock: Clock
) -> None:
    """The getter refreshes an expired token with a rotating refresh token; a used refresh
    token is refused (invalid_grant), which ends as an authentication error."""
    client, signed_in = await delegated_client(session, fake, clock)
    first_refresh = signed_in.refresh_token
    clock.now += fake.token_lifetime
    await client.get_presences([uid(fake)])
    assert signed_in.refreshes == 1
    assert signed_in.refresh_token not in ("", first_refresh)
    assert first_refresh not in fake.refresh_tokens
    refreshed = [body for body in fake.token_requests() if body["grant_type"] == "refresh_token"]
    assert refreshed == [
        {
            "grant_type": "refresh_token",
            "refresh_token": first_refresh,
            "client_id": fake.client_id,
            "client_secret": fake.client_secret,
        }
    ]
    fake.revoke_refresh_tokens()
    clock.now += fake.token_lifetime
    with pytest.raises(AuthenticationError, match=r"refused \(HTTP 400\)"):
        await client.set_presence(uid(fake), "busy")
    assert fake.api_requests("POST") == []


async def test_delegated_401(session: aiohttp.ClientSession, fake: FakeGraph, clock: Clock) -> None:
    """A 401 asks the getter once more: the same token again means the 401 stands, without
    sending it twice; a getter that listens (`on_token_rejected`) refreshes, and the request
    is sent once more with the new token."""
    deaf, _ = await delegated_client(session, fake, clock)
    fake.expire_tokens()
    with pytest.raises(AuthenticationError, match="IDX14100"):
        await deaf.set_presence(uid(fake), "busy")
    assert len(fake.api_requests()) == 1
    listening, signed_in = await delegated_client(session, fake, clock, listen=True)
    fake.expire_tokens()
    await listening.set_presence(uid(fake), "busy")
    assert signed_in.refreshes == 1
    assert len(fake.api_requests()) == 3
    assert fake.api_requests()[-1].headers["Authorization"] == f"Bearer {signed_in.access_token}"


@pytest.mark.parametrize(
    ("failure", "error"),
    [
        (aiohttp.ClientResponseError(None, (), status=400), AuthenticationError),  # type: ignore[arg-type]
        (aiohttp.ClientResponseError(None, (), status=503), ProviderUnavailableError),  # type: ignore[arg-type]
        (aiohttp.ClientResponseError(None, (), status=403), AuthenticationError),  # type: ignore[arg-type]
        (aiohttp.ClientResponseError(None, (), status=429), ProviderUnavailableError),  # type: ignore[arg-type]
        # What Home Assistant's OAuth2 session raises, let through by the glue's getter.
        (
            OAuth2TokenRequestReauthError(request_info=None, history=(), status=400, domain="x"),  # type: ignore[arg-type]
            AuthenticationError,
        ),
        (
            OAuth2TokenRequestTransientError(request_info=None, history=(), status=503, domain="x"),  # type: ignore[arg-type]
            ProviderUnavailableError,
        ),
        (OAuth2TokenRequestConnectionError(domain="x"), ProviderUnavailableError),
        (aiohttp.ClientConnectionError(), ProviderUnavailableError),
        (TimeoutError(), ProviderUnavailableError),
        (AuthenticationError("reauth"), AuthenticationError),
        (None, AuthenticationError),
    ],
)
async def test_delegated_getter_failures(
    session: aiohttp.ClientSession, fake: FakeGraph, failure: Exception | None, error: type
) -> None:
    """Whatever the getter raises (or an empty token) ends as one of our errors, unsent:
    a refused refresh asks for a new sign-in, a failed one is temporary."""

    async def get_token() -> str:
        if failure is not None:
            raise failure
        return ""

    client = GraphClient(session, get_token=get_token, session_id="app", api_url=fake.api_url)
    with pytest.raises(error):
        await client.get_presences(["x"])
    assert fake.requests == []


# Permissions, errors.


async def test_403_names_the_permission_of_each_way_in(
    session: aiohttp.ClientSession, fake: FakeGraph, clock: Clock
) -> None:
    """Without the write permission a write is a 403 naming it: Presence.ReadWrite.All for
    the app, Presence.ReadWrite for a signed-in account; reads still work."""
    fake.app_roles = frozenset({"Presence.Read.All"})
    client = app_client(session, fake, clock)
    assert uid(fake) in await client.get_presences([uid(fake)])
    with pytest.raises(PermissionMissingError, match=r"Presence\.ReadWrite\.All") as missing:
        await client.set_presence(uid(fake), "busy")
    assert missing.value.scope == "Presence.ReadWrite.All"
    delegated, _ = await delegated_client(
        session, fake, clock, scopes=("offline_access", "Presence.Read", "User.Read")
    )
    assert uid(fake) in await delegated.get_presences([uid(fake)])
    with pytest.raises(PermissionMissingError) as missing:
        await delegated.set_status(uid(fake), StatusMessage("x"))
    assert missing.value.scope == "Presence.ReadWrite"
    fake.app_roles = frozenset({"User.Read.All"})
    with pytest.raises(PermissionMissingError) as missing:
        await app_client(session, fake, clock).get_presences([uid(fake)])
    assert missing.value.scope == "Presence.ReadWrite.All"


async def test_404_for_an_unknown_person(client: GraphClient, fake: FakeGraph) -> None:
    """Writes and look-ups for someone Graph does not know are NotFoundError."""
    with pytest.raises(NotFoundError, match="not found"):
        await client.set_presence(UNKNOWN, "busy")
    with pytest.raises(NotFoundError):
        await client.keep_session(UNKNOWN)
    with pytest.raises(NotFoundError):
        await client.get_user(UNKNOWN)
    with pytest.raises(NotFoundError):
        await client.get_user("nobody@contoso.com")
    assert await client.get_presences([UNKNOWN]) == {}


async def test_400_keeps_graphs_message_and_code(client: GraphClient, fake: FakeGraph) -> None:
    """Graph's 400 is an InvalidRequestError with its message and code: the fake's own
    (an illegal pair, a bad duration) and a canned one."""
    path = f"/users/{uid(fake)}/presence/setPresence"
    session_body = {"sessionId": fake.client_id, "availability": "Busy", "activity": "Busy"}
    with pytest.raises(InvalidRequestError) as refused:
        await client.http.request("POST", path, json_body=session_body)
    assert (refused.value.provider_message, refused.value.code) == (
        "Invalid availability/activity pair Busy/Busy.",
        "BadRequest",
    )
    fake.fail_next.append(
        odata_error(400, "InvalidRequest", "Value cannot be null. Parameter name: activity")
    )
    with pytest.raises(InvalidRequestError) as refused:
        await client.set_presence(uid(fake), "away")
    assert str(refused.value) == (
        "Value cannot be null. Parameter name: activity (code InvalidRequest)"
    )


async def test_429_and_503_carry_retry_after(
    client: GraphClient, fake: FakeGraph, clock: Clock
) -> None:
    """Over the presence budget Graph answers 429 with Retry-After: an account-wide rate
    limit; a 503 with Retry-After is unavailability with that wait."""
    fake.budget = 3
    await client.get_presences([uid(fake)])
    clock.now += 10
    await client.get_presences([uid(fake)])
    await client.set_presence(uid(fake), "busy")
    with pytest.raises(RateLimitedError, match="Too many requests") as limited:
        await client.set_presence(uid(fake), "away")
    assert limited.value.retry_after == 20.0
    assert limited.value.account_wide is True
    assert fake.rejected_429 == 1
    clock.now += 20
    await client.set_presence(uid(fake), "away")
    fake.budget = None
    fake.fail_next.append(
        odata_error(503, "ServiceUnavailable", "Service unavailable", headers={"Retry-After": "12"})
    )
    with pytest.raises(ProviderUnavailableError, match="Service unavailable") as unavailable:
        await client.get_presences([uid(fake)])
    assert unavailable.value.retry_after == 12.0


async def test_default_budget_is_graphs(fake: FakeGraph) -> None:
    """The fake's budget is Graph's presence limit, as the client declares it."""
    assert (fake.budget, fake.budget_window) == GraphClient.RATE_LIMIT


# People.


async def test_get_user_by_guid_and_upn(client: GraphClient, fake: FakeGraph) -> None:
    """A GUID is read, then named; a UPN is looked up for its object id, then read."""
    alice = uid(fake)
    expected = RemoteUser(alice, "Alice Archer", ALICE_UPN)
    assert await client.get_user(f" {alice.upper()} ") == expected
    assert await client.get_user(ALICE_UPN) == expected
    select = "?$select=id,displayName,mail"
    assert [(method, path) for method, path, _ in calls(fake)] == [
        ("GET", f"/v1.0/users/{alice}/presence"),
        ("GET", f"/v1.0/users/{alice}{select}"),
        ("GET", f"/v1.0/users/{ALICE_UPN}{select}"),
        ("GET", f"/v1.0/users/{alice}/presence"),
    ]
    with pytest.raises(InvalidRequestError):
        await client.get_user("  ")


LOOKUP_FAILURES: dict[str, Callable[[], Any]] = {
    "403": lambda: None,  # the app lacks User.Read.All
    "404": lambda: odata_error(404, "Request_ResourceNotFound", "Resource does not exist."),
    "500": lambda: odata_error(500, "InternalServerError", "Something went wrong."),
    "503_page": lambda: raw_response(503, PORTAL_PAGE, content_type="text/html"),
    "malformed": lambda: raw_response(200, b'{"id": '),
    "wrong_shape": lambda: raw_response(200, b'{"id": 5, "displayName": []}'),
    "not_a_guid": lambda: raw_response(200, b'{"id": "alice", "displayName": "A"}'),
    "page_200": lambda: raw_response(200, PORTAL_PAGE, content_type="text/html"),
    "timeout": lambda: "timeout",
}


@pytest.mark.parametrize("failure", LOOKUP_FAILURES.values(), ids=LOOKUP_FAILURES.keys())
async def test_optional_lookups_never_block(
    session: aiohttp.ClientSession, fake: FakeGraph, clock: Clock, failure: Callable[[], Any]
) -> None:
    """A person whose presence can be read is returned whatever the directory look-up
    answers: by UPN, the object id comes from the presence read by UPN and the name is what
    was typed; by GUID, the GUID names them."""
    answer = failure()
    if answer is None:
        fake.app_roles = frozenset({"Presence.ReadWrite.All"})
    elif answer == "timeout":

        async def hang() -> web.Response:
            await asyncio.sleep(2)
            return web.json_response({})

        fake.user_lookup_failure = hang
    else:
        fake.user_lookup_failure = lambda: _answer(answer)
    client = app_client(session, fake, clock, timeout=0.3)
    alice = uid(fake)
    assert await client.get_user(ALICE_UPN) == RemoteUser(alice, ALICE_UPN)
    assert [path for _, path, _ in calls(fake)] == [
        f"/v1.0/users/{ALICE_UPN}?$select=id,displayName,mail",
        f"/v1.0/users/{ALICE_UPN}/presence",
    ]
    if answer is not None and answer != "timeout":
        fake.user_lookup_failure = lambda: _answer(failure())
    assert await client.get_user(alice) == RemoteUser(alice, alice)
    with pytest.raises(NotFoundError):
        await client.get_user("nobody@contoso.com")


async def _answer(response: web.Response) -> web.Response:
    return response


async def test_person_known_by_upn_only(client: GraphClient, fake: FakeGraph) -> None:
    """A presence answer without an id keeps the typed UPN as the id; such a person is read
    and written by UPN, alone, beside the batch of object ids."""
    fake.app_roles = frozenset({"Presence.ReadWrite.All"})
    fake.fail_at[f"/v1.0/users/{BOB_UPN}/presence"] = [
        web.json_response({"availability": "Away", "activity": "Away"})
    ]
    bob = await client.get_user(BOB_UPN)
    assert bob == RemoteUser(BOB_UPN, BOB_UPN)
    await client.set_presence(BOB_UPN, "busy")
    fake.add_session(uid(fake, BOB_UPN))
    fake.requests.clear()
    presences = await client.get_presences([uid(fake), BOB_UPN])
    assert presences == {
        uid(fake): Presence(None, "Offline", activity="Offline", availability="Offline"),
        BOB_UPN: Presence("busy", "Busy", activity="Busy", availability="Busy"),
    }
    assert sorted((r.method, r.path) for r in fake.api_requests()) == [
        ("GET", f"/v1.0/users/{BOB_UPN}/presence"),
        ("POST", "/v1.0/communications/getPresencesByUserId"),
    ]
    assert fake.api_requests("POST")[0].body == {"ids": [uid(fake)]}


# Answers that are no success, and odd errors.


@pytest.mark.parametrize("call", ["read", "write", "session", "status", "lookup"])
@pytest.mark.parametrize("answer", NOT_A_SUCCESS.values(), ids=NOT_A_SUCCESS.keys())
async def test_answers_that_are_no_success(
    client: GraphClient, fake: FakeGraph, call: str, answer: Callable[[], Any]
) -> None:
    """A page, another status, malformed or too large: a communication error after the one
    request, never a success."""
    await client.check_credentials()
    run = {
        "read": lambda: client.get_presences([uid(fake)]),
        "write": lambda: client.set_presence(uid(fake), "busy"),
        "session": lambda: client.keep_session(uid(fake)),
        "status": lambda: client.set_status(uid(fake), StatusMessage("x")),
        "lookup": lambda: client.get_user(uid(fake)),
    }[call]
    fake.fail_next.append(answer())
    with pytest.raises(UnexpectedResponseError) as failed:
        await run()
    assert len(fake.api_requests()) == 1
    assert len(str(failed.value)) <= MESSAGE_LIMIT
    assert fake.url not in str(failed.value)


@pytest.mark.parametrize(
    ("call", "body"),
    [
        ("read", b"[]"),
        ("read", b"{}"),
        ("read", b'{"value": {}}'),
        ("read", b'{"value": [1]}'),
        ("read", b'{"value": [{"id": 5, "availability": "Busy"}]}'),
        ("read", b'{"value": [{"id": "{user}"}]}'),
        ("read", b'{"value": [{"id": "{user}", "availability": 3}]}'),
        ("read", b'{"value": [{"id": "{user}", "availability": "Busy", "activity": []}]}'),
        ("read", b'{"value": [{"id": "{user}", "availability": "Busy", "statusMessage": "x"}]}'),
        (
            "read",
            b'{"value": [{"id": "{user}", "availability": "Busy", "statusMessage": {"message": {"content": 5}}}]}',
        ),
        ("write", b"[]"),
        ("write", b'"ok"'),
        ("me", b"[]"),
        ("me", b'{"displayName": "A"}'),
        ("me", b'{"id": "", "displayName": "A"}'),
        ("lookup", b"{}"),
        ("lookup", b'{"availability": null}'),
    ],
)
async def test_malformed_json_is_a_failed_call(
    session: aiohttp.ClientSession, fake: FakeGraph, clock: Clock, call: str, body: bytes
) -> None:
    """JSON of the wrong shape is a communication error: never KeyError or TypeError."""
    if call == "me":
        client, _ = await delegated_client(session, fake, clock)
    else:
        client = app_client(session, fake, clock)
    run = {
        "read": lambda: client.get_presences([uid(fake)]),
        "write": lambda: client.set_presence(uid(fake), "busy"),
        "me": lambda: client.get_user(OWN_USER),
        "lookup": lambda: client.get_user(uid(fake)),
    }[call]
    fake.fail_next.append(raw_response(200, body.replace(b"{user}", uid(fake).encode())))
    with pytest.raises(UnexpectedResponseError, match="answer"):
        await run()
    assert fake.fail_next == []


async def test_204_and_json_objects_are_action_successes(
    client: GraphClient, fake: FakeGraph
) -> None:
    """The spec says 2XX for actions, the docs 200 without a body: 200 or 204, empty or an
    object, are successes; a 202 is not (see NOT_A_SUCCESS)."""
    fake.fail_next += [raw_response(204), raw_response(200, b"{}")]
    await client.set_presence(uid(fake), "busy")
    await client.keep_session(uid(fake))
    assert len(fake.api_requests()) == 2


async def test_any_error_answer_ends_as_one_of_ours(client: GraphClient, fake: FakeGraph) -> None:
    """Error bodies of every odd shape at every status end as our errors (a read may also
    drop a person), short and without the fake's URL."""
    errors: list[PresenceBridgeError] = []
    for status in (400, 401, 403, 404, 409, 429, 500, 503):
        for body in [*ODD_BODIES, b'{"error": {"code": 5, "message": [], "innerError": 3}}']:
            # A 401 is retried once with a new token: both attempts get the answer.
            fake.fail_next += [raw_response(status, body) for _ in range(1 + (status == 401))]
            try:
                await client.set_presence(uid(fake), "busy")
            except PresenceBridgeError as err:
                errors.append(err)
            assert fake.fail_next == []
    assert len(errors) == 8 * (len(ODD_BODIES) + 1)
    assert all(len(str(err)) <= MESSAGE_LIMIT and fake.url not in str(err) for err in errors)


@pytest.mark.parametrize(
    ("status", "body", "error", "text", "extra"),
    [
        (
            400,
            {"error": {"code": "BadRequest", "message": "Bad pair"}},
            InvalidRequestError,
            "Bad pair (code BadRequest)",
            None,
        ),
        (
            401,
            {"error": {"code": "InvalidAuthenticationToken", "message": "Expired"}},
            AuthenticationError,
            "Expired",
            None,
        ),
        (
            403,
            {"error": {"code": "Forbidden", "message": "Missing role"}},
            PermissionMissingError,
            "Missing role",
            "Presence.ReadWrite.All",
        ),
        (403, None, PermissionMissingError, "HTTP 403", "Presence.ReadWrite.All"),
        (
            404,
            {"error": {"code": "NotFound", "message": "No session"}},
            NotFoundError,
            "No session",
            None,
        ),
        (
            404,
            None,
            UnexpectedResponseError,
            "HTTP 404 without Graph's error body: the API URL does not lead to Microsoft Graph",
            None,
        ),
        (
            404,
            "<html>Not found</html>",
            UnexpectedResponseError,
            "HTTP 404 without Graph's error body: the API URL does not lead to Microsoft Graph",
            None,
        ),
        (
            429,
            {"error": {"code": "TooManyRequests", "message": "Slow"}},
            RateLimitedError,
            "Slow",
            9.0,
        ),
        (429, None, RateLimitedError, "HTTP 429", 9.0),
        (
            503,
            {"error": {"code": "ServiceUnavailable", "message": "Later"}},
            ProviderUnavailableError,
            "Later",
            9.0,
        ),
        (
            504,
            {"error": {"code": "GatewayTimeout"}},
            ProviderUnavailableError,
            "GatewayTimeout",
            9.0,
        ),
    ],
)
def test_graph_error_mapping(status: int, body: Any, error: type, text: str, extra: object) -> None:
    """Graph's OData errors (§4.7) as ours, keeping message and code."""
    mapped = map_graph_error(ErrorResponse(status, body, {}, 9.0))
    assert type(mapped) is error
    assert str(mapped) == text
    if isinstance(mapped, PermissionMissingError):
        assert mapped.scope == extra
    if isinstance(mapped, RateLimitedError | ProviderUnavailableError):
        assert mapped.retry_after == extra
    delegated = map_graph_error(ErrorResponse(403, body, {}, None), scope="Presence.ReadWrite")
    assert isinstance(delegated, PermissionMissingError) and delegated.scope == "Presence.ReadWrite"


@pytest.mark.parametrize(
    ("status", "body"), [(400, None), (400, {"x": 1}), (401, "text"), (500, None), (502, "<html>")]
)
def test_graph_leaves_the_rest_to_the_status_mapping(status: int, body: Any) -> None:
    """Bodies that are not Graph's at 400, 401 and 5xx map by status."""
    assert map_graph_error(ErrorResponse(status, body, {}, None)) is None


async def _aad(status: int, error: str, code: int, description: str) -> Any:
    response = aad_error(status, error, code, description)
    assert response.body is not None
    return json.loads(response.body)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("status", "error", "code", "mapped"),
    [
        (401, "invalid_client", 7000215, AuthenticationError),
        (401, "invalid_client", 7000222, AuthenticationError),
        (400, "unauthorized_client", 700016, AuthenticationError),
        (400, "invalid_request", 90002, InvalidTenantError),
        (400, "invalid_request", 900023, InvalidTenantError),
        (400, "invalid_scope", 1002012, AuthenticationError),
    ],
)
async def test_token_error_mapping(status: int, error: str, code: int, mapped: type) -> None:
    """AADSTS codes, from `error_codes` or the description: an unknown tenant is its own."""
    body = await _aad(status, error, code, "Something about it.")
    result = map_token_error(ErrorResponse(status, body, {}, None))
    assert type(result) is mapped
    assert str(result) == f"AADSTS{code}: Something about it."
    del body["error_codes"]
    assert type(map_token_error(ErrorResponse(status, body, {}, None))) is mapped
    for other in (429, 500, 503):
        assert map_token_error(ErrorResponse(other, body, {}, None)) is None
    page = map_token_error(ErrorResponse(404, "<html>", {}, None))
    assert isinstance(page, UnexpectedResponseError)


# Pieces.


@pytest.mark.parametrize(
    ("emoji", "character"),
    [
        ("palm_tree", "🌴"),
        ("PALM_TREE", "🌴"),
        ("thumbs_up", "👍"),
        ("+1", "👍"),
        ("coffee", "☕\ufe0f"),
        ("warning", "⚠\ufe0f"),
        (" 🇩🇪 ", "🇩🇪"),
        ("❤️", "❤️"),
    ],
)
def test_emoji_character(emoji: str, character: str) -> None:
    """Names of the emoji table, or emoji themselves."""
    assert emoji_character(emoji) == character


# The fake itself: what Graph answers, so the client is tested against Graph's shapes.


async def _request(
    session: aiohttp.ClientSession, method: str, url: str, token: str | None = None, **kwargs: Any
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with session.request(
        method, url, headers=headers, allow_redirects=False, **kwargs
    ) as response:
        raw = await response.read()
        return response.status, json.loads(raw) if raw and response.content_type.endswith(
            "json"
        ) else raw


async def test_fake_actions_and_paths(session: aiohttp.ClientSession, fake: FakeGraph) -> None:
    """Both action path forms under /me and /users; empty 200s; the pairs and durations
    each action takes; clearPresence 404; /me refused to an app."""
    app = fake.issue_token()
    me = fake.issue_token(user_id=uid(fake))
    alice = f"{fake.api_url}/users/{uid(fake)}/presence"
    mine = f"{fake.api_url}/me/presence"
    session_body = {
        "sessionId": fake.client_id,
        "availability": "Available",
        "activity": "Available",
    }
    for url, token in ((alice, app), (mine, me)):
        for name in ("setPresence", "microsoft.graph.setPresence"):
            assert await _request(session, "POST", f"{url}/{name}", token, json=session_body) == (
                200,
                b"",
            )
    status, body = await _request(session, "POST", f"{alice}/setMood", app, json={})
    assert (status, body["error"]["code"]) == (400, "BadRequest")
    assert body["error"]["message"] == "Resource not found for the segment 'setMood'."
    assert set(body["error"]["innerError"]) == {"date", "request-id", "client-request-id"}
    for pair, duration, ok in (
        (("Busy", "InACall"), "PT4H", 200),
        (("Busy", "InAConferenceCall"), "PT5M", 200),
        (("Away", "Away"), None, 200),
        (("DoNotDisturb", "Presenting"), "PT1H", 200),
        (("Available", "Available"), "PT4M", 400),
        (("Available", "Available"), "PT4H1M", 400),
        (("Available", "Available"), "soon", 400),
        (("Busy", "Busy"), None, 400),
        (("BeRightBack", "BeRightBack"), None, 400),
    ):
        body = {**session_body, "availability": pair[0], "activity": pair[1]}
        if duration:
            body["expirationDuration"] = duration
        assert (await _request(session, "POST", f"{alice}/setPresence", app, json=body))[0] == ok
    other_app = {**session_body, "sessionId": "someone-else"}
    assert (await _request(session, "POST", f"{alice}/setPresence", app, json=other_app))[0] == 400
    for pair, ok in (
        (("Offline", "OffWork"), 200),
        (("Busy", "InACall"), 400),
        (("Offline", "Offline"), 400),
    ):
        body = {"availability": pair[0], "activity": pair[1]}
        assert (
            await _request(session, "POST", f"{alice}/setUserPreferredPresence", app, json=body)
        )[0] == ok
    assert await _request(
        session, "POST", f"{alice}/microsoft.graph.clearUserPreferredPresence", app
    ) == (200, b"")
    clear = {"sessionId": fake.client_id}
    assert await _request(session, "POST", f"{mine}/clearPresence", me, json=clear) == (200, b"")
    status, body = await _request(session, "POST", f"{mine}/clearPresence", me, json=clear)
    assert (status, body["error"]["code"]) == (404, "NotFound")
    status, body = await _request(session, "GET", mine, app)
    assert (status, body["error"]["message"]) == (
        400,
        "/me request is only valid with delegated authentication flow.",
    )
    bob = f"{fake.api_url}/users/{uid(fake, BOB_UPN)}/presence/setPresence"
    status, body = await _request(session, "POST", bob, me, json=session_body)
    assert status == 403 and body["error"]["message"].startswith(
        "Cannot set the presence of another user"
    )
    status, body = await _request(session, "GET", f"{fake.api_url}/users/{ALICE_UPN}/presence", app)
    assert (status, body["id"], body["availability"]) == (200, uid(fake), "Offline")
    status, body = await _request(
        session, "GET", f"{fake.api_url}/communications/presences/{uid(fake)}", app
    )
    assert (status, body["id"]) == (200, uid(fake))


async def test_fake_reads(session: aiohttp.ClientSession, fake: FakeGraph, clock: Clock) -> None:
    """The presence object, bulk reads of at most 650 GUIDs, status expiry on the clock,
    users with `$select`, permissions per token."""
    app = fake.issue_token()
    bulk = f"{fake.api_url}/communications/getPresencesByUserId"
    ids = [uid(fake)] * 651
    status, body = await _request(session, "POST", bulk, app, json={"ids": ids})
    assert (status, body["error"]["code"]) == (400, "BadRequest")
    assert (await _request(session, "POST", bulk, app, json={"ids": ["alice"]}))[0] == 400
    assert (await _request(session, "POST", bulk, app, json={"ids": []}))[0] == 400
    status, body = await _request(session, "POST", bulk, app, json={"ids": [uid(fake), UNKNOWN]})
    assert status == 200
    assert body["@odata.context"].endswith("$metadata#Collection(microsoft.graph.presence)")
    assert [item["id"] for item in body["value"]] == [uid(fake)]
    presence = body["value"][0]
    assert {key: presence[key] for key in ("availability", "activity", "statusMessage")} == {
        "availability": "Offline",
        "activity": "Offline",
        "statusMessage": None,
    }
    assert presence["outOfOfficeSettings"] == {"message": None, "isOutOfOffice": False}
    message = {
        "statusMessage": {
            "message": {"content": "Lunch", "contentType": "text"},
            "expiryDateTime": {"dateTime": "2023-11-14T22:43:20.0000000", "timeZone": "UTC"},
        }
    }
    assert START == 1_700_000_000.0  # 2023-11-14T22:13:20Z: the message lasts 30 minutes
    url = f"{fake.api_url}/users/{uid(fake)}/presence"
    assert await _request(session, "POST", f"{url}/setStatusMessage", app, json=message) == (
        200,
        b"",
    )
    me = fake.issue_token(user_id=uid(fake))
    status, body = await _request(session, "GET", f"{fake.api_url}/me/presence", me)
    assert body["statusMessage"]["message"] == {"content": "Lunch", "contentType": "text"}
    assert body["statusMessage"]["expiryDateTime"] == message["statusMessage"]["expiryDateTime"]
    assert body["statusMessage"]["publishedDateTime"] == "2023-11-14T22:13:20Z"
    assert "publishedDateTime" not in (await _request(session, "GET", url, app))[1]["statusMessage"]
    clock.now += 1800
    assert (await _request(session, "GET", url, app))[1]["statusMessage"] is None
    too_long = {"statusMessage": {"message": {"content": "x" * 281, "contentType": "text"}}}
    assert (await _request(session, "POST", f"{url}/setStatusMessage", app, json=too_long))[
        0
    ] == 400
    bad_zone = {
        "statusMessage": {
            **message["statusMessage"],
            "expiryDateTime": {"dateTime": "x", "timeZone": "UTC"},
        }
    }
    assert (await _request(session, "POST", f"{url}/setStatusMessage", app, json=bad_zone))[
        0
    ] == 400
    status, body = await _request(
        session,
        "GET",
        f"{fake.api_url}/users/{ALICE_UPN.upper()}",
        app,
        params={"$select": "id,displayName"},
    )
    assert body == {
        "@odata.context": f"{fake.api_url}/$metadata#users(id,displayName)/$entity",
        "id": uid(fake),
        "displayName": "Alice Archer",
    }
    status, body = await _request(session, "GET", f"{fake.api_url}/users/nobody@contoso.com", app)
    assert (status, body["error"]["code"]) == (404, "Request_ResourceNotFound")
    read_only = fake.issue_token({"Presence.Read.All"})
    status, body = await _request(session, "GET", f"{fake.api_url}/users/{uid(fake)}", read_only)
    assert (status, body["error"]["code"]) == (403, "Forbidden")
    status, body = await _request(session, "POST", f"{url}/setPresence", read_only, json={})
    assert status == 403 and "Presence.ReadWrite.All" in body["error"]["message"]
    for token, message_text in (
        (None, "Access token is empty."),
        ("junk", "IDX14100: JWT is not well formed."),
    ):
        status, body = await _request(session, "GET", url, token)
        assert (status, body["error"]["code"], body["error"]["message"]) == (
            401,
            "InvalidAuthenticationToken",
            message_text,
        )
    clock.now += fake.token_lifetime
    status, body = await _request(session, "GET", url, app)
    assert body["error"]["message"] == "Lifetime validation failed, the token is expired."


async def test_fake_sign_in(session: aiohttp.ClientSession, fake: FakeGraph, clock: Clock) -> None:
    """Authorization codes are single-use and expire; refresh tokens rotate; the authorize
    endpoint redirects with a code and the state; AADSTS bodies."""
    token_url = f"{fake.url}/organizations/oauth2/v2.0/token"
    credentials = {"client_id": fake.client_id, "client_secret": fake.client_secret}
    code = fake.authorize_code(uid(fake), redirect_uri="https://ha.example/auth/external/callback")
    form = {"grant_type": "authorization_code", "code": code}
    status, body = await _request(session, "POST", token_url, data=form | credentials)
    assert (status, body["error"], body["error_codes"]) == (400, "invalid_grant", [500112])
    form["redirect_uri"] = "https://ha.example/auth/external/callback"
    status, body = await _request(session, "POST", token_url, data=form | credentials)
    assert (status, body["error_codes"]) == (400, [54005])
    code = fake.authorize_code(uid(fake))
    status, body = await _request(
        session,
        "POST",
        token_url,
        data={"grant_type": "authorization_code", "code": code} | credentials,
    )
    assert status == 200
    assert set(body) == {
        "token_type",
        "scope",
        "expires_in",
        "ext_expires_in",
        "access_token",
        "refresh_token",
    }
    assert body["scope"] == "Presence.ReadWrite User.Read"
    refresh = {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
    status, renewed = await _request(session, "POST", token_url, data=refresh | credentials)
    assert status == 200 and renewed["refresh_token"] != body["refresh_token"]
    status, body = await _request(session, "POST", token_url, data=refresh | credentials)
    assert (status, body["error"], body["error_codes"]) == (400, "invalid_grant", [70000])
    old = fake.authorize_code(uid(fake), lifetime=60)
    clock.now += 61
    status, body = await _request(
        session,
        "POST",
        token_url,
        data={"grant_type": "authorization_code", "code": old} | credentials,
    )
    assert body["error_codes"] == [70008]
    status, body = await _request(
        session, "POST", token_url, data={"grant_type": "password"} | credentials
    )
    assert (status, body["error"]) == (400, "unsupported_grant_type")
    wrong = {"grant_type": "client_credentials", "scope": f"{fake.url}/.default"}
    status, body = await _request(session, "POST", token_url, data=wrong | credentials)
    assert body["error_codes"] == [50059]
    tenant_url = f"{fake.url}/{fake.tenant_id}/oauth2/v2.0/token"
    wrong["scope"] = "https://graph.microsoft.com/Presence.ReadWrite.All"
    status, body = await _request(session, "POST", tenant_url, data=wrong | credentials)
    assert (status, body["error"], body["error_codes"]) == (400, "invalid_scope", [1002012])
    assert body["error_description"].startswith("AADSTS1002012: ")
    assert "\r\nTrace ID: " in body["error_description"]
    fake.signed_in = uid(fake)
    async with session.get(
        f"{fake.url}/organizations/oauth2/v2.0/authorize",
        params={
            "client_id": fake.client_id,
            "response_type": "code",
            "redirect_uri": "https://ha.example/auth/external/callback",
            "scope": " ".join(sorted(DELEGATED_SCOPES)),
            "state": "xyz",
        },
        allow_redirects=False,
    ) as response:
        assert response.status == 302
        location = URL(response.headers["Location"])
    assert str(location.with_query(None)) == "https://ha.example/auth/external/callback"
    assert location.query["state"] == "xyz"
    code = location.query["code"]
    assert fake.codes[code].user_id == uid(fake)
    assert fake.codes[code].scopes == frozenset(DELEGATED_SCOPES)


@pytest.mark.parametrize(
    ("token", "roles"),
    [
        ("opaque-token", None),
        ("a.!!!.c", None),
        ("a.bnVsbA.c", None),  # the payload is JSON null
        ("a.eyJyb2xlcyI6ICJQcmVzZW5jZSJ9.c", None),  # roles is not a list
        ("a.eyJyb2xlcyI6IFsiUHJlc2VuY2UuUmVhZC5BbGwiLCAxXX0.c", frozenset({"Presence.Read.All"})),
    ],
)
def test_granted_roles_of_a_token(token: str, roles: frozenset[str] | None) -> None:
    """Only a JWT with a `roles` list is judged; anything else is left to Graph."""
    assert granted_roles(token) == roles


async def test_the_budget_keeps_the_account_under_graphs_budget(
    session: aiohttp.ClientSession, socket_enabled: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """25 changes, the budget 10 per second (real time): no 429, spread over 3 windows.

    The fake counts over 0.6 s, well under the client's window, so that a loaded machine's
    latency between a request's turn and its arrival cannot make it flaky.
    """
    monkeypatch.setattr(GraphClient, "RATE_LIMIT", (10, 1.0))
    fake = FakeGraph(budget=10, budget_window=0.6)
    alice = fake.add_user("Alice Archer", ALICE_UPN)
    async with fake:
        client = GraphClient(
            session,
            tenant_id=fake.tenant_id,
            client_id=fake.client_id,
            client_secret=fake.client_secret,
            api_url=fake.api_url,
            login_url=fake.url,
        )
        started = time.monotonic()
        await asyncio.gather(*(client.set_presence(alice, "busy") for _ in range(25)))
        elapsed = time.monotonic() - started
    assert fake.rejected_429 == 0
    assert len(fake.api_requests("POST")) == 25
    assert elapsed >= 2.0
