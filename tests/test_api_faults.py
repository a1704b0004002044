"""The fault matrix: whatever a provider (or a proxy in front of it) answers, every client
ends with a value or one of our errors, short and free of URLs and pages.

Each test runs against each fake provider it applies to; answers are canned with
`fail_next`/`fail_at` and `raw_response`, and what reached the fake is asserted.
"""

from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
import json
import logging
import time
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest

from custom_components.presence_bridge.api import (
    InvalidRequestError,
    InvalidUrlError,
    NotFoundError,
    PresenceBridgeError,
    ProviderClient,
    ProviderUnavailableError,
    RateLimitedError,
    StatusMessage,
    UnexpectedResponseError,
    VonageClient,
    ZoomClient,
    ZulipClient,
    budget,
)
from custom_components.presence_bridge.api.budget import BACKOFF_FIRST
from custom_components.presence_bridge.api.errors import MESSAGE_LIMIT
from custom_components.presence_bridge.api.http import MAX_BODY_BYTES, MAX_WAIT

from .conftest import Clock
from .fake_server import FakeServer, StreamedBody, raw_response
from .fake_vonage import DEFAULT_DEFINITIONS, TOKEN_PATH, FakeVonage
from .fake_zoom import FakeZoom, ZoomUser
from .fake_zulip import ADMINISTRATOR, FakeZulip

HTTP_LOGGER = "custom_components.presence_bridge.api.http"
YEAR = 365 * 24 * 3600.0


@dataclass
class Provider:
    """A running fake, a connected client for it, and the client's calls to try faults on."""

    name: str
    fake: FakeServer
    client: ProviderClient
    new_client: Callable[..., ProviderClient]
    """Another client for the fake; keyword arguments replace the constructor's."""
    calls: dict[str, Callable[[], Awaitable[Any]]]
    """`read` (the coordinator's poll), `write`, `lookup` (`get_user`), and the provider's own."""
    url_fields: tuple[str, ...]
    token_path: str | None
    unix_clock: Callable[[], float]
    """The clock the client's HTTP core compares `X-RateLimit-Reset` with."""
    user_id: str
    email: str | None = None
    """The address `lookup` puts in a request's path, if it does."""

    def sent(self) -> int:
        """How many API requests reached the fake so far."""
        return len(self.fake.api_requests())


@asynccontextmanager
async def zoom(session: aiohttp.ClientSession, clock: Clock) -> AsyncIterator[Provider]:
    """A fake Zoom with Una."""
    fake = FakeZoom(clock=clock)
    fake.add_user(ZoomUser("u1", "una@example.com", "Una", "One"))
    async with fake:

        def new_client(**kwargs: Any) -> ZoomClient:
            urls = {"api_url": fake.api_url, "oauth_url": fake.url}
            return ZoomClient(
                session,
                **{
                    "account_id": fake.account_id,
                    "client_id": fake.client_id,
                    "client_secret": fake.client_secret,
                }
                | urls
                | kwargs,
            )

        client = new_client(clock=clock)
        yield Provider(
            "zoom",
            fake,
            client,
            new_client,
            {
                "read": lambda: client.get_presences(["u1"]),
                "write": lambda: client.set_presence("u1", "away"),
                "lookup": lambda: client.get_user("una@example.com"),
            },
            ("api_url", "oauth_url"),
            "/oauth/token",
            time.time,
            "u1",
            "una@example.com",
        )


@asynccontextmanager
async def vonage(session: aiohttp.ClientSession, clock: Clock) -> AsyncIterator[Provider]:
    """A fake VCC with Alice; the client has read the presence definitions."""
    fake = FakeVonage(clock=clock)
    guid = fake.add_agent("Alice Archer")
    async with fake:

        def new_client(**kwargs: Any) -> VonageClient:
            return VonageClient(
                session,
                **{
                    "region": "emea",
                    "client_id": fake.client_id,
                    "client_secret": fake.client_secret,
                    "auth_url": fake.url,
                    "api_url": fake.url,
                }
                | kwargs,
            )

        client = new_client(clock=clock)
        await client.get_presence_definitions()
        yield Provider(
            "vonage",
            fake,
            client,
            new_client,
            {
                "read": lambda: client.get_presences([guid]),
                "write": lambda: client.set_presence(guid, "Ready"),
                "lookup": lambda: client.get_user(guid),
                "users": client.list_users,
            },
            ("auth_url", "api_url"),
            TOKEN_PATH,
            time.time,
            guid,
        )


