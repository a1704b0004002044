"""Zulip: HTTP Basic with an API key, and the user status endpoints (providers.md §3)."""

from collections.abc import Callable, Iterable, Mapping
import configparser
from typing import Any, ClassVar, override
import unicodedata
from urllib.parse import quote, urlsplit, urlunsplit

import aiohttp

from .availability import Availability
from .budget import RequestBudget, monotonic
from .client import OWN_USER, RemoteUser, StatusClient, StatusMessage, gather_known
from .emoji import UNICODE_EMOJI
from .errors import (
    AuthenticationError,
    InvalidRequestError,
    NotFoundError,
    PresenceBridgeError,
    RateLimitedError,
)
from .http import (
    ErrorResponse,
    HttpCore,
    as_seconds,
    check_url,
    expect_objects,
    expect_type,
    first_text,
    is_this_machine,
)

USER_AGENT = "PresenceBridge/0.1.0"
RATE_LIMIT = (200, 60.0)
"""Zulip's default API budget: requests per seconds, per user (§3.8)."""
READ_STATUS_LEVEL = 262
"""Zulip 9.0: `GET /users/{user_id}/status`."""
ADMIN_STATUS_LEVEL = 407
"""Zulip 11.0: administrators set others' status with `POST /users/{user_id}/status`."""
BOT_ADMIN_STATUS_LEVEL = 473
"""Zulip 12.0: bots (with an administrator role) may use that endpoint too."""
ADMIN_ROLES = frozenset({100, 200})
"""Organization owner and administrator."""
STATUS_FIELDS = ("status_text", "emoji_name", "emoji_code", "reaction_type")
UNICODE = "unicode_emoji"
AUTH_CODES = frozenset({"UNAUTHORIZED", "INVALID_API_KEY", "USER_DEACTIVATED", "REALM_DEACTIVATED"})
DEFAULT_PORTS = {"http": 80, "https": 443}


PRESET_FOR_SHARED = {
    Availability.AVAILABLE: "none",
    Availability.IN_A_MEETING: "in_a_meeting",
    Availability.PRESENTING: "in_a_meeting",
}
"""The preset each shared value sets. Available clears the status (nothing claims otherwise);
the other values have no preset that says them without inventing a reason (Commuting, …)."""
SHARED_BY_PRESET = {
    "in_a_meeting": Availability.IN_A_MEETING,
    "commuting": Availability.AWAY,
    "out_sick": Availability.AWAY,
    "vacationing": Availability.AWAY,
    "working_remotely": Availability.AVAILABLE,
}
"""What each preset means. Zulip's status is no presence: no status (`none`) and any other
text say nothing, and are unknown."""


def parse_zuliprc(text: str) -> dict[str, str]:
    """The `url`, `email` and `api_key` of a zuliprc's `[api]` section (`site`, `email`, `key`).

    A site without a scheme gets https, or http for this machine (localhost or a loopback
    address), as Zulip's own bindings do for localhost. The URL is not checked here:
    `check_url` and `normalize_url` apply to it as to a typed one.
    """
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text)
    except configparser.Error as err:
        raise InvalidRequestError(f"Not a zuliprc: {err}") from err
    if not parser.has_section("api"):
        raise InvalidRequestError("The zuliprc has no [api] section")
    section = parser["api"]
    values = {key: section.get(key, "").strip() for key in ("site", "email", "key")}
    if missing := [key for key, value in values.items() if not value]:
        raise InvalidRequestError(f"The zuliprc's [api] section lacks {', '.join(missing)}")
    site = values["site"]
    if "://" not in site:
        try:
            host = urlsplit(f"//{site}").hostname or ""
        except ValueError:
            host = ""
        site = f"{'http' if is_this_machine(host) else 'https'}://{site}"
    return {"url": site.rstrip("/"), "email": values["email"], "api_key": values["key"]}


def normalize_url(url: str) -> str:
    """A server URL spelled one way, so that one server is one account.

    Whitespace, the trailing `/`, the scheme's default port and any query or fragment
    go; scheme and host are lower-cased (the path keeps its case):
    ` HTTPS://Chat.Example.com:443/ ` is `https://chat.example.com`. Raises ValueError
    (naming no part of the URL) for one without a host, with a port that is not a
    number, or with a user name or password in it.
    """
    try:
        parts = urlsplit(url.strip())
        host, port = parts.hostname, parts.port
    except ValueError:
        raise ValueError("The server URL cannot be read (its host or port)") from None
    if not host:
        raise ValueError("The server URL names no host")
    if "@" in parts.netloc:
        raise ValueError("The server URL must not contain a user name or password")
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != DEFAULT_PORTS.get(parts.scheme):
        netloc = f"{netloc}:{port}"
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


