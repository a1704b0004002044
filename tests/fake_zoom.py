"""A fake Zoom on 127.0.0.1 that speaks Zoom's wire format (providers.md §1).

It implements Server-to-Server OAuth, `GET /v2/users/{id}` and GET/PUT
`/v2/users/{id}/presence_status` with Zoom's status codes and `{code, message}`
bodies, its one-update-per-user-per-minute limit on an injectable clock, and
records every request it receives. Optionally (off by default) it also enforces the
account's per-second and daily request limits of §1.7, answering Zoom's 429s with
their `X-RateLimit-*` headers.
"""

from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
import math
import secrets
from typing import Any, override

from aiohttp import web

from .fake_server import FakeServer, basic_credentials

SETTABLE = {
    "Away",
    "Do_Not_Disturb",
    "Available",
    "In_Calendar_Event",
    "Presenting",
    "In_A_Zoom_Meeting",
    "On_A_Call",
    "Out_of_Office",
    "Busy",
}
ALL_SCOPES = frozenset({"user:read:admin", "user:write:admin"})
QPS_MESSAGE = "You have reached the maximum per-second rate limit for this API. Try again later."
DAILY_MESSAGE = (
    "You have reached the maximum daily rate limit for this API. "
    "Refer to the response header for details on when you can make another request."
)


@dataclass
class ZoomUser:
    """A user of the fake account."""

    user_id: str
    email: str
    first_name: str
    last_name: str
    status: str = "Available"
    signed_in: bool = True
    may_update: bool = True
    """False answers 5411: the app may not update this user."""


