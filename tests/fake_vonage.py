"""A fake Vonage Contact Center on 127.0.0.1 that speaks VCC's wire format (providers.md §2).

It implements the client-credentials token endpoint (one scope per token), the
Agents API presence endpoints with their Accept-header versioning and the error
bodies of §2.7, the User Admin user list, and a fair-usage request budget on an
injectable clock; it records every request it receives.
"""

from collections import deque
from collections.abc import Awaitable, Callable
import copy
from dataclasses import dataclass, field
from datetime import UTC, datetime
import re
import secrets
from typing import Any, override
import uuid

from aiohttp import web

from .fake_server import FakeServer, basic_credentials

ACCEPT = "application/vnd.newvoicemedia.v1+json"
TOKEN_PATH = "/Auth/connect/token"
QUERY_LIMIT = 50
LOGGED_OUT_ID = "eaed6862-14fa-4114-be62-b8709b5d4a49"
EXTENDED_AWAY_ID = "4060362d-1ab1-11ec-a0c4-066a9ef411a8"
READY_ID = "734966bb-e646-46c3-a122-617765e92f89"
BREAK_ID = "6bbbebbd-f160-4d8d-96db-411b755a18a4"
LUNCH_ID = "2f0c9a4e-7d51-4c3b-9e86-5a1d3b7f0c42"
CATEGORY_DESCRIPTIONS = {
    "LoggedOut": "Logged Out",
    "Away": "Away",
    "ExtendedAway": "Extended Away",
    "Ready": "Ready",
}
_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
_VERSION = re.compile(r"application/vnd\.newvoicemedia\.v([^+]*)\+json")
_NAMESPACE = uuid.UUID("9a3c1e55-0b7d-4f2e-8c61-3d5f7a9b1c20")


def definition(
    presence_id: str, description: str, category: str, *, selectable: bool = True
) -> dict[str, Any]:
    """A presence definition as VCC returns it."""
    return {
        "presenceId": presence_id,
        "selectable": selectable,
        "category": {
            "categoryType": category,
            "description": CATEGORY_DESCRIPTIONS[category],
            "subCategory": category,
        },
        "description": description,
    }


DEFAULT_DEFINITIONS = [
    definition(EXTENDED_AWAY_ID, "Extended away", "ExtendedAway", selectable=False),
    definition(READY_ID, "Ready", "Ready"),
    definition(BREAK_ID, "Break", "Away"),
    definition(LUNCH_ID, "Lunch", "Away"),
    definition(LOGGED_OUT_ID, "Logged Out", "LoggedOut"),
]


@dataclass(frozen=True)
class IssuedToken:
    """A bearer token the fake handed out."""

    scope: str
    expires_at: float


