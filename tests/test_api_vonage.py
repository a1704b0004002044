"""The Vonage Contact Center client against the fake VCC, and VCC's error mapping."""

from collections.abc import AsyncGenerator
from typing import Any

import aiohttp
from aiohttp import web
import pytest

from custom_components.presence_bridge.api.errors import (
    AuthenticationError,
    InvalidRequestError,
    NotFoundError,
    PermissionMissingError,
    ProviderUnavailableError,
    RateLimitedError,
)
from custom_components.presence_bridge.api.http import ErrorResponse
from custom_components.presence_bridge.api.vonage import (
    REGIONS,
    VonageClient,
    default_api_url,
    default_auth_url,
    map_vonage_error,
)

from .conftest import START, Clock
from .fake_vonage import (
    ACCEPT,
    BREAK_ID,
    LOGGED_OUT_ID,
    LUNCH_ID,
    READY_ID,
    TOKEN_PATH,
    FakeVonage,
    definition,
)

ALICE = "Alice Archer"
DEFAULT_OPTIONS = ("Ready", "Break", "Lunch", "Logged Out")


@pytest.fixture
async def fake(socket_enabled: None, clock: Clock) -> AsyncGenerator[FakeVonage]:
    """A fake VCC with Alice, logged out."""
    fake = FakeVonage(clock=clock)
    fake.add_agent(ALICE)
    async with fake:
        yield fake


def vonage_client(
    session: aiohttp.ClientSession, fake: FakeVonage, clock: Clock, **kwargs: Any
) -> VonageClient:
    """A client for the fake."""
    return VonageClient(
        session,
        region="emea",
        client_id=kwargs.pop("client_id", fake.client_id),
        client_secret=fake.client_secret,
        auth_url=fake.url,
        api_url=fake.url,
        clock=clock,
    )


@pytest.fixture
def client(session: aiohttp.ClientSession, fake: FakeVonage, clock: Clock) -> VonageClient:
    """A client for the fake."""
    return vonage_client(session, fake, clock)


def guid(fake: FakeVonage, name: str = ALICE) -> str:
    """An agent's GUID."""
    return next(user_id for user_id, agent in fake.agents.items() if agent["name"] == name)


async def test_token_request_and_accept_header(client: VonageClient, fake: FakeVonage) -> None:
    """One users:write token in a form body serves every call; each call names API v1."""
    await client.check_credentials()
    await client.get_presences([guid(fake)])
    await client.set_presence(guid(fake), "Ready")
    assert fake.token_requests() == [
        {
            "grant_type": "client_credentials",
            "client_id": fake.client_id,
            "client_secret": fake.client_secret,
            "scope": "users:write",
        }
    ]
    token = fake.requests[0]
    assert token.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert "Authorization" not in token.headers
    calls = fake.api_requests()
    assert [(call.method, call.path) for call in calls] == [
        ("GET", "/agents/presence-definitions"),
        ("GET", "/agents/presence-definitions"),
        ("GET", "/agents/presences/users"),
        ("PATCH", f"/agents/{guid(fake)}/presence"),
    ]
    assert {call.headers["Accept"] for call in calls} == {ACCEPT}
    assert len({call.headers["Authorization"] for call in calls}) == 1
    patch = calls[-1]
    assert patch.headers["Content-Type"] == "application/json"
    assert patch.body == {"presenceId": READY_ID}
    assert fake.agents[guid(fake)]["presenceId"] == READY_ID


async def test_token_refreshed_ahead_and_after_revocation(
    client: VonageClient, fake: FakeVonage, clock: Clock
) -> None:
    """The token is reused, replaced after 90 % of its 7200 s, and once after a 401."""
    await client.get_presence_definitions()
    clock.now = START + 6479
    await client.get_presence_definitions()
    assert len(fake.token_requests()) == 1
    clock.now = START + 6481
    await client.get_presence_definitions()
    assert len(fake.token_requests()) == 2
    fake.revoke_tokens()
    assert await client.get_presence_definitions() == DEFAULT_OPTIONS
    assert len(fake.token_requests()) == 3
    bearers = [call.headers["Authorization"] for call in fake.api_requests()]
    assert bearers[-2] != bearers[-1]
    assert len(fake.api_requests()) == 5


async def test_options_are_the_selectable_definitions(
    client: VonageClient, fake: FakeVonage
) -> None:
    """Only selectable definitions are options, in VCC's order; shared names get the category."""
    assert client.presence_options == ()
    assert await client.get_presence_definitions() == DEFAULT_OPTIONS
    fake.set_definition_selectable(LUNCH_ID, False)
    fake.add_definition("Break", "ExtendedAway")
    fake.add_definition("Training", "Away", selectable=False)
    await client.get_presence_definitions()
    assert client.presence_options == (
        "Ready",
        "Break (Away)",
        "Logged Out",
        "Break (ExtendedAway)",
    )


