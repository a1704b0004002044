"""The HA-free api/ package: HTTP core, token cache, Retry-After, Zoom error mapping."""

import asyncio
from collections.abc import AsyncGenerator
from datetime import UTC, datetime
import math
import time
from types import SimpleNamespace

import aiohttp
from aiohttp import web
import pytest

from custom_components.presence_bridge.api import (
    AuthenticationError,
    InvalidRequestError,
    InvalidUrlError,
    NotFoundError,
    PermissionMissingError,
    ProviderUnavailableError,
    RateLimitedError,
    UnexpectedResponseError,
    UserNotSignedInError,
    ZoomClient,
    budget,
)
from custom_components.presence_bridge.api.budget import RequestBudget
from custom_components.presence_bridge.api.client import MAX_CONCURRENT_READS
from custom_components.presence_bridge.api.http import (
    AccessToken,
    ErrorResponse,
    HttpCore,
    TokenCache,
    check_url,
    map_status,
    parse_retry_after,
)
from custom_components.presence_bridge.api.zoom import map_zoom_error

from .conftest import START, Clock
from .fake_zoom import FakeZoom, ZoomUser

NOW = datetime(2026, 11, 22, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("30", 30.0),
        ("2.5", 2.5),
        ("Sun, 22 Nov 2026 12:01:00 GMT", 60.0),
        ("2026-11-22T12:00:45Z", 45.0),
        ("2026-11-22T12:00:10", 10.0),
        ("1e12", 1e12),
        ("inf", math.inf),
        # No wait at all is no hint: the caller's floor applies, never "retry at once".
        ("0", None),
        ("-5", None),
        ("2026-11-22T11:00:00Z", None),
        ("Sun, 22 Nov 2026 12:00:00 GMT", None),
        ("nan", None),
        ("Sun, 22 Nov 2026 12:00:00 +99999999999999999999", None),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(value: str | None, seconds: float | None) -> None:
    """Seconds, HTTP dates and Zoom's ISO timestamps; zero or past and junk are None.

    Not capped here: the core cuts a wait to MAX_WAIT (see test_api_faults).
    """
    assert parse_retry_after(value, NOW) == seconds


async def test_token_cache_shares_one_fetch_and_refreshes_ahead() -> None:
    """Concurrent callers share a fetch; a token is replaced after 90 % of its lifetime."""
    now = [0.0]
    fetches: list[int] = []

    async def fetch() -> AccessToken:
        fetches.append(1)
        await asyncio.sleep(0)
        return AccessToken(f"token-{len(fetches)}", 3600)

    cache = TokenCache(fetch, clock=lambda: now[0])
    assert await asyncio.gather(cache.get(), cache.get(), cache.get()) == ["token-1"] * 3
    now[0] = 3239
    assert await cache.get() == "token-1"
    now[0] = 3241
    assert await cache.get() == "token-2"
    cache.invalidate("token-1")
    assert await cache.get() == "token-2"
    cache.invalidate("token-2")
    assert await cache.get() == "token-3"
    assert len(fetches) == 3


async def test_token_cache_default_clock_is_looked_up_at_each_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without a clock, `time.monotonic` is called as it is then, not as it was at import.

    Only the api's view of `time` moves, not the event loop's (which reads it too).
    """
    offset = 0.0
    fetches: list[int] = []

    async def fetch() -> AccessToken:
        fetches.append(1)
        return AccessToken(f"token-{len(fetches)}", 100)

    cache = TokenCache(fetch)
    moved = SimpleNamespace(monotonic=lambda: time.monotonic() + offset, time=time.time)
    monkeypatch.setattr(budget, "time", moved)
    assert await cache.get() == "token-1"
    offset = 91.0
    assert await cache.get() == "token-2"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://user:secret@example.com", "user name or password"),
        ("https://token@example.com/v2", "user name or password"),
        ("ftp://example.com", "http"),
        ("example.com", "http"),
        ("https://", "http"),
        ("http://example.com", "https:// \\(http:// only to this machine\\)"),
        ("https://example.com:port", "cannot be read"),
        ("http://[::1", "cannot be read"),
    ],
)
def test_check_url_refusals(session: aiohttp.ClientSession, url: str, message: str) -> None:
    """A URL requests cannot go to is refused with our error (a ValueError too), which does
    not repeat the URL; `HttpCore` checks its base URL so."""
    with pytest.raises(InvalidUrlError, match=message) as refused:
        check_url(url)
    assert isinstance(refused.value, ValueError)
    assert "secret" not in str(refused.value)
    with pytest.raises(InvalidUrlError):
        HttpCore(session, url, map_error=lambda response: None)
    assert check_url(" https://example.com/v2/ ") == "https://example.com/v2"


@pytest.mark.parametrize(
    ("status", "body", "error", "detail"),
    [
        (401, {"code": 124, "message": "Invalid access token."}, AuthenticationError, None),
        (404, {"code": 1001, "message": "User does not exist: x."}, NotFoundError, None),
        (400, {"code": 5301, "message": "Request ... failed."}, UserNotSignedInError, "5301"),
        (400, {"code": 5411, "message": "Unauthorized request."}, PermissionMissingError, None),
        (
            400,
            {
                "code": 4711,
                "message": "Invalid access token, does not contain scopes:[user:write:admin].",
            },
            PermissionMissingError,
            "user:write:admin",
        ),
        (429, {"code": 429, "message": "Too many requests"}, RateLimitedError, 12.0),
        (400, {"code": 300, "message": "Validation Failed."}, InvalidRequestError, "300"),
    ],
)
def test_zoom_error_mapping(
    status: int, body: dict[str, object], error: type, detail: object
) -> None:
    """Zoom's codes (providers.md §1.6) map to our errors, keeping scope, code and wait."""
    mapped = map_zoom_error(ErrorResponse(status, body, {}, 12.0))
    assert type(mapped) is error
    if isinstance(mapped, PermissionMissingError):
        assert mapped.scope == detail
    elif isinstance(mapped, InvalidRequestError):
        assert mapped.code == detail
    elif isinstance(mapped, RateLimitedError):
        assert mapped.retry_after == detail


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, AuthenticationError),
        (403, PermissionMissingError),
        (404, NotFoundError),
        (429, RateLimitedError),
        (500, ProviderUnavailableError),
        (418, InvalidRequestError),
    ],
)
def test_mapping_by_status(status: int, error: type) -> None:
    """What a provider's mapper leaves is mapped by HTTP status."""
    assert type(map_status(ErrorResponse(status, None, {}, None), "message")) is error