@asynccontextmanager
async def zulip(session: aiohttp.ClientSession, clock: Clock) -> AsyncIterator[Provider]:
    """A fake Zulip with Alice (an administrator, the caller) and Bob; the client is connected."""
    fake = FakeZulip(clock=clock)
    fake.add_user("Alice Archer", "alice@example.com", role=ADMINISTRATOR)
    fake.add_user("Bob Baker", "bob@example.com")
    async with fake:

        def new_client(**kwargs: Any) -> ZulipClient:
            return ZulipClient(
                session,
                **{"url": fake.url, "email": fake.caller.email, "api_key": fake.caller.api_key}
                | kwargs,
            )

        client = new_client(clock=clock)
        await client.connect()
        yield Provider(
            "zulip",
            fake,
            client,
            new_client,
            {
                "read": lambda: client.get_statuses(["9"]),
                "write": lambda: client.set_status("8", StatusMessage(text="Lunch")),
                "lookup": lambda: client.get_user("bob@example.com"),
                "connect": client.connect,
                "emoji": lambda: client.resolve_emoji("green_tick"),
            },
            ("url",),
            None,
            clock,
            "9",
            "bob@example.com",
        )


PROVIDERS = {"zoom": zoom, "vonage": vonage, "zulip": zulip}
TOKEN_PROVIDERS = ["zoom", "vonage"]


@pytest.fixture(params=list(PROVIDERS))
async def provider(
    request: pytest.FixtureRequest,
    socket_enabled: None,
    session: aiohttp.ClientSession,
    clock: Clock,
) -> AsyncGenerator[Provider]:
    """Each fake provider in turn (or those a test names), with a ready client."""
    async with PROVIDERS[request.param](session, clock) as provider:
        yield provider


def assert_clean(error: PresenceBridgeError, provider: Provider) -> None:
    """An error's text is short and names no URL, host, page or email address."""
    text = str(error)
    assert len(text) <= MESSAGE_LIMIT
    for leak in (provider.fake.url, "127.0.0.1", "<html", "secret", provider.email or "@"):
        assert leak not in text


PORTAL_PAGE = b"<!DOCTYPE html><html><body><form>Sign in to the guest Wi-Fi</form></body></html>"
NOT_A_SUCCESS = {
    "portal_page": lambda: raw_response(200, PORTAL_PAGE, content_type="text/html"),
    "plain_text": lambda: raw_response(200, b"OK", content_type="text/plain"),
    "malformed_json": lambda: raw_response(200, b'{"status": '),
    "not_utf8": lambda: raw_response(200, b'{"status": "\xff\xfe"}'),
    "nested_200000_deep": lambda: raw_response(200, b"[" * 200_000 + b"]" * 200_000),
    "nan": lambda: raw_response(200, b'{"result": NaN}'),
    "accepted_202": lambda: raw_response(202),
    "redirect_with_credentials": lambda: raw_response(
        302, headers={"Location": "http://user:secret@127.0.0.1:1/login"}
    ),
    "larger_than_read": lambda: raw_response(200, b" " * (MAX_BODY_BYTES + 1)),
}


@pytest.mark.parametrize("call", ["read", "write"])
@pytest.mark.parametrize("answer", NOT_A_SUCCESS.values(), ids=NOT_A_SUCCESS.keys())
async def test_answers_that_are_no_success(
    provider: Provider, call: str, answer: Callable[[], Any]
) -> None:
    """A proxy's page, another status, malformed, too deep or too large: a communication
    error, after the one request; never a success and never a raw exception."""
    sent = provider.sent()
    provider.fake.fail_next.append(answer())
    with pytest.raises(UnexpectedResponseError) as failed:
        await provider.calls[call]()
    assert provider.sent() == sent + 1
    assert_clean(failed.value, provider)