def map_zulip_error(response: ErrorResponse) -> PresenceBridgeError | None:
    """Zulip's `{"result": "error", "msg", "code"}` errors (§3.7), by `code` (`msg` is translated).

    A 5xx, or an error without a code (a proxy's page, a missing endpoint), is left
    to the mapping by status. BAD_REQUEST says nothing more specific than that the
    request was refused; NONEXISTENT_SUBDOMAIN (a wrong server URL) is refused too.
    """
    code = first_text(response.body, "code")
    if code is None or response.status >= 500:
        return None
    message = first_text(response.body, "msg") or f"HTTP {response.status}"
    if code in AUTH_CODES:
        return AuthenticationError(message)
    if code == "RATE_LIMIT_HIT":
        retry_after = response.retry_after
        if retry_after is None:
            retry_after = as_seconds(response.body.get("retry-after"))
        return RateLimitedError(message, retry_after=retry_after)
    return InvalidRequestError(message, code=code)


def _is_success(body: Any) -> bool:
    """Whether a body is Zulip's success (§3.7), not a proxy's or another server's."""
    return isinstance(body, dict) and body.get("result") == "success"


def _preset(text: str, emoji_name: str) -> StatusMessage:
    return StatusMessage(text, emoji_name, UNICODE_EMOJI[emoji_name], UNICODE)