@dataclass
class FakeZoom(FakeServer):
    """Zoom's state and behaviour."""

    account_id: str = "acct-123"
    client_id: str = "zoom-client-id"
    client_secret: str = "zoom-client-secret"
    token_lifetime: int = 3600
    scopes: frozenset[str] = ALL_SCOPES
    users: dict[str, ZoomUser] = field(default_factory=dict)
    tokens: dict[str, float] = field(default_factory=dict)
    """Issued tokens and when (clock) they expire."""
    last_update: dict[str, float] = field(default_factory=dict)
    requests_per_second: int | None = None
    """Account-wide API requests allowed in any one second (a sliding window on `clock`):
    the plan's "Medium" limit, 2 (Free), 20 (Pro) or 60 (Business). None is unlimited.
    Every API request counts, "Get a user" too, though Zoom files it under "Light"."""
    requests_per_day: int | None = None
    """API requests allowed per UTC day of `clock` (Free: 2,000 for "Medium"); None is unlimited."""
    rate_limit_category: str = "Medium"
    """The `X-RateLimit-Category` of the 429s."""
    qps_retry_after: bool = True
    """Whether a per-second 429 carries `Retry-After` (Zoom sometimes omits it)."""
    rejected_429: int = 0
    """Requests refused by the per-second or daily limit (not by the per-user minute)."""
    accepted_times: deque[float] = field(default_factory=deque)
    """When (clock) the API requests of the current one-second window were accepted."""
    day_requests: dict[str, int] = field(default_factory=dict)
    """API requests accepted per UTC day (ISO date)."""

    api_prefix = "/v2/"

    def add_user(self, user: ZoomUser) -> ZoomUser:
        """Add a user to the account."""
        self.users[user.user_id] = user
        return user

    def entry_data(self) -> dict[str, str]:
        """A Presence Bridge entry's data for this account, pointing at the fake."""
        return {
            "provider": "zoom",
            "account_id": self.account_id,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "api_url": self.api_url,
            "oauth_url": self.url,
        }

    @property
    def api_url(self) -> str:
        """The REST API base, as a user would enter it."""
        return f"{self.url}/v2"

    def expire_tokens(self) -> None:
        """Make every issued token invalid, as after an app's secret rotation."""
        self.tokens.clear()

    @override
    async def handle(self, request: web.Request, handler: Any) -> web.StreamResponse:
        """Apply the account's daily and per-second limits to API requests, then answer."""
        if request.path.startswith(self.api_prefix) and (refusal := self._over_limit()):
            self.rejected_429 += 1
            return refusal
        return await handler(request)

    def _over_limit(self) -> web.Response | None:
        """Zoom's 429 if the request is over a limit; else None, and the request counts."""
        now = self.clock()
        day = datetime.fromtimestamp(now, UTC).date()
        if self.requests_per_day is not None:
            if self.day_requests.get(day.isoformat(), 0) >= self.requests_per_day:
                midnight = datetime.combine(day + timedelta(days=1), datetime.min.time(), UTC)
                return self._rate_limited(
                    "Daily-limit",
                    self.requests_per_day,
                    DAILY_MESSAGE,
                    midnight.strftime("%Y-%m-%dT%H:%M:%SZ"),
                )
        if self.requests_per_second is not None:
            while self.accepted_times and self.accepted_times[0] <= now - 1.0:
                self.accepted_times.popleft()
            if len(self.accepted_times) >= self.requests_per_second:
                wait = max(1, math.ceil(self.accepted_times[0] + 1.0 - now))
                return self._rate_limited(
                    "QPS",
                    self.requests_per_second,
                    QPS_MESSAGE,
                    str(wait) if self.qps_retry_after else None,
                )
            self.accepted_times.append(now)
        self.day_requests[day.isoformat()] = self.day_requests.get(day.isoformat(), 0) + 1
        return None

    def _rate_limited(
        self, kind: str, limit: int, message: str, retry_after: str | None
    ) -> web.Response:
        """An account-wide 429 as Zoom sends it (§1.7)."""
        response = _error(429, 429, message)
        response.headers.update(
            {
                "X-RateLimit-Category": self.rate_limit_category,
                "X-RateLimit-Type": kind,
                "X-RateLimit-Limit": str(limit),
                "X-RateLimit-Remaining": "0",
            }
        )
        if retry_after is not None:
            response.headers["Retry-After"] = retry_after
        return response

    def routes(self, router: web.UrlDispatcher) -> None:
        """Zoom's token endpoint and the user and presence endpoints."""
        router.add_post("/oauth/token", self._token)
        router.add_get("/v2/users/{user}", self._get_user)
        router.add_get("/v2/users/{user}/presence_status", self._get_presence)
        router.add_put("/v2/users/{user}/presence_status", self._put_presence)

    async def _token(self, request: web.Request) -> web.Response:
        params = dict(request.query) | dict(await request.post())
        credentials = basic_credentials(request.headers.get("Authorization", ""))
        if credentials != (self.client_id, self.client_secret):
            return web.json_response(
                {"reason": "Invalid client_id or client_secret", "error": "invalid_client"},
                status=401,
            )
        if params.get("grant_type") != "account_credentials":
            return web.json_response(
                {"reason": "Unsupported grant type", "error": "unsupported_grant_type"}, status=400
            )
        if params.get("account_id") != self.account_id:
            return web.json_response(
                {"reason": "Invalid account_id", "error": "invalid_request"}, status=400
            )
        token = secrets.token_urlsafe(24)
        self.tokens[token] = self.clock() + self.token_lifetime
        return web.json_response(
            {
                "access_token": token,
                "token_type": "bearer",
                "expires_in": self.token_lifetime,
                "scope": " ".join(sorted(self.scopes)),
            }
        )

    def _check(
        self, request: web.Request, scope: str
    ) -> tuple[ZoomUser | None, web.Response | None]:
        """Bearer, scope and user checks shared by the API handlers."""
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ")
        if not auth.startswith("Bearer ") or self.tokens.get(token, 0) <= self.clock():
            return None, _error(401, 124, "Invalid access token.")
        if scope not in self.scopes:
            return None, _error(
                400, 4711, f"Invalid access token, does not contain scopes:[{scope}]."
            )
        key = request.match_info["user"]
        user = self.users.get(key) or next((u for u in self.users.values() if u.email == key), None)
        if user is None:
            return None, _error(404, 1001, f"User does not exist: {key}.")
        return user, None

    async def _get_user(self, request: web.Request) -> web.Response:
        user, failure = self._check(request, "user:read:admin")
        if failure:
            return failure
        assert user is not None
        return web.json_response(
            {
                "id": user.user_id,
                "email": user.email,
                "first_name": user.first_name,
                "last_name": user.last_name,
                "display_name": f"{user.first_name} {user.last_name}",
                "type": 1,
            }
        )

    async def _get_presence(self, request: web.Request) -> web.Response:
        user, failure = self._check(request, "user:read:admin")
        if failure:
            return failure
        assert user is not None
        return web.json_response({"status": user.status})

    async def _put_presence(self, request: web.Request) -> web.Response:
        user, failure = self._check(request, "user:write:admin")
        if failure:
            return failure
        assert user is not None
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or body.get("status") not in SETTABLE:
            return _error(400, 300, "Validation Failed.")
        duration = body.get("duration")
        if duration is not None and (not isinstance(duration, int) or not 1 <= duration <= 1440):
            return _error(400, 300, "Validation Failed.")
        if not user.may_update:
            return _error(
                400,
                5411,
                "Unauthorized request. You do not have permission to update the presence status of this user.",
            )
        if not user.signed_in:
            return _error(400, 5301, "Request to update the presence status of this user failed.")
        now = self.clock()
        if now - self.last_update.get(user.user_id, float("-inf")) < 60:
            return _error(
                429,
                429,
                "Too many requests submitted to update the presence status of this user. "
                "Please wait for the request to be processed and try again later.",
            )
        self.last_update[user.user_id] = now
        user.status = body["status"]
        return web.Response(status=204, headers={"x-zm-trackingid": "v=2.0;clid=fake"})


def _error(status: int, code: int, message: str) -> web.Response:
    return web.json_response({"code": code, "message": message}, status=status)