async def test_body_is_read_up_to_the_limit_only(provider: Provider) -> None:
    """A huge body without Content-Length is read as it comes, and dropped past the limit."""
    stream = StreamedBody(64 * 1024 * 1024)
    provider.fake.fail_next.append(raw_response(200, stream))
    with pytest.raises(UnexpectedResponseError, match="larger than 1024 KiB"):
        await provider.calls["read"]()
    # What the server handed over besides the 1 MiB read sits in the sockets' buffers.
    assert stream.produced < 24 * 1024 * 1024


LONG_TEXT = ("The upstream server is being maintained. " * 200).encode()
ERROR_ANSWERS = {
    "not_utf8_json_500": (
        lambda: raw_response(500, b'{"message": "\xff\xfe"}'),
        ProviderUnavailableError,
        "HTTP 500",
    ),
    "page_503": (
        lambda: raw_response(503, PORTAL_PAGE * 5000, content_type="text/html"),
        ProviderUnavailableError,
        "HTTP 503",
    ),
    "page_as_text_502": (
        lambda: raw_response(502, PORTAL_PAGE, content_type="text/plain"),
        ProviderUnavailableError,
        "HTTP 502",
    ),
    "deep_json_400": (
        lambda: raw_response(400, b"[" * 200_000 + b"]" * 200_000),
        InvalidRequestError,
        "HTTP 400 (code 400)",
    ),
    "long_text_500": (
        lambda: raw_response(500, LONG_TEXT, content_type="text/plain"),
        ProviderUnavailableError,
        f"HTTP 500: {LONG_TEXT.decode().strip()[: MESSAGE_LIMIT - 11]}…",
    ),
}


@pytest.mark.parametrize(
    ("answer", "error", "text"), ERROR_ANSWERS.values(), ids=ERROR_ANSWERS.keys()
)
async def test_error_answers_are_mapped_and_short(
    provider: Provider, answer: Callable[[], Any], error: type, text: str
) -> None:
    """An error body that is not UTF-8, too deep, a page or long still maps by status, and
    its text is the status and at most a short plain text: never a page."""
    provider.fake.fail_next.append(answer())
    with pytest.raises(error) as failed:
        await provider.calls["read"]()
    assert type(failed.value) is error
    assert str(failed.value) == text
    assert_clean(failed.value, provider)


ODD_BODIES = [
    b"",
    b"null",
    b"[]",
    b'"x"',
    b"5",
    b"true",
    b"{}",
    b'{"message": "\xff"}',
    b'{"code": []}',
    b'{"code": {}, "message": []}',
    b'{"code": true}',
    b'{"code": 1001}',
    b'{"code": "BAD_REQUEST", "msg": ["x"]}',
    b'{"code": "RATE_LIMIT_HIT", "retry-after": "x"}',
    b'{"code": "RATE_LIMIT_HIT", "retry-after": 1' + b"0" * 400 + b"}",
    b'{"error": []}',
    b'{"error": {"code": [], "message": {}}}',
    b'{"error": "invalid_scope", "error_description": 5}',
    b'{"title": [], "errors": "x"}',
    b'{"title": "T", "errors": [1, "x", {"path": 1}, {"message": []}, {"path": "p"}]}',
    b'{"title": "T", "detail": {}}',
    b'{"message": ["a"]}',
    b'{"message": "' + b"m" * 5000 + b'"}',
]


async def test_any_error_answer_ends_as_one_of_ours(provider: Provider) -> None:
    """Error bodies of every odd shape, at every status: the provider's mapping never raises
    anything but one of our errors (a read may also drop a person it takes as unknown)."""
    for status in (400, 401, 403, 404, 409, 429, 500, 503):
        for body in ODD_BODIES:
            # A 401 is retried once with a new token: both attempts get the answer.
            retried = status == 401 and provider.token_path is not None
            provider.fake.fail_next += [raw_response(status, body) for _ in range(1 + retried)]
            try:
                await provider.calls["read"]()
            except PresenceBridgeError as err:
                assert_clean(err, provider)
            assert provider.fake.fail_next == []