class ZulipClient(StatusClient):
    """A Zulip account (a person's or a bot's) by its API key.

    It sets its own status; from Zulip 11.0 an administrator sets other people's
    too. Reading a status needs Zulip 9.0: `connect()` learns what the server offers.
    """

    manufacturer = "Zulip"
    status_max_length = 60
    status_presets: ClassVar[dict[str, StatusMessage]] = {
        # Zulip's suggested statuses as the product asks for them (🤒 for out sick,
        # where the web app shows 🤕); `none` clears text and emoji.
        "none": StatusMessage("", "", "", ""),
        "in_a_meeting": _preset("In a meeting", "calendar"),
        "commuting": _preset("Commuting", "bus"),
        "out_sick": _preset("Out sick", "sick"),
        "vacationing": _preset("Vacationing", "palm_tree"),
        "working_remotely": _preset("Working remotely", "house"),
    }

    preset_for_shared = PRESET_FOR_SHARED
    shared_by_preset = SHARED_BY_PRESET

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        url: str,
        email: str,
        api_key: str,
        clock: Callable[[], float] | None = None,
    ) -> None:
        """Set up the client; nothing is sent until the first call. `url` must pass
        `check_url`: the API key goes to it. `clock` (Unix time) reads `X-RateLimit-Reset`.

        The budget is Zulip's default of 200 requests a minute per user; the server's
        `X-RateLimit-Remaining` and `X-RateLimit-Reset` hold it back when its own limit is lower.
        """
        check_url(url)
        self.budget = RequestBudget(*RATE_LIMIT, clock=clock or monotonic)
        self.http = HttpCore(
            session,
            f"{normalize_url(url)}/api/v1",
            map_error=map_zulip_error,
            headers={
                "Authorization": aiohttp.encode_basic_auth(email, api_key),
                "User-Agent": USER_AGENT,
            },
            clock=clock,
            is_success=_is_success,
            budget=self.budget,
        )
        self._me: RemoteUser | None = None
        self.feature_level = 0
        self.is_admin = False
        self.is_bot = False

    @property
    @override
    def can_read_status(self) -> bool:
        return self.feature_level >= READ_STATUS_LEVEL

    @property
    @override
    def can_add_people(self) -> bool:
        level = self.feature_level
        return (
            self.is_admin
            and level >= ADMIN_STATUS_LEVEL
            and (not self.is_bot or level >= BOT_ADMIN_STATUS_LEVEL)
        )

    @override
    async def prepare(self) -> None:
        """Learn the feature level and role, which decide what the entities can do."""
        await self.connect()

    async def connect(self) -> RemoteUser:
        """Read the own user and the server's feature level; return the own user."""
        me = await self.http.request("GET", "/users/me")
        settings = await self.http.request("GET", "/server_settings")
        user = _user(me)
        role = expect_type(me.get("role"), int | None, "role")
        # Servers before Zulip 3.0 have no feature level: none of the newer endpoints.
        level = expect_type(settings.get("zulip_feature_level"), int | None, "feature level")
        self.feature_level = level or 0
        self.is_admin = role in ADMIN_ROLES or me.get("is_admin") is True
        self.is_bot = me.get("is_bot") is True
        self._me = user
        return user

    @override
    async def check_credentials(self) -> None:
        await self.connect()

    async def _own_user(self) -> RemoteUser:
        """The own user, connecting first the first time."""
        return self._me or await self.connect()

    @override
    async def get_user(self, user_id: str) -> RemoteUser:
        """The own user (by id, email or `OWN_USER`), or anyone by id or email."""
        me = await self._own_user()
        key = user_id.strip()
        if not key:
            raise InvalidRequestError("A Zulip user id or email address is needed")
        if key == me.user_id or key.casefold() in (OWN_USER, (me.email or "").casefold()):
            return me
        body = await self._look_up(f"/users/{quote(key, safe='@')}", key)
        return _user(body.get("user"))

    @override
    async def get_statuses(self, user_ids: Iterable[str]) -> dict[str, StatusMessage]:
        """Each person's status, missing fields as "" (so a cleared status equals `none`)."""
        paths = {user_id: f"/users/{_numeric(user_id)}/status" for user_id in user_ids}

        async def status_of(user_id: str) -> StatusMessage:
            body = await self._look_up(paths[user_id], user_id)
            status = expect_type(body.get("status"), dict | None, "status") or {}
            return StatusMessage(
                *(expect_type(status.get(key), str | None, key) or "" for key in STATUS_FIELDS)
            )

        return await gather_known(paths, status_of)

    @override
    async def _send_status(self, user_id: str, status: StatusMessage) -> None:
        values = (status.text, status.emoji_name, status.emoji_code, status.reaction_type)
        form = {
            key: value
            for key, value in zip(STATUS_FIELDS, values, strict=True)
            if value is not None
        }
        me = await self._own_user()
        path = "/users/me/status" if user_id == me.user_id else f"/users/{_numeric(user_id)}/status"
        await self._about_user("POST", path, form=form)

    @override
    async def resolve_emoji(self, name: str) -> StatusMessage:
        """A custom emoji first (as Zulip resolves names), then a Unicode one.

        Unicode names come from the table of Zulip's names, else from the Unicode
        character name (`hot_beverage`), reported under Zulip's name where the table
        has the character; a name only Unicode knows may still be refused by Zulip.
        """
        name = name.strip().strip(":").lower()
        body = await self.http.request("GET", "/realm/emoji")
        emoji_by_id = expect_type(body.get("emoji"), dict | None, "emoji") or {}
        for emoji in expect_objects(list(emoji_by_id.values()), "emoji"):
            if emoji.get("name") == name and not emoji.get("deactivated"):
                code = expect_type(emoji.get("id"), str | int, "an emoji's id")
                return StatusMessage(
                    emoji_name=name, emoji_code=str(code), reaction_type="realm_emoji"
                )
        if name == "zulip":
            return StatusMessage(
                emoji_name=name, emoji_code=name, reaction_type="zulip_extra_emoji"
            )
        if (code := UNICODE_EMOJI.get(name)) is None:
            code = _code_by_unicode_name(name)
            name = next((known for known, value in UNICODE_EMOJI.items() if value == code), name)
        return StatusMessage(emoji_name=name, emoji_code=code, reaction_type=UNICODE)

    async def _about_user(
        self, method: str, path: str, form: Mapping[str, str] | None = None
    ) -> Any:
        """A request about one person; a 404 is a missing endpoint (an older server), not person."""
        try:
            return await self.http.request(method, path, form=form)
        except NotFoundError as err:
            raise InvalidRequestError(
                f"This Zulip server (feature level {self.feature_level}) has no {method} {path}"
            ) from err

    async def _look_up(self, path: str, user_id: str) -> dict[str, Any]:
        """A GET about one person; Zulip answers BAD_REQUEST (No such user) for a stranger."""
        try:
            return await self._about_user("GET", path)
        except InvalidRequestError as err:
            if err.code == "BAD_REQUEST":
                raise NotFoundError(f"No Zulip user {user_id!r}") from err
            raise


def _user(user: Any) -> RemoteUser:
    """A user object of `GET /users/me` or `/users/{id}`; any other shape is malformed."""
    user = expect_type(user, dict, "the user")
    return RemoteUser(
        str(expect_type(user.get("user_id"), int, "user_id")),
        expect_type(user.get("full_name"), str, "full_name"),
        expect_type(user.get("email"), str, "email"),
    )


def _numeric(user_id: str) -> str:
    """A Zulip user id (a number); anything else is refused before sending."""
    if not (user_id.isascii() and user_id.isdigit()):
        raise InvalidRequestError(f"{user_id!r} is not a Zulip user id (a number)")
    return user_id


def _code_by_unicode_name(name: str) -> str:
    """Zulip's code for the symbol Unicode calls `name` (underscores for spaces)."""
    try:
        characters = unicodedata.lookup(name.replace("_", " "))
    except KeyError:
        characters = ""
    if not any(unicodedata.category(character) == "So" for character in characters):
        raise InvalidRequestError(f"Unknown emoji {name!r}")
    return "-".join(f"{ord(character):04x}" for character in characters)