async def test_options_stay_unique_when_category_is_shared_too(
    client: VonageClient, fake: FakeVonage
) -> None:
    """Two definitions alike in name and category are told apart by their ids.

    A definition without a description (the schema allows it) is named by its category.
    """
    fake.definitions = [
        definition("aaaaaaaa-0000-4000-8000-000000000001", "Coffee", "Away"),
        definition("bbbbbbbb-0000-4000-8000-000000000002", "Coffee", "Away"),
        definition("cccccccc-0000-4000-8000-000000000003", "", "Ready"),
    ]
    assert await client.get_presence_definitions() == (
        "Coffee (Away)",
        "Coffee (Away, bbbbbbbb)",
        "Ready",
    )
    await client.set_presence(guid(fake), "Coffee (Away, bbbbbbbb)")
    assert fake.api_requests("PATCH")[0].body == {
        "presenceId": "bbbbbbbb-0000-4000-8000-000000000002"
    }


async def test_presences_batched_by_fifty(client: VonageClient, fake: FakeVonage) -> None:
    """120 agents take three presence queries of at most 50 ids; unknown ids are left out."""
    agents = [fake.add_agent(f"Agent {index}", BREAK_ID) for index in range(120)]
    unknown = "0f0f0f0f-0000-4000-8000-000000000000"
    presences = await client.get_presences([*agents, unknown])
    queries = fake.api_requests("GET")[1:]
    assert [call.path for call in queries] == ["/agents/presences/users"] * 3
    sent = [call.query["userId"].split(",") for call in queries]
    assert sorted(len(ids) for ids in sent) == [21, 50, 50]
    assert sorted(user_id for ids in sent for user_id in ids) == sorted([*agents, unknown])
    assert set(presences) == set(agents)
    assert {(p.option, p.raw, p.category) for p in presences.values()} == {
        ("Break", "Break", "Away")
    }


async def test_presence_outside_the_options(client: VonageClient, fake: FakeVonage) -> None:
    """A definition that is not (or no longer) selectable reads back without an option."""
    alice = guid(fake)
    assert (await client.get_presences([alice.upper()]))[alice.upper()].option == "Logged Out"
    fake.set_definition_selectable(LOGGED_OUT_ID, False)
    presence = (await client.get_presences([alice]))[alice]
    assert (presence.option, presence.raw, presence.category) == (None, "Logged Out", "LoggedOut")
    assert "Logged Out" not in client.presence_options
    assert await client.get_presences([]) == {}


async def test_presences_ignore_unasked_ids(client: VonageClient, fake: FakeVonage) -> None:
    """An answer naming an agent we did not ask for is not taken for anyone."""
    fake.fail_next += [
        web.json_response({"presenceDefinitions": fake.definitions}),
        web.json_response(
            [
                {"userId": guid(fake), "presence": definition(READY_ID, "Ready", "Ready")},
                {"userId": "0f0f0f0f-0000-4000-8000-000000000000", "presence": {}},
            ]
        ),
    ]
    presences = await client.get_presences([guid(fake)])
    assert list(presences) == [guid(fake)]
    assert presences[guid(fake)].option == "Ready"


async def test_get_user(client: VonageClient, fake: FakeVonage) -> None:
    """A GUID is checked, then looked up; its name comes from the user list."""
    user = await client.get_user(f" {guid(fake).upper()} ")
    assert (user.user_id, user.display_name, user.email) == (guid(fake), ALICE, None)
    assert [call.path for call in fake.api_requests()] == [
        f"/agents/{guid(fake)}/presence",
        "/useradmin/users",
    ]
    assert [body["scope"] for body in fake.token_requests()] == ["users:write", "users:read"]
    fake.can_list_users = False
    user = await client.get_user(guid(fake))
    assert user.display_name == f"Agent {guid(fake)[:8]}"
    with pytest.raises(NotFoundError):
        await client.get_user("0f0f0f0f-0000-4000-8000-000000000000")


@pytest.mark.parametrize("user_id", ["alice", "0f0f0f0f-0000-4000-8000-00000000000", "{x}/../"])
async def test_malformed_guid_is_refused_unsent(
    client: VonageClient, fake: FakeVonage, user_id: str
) -> None:
    """A user id that is not a GUID is refused before any request, read or write."""
    await client.get_presence_definitions()
    sent = len(fake.requests)
    with pytest.raises(InvalidRequestError, match="GUID"):
        await client.get_user(user_id)
    with pytest.raises(InvalidRequestError, match="GUID"):
        await client.set_presence(user_id, "Ready")
    assert len(fake.requests) == sent