def test_zoom_leaves_unknown_errors_to_the_status_mapping() -> None:
    """A 5xx without a Zoom code falls back to the mapping by status."""
    assert map_zoom_error(ErrorResponse(503, "<html>", {}, None)) is None


@pytest.fixture
async def fake(socket_enabled: None) -> AsyncGenerator[FakeZoom]:
    """A fake Zoom with one user."""
    fake = FakeZoom()
    fake.add_user(ZoomUser("u1", "u1@example.com", "Una", "One", status="Offline"))
    async with fake:
        yield fake


def zoom_client(session: aiohttp.ClientSession, fake: FakeZoom) -> ZoomClient:
    """A client for the fake."""
    return ZoomClient(
        session,
        account_id=fake.account_id,
        client_id=fake.client_id,
        client_secret=fake.client_secret,
        api_url=fake.api_url,
        oauth_url=fake.url,
    )


async def test_zoom_client_round_trip(session: aiohttp.ClientSession, fake: FakeZoom) -> None:
    """User lookup by email, read-back of a non-settable status, and a DND update."""
    client = zoom_client(session, fake)
    user = await client.get_user("u1@example.com")
    assert (user.user_id, user.display_name, user.email) == ("u1", "Una One", "u1@example.com")
    presences = await client.get_presences(["u1", "missing"])
    assert list(presences) == ["u1"]
    assert (presences["u1"].option, presences["u1"].raw) == (None, "Offline")
    await client.set_presence("u1", "do_not_disturb", 1440)
    assert fake.api_requests("PUT")[-1].body == {"status": "Do_Not_Disturb", "duration": 1440}
    assert fake.requests[0].headers["Authorization"].startswith("Basic ")