TOKEN_ANSWERS = {
    "portal_page": (200, PORTAL_PAGE, "text/html"),
    "list": (200, b"[]", "application/json"),
    "no_token": (200, b'{"expires_in": 3600}', "application/json"),
    "number_token": (200, b'{"access_token": 5, "expires_in": 3600}', "application/json"),
    "text_lifetime": (200, b'{"access_token": "t", "expires_in": "soon"}', "application/json"),
    "negative_lifetime": (200, b'{"access_token": "t", "expires_in": -1}', "application/json"),
    "redirect": (301, b"", None),
}


@pytest.mark.parametrize("provider", TOKEN_PROVIDERS, indirect=True)
@pytest.mark.parametrize(
    ("status", "body", "content_type"), TOKEN_ANSWERS.values(), ids=TOKEN_ANSWERS.keys()
)
async def test_token_answers_that_are_no_token(
    provider: Provider, status: int, body: bytes, content_type: str | None
) -> None:
    """A token endpoint answering 200 with a page, or with no usable token, is a
    communication error; the API is never called with it."""
    assert provider.token_path is not None
    client = provider.new_client()
    sent = provider.sent()
    provider.fake.fail_at[provider.token_path] = [
        raw_response(status, body, content_type=content_type)
    ]
    with pytest.raises(UnexpectedResponseError) as failed:
        await client.check_credentials()
    assert provider.sent() == sent
    assert provider.fake.requests[-1].path == provider.token_path
    assert_clean(failed.value, provider)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1e12", MAX_WAIT),
        ("inf", MAX_WAIT),
        ("3600.5", MAX_WAIT),
        ("90", 90.0),
        # No wait, or one already past, is no hint: never "retry at once".
        ("0", None),
        ("-3", None),
        ("Mon, 01 Jan 2001 00:00:00 GMT", None),
        ("nan", None),
    ],
)
async def test_retry_after_is_none_or_positive_and_capped(
    provider: Provider, caplog: pytest.LogCaptureFixture, value: str, expected: float | None
) -> None:
    """`Retry-After` on a 429 and a 503 is None or positive seconds, at most an hour; a cut
    is logged once, as a warning. Nothing is retried by the client itself."""
    for status, error in ((429, RateLimitedError), (503, ProviderUnavailableError)):
        sent = provider.sent()
        provider.fake.fail_next.append(raw_response(status, headers={"Retry-After": value}))
        with pytest.raises(error) as failed:
            await provider.calls["read"]()
        assert type(failed.value) is error
        assert failed.value.retry_after == expected
        assert provider.sent() == sent + 1
    warnings = [
        record.getMessage()
        for record in caplog.records
        if record.name == HTTP_LOGGER and record.levelno == logging.WARNING
    ]
    assert len(warnings) == (1 if expected == MAX_WAIT else 0)
    assert all("Retry-After" in warning for warning in warnings)


@pytest.mark.parametrize("provider", ["zulip"], indirect=True)
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1e400", MAX_WAIT),
        ("1" + "0" * 400, MAX_WAIT),
        ("7200", MAX_WAIT),
        ("12.5", 12.5),
        ("0", None),
        ("-2", None),
    ],
)
async def test_zulip_body_retry_after_is_capped(
    provider: Provider, value: str, expected: float | None
) -> None:
    """Zulip's `retry-after` in the body is held to the same bounds as the header."""
    body = f'{{"result": "error", "msg": "x", "code": "RATE_LIMIT_HIT", "retry-after": {value}}}'
    provider.fake.fail_next.append(raw_response(429, body.encode()))
    with pytest.raises(RateLimitedError) as failed:
        await provider.calls["read"]()
    assert failed.value.retry_after == expected