async def test_unknown_option_is_refused_unsent(client: VonageClient, fake: FakeVonage) -> None:
    """Before the definitions are read there is nothing to set; durations never apply."""
    with pytest.raises(InvalidRequestError, match="Unknown presence"):
        await client.set_presence(guid(fake), "Ready")
    await client.get_presence_definitions()
    with pytest.raises(InvalidRequestError):
        await client.set_presence(guid(fake), "Ready", 30)
    assert fake.api_requests("PATCH") == []


async def test_set_presence_errors(client: VonageClient, fake: FakeVonage) -> None:
    """An unknown agent is 404; a definition deleted meanwhile is 404 too."""
    await client.get_presence_definitions()
    with pytest.raises(NotFoundError):
        await client.set_presence("0f0f0f0f-0000-4000-8000-000000000000", "Ready")
    fake.definitions = [item for item in fake.definitions if item["presenceId"] != LUNCH_ID]
    with pytest.raises(NotFoundError):
        await client.set_presence(guid(fake), "Lunch")


@pytest.mark.parametrize(
    ("users", "expected"),
    [
        (
            [{"userId": "AAAA", "name": "Named", "email": "n@example.com"}],
            [("aaaa", "Named", "n@example.com")],
        ),
        (
            {"items": [{"id": "b", "firstName": "Bo", "lastName": "Bell"}, {"name": "no id"}]},
            [("b", "Bo Bell", None)],
        ),
        (
            {"users": [{"id": "c", "email": "c@example.com"}, {"userId": "d"}]},
            [("c", "c@example.com", "c@example.com"), ("d", "d", None)],
        ),
        ({"total": 0}, []),
        ("", []),
        # Odd shapes name no one rather than fail: the list only names agents.
        ({"items": "abc"}, []),
        (
            [1, "x", {"userId": 5}, {"userId": "AB", "name": ["x"], "email": 3}],
            [("ab", "ab", None)],
        ),
    ],
)
async def test_list_users_formats(
    client: VonageClient, fake: FakeVonage, users: Any, expected: list[tuple[str, ...]]
) -> None:
    """The user list's shape is undocumented: a list, or `items`/`users`, of several forms."""
    fake.fail_next.append(web.json_response(users) if users else web.Response())
    listed = await client.list_users()
    assert listed is not None
    assert [(user.user_id, user.display_name, user.email) for user in listed] == expected


async def test_list_users(session: aiohttp.ClientSession, fake: FakeVonage, clock: Clock) -> None:
    """A users:read token lists users; without that scope or right the answer is None."""
    client = vonage_client(session, fake, clock)
    listed = await client.list_users()
    assert listed is not None
    assert [(user.user_id, user.display_name) for user in listed] == [(guid(fake), ALICE)]
    assert fake.api_requests()[-1].headers["Accept"] == ACCEPT
    fake.can_list_users = False
    assert await client.list_users() is None
    fake.can_list_users = True
    fake.fail_next += [web.Response(status=401), web.Response(status=401)]
    assert await client.list_users() is None
    fake.allowed_scopes = frozenset({"users:write"})
    assert await vonage_client(session, fake, clock).list_users() is None
    fake.fail_next.append(web.Response(status=500))
    with pytest.raises(ProviderUnavailableError):
        await client.list_users()


