"""A fake Zulip server on 127.0.0.1 that speaks Zulip's REST API (providers.md §3).

It implements HTTP Basic authentication by API key, `GET /users/me`, `/users/{id or
email}`, `/server_settings` and `/realm/emoji`, and the status endpoints: reading
one (feature level 262+), setting one's own, and an administrator setting anyone's
(407+; bots 473+). Form bodies are parsed and checked as `update_user_status_backend`
does, errors are Zulip's `{"result", "msg", "code"}` bodies (§3.7), and a request
budget per caller adds `X-RateLimit-*` to every response (§3.8) on an injectable
clock (Unix time, as `X-RateLimit-Reset` is). It records every request it receives.

Two answers are assumptions, where our sources say nothing: an endpoint the feature
level lacks gets a plain (non-JSON) 404 page, as any URL Zulip does not route; and a
bot below feature level 473 is refused with Zulip's message for human-only endpoints.
"""

from collections.abc import Callable, Mapping
import copy
from dataclasses import dataclass, field
import re
import secrets
import string
import time
from typing import Any, override

from aiohttp import web

from custom_components.presence_bridge.api.emoji import UNICODE_EMOJI

from .fake_server import FakeServer, basic_credentials

OWNER, ADMINISTRATOR, MODERATOR, MEMBER, GUEST = 100, 200, 300, 400, 600
READ_STATUS_LEVEL = 262
ADMIN_STATUS_LEVEL = 407
BOT_ADMIN_STATUS_LEVEL = 473
STATUS_TEXT_LIMIT = 60
EMOJI_FIELDS = ("emoji_name", "emoji_code", "reaction_type")
DEFAULT_REALM_EMOJI = {
    "1": {
        "id": "1",
        "name": "green_tick",
        "source_url": "/user_avatars/2/emoji/images/1.png",
        "still_url": None,
        "deactivated": False,
        "author_id": 8,
    },
    "2": {
        "id": "2",
        "name": "old_logo",
        "source_url": "/user_avatars/2/emoji/images/2.png",
        "still_url": None,
        "deactivated": True,
        "author_id": 8,
    },
}
SUGGESTED_STATUS_FORMS: dict[str, dict[str, str]] = {
    "none": {"status_text": "", "emoji_name": "", "emoji_code": "", "reaction_type": ""},
    "in_a_meeting": {
        "status_text": "In a meeting",
        "emoji_name": "calendar",
        "emoji_code": "1f4c5",
        "reaction_type": "unicode_emoji",
    },
    "commuting": {
        "status_text": "Commuting",
        "emoji_name": "bus",
        "emoji_code": "1f68c",
        "reaction_type": "unicode_emoji",
    },
    "out_sick": {
        "status_text": "Out sick",
        "emoji_name": "sick",
        "emoji_code": "1f912",
        "reaction_type": "unicode_emoji",
    },
    "vacationing": {
        "status_text": "Vacationing",
        "emoji_name": "palm_tree",
        "emoji_code": "1f334",
        "reaction_type": "unicode_emoji",
    },
    "working_remotely": {
        "status_text": "Working remotely",
        "emoji_name": "house",
        "emoji_code": "1f3e0",
        "reaction_type": "unicode_emoji",
    },
}
"""The form body each preset of Zulip's suggested statuses is sent as."""
_API_KEY = re.compile(r"[A-Za-z0-9]{32}")
NOT_FOUND_PAGE = "<!DOCTYPE html><html><head><title>Page not found</title></head></html>"


@dataclass
class ZulipUser:
    """A member of the fake organization."""

    user_id: int
    full_name: str
    email: str
    api_key: str
    role: int = MEMBER
    is_bot: bool = False
    deactivated: bool = False
    status: dict[str, str] = field(default_factory=dict)
    """The stored status fields; empty ones are not reported, as Zulip's `format_user_status`."""

    def reported_status(self) -> dict[str, str]:
        """The status as `GET /users/{id}/status` reports it: only what is set."""
        status = {"status_text": text} if (text := self.status.get("status_text")) else {}
        if self.status.get("emoji_name"):
            status |= {key: self.status[key] for key in EMOJI_FIELDS}
        return status


