"""A fake Zoom on 127.0.0.1 that speaks Zoom's wire format (providers.md §1).

It implements Server-to-Server OAuth, `GET /v2/users/{id}` and GET/PUT
`/v2/users/{id}/presence_status` with Zoom's status codes and `{code, message}`
bodies, its one-update-per-user-per-minute limit on an injectable clock, and
records every request it receives.
"""

from dataclasses import dataclass, field
import secrets

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
