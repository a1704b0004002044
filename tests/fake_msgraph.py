"""A fake Microsoft Graph and identity platform on 127.0.0.1 (providers.md §4).

The sign-in side: `/{tenant}/oauth2/v2.0/token` with client credentials, authorization
codes and rotating refresh tokens, AADSTS error bodies; `/{tenant}/oauth2/v2.0/authorize`
answering for `signed_in`. The Graph side, under `/v1.0`: presence read by id, by UPN,
as `/me` and in bulk (`getPresencesByUserId`, at most 650 ids); the five presence
actions in both path forms (`setPresence`, `microsoft.graph.setPresence`) under `/me`
and `/users/{id}`; `GET /users/{id-or-upn}` and `GET /me`. Each token carries roles
(app-only) or scopes (delegated) and each endpoint asks for its permissions (403
otherwise). Presence is what §4.5 says: per-app sessions keyed by `sessionId`, a
preferred presence, the aggregate of both, all expiring on the fake's clock. Errors
are OData bodies with `innerError.request-id`; a presence budget (1,500 requests per
30 s) answers 429 with `Retry-After`. Every request is recorded.

The clock is Unix time (status messages expire at a date), `time.time` by default.
"""

import base64
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
import html
import json
import math
import re
import secrets
import time
from typing import Any, override
import uuid
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiohttp import web
from yarl import URL

from .fake_server import FakeServer, basic_credentials