@dataclass
class FakeZulip(FakeServer):
    """A Zulip organization's state and behaviour, served under `url`."""

    clock: Callable[[], float] = time.time
    feature_level: int = BOT_ADMIN_STATUS_LEVEL
    users: dict[int, ZulipUser] = field(default_factory=dict)
    caller_id: int | None = None
    """The user whose API key the client is given (the first one added, unless chosen)."""
    realm_emoji: dict[str, dict[str, Any]] = field(
        default_factory=lambda: copy.deepcopy(DEFAULT_REALM_EMOJI)
    )
    unicode_emoji: dict[str, str] = field(default_factory=lambda: dict(UNICODE_EMOJI))
    """The Unicode emoji names the server knows (Zulip knows all; this fake the common ones)."""
    realm_deactivated: bool = False
    rate_limit: int = 200
    """API requests allowed per caller (or unauthenticated client) per `rate_window` seconds."""
    rate_window: float = 60.0
    windows: dict[str, tuple[float, int]] = field(default_factory=dict)
    """Per caller: when (clock) the current window began and how many requests it took."""
    rejected_429: int = 0

    api_prefix = "/api/v1/"

    def add_user(
        self,
        full_name: str,
        email: str,
        *,
        role: int = MEMBER,
        is_bot: bool = False,
        caller: bool = False,
    ) -> int:
        """Add a user with a new API key; ids count from 8, as in a fresh organization."""
        user_id = max(self.users, default=7) + 1
        api_key = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32))
        self.users[user_id] = ZulipUser(user_id, full_name, email, api_key, role, is_bot)
        if caller or self.caller_id is None:
            self.caller_id = user_id
        return user_id

    def entry_data(self) -> dict[str, str]:
        """A Presence Bridge entry's data for the caller's key, pointing at the fake."""
        return {
            "provider": "zulip",
            "url": self.url,
            "email": self.caller.email,
            "api_key": self.caller.api_key,
        }

    @property
    def caller(self) -> ZulipUser:
        """The owner of the API key the client uses."""
        assert self.caller_id is not None
        return self.users[self.caller_id]

    def routes(self, router: web.UrlDispatcher) -> None:
        """The user, settings, emoji and status endpoints."""
        router.add_get("/api/v1/server_settings", self._server_settings)
        router.add_get("/api/v1/realm/emoji", self._realm_emoji)
        router.add_get("/api/v1/users/me", self._get_me)
        router.add_post("/api/v1/users/me/status", self._post_own_status)
        router.add_get(r"/api/v1/users/{user_id:\d+}/status", self._get_status)
        router.add_post(r"/api/v1/users/{user_id:\d+}/status", self._post_status)
        router.add_get("/api/v1/users/{user}", self._get_user)

    @override
    async def handle(self, request: web.Request, handler: Any) -> web.StreamResponse:
        """Apply the caller's request budget and report it on every response, as Zulip does."""
        key = _claimed_email(request.headers.get("Authorization", ""))
        now = self.clock()
        start, count = self.windows.get(key, (now, 0))
        if now >= start + self.rate_window:
            start, count = now, 0
        if count >= self.rate_limit:
            self.rejected_429 += 1
            retry_after = start + self.rate_window - now
            response: web.StreamResponse = web.json_response(
                {
                    "result": "error",
                    "msg": "API usage exceeded rate limit",
                    "code": "RATE_LIMIT_HIT",
                    "retry-after": retry_after,
                },
                status=429,
                headers={"Retry-After": str(retry_after)},
            )
        else:
            count += 1
            response = await handler(request)
        self.windows[key] = (start, count)
        response.headers["X-RateLimit-Limit"] = str(self.rate_limit)
        response.headers["X-RateLimit-Remaining"] = str(self.rate_limit - count)
        response.headers["X-RateLimit-Reset"] = str(int(start + self.rate_window))
        return response

    def _authenticate(self, request: web.Request) -> tuple[ZulipUser | None, web.Response | None]:
        """The caller by Basic `email:api_key`, or Zulip's 401 (§3.7)."""
        header = request.headers.get("Authorization")
        if header is None:
            return None, _unauthorized("Not logged in: API authentication or user session required")
        credentials = basic_credentials(header)
        if credentials is None:
            return None, _unauthorized("Invalid authorization header for basic auth")
        email, api_key = credentials
        if not _API_KEY.fullmatch(api_key):
            return None, _error("Malformed API key", "INVALID_API_KEY", 401)
        user = next((user for user in self.users.values() if user.api_key == api_key), None)
        if user is None or user.email.casefold() != email.casefold():
            return None, _error("Invalid API key", "INVALID_API_KEY", 401)
        if user.deactivated:
            return None, _error("Account is deactivated", "USER_DEACTIVATED", 401)
        if self.realm_deactivated:
            return None, _error("This organization has been deactivated", "REALM_DEACTIVATED", 401)
        return user, None

    async def _server_settings(self, request: web.Request) -> web.Response:
        """Unauthenticated; credentials, when sent, are checked all the same."""
        if "Authorization" in request.headers:
            _, failure = self._authenticate(request)
            if failure:
                return failure
        return _success(
            zulip_feature_level=self.feature_level,
            zulip_version="fake",
            realm_url=self.url,
            realm_name="Fake organization",
        )

    async def _realm_emoji(self, request: web.Request) -> web.Response:
        _, failure = self._authenticate(request)
        return failure or _success(emoji=self.realm_emoji)

    async def _get_me(self, request: web.Request) -> web.Response:
        caller, failure = self._authenticate(request)
        if failure:
            return failure
        assert caller is not None
        return _success(**_user_fields(caller))

    async def _get_user(self, request: web.Request) -> web.Response:
        """A user by id or (Zulip's API) email."""
        _, failure = self._authenticate(request)
        if failure:
            return failure
        user = self._user(request.match_info["user"])
        if user is None:
            return _error("No such user")
        return _success(user=_user_fields(user))

    async def _get_status(self, request: web.Request) -> web.Response:
        if self.feature_level < READ_STATUS_LEVEL:
            return _no_endpoint()
        _, failure = self._authenticate(request)
        if failure:
            return failure
        user = self._user(request.match_info["user_id"])
        if user is None:
            return _error("No such user")
        return _success(status=user.reported_status())

    async def _post_own_status(self, request: web.Request) -> web.Response:
        caller, failure = self._authenticate(request)
        if failure:
            return failure
        assert caller is not None
        return self._update_status(caller, await request.post())

    async def _post_status(self, request: web.Request) -> web.Response:
        """The administrators' endpoint for anyone's status."""
        if self.feature_level < ADMIN_STATUS_LEVEL:
            return _no_endpoint()
        caller, failure = self._authenticate(request)
        if failure:
            return failure
        assert caller is not None
        if caller.is_bot and self.feature_level < BOT_ADMIN_STATUS_LEVEL:
            return _error("This endpoint does not accept bot requests.")
        if caller.role not in (OWNER, ADMINISTRATOR):
            return _error("Insufficient permission")
        user = self._user(request.match_info["user_id"])
        if user is None:
            return _error("No such user")
        return self._update_status(user, await request.post())

    def _update_status(self, user: ZulipUser, form: Mapping[str, Any]) -> web.Response:
        """Change only the fields passed, with `update_user_status_backend`'s checks."""
        text, name = form.get("status_text"), form.get("emoji_name")
        code, kind = form.get("emoji_code"), form.get("reaction_type")
        if text is not None:
            text = text.strip()
        if text is None and name is None:
            return _error("Client did not pass any new values.")
        if text is not None and len(text) > STATUS_TEXT_LIMIT:
            return _error(f"status_text is too long (limit: {STATUS_TEXT_LIMIT} characters)")
        if name == "":
            code, kind = "", "unicode_emoji"
        elif name is not None:
            if code is None or kind is None:
                if (found := self._emoji_by_name(name)) is None:
                    return _error(f"Emoji '{name}' does not exist")
                code, kind = found
            if refusal := self._check_emoji(name, code, kind):
                return _error(refusal)
        elif code or kind:
            return _error(
                "Client must pass emoji_name if they pass either emoji_code or reaction_type."
            )
        if text is not None:
            user.status["status_text"] = text
        if name is not None:
            user.status |= {"emoji_name": name, "emoji_code": code, "reaction_type": kind}
        return _success()

    def _emoji_by_name(self, name: str) -> tuple[str, str] | None:
        """Code and type for a name: an active custom emoji first, as Zulip looks them up."""
        for emoji in self.realm_emoji.values():
            if emoji["name"] == name and not emoji["deactivated"]:
                return emoji["id"], "realm_emoji"
        if name == "zulip":
            return name, "zulip_extra_emoji"
        if name in self.unicode_emoji:
            return self.unicode_emoji[name], "unicode_emoji"
        return None

    def _check_emoji(self, name: str, code: str, kind: str) -> str | None:
        """Zulip's `check_emoji_request`: the refusal message, or None."""
        match kind:
            case "realm_emoji":
                emoji = self.realm_emoji.get(code)
                if emoji is None:
                    return "Invalid custom emoji."
                if emoji["name"] != name:
                    return "Invalid custom emoji name."
                if emoji["deactivated"]:
                    return "This custom emoji has been deactivated."
            case "zulip_extra_emoji":
                if code != "zulip":
                    return "Invalid emoji code."
                if name != code:
                    return "Invalid emoji name."
            case "unicode_emoji":
                if code not in self.unicode_emoji.values():
                    return "Invalid emoji code."
                if self.unicode_emoji.get(name) != code:
                    return "Invalid emoji name."
            case _:
                return "Invalid emoji type."
        return None

    def _user(self, key: str) -> ZulipUser | None:
        """A user by id, or by email ignoring case."""
        if key.isdigit():
            return self.users.get(int(key))
        return next(
            (user for user in self.users.values() if user.email.casefold() == key.casefold()), None
        )