@pytest.mark.parametrize(
    ("option", "duration"),
    [("busy", None), ("away", 30), ("do_not_disturb", 0), ("do_not_disturb", 1441)],
)
async def test_zoom_checks_before_sending(
    session: aiohttp.ClientSession, fake: FakeZoom, option: str, duration: int | None
) -> None:
    """Unknown options and bad durations are refused without any request."""
    with pytest.raises(InvalidRequestError):
        await zoom_client(session, fake).set_presence("u1", option, duration)
    assert fake.requests == []


async def test_http_core_failures(session: aiohttp.ClientSession, socket_enabled: None) -> None:
    """Text bodies, timeouts and refused connections become our errors."""
    app = web.Application()

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(1)
        return web.Response()

    async def text(request: web.Request) -> web.Response:
        return web.Response(text="plain", status=418)

    async def bad_json(request: web.Request) -> web.Response:
        return web.Response(text="{", content_type="application/json")

    app.router.add_get("/text", text)
    app.router.add_get("/slow", slow)
    app.router.add_get("/bad-json", bad_json)
    server = aiohttp.test_utils.TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        core = HttpCore(
            session, str(server.make_url("")), map_error=lambda response: None, timeout=0.2
        )
        with pytest.raises(InvalidRequestError, match="plain"):
            await core.request("GET", "/text")
        with pytest.raises(ProviderUnavailableError, match="timed out") as failed:
            await core.request("GET", "/slow")
        assert str(failed.value) == "The request timed out"
        with pytest.raises(UnexpectedResponseError, match="not valid JSON"):
            await core.request("GET", "/bad-json")
        refused = HttpCore(session, "http://127.0.0.1:1", map_error=lambda response: None)
        with pytest.raises(ProviderUnavailableError) as failed:
            await refused.request("GET", "/")
        # The error's text (an entity attribute, a log line) names no URL or host.
        assert str(failed.value) == "Could not reach the provider (ClientConnectorError)"
    finally:
        await server.close()


async def test_used_up_budget_holds_requests_back(
    session: aiohttp.ClientSession, socket_enabled: None, clock: Clock
) -> None:
    """After `X-RateLimit-Remaining: 0`, the budget holds requests until `X-RateLimit-Reset`,
    then sends them: nothing fails for it."""
    received: list[float] = []

    async def last(request: web.Request) -> web.Response:
        received.append(clock())
        reset = str(clock() + 30)
        return web.json_response(
            {}, headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}
        )

    app = web.Application()
    app.router.add_get("/last", last)
    server = aiohttp.test_utils.TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        core = HttpCore(
            session,
            str(server.make_url("")),
            map_error=lambda r: None,
            clock=clock,
            budget=RequestBudget(200, 60.0, clock=clock),
        )
        assert await core.request("GET", "/last") == {}
        assert await core.request("GET", "/last") == {}
        assert received == [START, START + 30]
    finally:
        await server.close()


async def test_a_poll_of_many_people_is_not_one_burst(
    session: aiohttp.ClientSession, fake: FakeZoom
) -> None:
    """Reading 20 people keeps at most MAX_CONCURRENT_READS requests in flight."""
    for n in range(20):
        fake.add_user(ZoomUser(f"p{n}", f"p{n}@example.com", "P", str(n)))
    fake.answer_delay = 0.01
    client = zoom_client(session, fake)
    presences = await client.get_presences([f"p{n}" for n in range(20)])
    assert len(presences) == 20
    assert fake.peak_in_flight == MAX_CONCURRENT_READS