TENANT_ID = "5f0c7a2e-8d1b-4c39-9e6a-2b7d4f1a8c03"
TENANT_DOMAIN = "contoso.onmicrosoft.com"
CLIENT_ID = "0b3f4e2a-6c1d-4a8e-b7f9-1e2d3c4b5a69"
CLIENT_SECRET = "Xq8~fake.graph-secret_value"
APP_ROLES = frozenset({"Presence.ReadWrite.All", "User.Read.All"})
DELEGATED_SCOPES = frozenset({"offline_access", "Presence.ReadWrite", "User.Read"})
MAX_IDS = 650
STATUS_LIMIT = 280
"""The longest status message the fake takes (Teams' limit; not in Graph's docs)."""
ACTIONS = (
    "setPresence",
    "clearPresence",
    "setUserPreferredPresence",
    "clearUserPreferredPresence",
    "setStatusMessage",
)
SESSION_PAIRS = frozenset(
    {
        ("Available", "Available"),
        ("Busy", "InACall"),
        ("Busy", "InAConferenceCall"),
        ("Away", "Away"),
        ("DoNotDisturb", "Presenting"),
    }
)
"""What `setPresence` takes (§4.4, with the newer docs' DoNotDisturb/Presenting)."""
PREFERRED_PAIRS = frozenset(
    {
        ("Available", "Available"),
        ("Busy", "Busy"),
        ("DoNotDisturb", "DoNotDisturb"),
        ("BeRightBack", "BeRightBack"),
        ("Away", "Away"),
        ("Offline", "OffWork"),
    }
)
"""What `setUserPreferredPresence` takes (§4.5)."""
SESSION_RANK = {"DoNotDisturb": 4, "Busy": 3, "Available": 2, "Away": 1}
"""Which session wins the aggregate (§4.4): DoNotDisturb > Busy > Available > Away."""
DAY = 86400.0
WINDOWS_ZONES = {
    "Pacific Standard Time": "America/Los_Angeles",
    "Eastern Standard Time": "America/New_York",
    "GMT Standard Time": "Europe/London",
    "W. Europe Standard Time": "Europe/Berlin",
}
"""A few Windows time-zone names `expiryDateTime.timeZone` may use; IANA names work too."""
PRESENCE_READ = {
    "app": frozenset({"Presence.Read.All", "Presence.ReadWrite.All"}),
    "delegated": frozenset({"Presence.Read", "Presence.Read.All", "Presence.ReadWrite"}),
}
BULK_READ = {
    "app": frozenset({"Presence.Read.All", "Presence.ReadWrite.All"}),
    "delegated": frozenset({"Presence.Read.All"}),
}
PRESENCE_WRITE = {
    "app": frozenset({"Presence.ReadWrite.All"}),
    "delegated": frozenset({"Presence.ReadWrite"}),
}
USER_READ = {
    "app": frozenset({"User.Read.All", "User.ReadWrite.All", "Directory.Read.All"}),
    "delegated": frozenset({"User.ReadBasic.All", "User.Read.All"}),
}
ME_READ = frozenset({"User.Read", "User.ReadBasic.All", "User.Read.All"})
_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
_DURATION = re.compile(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?")
_NAMESPACE = uuid.UUID("3e9d5c1a-7b2f-4e80-9a41-6c8d2f0b7e15")


@dataclass
class State:
    """An availability and activity, until when (clock) they hold; None is for ever."""

    availability: str
    activity: str
    expires_at: float | None = None


@dataclass
class Status:
    """A status message, as set."""

    content: str
    content_type: str
    published: str
    expires_at: float | None = None
    expiry: dict[str, str] | None = None


@dataclass
class GraphUser:
    """A work account of the fake tenant."""

    user_id: str
    upn: str
    display_name: str
    mail: str | None = None
    sessions: dict[str, State] = field(default_factory=dict)
    """Presence sessions by `sessionId` (an app's client id; a Teams client is another)."""
    preferred: State | None = None
    status: Status | None = None


@dataclass(frozen=True)
class IssuedToken:
    """An access token: app-only (roles) or for a signed-in user (scopes)."""

    client_id: str
    permissions: frozenset[str]
    expires_at: float
    user_id: str | None = None

    @property
    def kind(self) -> str:
        """`app` or `delegated`."""
        return "app" if self.user_id is None else "delegated"


@dataclass(frozen=True)
class Grant:
    """What an authorization code or a refresh token stands for."""

    user_id: str
    scopes: frozenset[str]
    redirect_uri: str | None = None
    expires_at: float = math.inf


@dataclass
class FakeGraph(FakeServer):
    """Microsoft Graph's and the identity platform's state and behaviour, both at `url`."""

    clock: Callable[[], float] = time.time
    tenant_id: str = TENANT_ID
    tenant_domain: str = TENANT_DOMAIN
    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET
    app_roles: frozenset[str] = APP_ROLES
    """The application permissions granted (with admin consent) to the app."""
    token_lifetime: int = 3599
    users: dict[str, GraphUser] = field(default_factory=dict)
    """Users by lower-case object id."""
    tokens: dict[str, IssuedToken] = field(default_factory=dict)
    codes: dict[str, Grant] = field(default_factory=dict)
    redeemed: set[str] = field(default_factory=set)
    refresh_tokens: dict[str, Grant] = field(default_factory=dict)
    signed_in: str | None = None
    """The user the authorize endpoint signs in, if any."""
    consent_page: bool = False
    """True shows a one-button consent page (the sandbox's) before signing `signed_in` in."""
    budget: int | None = 1500
    """Presence requests allowed per `budget_window` seconds; None is unlimited."""
    budget_window: float = 30.0
    accepted_times: deque[float] = field(default_factory=deque)
    rejected_429: int = 0
    user_lookup_failure: Callable[[], Awaitable[web.StreamResponse]] | None = None
    """While set, answers every authorised `GET /users/{id-or-upn}` instead (a 5xx, a hang)."""

    api_prefix = "/v1.0/"

    # Set-up and inspection.

    def add_user(self, name: str, upn: str, *, mail: str | None = None) -> str:
        """Add a user; the object id derives from the UPN, so tests can predict it."""
        user_id = str(uuid.uuid5(_NAMESPACE, upn.lower()))
        self.users[user_id] = GraphUser(user_id, upn, name, mail)
        return user_id

    def add_session(
        self,
        user_id: str,
        availability: str = "Available",
        activity: str = "Available",
        *,
        session_id: str = "teams-client",
        seconds: float | None = None,
    ) -> None:
        """Open a presence session another app holds (a Teams client), for ever by default."""
        expires = None if seconds is None else self.clock() + seconds
        self.users[user_id].sessions[session_id] = State(availability, activity, expires)

    def presence_of(self, user_id: str) -> tuple[str, str]:
        """The aggregate availability and activity (§4.4, §4.5)."""
        user = self._current(self.users[user_id.lower()])
        if not user.sessions:
            return "Offline", "Offline"
        if user.preferred is not None:
            return user.preferred.availability, user.preferred.activity
        best = max(user.sessions.values(), key=lambda s: SESSION_RANK.get(s.availability, 0))
        return best.availability, best.activity

    def entry_data(self) -> dict[str, str]:
        """The app-only entry data for this tenant's app, pointing at the fake."""
        return {
            "provider": "msgraph",
            "tenant_id": self.tenant_id,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "api_url": self.api_url,
            "login_url": self.url,
        }

    @property
    def api_url(self) -> str:
        """Graph's base, as a user would enter it."""
        return f"{self.url}/v1.0"

    @property
    def token_path(self) -> str:
        """The token endpoint's path for the fake's tenant."""
        return f"/{self.tenant_id}/oauth2/v2.0/token"

    def authorize_code(
        self,
        user_id: str,
        scopes: Iterable[str] = DELEGATED_SCOPES,
        *,
        redirect_uri: str | None = None,
        lifetime: float = 600.0,
    ) -> str:
        """An authorization code for `user_id`, as the authorize endpoint would redirect with."""
        code = f"0.A{secrets.token_urlsafe(32)}"
        self.codes[code] = Grant(
            user_id.lower(), _scope_names(scopes), redirect_uri, self.clock() + lifetime
        )
        return code

    def issue_token(
        self, permissions: Iterable[str] | None = None, *, user_id: str | None = None
    ) -> str:
        """An access token with these roles (app-only) or, for `user_id`, these scopes."""
        default = self.app_roles if user_id is None else DELEGATED_SCOPES
        granted = sorted(default if permissions is None else permissions)
        # A JWT as the identity platform issues: app-only tokens carry the granted roles.
        claims = {"tid": self.tenant_id, "appid": self.client_id}
        claims |= {"roles": granted} if user_id is None else {"scp": " ".join(granted)}
        payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
        token = f"eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.{payload}.{secrets.token_urlsafe(32)}"
        self.tokens[token] = IssuedToken(
            self.client_id,
            frozenset(default if permissions is None else permissions),
            self.clock() + self.token_lifetime,
            user_id.lower() if user_id else None,
        )
        return token

    def expire_tokens(self) -> None:
        """Make every access token invalid, as after a revocation."""
        self.tokens.clear()

    def revoke_refresh_tokens(self) -> None:
        """Make every refresh token invalid, as after a password change."""
        self.refresh_tokens.clear()

    def token_requests(self) -> list[dict[str, str]]:
        """The form bodies of the token requests received."""
        return [r.body for r in self.requests if r.path.endswith("/oauth2/v2.0/token")]

    # Routes.

    def routes(self, router: web.UrlDispatcher) -> None:
        """The identity platform's endpoints and Graph's user and presence endpoints."""
        router.add_post("/{tenant}/oauth2/v2.0/token", self._token)
        router.add_get("/{tenant}/oauth2/v2.0/authorize", self._authorize_endpoint)
        router.add_post("/{tenant}/oauth2/v2.0/authorize", self._authorize_endpoint)
        router.add_get("/v1.0/me", self._get_me)
        router.add_get("/v1.0/users/{user}", self._get_user)
        router.add_get("/v1.0/me/presence", self._get_presence)
        router.add_get("/v1.0/users/{user}/presence", self._get_presence)
        router.add_get("/v1.0/communications/presences/{user}", self._get_presence)
        router.add_post("/v1.0/communications/getPresencesByUserId", self._get_presences)
        router.add_post("/v1.0/me/presence/{action}", self._act)
        router.add_post("/v1.0/users/{user}/presence/{action}", self._act)

    @override
    async def handle(self, request: web.Request, handler: Any) -> web.StreamResponse:
        """Apply the presence budget (§4.8) before answering a presence request."""
        if ("/presence" in request.path or "/communications/" in request.path) and (
            wait := self._over_budget()
        ) is not None:
            self.rejected_429 += 1
            return odata_error(
                429,
                "TooManyRequests",
                "Too many requests.",
                headers={"Retry-After": str(wait)},
            )
        return await handler(request)

    def _over_budget(self) -> int | None:
        """None if the request fits the budget (and counts it), else the seconds to wait."""
        if self.budget is None:
            return None
        now = self.clock()
        while self.accepted_times and self.accepted_times[0] <= now - self.budget_window:
            self.accepted_times.popleft()
        if len(self.accepted_times) >= self.budget:
            return max(1, math.ceil(self.accepted_times[0] + self.budget_window - now))
        self.accepted_times.append(now)
        return None

    # The identity platform.

    async def _token(self, request: web.Request) -> web.Response:
        tenant = request.match_info["tenant"].lower()
        form = {key: str(value) for key, value in (await request.post()).items()}
        grant_type = form.get("grant_type", "")
        organizations = tenant in ("common", "organizations")
        if not organizations and tenant not in (self.tenant_id, self.tenant_domain):
            return aad_error(
                400,
                "invalid_request",
                90002,
                f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID "
                "and are signing into the correct cloud. Check with your subscription "
                "administrator, this may happen if there are no active subscriptions for the tenant.",
            )
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        if basic := basic_credentials(request.headers.get("Authorization", "")):
            client_id, client_secret = basic
        if client_id != self.client_id:
            return aad_error(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory "
                f"'{tenant}'. This can happen if the application has not been installed by the "
                "administrator of the tenant or consented to by any user in the tenant. You may "
                "have sent your authentication request to the wrong tenant.",
            )
        if grant_type == "client_credentials" and organizations:
            return aad_error(
                400,
                "invalid_request",
                50059,
                "No tenant-identifying information found in either the request or implied by "
                "any provided credentials.",
            )
        if client_secret != self.client_secret:
            return aad_error(
                401,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is "
                "the client secret value, not the client secret ID, for a secret added to app "
                f"'{self.client_id}'.",
            )
        match grant_type:
            case "client_credentials":
                return self._client_credentials(form)
            case "authorization_code":
                return self._redeem_code(form)
            case "refresh_token":
                return self._refresh(form)
        return aad_error(
            400,
            "unsupported_grant_type",
            70003,
            f"The app requested an unsupported grant type '{grant_type}'.",
        )

    def _client_credentials(self, form: dict[str, str]) -> web.Response:
        scope = form.get("scope", "")
        if scope != f"{self.url}/.default":
            return aad_error(
                400,
                "invalid_scope",
                1002012,
                f"The provided value for scope {scope} is not valid. Client credential flows "
                "must have a scope value with /.default suffixed to the resource identifier "
                "(application ID URI).",
            )
        token = self.issue_token()
        return web.json_response(
            {
                "token_type": "Bearer",
                "expires_in": self.token_lifetime,
                "ext_expires_in": self.token_lifetime,
                "access_token": token,
            }
        )

    def _redeem_code(self, form: dict[str, str]) -> web.Response:
        code = form.get("code", "")
        if code in self.redeemed:
            return aad_error(
                400,
                "invalid_grant",
                54005,
                "OAuth2 Authorization code was already redeemed, "
                "please retry with a new valid code or use an existing refresh token.",
            )
        grant = self.codes.pop(code, None)
        if grant is None:
            return aad_error(
                400,
                "invalid_grant",
                70000,
                "The provided value for the 'code' parameter is not valid.",
            )
        self.redeemed.add(code)
        if grant.expires_at <= self.clock():
            return aad_error(
                400,
                "invalid_grant",
                70008,
                "The provided authorization code or refresh token has expired due to "
                "inactivity. Send a new interactive authorization request for this user and resource.",
            )
        if grant.redirect_uri is not None and form.get("redirect_uri") != grant.redirect_uri:
            return aad_error(
                400,
                "invalid_grant",
                500112,
                "The reply address does not match the reply address provided when requesting "
                "the authorization code.",
            )
        return self._user_tokens(grant)

    def _refresh(self, form: dict[str, str]) -> web.Response:
        grant = self.refresh_tokens.pop(form.get("refresh_token", ""), None)
        if grant is None:
            return aad_error(
                400,
                "invalid_grant",
                70000,
                "The provided value for the 'refresh_token' is not valid. The refresh token was "
                "revoked, expired or already used.",
            )
        return self._user_tokens(grant)

    def _user_tokens(self, grant: Grant) -> web.Response:
        """An access token for the grant's user, and a new refresh token (the old one is gone)."""
        token = self.issue_token(grant.scopes - {"offline_access"}, user_id=grant.user_id)
        body: dict[str, Any] = {
            "token_type": "Bearer",
            "scope": " ".join(sorted(grant.scopes - {"offline_access"})),
            "expires_in": self.token_lifetime,
            "ext_expires_in": self.token_lifetime,
            "access_token": token,
        }
        if "offline_access" in grant.scopes:
            refresh = f"1.A{secrets.token_urlsafe(48)}"
            self.refresh_tokens[refresh] = Grant(grant.user_id, grant.scopes)
            body["refresh_token"] = refresh
        return web.json_response(body)

    async def _authorize_endpoint(self, request: web.Request) -> web.Response:
        """Sign `signed_in` in and redirect back with a code and the state.

        At once; or, with `consent_page`, once the page's one button is pressed (a POST).
        """
        query = request.query
        redirect_uri = query.get("redirect_uri", "")
        if query.get("client_id") != self.client_id or not redirect_uri or self.signed_in is None:
            return web.Response(status=400, text="AADSTS700016: sign-in is not possible")
        if self.consent_page and request.method == "GET":
            return self._consent(request)
        code = self.authorize_code(
            self.signed_in, query.get("scope", "").split(), redirect_uri=redirect_uri
        )
        params = {"code": code, "state": query.get("state", ""), "session_state": "fake"}
        raise web.HTTPFound(str(URL(redirect_uri).update_query(params)))

    def _consent(self, request: web.Request) -> web.Response:
        """A one-button page: sign in as `signed_in` and accept the permissions asked for."""
        assert self.signed_in is not None
        user = self.users[self.signed_in.lower()]
        scopes = ", ".join(sorted(_scope_names(request.query.get("scope", "").split())))
        action = html.escape(str(request.rel_url), quote=True)
        page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Sandbox sign-in</title>
<style>body{{font-family:sans-serif;max-width:32em;margin:4em auto;line-height:1.5}}
button{{font-size:1.1em;padding:.5em 1.5em}}</style></head>
<body><h1>Sandbox sign-in</h1>
<p>The Presence Bridge sandbox signs you in to the fake Microsoft tenant
<b>{html.escape(self.tenant_domain)}</b> as <b>{html.escape(user.display_name)}</b>
({html.escape(user.upn)}).</p>
<p>Permissions asked for: {html.escape(scopes)}.</p>
<form method="post" action="{action}"><button type="submit">Accept</button></form>
</body></html>"""
        return web.Response(text=page, content_type="text/html")

    # Graph.

    def _authenticate(self, request: web.Request) -> tuple[IssuedToken | None, web.Response | None]:
        """The request's token, or Graph's 401."""
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or not (value := auth.removeprefix("Bearer ")):
            return None, odata_error(401, "InvalidAuthenticationToken", "Access token is empty.")
        token = self.tokens.get(value)
        if token is None:
            return None, odata_error(
                401, "InvalidAuthenticationToken", "IDX14100: JWT is not well formed."
            )
        if token.expires_at <= self.clock():
            return None, odata_error(
                401,
                "InvalidAuthenticationToken",
                "Lifetime validation failed, the token is expired.",
            )
        return token, None

    def _authorize(
        self, request: web.Request, needed: dict[str, frozenset[str]] | frozenset[str]
    ) -> tuple[IssuedToken | None, web.Response | None]:
        """The token, if it carries one of the permissions `needed` (by token kind)."""
        token, failure = self._authenticate(request)
        if token is None:
            return None, failure
        allowed = needed.get(token.kind, frozenset()) if isinstance(needed, dict) else needed
        if not token.permissions & allowed:
            held = ", ".join(sorted(token.permissions))
            return None, odata_error(
                403,
                "Forbidden",
                f"Missing role permissions on the request. API requires one of "
                f"'{', '.join(sorted(allowed))}'. Roles on the request '{held}'.",
            )
        return token, None

    def _subject(
        self, request: web.Request, token: IssuedToken, *, presence: bool = False
    ) -> tuple[GraphUser | None, web.Response | None]:
        """The user a path names: `/me`, or `/users/{id-or-upn}` (or its presence)."""
        key = request.match_info.get("user")
        if key is None:
            if token.user_id is None:
                return None, odata_error(
                    400,
                    "BadRequest",
                    "/me request is only valid with delegated authentication flow.",
                )
            key = token.user_id
        user = self.find_user(key)
        if user is None and presence:
            return None, odata_error(404, "NotFound", "The requested user was not found.")
        if user is None:
            return None, odata_error(
                404,
                "Request_ResourceNotFound",
                f"Resource '{key}' does not exist or one of its queried reference-property "
                "objects are not present.",
            )
        return user, None

    def find_user(self, key: str) -> GraphUser | None:
        """A user by object id or UPN, in any case."""
        key = key.lower()
        return self.users.get(key) or next(
            (user for user in self.users.values() if user.upn.lower() == key), None
        )

    async def _get_me(self, request: web.Request) -> web.Response:
        token, failure = self._authenticate(request)
        if token is not None and token.user_id is None:
            return odata_error(
                400, "BadRequest", "/me request is only valid with delegated authentication flow."
            )
        token, failure = self._authorize(request, ME_READ)
        if token is None or token.user_id is None:
            return failure or web.Response(status=500)
        return self._user_answer(request, self.users[token.user_id])

    async def _get_user(self, request: web.Request) -> web.StreamResponse:
        token, failure = self._authorize(request, USER_READ)
        if token is None:
            return failure or web.Response(status=500)
        if self.user_lookup_failure is not None:
            return await self.user_lookup_failure()
        user, failure = self._subject(request, token)
        if user is None:
            return failure or web.Response(status=500)
        return self._user_answer(request, user)

    def _user_answer(self, request: web.Request, user: GraphUser) -> web.Response:
        everything = {
            "id": user.user_id,
            "displayName": user.display_name,
            "mail": user.mail,
            "userPrincipalName": user.upn,
            "businessPhones": [],
            "jobTitle": None,
        }
        selected = [name for name in request.query.get("$select", "").split(",") if name]
        body = {name: everything.get(name) for name in selected} if selected else everything
        context = f"{self.api_url}/$metadata#users"
        if selected:
            context += f"({','.join(selected)})"
        return web.json_response({"@odata.context": f"{context}/$entity"} | body)

    async def _get_presence(self, request: web.Request) -> web.Response:
        token, failure = self._authorize(request, PRESENCE_READ)
        if token is None:
            return failure or web.Response(status=500)
        user, failure = self._subject(request, token, presence=True)
        if user is None:
            return failure or web.Response(status=500)
        own = token.user_id == user.user_id
        return web.json_response(
            {"@odata.context": f"{self.api_url}/$metadata#users('{user.user_id}')/presence/$entity"}
            | self.presence_body(user.user_id, own=own)
        )

    def presence_body(self, user_id: str, *, own: bool = False) -> dict[str, Any]:
        """A presence object (§4.3); the caller's own has the status message's dates."""
        user = self._current(self.users[user_id.lower()])
        availability, activity = self.presence_of(user.user_id)
        status: dict[str, Any] | None = None
        if user.status is not None:
            status = {
                "message": {"content": user.status.content, "contentType": user.status.content_type}
            }
            if own:
                status["expiryDateTime"] = user.status.expiry or {
                    "dateTime": "9999-12-31T23:59:59.9999999",
                    "timeZone": "UTC",
                }
                status["publishedDateTime"] = user.status.published
        return {
            "id": user.user_id,
            "availability": availability,
            "activity": activity,
            "statusMessage": status,
            "outOfOfficeSettings": {"message": None, "isOutOfOffice": False},
            "sequenceNumber": f"C{int(self.clock() * 1000):020d}",
            "workLocation": {"workLocationType": "unspecified", "source": "none", "placeId": None},
        }

    async def _get_presences(self, request: web.Request) -> web.Response:
        token, failure = self._authorize(request, BULK_READ)
        if token is None:
            return failure or web.Response(status=500)
        body = await _json(request)
        ids = body.get("ids") if isinstance(body, dict) else None
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
            return odata_error(400, "BadRequest", "The request body must contain a list of ids.")
        if len(ids) > MAX_IDS:
            return odata_error(
                400, "BadRequest", f"The number of ids must not be more than {MAX_IDS}."
            )
        if bad := next((i for i in ids if not _GUID.fullmatch(i)), None):
            return odata_error(400, "BadRequest", f"Invalid user id '{bad}'.")
        return web.json_response(
            {
                "@odata.context": f"{self.api_url}/$metadata#Collection(microsoft.graph.presence)",
                "value": [
                    self.presence_body(user_id)
                    for user_id in dict.fromkeys(i.lower() for i in ids)
                    if user_id in self.users
                ],
            }
        )

    async def _act(self, request: web.Request) -> web.Response:
        action = request.match_info["action"].removeprefix("microsoft.graph.")
        if action not in ACTIONS:
            return odata_error(
                400,
                "BadRequest",
                f"Resource not found for the segment '{request.match_info['action']}'.",
            )
        token, failure = self._authorize(request, PRESENCE_WRITE)
        if token is None:
            return failure or web.Response(status=500)
        user, failure = self._subject(request, token, presence=True)
        if user is None:
            return failure or web.Response(status=500)
        if token.user_id is not None and token.user_id != user.user_id:
            return odata_error(
                403,
                "Forbidden",
                "Cannot set the presence of another user. "
                f"Authenticated user: {token.user_id}; Requested user: {user.user_id}",
            )
        body = await _json(request)
        if body is None and action == "clearUserPreferredPresence":
            body = {}
        if not isinstance(body, dict):
            return odata_error(400, "BadRequest", "Empty Payload. JSON content expected.")
        self._current(user)
        handlers = {
            "setPresence": self._set_presence,
            "clearPresence": self._clear_presence,
            "setUserPreferredPresence": self._set_preferred,
            "clearUserPreferredPresence": self._clear_preferred,
            "setStatusMessage": self._set_status_message,
        }
        answer = handlers[action](user, token, body)
        return answer or web.Response(status=200)

    def _set_presence(
        self, user: GraphUser, token: IssuedToken, body: dict[str, Any]
    ) -> web.Response | None:
        session_id = body.get("sessionId")
        if not isinstance(session_id, str) or not session_id:
            return odata_error(400, "BadRequest", "The sessionId is required.")
        if session_id.lower() != token.client_id.lower():
            return odata_error(
                400, "BadRequest", "The sessionId must be the application id of the caller."
            )
        pair = (body.get("availability"), body.get("activity"))
        if pair not in SESSION_PAIRS:
            return odata_error(
                400, "BadRequest", f"Invalid availability/activity pair {pair[0]}/{pair[1]}."
            )
        seconds = duration_seconds(body.get("expirationDuration"), default=300.0)
        if seconds is None or not 300 <= seconds <= 4 * 3600:
            return odata_error(
                400, "BadRequest", "The expirationDuration must be between PT5M and PT4H."
            )
        user.sessions[session_id] = State(pair[0], pair[1], self.clock() + seconds)
        return None

    def _clear_presence(
        self, user: GraphUser, token: IssuedToken, body: dict[str, Any]
    ) -> web.Response | None:
        session_id = body.get("sessionId")
        if not isinstance(session_id, str) or session_id not in user.sessions:
            return odata_error(404, "NotFound", "The presence session was not found.")
        del user.sessions[session_id]
        return None

    def _set_preferred(
        self, user: GraphUser, token: IssuedToken, body: dict[str, Any]
    ) -> web.Response | None:
        pair = (body.get("availability"), body.get("activity"))
        if pair not in PREFERRED_PAIRS:
            return odata_error(
                400, "BadRequest", f"Invalid availability/activity pair {pair[0]}/{pair[1]}."
            )
        default = DAY if pair[0] in ("DoNotDisturb", "Busy") else 7 * DAY
        seconds = duration_seconds(body.get("expirationDuration"), default=default)
        if seconds is None or not seconds >= 300:
            return odata_error(400, "BadRequest", "The expirationDuration is not valid.")
        user.preferred = State(pair[0], pair[1], self.clock() + seconds)
        return None

    def _clear_preferred(
        self, user: GraphUser, token: IssuedToken, body: dict[str, Any]
    ) -> web.Response | None:
        user.preferred = None
        return None

    def _set_status_message(
        self, user: GraphUser, token: IssuedToken, body: dict[str, Any]
    ) -> web.Response | None:
        status = body.get("statusMessage")
        message = status.get("message") if isinstance(status, dict) else None
        content = message.get("content") if isinstance(message, dict) else None
        content_type = message.get("contentType", "text") if isinstance(message, dict) else None
        if not isinstance(content, str) or content_type not in ("text", "html"):
            return odata_error(400, "BadRequest", "Invalid status message.")
        if len(content) > STATUS_LIMIT:
            return odata_error(
                400, "BadRequest", f"The status message must be at most {STATUS_LIMIT} characters."
            )
        expiry = status.get("expiryDateTime") if isinstance(status, dict) else None
        expires_at = None
        if expiry is not None:
            expires_at = expiry_time(expiry)
            if expires_at is None:
                return odata_error(400, "BadRequest", "Invalid expiryDateTime.")
        if not content:
            user.status = None
            return None
        published = datetime.fromtimestamp(self.clock(), UTC).isoformat().replace("+00:00", "Z")
        user.status = Status(content, content_type, published, expires_at, expiry)
        return None

    def _current(self, user: GraphUser) -> GraphUser:
        """Drop what has expired: sessions, the preferred presence, the status message."""
        now = self.clock()

        def alive(expires_at: float | None) -> bool:
            return expires_at is None or expires_at > now

        user.sessions = {key: s for key, s in user.sessions.items() if alive(s.expires_at)}
        if user.preferred is not None and not alive(user.preferred.expires_at):
            user.preferred = None
        if user.status is not None and not alive(user.status.expires_at):
            user.status = None
        return user


def duration_seconds(value: Any, *, default: float) -> float | None:
    """An ISO 8601 duration (`PT1H30M`) in seconds; absent is `default`; malformed is None."""
    if value is None:
        return default
    if (
        not isinstance(value, str)
        or not (match := _DURATION.fullmatch(value))
        or value in ("P", "PT")
    ):
        return None
    days, hours, minutes, seconds = (float(part or 0) for part in match.groups())
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds


def expiry_time(expiry: Any) -> float | None:
    """A `dateTimeTimeZone` as Unix time; None if it cannot be read."""
    if not isinstance(expiry, dict):
        return None
    value, zone = expiry.get("dateTime"), expiry.get("timeZone") or "UTC"
    if not isinstance(value, str) or not isinstance(zone, str):
        return None
    try:
        when = datetime.fromisoformat(value)
        tz = UTC if zone.upper() == "UTC" else ZoneInfo(WINDOWS_ZONES.get(zone, zone))
    except ValueError, ZoneInfoNotFoundError:
        return None
    return when.replace(tzinfo=when.tzinfo or tz).timestamp()


def odata_error(
    status: int, code: str, message: str, *, headers: dict[str, str] | None = None
) -> web.Response:
    """Graph's error body (§4.7), with a fresh request id."""
    return web.json_response(
        {
            "error": {
                "code": code,
                "message": message,
                "innerError": {
                    "date": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", ""),
                    "request-id": str(uuid.uuid4()),
                    "client-request-id": str(uuid.uuid4()),
                },
            }
        },
        status=status,
        headers=headers,
    )


def aad_error(status: int, error: str, code: int, description: str) -> web.Response:
    """The identity platform's OAuth error body, with its AADSTS code."""
    trace, correlation = uuid.uuid4(), uuid.uuid4()
    timestamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    return web.json_response(
        {
            "error": error,
            "error_description": f"AADSTS{code}: {description}\r\nTrace ID: {trace}\r\n"
            f"Correlation ID: {correlation}\r\nTimestamp: {timestamp}",
            "error_codes": [code],
            "timestamp": timestamp,
            "trace_id": str(trace),
            "correlation_id": str(correlation),
            "error_uri": f"https://login.microsoftonline.com/error?code={code}",
        },
        status=status,
    )


def _scope_names(scopes: Iterable[str]) -> frozenset[str]:
    """Scope names without a resource prefix (`https://graph.microsoft.com/User.Read`)."""
    return frozenset(scope.rsplit("/", 1)[-1] for scope in scopes if scope)


async def _json(request: web.Request) -> Any:
    """The request's JSON body, or None if it has none or it is malformed."""
    raw = await request.read()
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None