def _user_fields(user: ZulipUser) -> dict[str, Any]:
    """The fields of `GET /users/me` and `GET /users/{id}` that a client may read."""
    return {
        "user_id": user.user_id,
        "full_name": user.full_name,
        "email": user.email,
        "role": user.role,
        "is_admin": user.role in (OWNER, ADMINISTRATOR),
        "is_owner": user.role == OWNER,
        "is_guest": user.role == GUEST,
        "is_bot": user.is_bot,
        "is_active": not user.deactivated,
    }


def _claimed_email(header: str) -> str:
    """Whom a request's budget is counted for: the Basic email, or "" when there is none."""
    credentials = basic_credentials(header)
    return credentials[0].casefold() if credentials else ""


def _success(**data: Any) -> web.Response:
    return web.json_response({"result": "success", "msg": ""} | data)


def _error(message: str, code: str = "BAD_REQUEST", status: int = 400) -> web.Response:
    return web.json_response({"result": "error", "msg": message, "code": code}, status=status)


def _unauthorized(message: str) -> web.Response:
    """Zulip's UNAUTHORIZED, the one 401 that asks for Basic credentials."""
    response = _error(message, "UNAUTHORIZED", 401)
    response.headers["WWW-Authenticate"] = 'Basic realm="zulip"'
    return response


def _no_endpoint() -> web.Response:
    """The page for a URL the server does not route (an endpoint newer than it)."""
    return web.Response(status=404, text=NOT_FOUND_PAGE, content_type="text/html")