@pytest.mark.parametrize(
    ("reset", "held"),
    [("a year ahead", MAX_WAIT), ("inf", MAX_WAIT), ("past", None), ("nan", None), ("x", None)],
)
async def test_rate_limit_reset_is_capped(
    provider: Provider, caplog: pytest.LogCaptureFixture, reset: str, held: float | None
) -> None:
    """`X-RateLimit-Remaining: 0` holds the account's requests back until `X-RateLimit-Reset`,
    for an hour at most (logged once); a reset past or unreadable holds nothing back beyond
    the backoff of a 429. A held request waits (on the simulated clock), then goes."""
    now = provider.unix_clock()
    value = {"a year ahead": str(now + YEAR), "past": str(now - 10)}.get(reset, reset)
    headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": value}
    provider.fake.fail_next.append(raw_response(429, headers=headers))
    with pytest.raises(RateLimitedError) as failed:
        await provider.calls["read"]()
    assert failed.value.retry_after is None
    if held is None:
        assert provider.client.budget.paused_for() <= BACKOFF_FIRST
    else:
        assert provider.client.budget.paused_for() == pytest.approx(held, abs=5)
    sent = provider.sent()
    await provider.calls["read"]()
    assert provider.sent() > sent
    if held is None:
        return
    warnings = [
        record.getMessage()
        for record in caplog.records
        if record.name == HTTP_LOGGER and record.levelno == logging.WARNING
    ]
    assert len(warnings) == 1
    assert "X-RateLimit-Reset" in warnings[0]


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()


DEFINITIONS = _json({"presenceDefinitions": DEFAULT_DEFINITIONS})
SELECTABLE = {"presenceId": "p", "selectable": True}
ME = _json({"result": "success", "user_id": 8, "full_name": "A", "email": "a@example.com"})
MALFORMED = [
    *(
        pytest.param("zoom", "read", [body], id=f"zoom-read-{index}")
        for index, body in enumerate(
            [
                b"[]",
                b'"Available"',
                b"null",
                b"",
                b"{}",
                b'{"status": 5}',
                b'{"status": "Away", "end_time": []}',
            ]
        )
    ),
    *(
        pytest.param("zoom", "lookup", [body], id=f"zoom-lookup-{index}")
        for index, body in enumerate([b"[]", b'{"id": 5}', b'{"id": "u1", "email": ["x"]}'])
    ),
    *(
        pytest.param("vonage", "read", bodies, id=f"vonage-read-{index}")
        for index, bodies in enumerate(
            [
                [b"[]"],
                [b'{"presenceDefinitions": {}}'],
                [b'{"presenceDefinitions": ["Ready"]}'],
                [b'{"presenceDefinitions": [{"presenceId": 5, "selectable": true}]}'],
                [_json({"presenceDefinitions": [{**SELECTABLE, "category": "Away"}]})],
                [_json({"presenceDefinitions": [{**SELECTABLE, "description": ["Ready"]}]})],
                [DEFINITIONS, b"{}"],
                [DEFINITIONS, b"[1]"],
                [DEFINITIONS, b""],
                [DEFINITIONS, b'[{"userId": "{user}", "presence": []}]'],
                [DEFINITIONS, b'[{"userId": "{user}", "presence": {"presenceId": []}}]'],
                [
                    DEFINITIONS,
                    b'[{"userId": "{user}", "presence": {"category": {"categoryType": 1}}}]',
                ],
            ]
        )
    ),
    pytest.param("vonage", "write", [b""], id="vonage-write-empty"),
    pytest.param("vonage", "write", [b"[]"], id="vonage-write-list"),
    pytest.param("vonage", "lookup", [b"[]"], id="vonage-lookup-list"),
    *(
        pytest.param("zulip", "read", [body], id=f"zulip-read-{index}")
        for index, body in enumerate(
            [
                b'{"result": "success", "status": []}',
                b'{"result": "success", "status": "away"}',
                b'{"result": "success", "status": {"status_text": 5}}',
                b"[]",
                b'{"result": "error"}',
                b"",
            ]
        )
    ),
    *(
        pytest.param("zulip", "connect", bodies, id=f"zulip-connect-{index}")
        for index, bodies in enumerate(
            [
                [b'{"result": "success", "user_id": "8", "full_name": "A", "email": "a@x"}'],
                [_json({**json.loads(ME), "role": [100]})],
                [ME, b'{"result": "success", "zulip_feature_level": "abc"}'],
                [ME, b'{"result": "success", "zulip_feature_level": 1e400}'],
            ]
        )
    ),
    pytest.param("zulip", "lookup", [b'{"result": "success", "user": []}'], id="zulip-lookup-0"),
    pytest.param("zulip", "lookup", [b'{"result": "success"}'], id="zulip-lookup-1"),
    *(
        pytest.param("zulip", "emoji", [body], id=f"zulip-emoji-{index}")
        for index, body in enumerate(
            [
                b'{"result": "success", "emoji": []}',
                b'{"result": "success", "emoji": {"1": "green_tick"}}',
                b'{"result": "success", "emoji": {"1": {"name": "green_tick"}}}',
            ]
        )
    ),
]


