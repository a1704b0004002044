"""The fakes' account-wide request limits (providers.md §1.7, §2.8, §4.8), on a manual clock.

Each fake is hit alone with aiohttp; time moves only when a test moves `clock.now`, so the
limits are seen to count on the fake's injectable clock and not on the real one.
"""

from collections.abc import AsyncGenerator
from typing import Any

import aiohttp
import pytest

from .conftest import START, Clock
from .fake_msgraph import FakeGraph
from .fake_vonage import FakeVonage
from .fake_zoom import DAILY_MESSAGE, QPS_MESSAGE, FakeZoom, ZoomUser

USER = "u1"


@pytest.fixture
async def zoom(socket_enabled: None, clock: Clock) -> AsyncGenerator[FakeZoom]:
    """A fake Zoom with one user, on the manual clock."""
    fake = FakeZoom(clock=clock)
    fake.add_user(ZoomUser(USER, "u1@example.com", "Una", "One"))
    async with fake:
        yield fake


@pytest.fixture
async def token(session: aiohttp.ClientSession, zoom: FakeZoom) -> str:
    """A valid bearer token of the fake Zoom."""
    async with session.post(
        f"{zoom.url}/oauth/token",
        data={"grant_type": "account_credentials", "account_id": zoom.account_id},
        headers={"Authorization": aiohttp.encode_basic_auth(zoom.client_id, zoom.client_secret)},
    ) as response:
        assert response.status == 200
        return (await response.json())["access_token"]


async def _zoom(
    session: aiohttp.ClientSession, zoom: FakeZoom, token: str, method: str = "GET"
) -> tuple[int, Any, dict[str, str]]:
    """One presence request; its status, JSON body (or None) and headers."""
    async with session.request(
        method,
        f"{zoom.api_url}/users/{USER}/presence_status",
        json={"status": "Away"} if method == "PUT" else None,
        headers={"Authorization": f"Bearer {token}"},
    ) as response:
        body = await response.json() if response.content_type == "application/json" else None
        return response.status, body, dict(response.headers)


async def _statuses(
    session: aiohttp.ClientSession, zoom: FakeZoom, token: str, count: int
) -> list[int]:
    return [(await _zoom(session, zoom, token))[0] for _ in range(count)]


async def test_zoom_has_no_account_limit_by_default(
    session: aiohttp.ClientSession, zoom: FakeZoom, token: str
) -> None:
    """Without `requests_per_second` or `requests_per_day`, a burst at one instant is answered."""
    assert await _statuses(session, zoom, token, 100) == [200] * 100
    assert zoom.rejected_429 == 0


async def test_zoom_per_second_limit(
    session: aiohttp.ClientSession, zoom: FakeZoom, token: str, clock: Clock
) -> None:
    """Past the plan's per-second limit Zoom answers its QPS 429; refusals do not count."""
    zoom.requests_per_second = 2
    assert await _statuses(session, zoom, token, 2) == [200, 200]
    status, body, headers = await _zoom(session, zoom, token, "PUT")
    assert status == 429
    assert body == {"code": 429, "message": QPS_MESSAGE}
    assert QPS_MESSAGE == (
        "You have reached the maximum per-second rate limit for this API. Try again later."
    )
    assert headers["X-RateLimit-Category"] == "Medium"
    assert headers["X-RateLimit-Type"] == "QPS"
    assert headers["X-RateLimit-Limit"] == "2"
    assert headers["X-RateLimit-Remaining"] == "0"
    assert headers["Retry-After"] == "1"
    clock.now += 0.999
    assert await _statuses(session, zoom, token, 1) == [429]
    clock.now = START + 1
    assert await _statuses(session, zoom, token, 3) == [200, 200, 429]
    assert zoom.rejected_429 == 3
    # The PUT refused by the account limit never reached the presence handler.
    assert zoom.users[USER].status == "Available"


async def test_zoom_per_second_window_slides(
    session: aiohttp.ClientSession, zoom: FakeZoom, token: str, clock: Clock
) -> None:
    """The second is a sliding window: a request leaves it exactly one second after it came."""
    zoom.requests_per_second = 2
    assert await _statuses(session, zoom, token, 1) == [200]
    clock.now += 0.5
    assert await _statuses(session, zoom, token, 2) == [200, 429]
    clock.now += 0.5  # the first request leaves the window; the second is still in it
    assert await _statuses(session, zoom, token, 2) == [200, 429]
    assert zoom.rejected_429 == 2


async def test_zoom_paced_at_the_limit_is_never_refused(
    session: aiohttp.ClientSession, zoom: FakeZoom, token: str, clock: Clock
) -> None:
    """A client sending exactly one request per 1/limit seconds meets no 429."""
    zoom.requests_per_second = 20
    statuses = []
    for n in range(100):
        clock.now = START + n / 20
        statuses += await _statuses(session, zoom, token, 1)
    assert statuses == [200] * 100
    assert zoom.rejected_429 == 0