async def test_token_refusals(
    session: aiohttp.ClientSession,
    fake: FakeVonage,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Wrong credentials fail authentication; a scope they lack is a missing permission."""
    with pytest.raises(AuthenticationError, match="invalid_client"):
        await vonage_client(session, fake, clock, client_id="wrong").check_credentials()
    fake.allowed_scopes = frozenset({"users:read"})
    with pytest.raises(PermissionMissingError) as missing:
        await vonage_client(session, fake, clock).check_credentials()
    assert missing.value.scope == "users:write"
    # Any other 400 of the token endpoint, canned as the fake's client never earns one.
    monkeypatch.setattr(fake, "api_prefix", (TOKEN_PATH,))
    fake.fail_next.append(web.json_response({"error": "unsupported_grant_type"}, status=400))
    with pytest.raises(AuthenticationError, match="unsupported_grant_type"):
        await vonage_client(session, fake, clock).check_credentials()


async def test_read_only_token_may_not_set(
    session: aiohttp.ClientSession, fake: FakeVonage
) -> None:
    """The fake refuses a PATCH with a users:read token: 403, which we map to users:write."""
    token = await _token(session, fake, "users:read")
    async with session.patch(
        f"{fake.url}/agents/{guid(fake)}/presence",
        json={"presenceId": READY_ID},
        headers={"Accept": ACCEPT, "Authorization": f"Bearer {token}"},
    ) as response:
        assert response.status == 403
        error = map_vonage_error(ErrorResponse(403, None, response.headers, None))
    assert isinstance(error, PermissionMissingError)
    assert error.scope == "users:write"


async def test_rate_limit(client: VonageClient, fake: FakeVonage, clock: Clock) -> None:
    """Over the fair-usage budget VCC answers 429, with or without a Retry-After."""
    fake.budget = 2
    await client.get_presence_definitions()
    await client.get_presences([])
    with pytest.raises(RateLimitedError) as limited:
        await client.get_presence_definitions()
    assert limited.value.retry_after is None
    fake.retry_after_header = "30"
    with pytest.raises(RateLimitedError) as limited:
        await client.get_presence_definitions()
    assert limited.value.retry_after == 30.0
    assert fake.rejected_429 == 2
    clock.now = START + 60
    assert await client.get_presence_definitions() == DEFAULT_OPTIONS


async def test_regions_and_default_urls(session: aiohttp.ClientSession) -> None:
    """Each region has its token host and API gateway; an unknown region is refused."""
    assert REGIONS == ("emea", "nam", "apac")
    assert default_auth_url("nam") == "https://nam.cc.vonage.com"
    assert default_api_url("apac") == "https://apac.api.newvoicemedia.com"
    client = VonageClient(session, region="nam", client_id="id", client_secret="secret")
    assert client.http.base_url == "https://nam.api.newvoicemedia.com/agents"
    assert client._auth.base_url == "https://nam.cc.vonage.com"
    assert client._useradmin.base_url == "https://nam.api.newvoicemedia.com/useradmin"
    assert (client.manufacturer, client.update_interval_per_user) == ("Vonage", 0.0)
    assert client.duration_option is None
    with pytest.raises(ValueError, match="region"):
        VonageClient(session, region="mars", client_id="id", client_secret="secret")


VERSION_MISSING = {
    "error": {
        "code": "ApiVersionUnspecified",
        "message": "An API version is required, but was not specified.",
    }
}
VERSION_UNSUPPORTED = {
    "error": {
        "code": "UnsupportedApiVersion",
        "message": "The HTTP resource that matches the request URI "
        "'https://emea.api.newvoicemedia.com/agents/x/presence' does not support the API version '2'.",
    }
}
INVALID = {"message": "The request is invalid."}
PRESENCE_ID_MISSING = {
    "status": 400,
    "title": "One or more validation errors occurred.",
    "errors": [{"message": "The PresenceId field is required.", "path": "presenceId"}],
}
QUERY_LIMIT = {
    "status": 400,
    "title": "Query limit",
    "detail": "Request exceeded maximum number for users of 50 in one query.",
}
DENIED = {"message": "Authorization has been denied for this request."}


@pytest.mark.parametrize(
    ("status", "body", "error", "message", "code"),
    [
        (
            400,
            VERSION_MISSING,
            InvalidRequestError,
            "An API version is required, but was not specified.",
            "ApiVersionUnspecified",
        ),
        (
            400,
            VERSION_UNSUPPORTED,
            InvalidRequestError,
            VERSION_UNSUPPORTED["error"]["message"],
            "UnsupportedApiVersion",
        ),
        (400, INVALID, InvalidRequestError, "The request is invalid.", None),
        (
            400,
            PRESENCE_ID_MISSING,
            InvalidRequestError,
            "One or more validation errors occurred: The PresenceId field is required. (presenceId)",
            "One or more validation errors occurred.",
        ),
        (
            400,
            QUERY_LIMIT,
            InvalidRequestError,
            "Query limit: Request exceeded maximum number for users of 50 in one query.",
            "Query limit",
        ),
        (
            400,
            {"status": 400, "title": "Bad", "errors": [{"message": "No path."}]},
            InvalidRequestError,
            "Bad: No path.",
            "Bad",
        ),
        (
            400,
            {"status": 400, "title": "Bare title"},
            InvalidRequestError,
            "Bare title",
            "Bare title",
        ),
        (400, {"error": "invalid_scope"}, InvalidRequestError, "invalid_scope", "invalid_scope"),
        (401, DENIED, AuthenticationError, DENIED["message"], None),
        (401, {"error": "invalid_client"}, AuthenticationError, "invalid_client", None),
        (403, None, PermissionMissingError, "HTTP 403", "users:write"),
        (404, None, NotFoundError, "HTTP 404", None),
        (429, None, RateLimitedError, "HTTP 429", 12.0),
    ],
)
def test_vonage_error_mapping(
    status: int, body: Any, error: type, message: str, code: object
) -> None:
    """Every documented VCC body (providers.md §2.7) maps to our error, keeping its code."""
    mapped = map_vonage_error(ErrorResponse(status, body, {}, 12.0))
    assert type(mapped) is error
    if isinstance(mapped, InvalidRequestError):
        assert (mapped.provider_message, mapped.code) == (message, code)
    else:
        assert str(mapped) == message
    if isinstance(mapped, PermissionMissingError):
        assert mapped.scope == code
    if isinstance(mapped, RateLimitedError):
        assert mapped.retry_after == code


@pytest.mark.parametrize(("status", "body"), [(400, "<html>"), (400, {}), (500, None), (503, "")])
def test_vonage_leaves_the_rest_to_the_status_mapping(status: int, body: Any) -> None:
    """Unrecognised 400 bodies and 5xx fall back to the mapping by status."""
    assert map_vonage_error(ErrorResponse(status, body, {}, None)) is None


async def _token(session: aiohttp.ClientSession, fake: FakeVonage, scope: str) -> str:
    """A token from the fake, with the credentials as HTTP Basic, as the node sample sends."""
    async with session.post(
        f"{fake.url}{TOKEN_PATH}",
        data={"grant_type": "client_credentials", "scope": scope},
        headers={"Authorization": aiohttp.encode_basic_auth(fake.client_id, fake.client_secret)},
    ) as response:
        body = await response.json()
    assert (body["expires_in"], body["token_type"]) == (7200, "Bearer")
    return body["access_token"]


async def test_fake_speaks_vcc(session: aiohttp.ClientSession, fake: FakeVonage) -> None:
    """The fake's own answers match §2.7, so the client is tested against VCC's real shapes."""
    token = await _token(session, fake, "users:write")
    bearer = {"Authorization": f"Bearer {token}", "Accept": ACCEPT}
    presence = f"{fake.url}/agents/{guid(fake)}/presence"

    async def answer(method: str, url: str, **kwargs: Any) -> tuple[int, Any]:
        async with session.request(method, url, **kwargs) as response:
            return response.status, await response.json() if response.content_length else None

    assert await answer("GET", presence, headers={"Authorization": bearer["Authorization"]}) == (
        400,
        VERSION_MISSING,
    )
    status, body = await answer(
        "GET", presence, headers=bearer | {"Accept": "application/vnd.newvoicemedia.v2+json"}
    )
    assert (status, body["error"]["code"]) == (400, "UnsupportedApiVersion")
    assert body["error"]["message"].endswith(
        f"/agents/{guid(fake)}/presence' does not support the API version '2'."
    )
    assert await answer("GET", presence, headers={"Accept": ACCEPT}) == (401, DENIED)
    assert await answer("GET", f"{fake.url}/agents/not-a-guid/presence", headers=bearer) == (
        400,
        INVALID,
    )
    assert await answer("PATCH", presence, headers=bearer, json={}) == (400, PRESENCE_ID_MISSING)
    assert await answer("PATCH", presence, headers=bearer, json={"presenceId": "x"}) == (
        400,
        INVALID,
    )
    assert await answer("PATCH", presence, headers=bearer, data="[") == (400, INVALID)
    status, body = await answer("PATCH", presence, headers=bearer, json={"presenceId": BREAK_ID})
    assert status == 200
    assert body["userId"] == guid(fake)
    assert body["presence"]["category"]["categoryType"] == "Away"
    assert len(body["updated"]) == 24 and body["updated"].endswith("Z")
    many = ",".join([guid(fake)] * 51)
    assert await answer(
        "GET", f"{fake.url}/agents/presences/users", headers=bearer, params={"userId": many}
    ) == (400, QUERY_LIMIT)
    assert await answer("GET", f"{fake.url}/agents/presences/users", headers=bearer) == (
        400,
        INVALID,
    )
    assert await answer("GET", f"{fake.url}/useradmin/users", headers=bearer) == (403, None)
    credentials = {"client_id": fake.client_id, "client_secret": fake.client_secret}
    for form in (
        {"grant_type": "client_credentials", "scope": "users:read users:write"},
        {"grant_type": "client_credentials"},
        {"grant_type": "password", "scope": "users:read"},
    ):
        status, body = await answer("POST", f"{fake.url}{TOKEN_PATH}", data=form | credentials)
        assert status == 400 and body["error"] in {"invalid_scope", "unsupported_grant_type"}