@pytest.mark.parametrize(("provider", "call", "bodies"), MALFORMED, indirect=["provider"])
async def test_malformed_json_is_a_failed_read(
    provider: Provider, call: str, bodies: list[bytes]
) -> None:
    """JSON of the wrong shape or with fields of the wrong type (a list for an object, a
    number for a string) is a failed read: never AttributeError, KeyError or TypeError."""
    provider.fake.fail_next += [
        raw_response(200, body.replace(b"{user}", provider.user_id.encode())) for body in bodies
    ]
    with pytest.raises(UnexpectedResponseError, match="answer") as failed:
        await provider.calls[call]()
    assert provider.fake.fail_next == []
    assert_clean(failed.value, provider)


@pytest.mark.parametrize("provider", ["zoom"], indirect=True)
async def test_zoom_404_without_zoom_body_is_a_wrong_url(provider: Provider) -> None:
    """An API URL without `/v2` answers 404 without Zoom's body: a communication error (the
    config flow's cannot_connect), not a missing person; Zoom's own 404 is one."""
    client = provider.new_client(api_url=provider.fake.url)
    with pytest.raises(UnexpectedResponseError, match="Zoom's API"):
        await client.get_user("u1")
    assert [(request.method, request.path) for request in provider.fake.requests] == [
        ("POST", "/oauth/token"),
        ("GET", "/users/u1"),
    ]
    wrong_oauth = provider.new_client(oauth_url=f"{provider.fake.url}/elsewhere")
    with pytest.raises(UnexpectedResponseError):
        await wrong_oauth.check_credentials()
    with pytest.raises(NotFoundError, match="User does not exist"):
        await provider.client.get_user("nobody@example.com")


@pytest.mark.parametrize("provider", TOKEN_PROVIDERS, indirect=True)
async def test_default_clock_is_looked_up_at_each_call(
    provider: Provider, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client's default clock is `time.monotonic` as it is when called: a test that moves
    time (freezer, or as here) sees tokens age, whichever test imported the module first.

    Only the api's view of `time` moves, not the event loop's (which reads it too).
    """
    assert provider.token_path is not None
    client = provider.new_client()
    offset = 0.0
    moved = SimpleNamespace(monotonic=lambda: time.monotonic() + offset, time=time.time)
    monkeypatch.setattr(budget, "time", moved)
    await client.check_credentials()
    fetched = [request.path for request in provider.fake.requests].count(provider.token_path)
    offset = 86400.0
    await client.check_credentials()
    assert [request.path for request in provider.fake.requests].count(
        provider.token_path
    ) == fetched + 1


async def test_url_with_credentials_is_refused(provider: Provider) -> None:
    """A URL with a user name or password is refused by the constructor with our error (a
    ValueError too), which does not repeat the password; nothing is sent."""
    sent = len(provider.fake.requests)
    for field in provider.url_fields:
        url = provider.fake.url.replace("http://", "http://user:secret@")
        with pytest.raises(InvalidUrlError, match="user name or password") as refused:
            provider.new_client(**{field: url})
        assert isinstance(refused.value, ValueError)
        assert "secret" not in str(refused.value)
    assert len(provider.fake.requests) == sent


@pytest.mark.parametrize("provider", ["zoom", "zulip"], indirect=True)
async def test_logged_urls_hide_email_addresses(
    provider: Provider, caplog: pytest.LogCaptureFixture
) -> None:
    """A person looked up by email is in the request's path, but not in our debug log."""
    assert provider.email is not None
    caplog.clear()
    await provider.calls["lookup"]()
    ours = [
        record.getMessage()
        for record in caplog.records
        if record.name.startswith("custom_components.presence_bridge")
    ]
    assert any("/users/<email> -> 200" in message for message in ours)
    assert not any(provider.email in message for message in ours)
    assert provider.email in provider.fake.api_requests()[-1].path