async def test_zoom_per_second_retry_after_is_optional(
    session: aiohttp.ClientSession, zoom: FakeZoom, token: str
) -> None:
    """Zoom may omit `Retry-After` on a QPS 429; the other headers stay."""
    zoom.requests_per_second = 1
    zoom.qps_retry_after = False
    assert await _statuses(session, zoom, token, 1) == [200]
    status, _, headers = await _zoom(session, zoom, token)
    assert status == 429
    assert "Retry-After" not in headers
    assert headers["X-RateLimit-Type"] == "QPS"


async def test_zoom_daily_limit(
    session: aiohttp.ClientSession, zoom: FakeZoom, token: str, clock: Clock
) -> None:
    """Past the daily limit, 429 `Daily-limit` until the next midnight UTC, named in Retry-After."""
    zoom.requests_per_day = 3
    zoom.tokens[token] = float("inf")  # outlives the day
    zoom.requests_per_second = 2
    clock.now = START  # 2023-11-14T22:13:20Z
    assert await _statuses(session, zoom, token, 3) == [200, 200, 429]  # QPS first
    clock.now += 1  # a QPS refusal did not count against the day
    assert await _statuses(session, zoom, token, 1) == [200]
    status, body, headers = await _zoom(session, zoom, token)
    assert status == 429
    assert body == {"code": 429, "message": DAILY_MESSAGE}
    assert headers["X-RateLimit-Type"] == "Daily-limit"
    assert headers["X-RateLimit-Limit"] == "3"
    assert headers["X-RateLimit-Remaining"] == "0"
    assert headers["Retry-After"] == "2023-11-15T00:00:00Z"
    clock.now = 1_700_006_399.0  # 23:59:59
    assert await _statuses(session, zoom, token, 1) == [429]
    clock.now = 1_700_006_400.0  # midnight
    assert await _statuses(session, zoom, token, 1) == [200]
    assert zoom.rejected_429 == 3
    assert zoom.day_requests == {"2023-11-14": 3, "2023-11-15": 1}


async def test_zoom_limits_spare_the_token_endpoint_and_the_user_minute_stays(
    session: aiohttp.ClientSession, zoom: FakeZoom, token: str
) -> None:
    """Token requests do not count; the per-user minute 429 is not an account-wide one."""
    zoom.requests_per_second = 2
    for _ in range(5):
        async with session.post(
            f"{zoom.url}/oauth/token",
            data={"grant_type": "account_credentials", "account_id": zoom.account_id},
            headers={
                "Authorization": aiohttp.encode_basic_auth(zoom.client_id, zoom.client_secret)
            },
        ) as response:
            assert response.status == 200
    assert (await _zoom(session, zoom, token, "PUT"))[0] == 204
    status, body, headers = await _zoom(session, zoom, token, "PUT")
    assert status == 429
    assert "per-second" not in body["message"]
    assert "X-RateLimit-Type" not in headers
    assert zoom.rejected_429 == 0


@pytest.fixture
async def vonage(socket_enabled: None, clock: Clock) -> AsyncGenerator[FakeVonage]:
    """A fake VCC on the manual clock."""
    async with FakeVonage(clock=clock) as fake:
        yield fake


@pytest.fixture
async def graph(socket_enabled: None, clock: Clock) -> AsyncGenerator[FakeGraph]:
    """A fake Graph on the manual clock."""
    async with FakeGraph(clock=clock) as fake:
        yield fake


async def _status(session: aiohttp.ClientSession, method: str, url: str) -> tuple[int, str | None]:
    """A request without credentials (budgets count before authorization): status, Retry-After."""
    async with session.request(method, url) as response:
        return response.status, response.headers.get("Retry-After")


async def test_vonage_budget_slides_on_the_fakes_clock(
    session: aiohttp.ClientSession, vonage: FakeVonage, clock: Clock
) -> None:
    """VCC's fair-usage budget: `budget` requests per sliding `budget_window` of the clock."""
    vonage.budget = 2
    url = f"{vonage.url}/useradmin/users"
    assert (await _status(session, "GET", url))[0] == 401
    clock.now += 30
    assert (await _status(session, "GET", url))[0] == 401
    assert await _status(session, "GET", url) == (429, None)
    clock.now = START + 60  # the first request has left the window
    assert (await _status(session, "GET", url))[0] == 401
    assert await _status(session, "GET", url) == (429, None)
    assert vonage.rejected_429 == 2


async def test_graph_presence_budget(
    session: aiohttp.ClientSession, graph: FakeGraph, clock: Clock
) -> None:
    """1,500 presence requests per 30 s by default; past it 429 with Retry-After, other
    endpoints unaffected."""
    assert (graph.budget, graph.budget_window) == (1500, 30.0)
    graph.budget = 2
    presence = f"{graph.api_url}/communications/getPresencesByUserId"
    assert (await _status(session, "POST", presence))[0] == 401
    clock.now += 10
    assert (await _status(session, "POST", presence))[0] == 401
    assert await _status(session, "POST", presence) == (429, "20")
    assert (await _status(session, "GET", f"{graph.api_url}/users/someone"))[0] == 401
    clock.now = START + 30
    assert (await _status(session, "POST", presence))[0] == 401
    assert graph.rejected_429 == 1