@dataclass
class FakeVonage(FakeServer):
    """VCC's state and behaviour; both the auth host and the API gateway are `url`."""

    client_id: str = "vcc-client-id"
    client_secret: str = "vcc-client-secret"
    allowed_scopes: frozenset[str] = frozenset({"users:write", "users:read"})
    token_lifetime: int = 7200
    definitions: list[dict[str, Any]] = field(
        default_factory=lambda: copy.deepcopy(DEFAULT_DEFINITIONS)
    )
    agents: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Agents by lower-case GUID: `name`, `presenceId` and `updated`."""
    tokens: dict[str, IssuedToken] = field(default_factory=dict)
    can_list_users: bool = True
    """False refuses the user list with 403, as for credentials without that right."""
    user_list_failure: Callable[[], Awaitable[web.Response]] | None = None
    """While set, answers every authorised user list request instead (a 404, a 5xx, a hang)."""
    budget: int | None = None
    """Requests allowed per `budget_window` seconds over all API requests; None is unlimited."""
    budget_window: float = 60.0
    retry_after_header: str | None = None
    """The `Retry-After` sent with a 429, if any (VCC documents none)."""
    rejected_429: int = 0
    accepted_times: deque[float] = field(default_factory=deque)
    """When (clock) the API requests of the current budget window were accepted."""

    api_prefix = ("/agents/", "/useradmin/")
    """Both APIs, so `api_requests` and `fail_next` cover the user list too."""

    def entry_data(self) -> dict[str, str]:
        """A Presence Bridge entry's data for these credentials, pointing at the fake."""
        return {
            "provider": "vonage",
            "region": "emea",
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "auth_url": self.url,
            "api_url": self.url,
        }

    def add_agent(self, name: str, presence_id: str = LOGGED_OUT_ID) -> str:
        """Add an agent; its GUID derives from the name, so tests can predict it."""
        guid = str(uuid.uuid5(_NAMESPACE, name))
        self.agents[guid] = {"name": name, "presenceId": presence_id, "updated": _now()}
        return guid

    def add_definition(self, description: str, category: str, *, selectable: bool = True) -> str:
        """Add a presence definition, as in the Admin Portal; returns its id."""
        presence_id = str(uuid.uuid5(_NAMESPACE, f"presence:{description}:{category}"))
        self.definitions.append(
            definition(presence_id, description, category, selectable=selectable)
        )
        return presence_id

    def set_definition_selectable(self, presence_id: str, selectable: bool) -> None:
        """Offer or withdraw a definition from the agents' choice."""
        self._definition(presence_id)["selectable"] = selectable

    def revoke_tokens(self) -> None:
        """Make every issued token invalid, as after the credentials' secret was rotated."""
        self.tokens.clear()

    def token_requests(self) -> list[dict[str, str]]:
        """The form bodies of the token requests received."""
        return [request.body for request in self.requests if request.path == TOKEN_PATH]

    def routes(self, router: web.UrlDispatcher) -> None:
        """The token endpoint, the Agents API presence endpoints and the user list."""
        router.add_post(TOKEN_PATH, self._token)
        router.add_get("/agents/presence-definitions", self._definitions)
        router.add_get("/agents/presences/users", self._presences)
        router.add_get("/agents/{user}/presence", self._get_presence)
        router.add_patch("/agents/{user}/presence", self._patch_presence)
        router.add_get("/useradmin/users", self._users)

    @override
    async def handle(self, request: web.Request, handler: Any) -> web.StreamResponse:
        """Apply the fair-usage budget, which all VCC APIs share, before answering."""
        if request.path.startswith(self.api_prefix) and self._over_budget():
            self.rejected_429 += 1
            headers = {"Retry-After": self.retry_after_header} if self.retry_after_header else None
            return web.Response(status=429, headers=headers)
        return await handler(request)

    def _over_budget(self) -> bool:
        if self.budget is None:
            return False
        now = self.clock()
        while self.accepted_times and self.accepted_times[0] <= now - self.budget_window:
            self.accepted_times.popleft()
        if len(self.accepted_times) >= self.budget:
            return True
        self.accepted_times.append(now)
        return False

    async def _token(self, request: web.Request) -> web.Response:
        form = dict(await request.post())
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        if basic := basic_credentials(request.headers.get("Authorization", "")):
            client_id, client_secret = basic
        if (client_id, client_secret) != (self.client_id, self.client_secret):
            return web.json_response({"error": "invalid_client"}, status=401)
        if form.get("grant_type") != "client_credentials":
            return web.json_response({"error": "unsupported_grant_type"}, status=400)
        scope = str(form.get("scope", ""))
        if len(scope.split()) != 1 or scope not in self.allowed_scopes:
            return web.json_response({"error": "invalid_scope"}, status=400)
        token = secrets.token_urlsafe(24)
        self.tokens[token] = IssuedToken(scope, self.clock() + self.token_lifetime)
        return web.json_response(
            {"access_token": token, "expires_in": self.token_lifetime, "token_type": "Bearer"}
        )

    def _authorize(self, request: web.Request, *scopes: str) -> web.Response | None:
        """Version, bearer and scope checks, in the order VCC applies them."""
        if request.path.startswith("/agents/"):
            version = _VERSION.search(request.headers.get("Accept", ""))
            if version is None:
                return _version_error(
                    "ApiVersionUnspecified", "An API version is required, but was not specified."
                )
            if version.group(1) != "1":
                return _version_error(
                    "UnsupportedApiVersion",
                    f"The HTTP resource that matches the request URI '{request.url}' "
                    f"does not support the API version '{version.group(1)}'.",
                )
        token = self.tokens.get(request.headers.get("Authorization", "").removeprefix("Bearer "))
        if token is None or token.expires_at <= self.clock():
            return web.json_response(
                {"message": "Authorization has been denied for this request."}, status=401
            )
        if token.scope not in scopes:
            return web.Response(status=403)
        return None

    async def _definitions(self, request: web.Request) -> web.Response:
        if failure := self._authorize(request, "users:read", "users:write"):
            return failure
        return web.json_response({"presenceDefinitions": self.definitions})

    async def _presences(self, request: web.Request) -> web.Response:
        if failure := self._authorize(request, "users:read", "users:write"):
            return failure
        ids = [user_id for user_id in request.query.get("userId", "").split(",") if user_id]
        if not ids or not all(_GUID.fullmatch(user_id) for user_id in ids):
            return _invalid()
        if len(ids) > QUERY_LIMIT:
            return web.json_response(
                {
                    "status": 400,
                    "title": "Query limit",
                    "detail": f"Request exceeded maximum number for users of {QUERY_LIMIT} in one query.",
                },
                status=400,
            )
        return web.json_response(
            [
                self._user_presence(user_id.lower())
                for user_id in ids
                if user_id.lower() in self.agents
            ]
        )

    async def _get_presence(self, request: web.Request) -> web.Response:
        if failure := self._authorize(request, "users:read", "users:write"):
            return failure
        user_id = request.match_info["user"]
        if not _GUID.fullmatch(user_id):
            return _invalid()
        if user_id.lower() not in self.agents:
            return web.Response(status=404)
        return web.json_response(self._user_presence(user_id.lower()))

    async def _patch_presence(self, request: web.Request) -> web.Response:
        if failure := self._authorize(request, "users:write"):
            return failure
        user_id = request.match_info["user"]
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not _GUID.fullmatch(user_id) or not isinstance(body, dict):
            return _invalid()
        presence_id = body.get("presenceId")
        if presence_id is None:
            return web.json_response(
                {
                    "status": 400,
                    "title": "One or more validation errors occurred.",
                    "errors": [
                        {"message": "The PresenceId field is required.", "path": "presenceId"}
                    ],
                },
                status=400,
            )
        if not isinstance(presence_id, str) or not _GUID.fullmatch(presence_id):
            return _invalid()
        agent = self.agents.get(user_id.lower())
        known = {item["presenceId"] for item in self.definitions}
        if agent is None or presence_id.lower() not in known:
            return web.Response(status=404)
        agent["presenceId"] = presence_id.lower()
        agent["updated"] = _now()
        return web.json_response(self._user_presence(user_id.lower()))

    async def _users(self, request: web.Request) -> web.Response:
        if failure := self._authorize(request, "users:read"):
            return failure
        if not self.can_list_users:
            return web.Response(status=403)
        if self.user_list_failure is not None:
            return await self.user_list_failure()
        return web.json_response(
            [{"userId": user_id, "name": agent["name"]} for user_id, agent in self.agents.items()]
        )

    def _definition(self, presence_id: str) -> dict[str, Any]:
        return next(item for item in self.definitions if item["presenceId"] == presence_id)

    def _user_presence(self, user_id: str) -> dict[str, Any]:
        """An agent's `UserPresence`, with the full definition it is in."""
        agent = self.agents[user_id]
        return {
            "userId": user_id,
            "updated": agent["updated"],
            "presence": copy.deepcopy(self._definition(agent["presenceId"])),
        }


def _now() -> str:
    """Now as VCC writes it: ISO 8601, UTC, milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _invalid() -> web.Response:
    """VCC's answer to a malformed GUID or body."""
    return web.json_response({"message": "The request is invalid."}, status=400)


def _version_error(code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=400)
