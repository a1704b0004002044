"""Microsoft Graph: Teams presence and status message (providers.md §4).

Two ways in, chosen by the constructor's arguments:

- app-only: a tenant's app registration with a client secret (client credentials,
  application permission `Presence.ReadWrite.All`); it acts for anyone in the tenant
  through `/users/{id}/presence/…`;
- delegated: a signed-in work or school account, whose access token someone else
  keeps (Home Assistant's OAuth2 session) and hands over through `get_token`; it acts
  for that account only, through `/me/presence/…` (`Presence.ReadWrite`).

An option is the person's preferred presence (`setUserPreferredPresence`), or
`automatic` to clear it. A preferred presence only shows while the person has a
presence session (a Teams client, or ours): `keep_session` opens or renews ours for
`SESSION_LIFETIME` seconds, `end_session` closes it. The status message has no emoji
field: an emoji goes in front of the text.
"""

import base64
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from html.parser import HTMLParser
import json
import logging
import math
import re
from typing import Any, ClassVar, override
import unicodedata
from urllib.parse import quote, urlsplit

import aiohttp

from .availability import Availability
from .budget import RequestBudget, monotonic
from .client import (
    OWN_USER,
    Presence,
    PresenceClient,
    RemoteUser,
    StatusClient,
    StatusMessage,
    gather_known,
)
from .emoji import UNICODE_EMOJI
from .errors import (
    AuthenticationError,
    InvalidRequestError,
    InvalidTenantError,
    NotFoundError,
    PermissionMissingError,
    PresenceBridgeError,
    ProviderUnavailableError,
    RateLimitedError,
    UnexpectedResponseError,
)
from .http import (
    DEFAULT_TIMEOUT,
    AccessToken,
    ErrorResponse,
    HttpCore,
    TokenCache,
    TokenGetter,
    check_url,
    expect_objects,
    expect_type,
    first_text,
)

_LOGGER = logging.getLogger(__name__)

DEFAULT_API_URL = "https://graph.microsoft.com/v1.0"
DEFAULT_LOGIN_URL = "https://login.microsoftonline.com"
APP_SCOPE = "Presence.ReadWrite.All"
"""The application permission app-only credentials need (admin consent)."""
DELEGATED_SCOPE = "Presence.ReadWrite"
"""The delegated permission a signed-in account needs."""
LOOKUP_SCOPE = "User.Read.All"
"""The application permission that names people looked up by UPN; optional."""
DELEGATED_SCOPES = ("offline_access", DELEGATED_SCOPE, "User.Read")
"""What a sign-in (authorization code) should ask for: a refresh token, presence, `/me`."""
PRESENCE_BATCH = 650
"""The most ids one `getPresencesByUserId` may name."""
READ_REUSE = 10.0
"""Seconds for which one method of a poll (`get_presences`, `get_statuses`) uses what the
other just read, so that a poll reads each person once."""
SESSION_ACTIVITY = ("Available", "Available")
"""The state of our presence session: it only lets a preferred presence show."""
UNUSABLE_TENANTS = frozenset({"common", "organizations", "consumers"})
"""Authorities that cannot issue client-credentials tokens: a tenant must be named."""
TENANT_ERRORS = frozenset({90002, 900023})
"""AADSTS codes for a tenant that does not exist or is not a valid id or domain."""

PREFERRED: dict[str, tuple[str, str]] = {
    "available": ("Available", "Available"),
    "busy": ("Busy", "Busy"),
    "do_not_disturb": ("DoNotDisturb", "DoNotDisturb"),
    "be_right_back": ("BeRightBack", "BeRightBack"),
    "away": ("Away", "Away"),
    "appear_offline": ("Offline", "OffWork"),
}
"""Each option's availability and activity: the pairs `setUserPreferredPresence` takes (§4.5)."""
AUTOMATIC = "automatic"
"""The option that clears the preferred presence: Teams decides again."""
OPTIONS = (*PREFERRED, AUTOMATIC)
OPTION_BY_AVAILABILITY = {
    "Available": "available",
    "AvailableIdle": "away",
    "Away": "away",
    "BeRightBack": "be_right_back",
    "Busy": "busy",
    "BusyIdle": "busy",
    "DoNotDisturb": "do_not_disturb",
}
"""The option a read availability shows as; Offline and PresenceUnknown show as none, except
Offline/OffWork, which is what `appear_offline` sets."""
OPTION_FOR_SHARED = {
    Availability.AVAILABLE: "available",
    Availability.BUSY: "busy",
    Availability.DO_NOT_DISTURB: "do_not_disturb",
    Availability.BE_RIGHT_BACK: "be_right_back",
    Availability.AWAY: "away",
    Availability.IN_A_MEETING: "busy",
    Availability.PRESENTING: "do_not_disturb",
    Availability.ON_A_CALL: "busy",
    Availability.OFFLINE: "appear_offline",
}
"""The option each shared value sets. A meeting, a presentation or a call cannot be preferred
(§4.4, §4.5): they set the availability Teams itself shows for that activity."""
SHARED_BY_ACTIVITY = {
    "InAMeeting": Availability.IN_A_MEETING,
    "Presenting": Availability.PRESENTING,
    "InACall": Availability.ON_A_CALL,
    "InAConferenceCall": Availability.ON_A_CALL,
    "UrgentInterruptionsOnly": Availability.DO_NOT_DISTURB,
    "OutOfOffice": Availability.AWAY,
}
"""Activities that say more than their availability does; they win over it."""
SHARED_BY_AVAILABILITY = {
    "Available": Availability.AVAILABLE,
    "AvailableIdle": Availability.AWAY,
    "Away": Availability.AWAY,
    "BeRightBack": Availability.BE_RIGHT_BACK,
    "Busy": Availability.BUSY,
    "BusyIdle": Availability.BUSY,
    "DoNotDisturb": Availability.DO_NOT_DISTURB,
    "Offline": Availability.OFFLINE,
    "PresenceUnknown": Availability.UNKNOWN,
}
"""What each availability means, where the activity says nothing more (§4.3)."""
_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_AADSTS = re.compile(r"AADSTS(\d+)")
_EMOJI_JOINERS = frozenset("\u200d\ufe0f\ufe0e\u20e3")
"""Zero-width joiner, variation selectors and the keycap, which emoji sequences contain."""
_BLOCK_TAGS = frozenset(
    {"br", "p", "div", "li", "ul", "ol", "tr", "td", "th", "table", "blockquote", "hr"}
    | {f"h{level}" for level in range(1, 7)}
)
_HIDDEN_TAGS = frozenset({"script", "style", "head", "title"})


def option_of(availability: str, activity: str | None) -> str | None:
    """The option a read presence matches; None for one no option sets. Never raises."""
    if availability == "Offline" and activity == "OffWork":
        return "appear_offline"
    return OPTION_BY_AVAILABILITY.get(availability)


def iso_minutes(minutes: int) -> str:
    """Minutes as an ISO 8601 duration, as Graph's docs write them: `PT45M`, `PT1H30M`, `PT4H`."""
    hours, rest = divmod(minutes, 60)
    return "PT" + (f"{hours}H" if hours else "") + (f"{rest}M" if rest or not hours else "")


def emoji_character(emoji: str) -> str:
    """An emoji name of the table (`palm_tree`, `:coffee:`) as its character, or a value that
    is already an emoji (`🌴`, `👍🏽`) as it is; anything else raises `InvalidRequestError`.

    A single character below U+10000 gets the emoji variation selector, so that `✈` shows
    as an emoji, not as a text symbol.
    """
    value = emoji.strip()
    if (code := UNICODE_EMOJI.get(value.strip(":").lower())) is not None:
        characters = "".join(chr(int(part, 16)) for part in code.split("-"))
        return (
            f"{characters}\ufe0f"
            if len(characters) == 1 and ord(characters) < 0x10000
            else characters
        )
    if _is_emoji(value):
        return value
    raise InvalidRequestError(f"Unknown emoji {emoji[:40]!r}")


def _is_emoji(value: str) -> bool:
    """Whether `value` is made of emoji: symbols, with modifiers, joiners and tags."""
    keycap = "\u20e3" in value
    return (keycap or any(unicodedata.category(c) == "So" for c in value)) and all(
        unicodedata.category(c) == "So"
        or c in _EMOJI_JOINERS
        or 0x1F3FB <= ord(c) <= 0x1F3FF  # skin tones
        or 0xE0020 <= ord(c) <= 0xE007F  # tags (subdivision flags)
        or (keycap and c in "0123456789#*")
        for c in value
    )


class _HtmlText(HTMLParser):
    """The text of an HTML fragment: tags dropped, entities resolved, blocks spaced."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    @override
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN_TAGS:
            self._hidden += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")

    @override
    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN_TAGS:
            self._hidden = max(0, self._hidden - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")

    @override
    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def granted_roles(token: str) -> frozenset[str] | None:
    """The `roles` claim of a JWT access token (not verified: Graph does that), if it has one."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return None
    roles = payload.get("roles") if isinstance(payload, dict) else None
    if not isinstance(roles, list):
        return None
    return frozenset(role for role in roles if isinstance(role, str))


def html_to_text(content: str) -> str:
    """An HTML status message as one line of text: `<p>Out&nbsp;<b>today</b></p>` is
    `Out today`."""
    parser = _HtmlText()
    parser.feed(content)
    parser.close()
    return " ".join("".join(parser.parts).split())


def map_graph_error(
    response: ErrorResponse, *, scope: str = APP_SCOPE
) -> PresenceBridgeError | None:
    """Graph's OData errors `{"error": {"code", "message", "innerError"}}` (§4.7) as ours.

    `scope` is the permission a 403 means is missing (it differs by way in). A 404
    without Graph's body comes from another server (an API URL without `/v1.0`): a
    wrong URL, not a missing person. What is left maps by status.
    """
    error = response.body.get("error") if isinstance(response.body, dict) else None
    error = error if isinstance(error, dict) else {}
    code = first_text(error, "code")
    message = first_text(error, "message") or code or f"HTTP {response.status}"
    inner = error.get("innerError")
    if request_id := first_text(inner, "request-id"):
        _LOGGER.debug("Graph answered %s %s (request-id %s)", response.status, code, request_id)
    match response.status:
        case 400 if code:
            return InvalidRequestError(message, code=code)
        case 401 if code:
            return AuthenticationError(message)
        case 403:
            return PermissionMissingError(message, scope=scope)
        case 404 if code:
            return NotFoundError(message)
        case 404:
            return UnexpectedResponseError(
                "HTTP 404 without Graph's error body: the API URL does not lead to Microsoft Graph"
            )
        case 429:
            return RateLimitedError(message, retry_after=response.retry_after)
        case status if status >= 500 and code:
            return ProviderUnavailableError(message, retry_after=response.retry_after)
    return None


def map_token_error(response: ErrorResponse) -> PresenceBridgeError | None:
    """The Microsoft identity platform's OAuth errors, `{"error", "error_description",
    "error_codes"}`: an unknown tenant is an `InvalidTenantError`, any other refusal (a
    wrong secret, AADSTS7000215; an unknown app, AADSTS700016) an `AuthenticationError`.

    A 429 or 5xx maps by status; any other answer without that body is not the sign-in
    endpoint's (a wrong login URL).
    """
    if response.status == 429 or response.status >= 500:
        return None
    body = response.body if isinstance(response.body, dict) else {}
    if (error := first_text(body, "error")) is None:
        return UnexpectedResponseError(
            f"HTTP {response.status} without Microsoft's sign-in error: the login URL does not "
            "lead to the Microsoft identity platform"
        )
    description = first_text(body, "error_description") or error
    message = description.strip().splitlines()[0] if description.strip() else error
    codes = body.get("error_codes")
    numbers = (
        {code for code in codes if isinstance(code, int)} if isinstance(codes, list) else set()
    )
    numbers |= {int(found) for found in _AADSTS.findall(description[:200])}
    if numbers & TENANT_ERRORS:
        return InvalidTenantError(message)
    return AuthenticationError(message)


@dataclass(frozen=True, slots=True)
class PersonReading:
    """What one read says of a person: presence and status message."""

    presence: Presence
    status: StatusMessage


@dataclass(frozen=True, slots=True)
class _Stash:
    """A read kept for the other method of the same poll."""

    kind: str
    at: float
    user_ids: frozenset[str]
    readings: dict[str, PersonReading]


class GraphClient(PresenceClient, StatusClient):
    """A Microsoft 365 tenant (app-only) or one signed-in account (delegated) in Microsoft Graph."""

    manufacturer = "Microsoft"
    status_max_length = 280
    duration_range = (5, 240)
    RATE_LIMIT: ClassVar[tuple[int, float]] = (1500, 30.0)
    """Graph's presence budget: requests per seconds, per app and tenant (§4.8)."""
    RATE_WINDOW_SLACK: ClassVar[float] = 1.05
    SESSION_LIFETIME: ClassVar[int] = 3600
    session_lifetime = SESSION_LIFETIME
    automatic_option = AUTOMATIC
    """Seconds our presence session lasts after `keep_session` (`PT1H`); renew before."""
    option_for_shared = OPTION_FOR_SHARED

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        tenant_id: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        get_token: Callable[[], Awaitable[str]] | None = None,
        session_id: str | None = None,
        on_token_rejected: Callable[[str], None] | None = None,
        api_url: str = DEFAULT_API_URL,
        login_url: str = DEFAULT_LOGIN_URL,
        clock: Callable[[], float] = monotonic,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        """Set up the client; nothing is sent until the first call. Bad URLs are refused.

        App-only: `tenant_id`, `client_id`, `client_secret` (and `login_url`). Delegated:
        `get_token`, and `session_id`, the app's client id, which names our presence
        session (or `client_id`, which is taken for it). Anything else is a ValueError.
        """
        self.delegated = get_token is not None
        # 5 % longer than Graph's own window: a request counts when it arrives, later.
        self.budget = RequestBudget(
            self.RATE_LIMIT[0], self.RATE_LIMIT[1] * self.RATE_WINDOW_SLACK, clock=clock
        )
        if self.delegated:
            if tenant_id or client_secret:
                raise ValueError("Give either get_token or tenant_id and client_secret, not both")
            session_id = session_id or client_id
            if not session_id:
                raise ValueError("A delegated client needs session_id (the app's client id)")
            assert get_token is not None
            tokens: TokenCache | TokenGetter = TokenGetter(get_token, on_rejected=on_token_rejected)
            scope = DELEGATED_SCOPE
        else:
            if not (tenant_id and client_id and client_secret):
                raise ValueError("An app-only client needs tenant_id, client_id and client_secret")
            session_id = client_id
            self._tenant_id = tenant_id.strip()
            self._client_id = client_id
            self._client_secret = client_secret
            self._login = HttpCore(
                session,
                login_url,
                map_error=map_token_error,
                headers={"Accept": "application/json"},
                timeout=timeout,
                budget=self.budget,
            )
            parts = urlsplit(check_url(api_url))
            self._resource = f"{parts.scheme}://{parts.netloc}"
            tokens = self._tokens = TokenCache(self._fetch_token, clock=clock)
            scope = APP_SCOPE
        self.session_id = session_id
        self.scope = scope
        self.http = HttpCore(
            session,
            api_url,
            map_error=partial(map_graph_error, scope=scope),
            tokens=tokens,
            headers={"Accept": "application/json"},
            timeout=timeout,
            budget=self.budget,
        )
        self._clock = clock
        self._stash: _Stash | None = None
        self._me: RemoteUser | None = None

    @property
    @override
    def presence_options(self) -> tuple[str, ...]:
        return OPTIONS

    @property
    @override
    def can_add_people(self) -> bool:
        return not self.delegated

    @override
    def takes_duration(self, option: str) -> bool:
        return option in PREFERRED

    @override
    def accepted_presence(self, option: str) -> Presence:
        if option not in PREFERRED:
            return Presence(option, option)
        availability, activity = PREFERRED[option]
        return Presence(option, availability, activity=activity, availability=availability)

    @override
    def shared_of(self, presence: Presence) -> Availability:
        """By the activity where it is more specific, else by the availability."""
        if (shared := SHARED_BY_ACTIVITY.get(presence.activity or "")) is not None:
            return shared
        return SHARED_BY_AVAILABILITY.get(presence.availability or "", Availability.UNKNOWN)

    async def _fetch_token(self) -> AccessToken:
        """A client-credentials token for Graph's `.default` scope (the granted permissions)."""
        if not self._tenant_id or self._tenant_id.lower() in UNUSABLE_TENANTS:
            raise InvalidTenantError(
                "App-only sign-in needs the tenant's id or domain, not common or organizations"
            )
        body = await self._login.request(
            "POST",
            f"/{quote(self._tenant_id, safe='')}/oauth2/v2.0/token",
            form={
                "client_id": self._client_id,
                "client_secret": self._client_secret,
                "scope": f"{self._resource}/.default",
                "grant_type": "client_credentials",
            },
        )
        return AccessToken.from_body(body)

    @override
    async def check_credentials(self) -> None:
        """App-only: fetch a token that may set presence. Delegated: read the signed-in account."""
        if self.delegated:
            await self._own_user()
        else:
            await self._check_roles()

    async def _check_roles(self) -> None:
        """Refuse an app token whose granted roles leave out `Presence.ReadWrite.All`.

        Reading presence proves the credentials but not that presence may be set: an app
        granted only `Presence.Read.All` reads fine and then fails every change. An app-only
        access token is a JWT whose `roles` claim lists what was granted; a token that cannot
        be read that way is not judged here.
        """
        roles = granted_roles(await self._tokens.get())
        if roles is not None and APP_SCOPE not in roles:
            raise PermissionMissingError(
                f"The app lacks the application permission {APP_SCOPE}", scope=APP_SCOPE
            )

    async def _own_user(self) -> RemoteUser:
        """The signed-in account (`GET /me`), read anew."""
        body = expect_type(
            await self.http.request("GET", "/me", params={"$select": "id,displayName,mail"}),
            dict,
            "the user",
        )
        self._me = _user(body)
        return self._me

    @override
    async def get_user(self, user_id: str) -> RemoteUser:
        """A person, proven by reading their presence; named by the directory if it may be read.

        Delegated: only the signed-in account (`OWN_USER`, its id or its mail).
        App-only: a GUID is the object id. A UPN or email is looked up in the directory
        (`User.Read.All`) for the object id, name and mail. That look-up is optional:
        if it fails (403, 404, 5xx, timeout, malformed) the presence is read by the UPN,
        which Graph accepts, and the object id is taken from the presence's `id`; the
        typed value is the id only if that answer has none. The name is then what was
        typed. A person whose presence cannot be read is not returned.
        """
        if not self.delegated:
            await self._check_roles()
        key = user_id.strip()
        if not key:
            raise InvalidRequestError("A Microsoft Entra user id or user principal name is needed")
        if self.delegated:
            me = await self._own_user()
            known = {me.user_id.lower(), (me.email or "").lower(), OWN_USER}
            if key.lower() not in known:
                raise InvalidRequestError("A signed-in account acts for itself only")
            return me
        if _GUID.fullmatch(guid := key.lower()):
            await self._read_one(guid)
            found = await self._look_up(guid)
            return found if found is not None and found.user_id == guid else RemoteUser(guid, key)
        if (found := await self._look_up(key)) is not None:
            await self._read_one(found.user_id)
            return found
        presence = await self.http.request("GET", f"{self._base(key)}/presence")
        _reading(presence)  # a presence, or the answer is malformed
        presence_id = expect_type(presence.get("id"), str | None, "id") or ""
        return RemoteUser(presence_id.lower() if _GUID.fullmatch(presence_id.lower()) else key, key)

    async def _look_up(self, key: str) -> RemoteUser | None:
        """The directory's user (object id, name, mail), or None if it cannot be read."""
        try:
            body = await self.http.request(
                "GET", f"/users/{_segment(key)}", params={"$select": "id,displayName,mail"}
            )
            user = _user(expect_type(body, dict, "the user"))
        except PresenceBridgeError as err:
            _LOGGER.debug("Cannot look a user up in the directory: %s", type(err).__name__)
            return None
        return user if _GUID.fullmatch(user.user_id) else None

    @override
    async def get_presences(self, user_ids: Iterable[str]) -> dict[str, Presence]:
        readings = await self._poll("presence", user_ids)
        return {user_id: reading.presence for user_id, reading in readings.items()}

    @override
    def poll_requests(self, people: int) -> int:
        """People are read in batches of PRESENCE_BATCH; statuses come with their presence."""
        return math.ceil(people / PRESENCE_BATCH)

    @override
    async def get_statuses(self, user_ids: Iterable[str]) -> dict[str, StatusMessage]:
        """Each person's status message as text; none is ""; HTML is reduced to its text."""
        readings = await self._poll("status", user_ids)
        return {user_id: reading.status for user_id, reading in readings.items()}

    async def _poll(self, kind: str, user_ids: Iterable[str]) -> dict[str, PersonReading]:
        """What `read` says, or what the other method's read said for these people just now."""
        ids = list(dict.fromkeys(user_ids))
        stash, self._stash = self._stash, None
        if (
            stash is not None
            and stash.kind != kind
            and 0 <= self._clock() - stash.at < READ_REUSE
            and stash.user_ids.issuperset(ids)
        ):
            return {
                user_id: stash.readings[user_id] for user_id in ids if user_id in stash.readings
            }
        readings = await self.read(ids)
        self._stash = _Stash(kind, self._clock(), frozenset(ids), readings)
        return readings

    async def read(self, user_ids: Iterable[str]) -> dict[str, PersonReading]:
        """Presence and status of each person, in as few requests as Graph allows.

        App-only: `getPresencesByUserId`, 650 object ids a request; a person known by
        UPN only is read alone. Delegated: `/me/presence`, for every id asked. People
        Graph does not return are left out.
        """
        ids = list(dict.fromkeys(user_ids))
        if not ids:
            return {}
        if self.delegated:
            reading = _reading(await self.http.request("GET", "/me/presence"))
            return dict.fromkeys(ids, reading)
        by_guid: dict[str, list[str]] = {}
        by_upn: list[str] = []
        for user_id in ids:
            if _GUID.fullmatch(guid := user_id.strip().lower()):
                by_guid.setdefault(guid, []).append(user_id)
            else:
                by_upn.append(user_id)
        readings: dict[str, PersonReading] = {}
        guids = list(by_guid)
        for start in range(0, len(guids), PRESENCE_BATCH):
            body = await self.http.request(
                "POST",
                "/communications/getPresencesByUserId",
                json_body={"ids": guids[start : start + PRESENCE_BATCH]},
                read=True,
            )
            body = expect_type(body, dict, "the presences")
            for item in expect_objects(body.get("value"), "value"):
                found = expect_type(item.get("id"), str, "id").lower()
                for user_id in by_guid.get(found, []):
                    readings[user_id] = _reading(item)
        readings |= await gather_known(by_upn, self._read_one)
        return readings

    async def _read_one(self, user_id: str) -> PersonReading:
        """One person's presence (`GET …/presence`); NotFoundError if Graph does not know them."""
        return _reading(await self.http.request("GET", f"{self._base(user_id)}/presence"))

    @override
    async def _send_presence(self, user_id: str, option: str, duration: int | None) -> None:
        if option == AUTOMATIC:
            await self._act(user_id, "clearUserPreferredPresence", {})
            return
        availability, activity = PREFERRED[option]
        body = {"availability": availability, "activity": activity}
        if duration is not None:
            body["expirationDuration"] = iso_minutes(duration)
        await self._act(user_id, "setUserPreferredPresence", body)

    async def keep_session(self, user_id: str) -> None:
        """Open or renew our presence session for `SESSION_LIFETIME` seconds (`setPresence`),
        so that a preferred presence shows while the person runs no Teams client."""
        availability, activity = SESSION_ACTIVITY
        await self._act(
            user_id,
            "setPresence",
            {
                "sessionId": self.session_id,
                "availability": availability,
                "activity": activity,
                "expirationDuration": iso_minutes(self.SESSION_LIFETIME // 60),
            },
        )

    async def end_session(self, user_id: str) -> None:
        """Close our presence session (`clearPresence`); none to close (404) is fine."""
        try:
            await self._act(user_id, "clearPresence", {"sessionId": self.session_id})
        except NotFoundError:
            _LOGGER.debug("No presence session to close")

    @override
    async def compose_status(self, text: str, emoji: str | None) -> StatusMessage:
        """The text, with the emoji (a name of the table, or the emoji itself) and a space
        in front; the limit counts both. An unknown emoji is an `InvalidRequestError`."""
        if emoji is not None and emoji.strip():
            character = emoji_character(emoji)
            text = f"{character} {text}" if text else character
        self.check_status_text(text)
        return StatusMessage(text=text)

    @override
    async def _send_status(
        self, user_id: str, status: StatusMessage, until: datetime | None = None
    ) -> None:
        """Send the text as the status message; "" clears it. Emoji fields are not sent:
        `compose_status` puts an emoji in the text. With `until`, Teams clears it then."""
        if status.text is None:
            return
        message: dict[str, Any] = {"message": {"content": status.text, "contentType": "text"}}
        if until is not None:
            at = until.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds")
            message["expiryDateTime"] = {"dateTime": at, "timeZone": "UTC"}
        await self._act(user_id, "setStatusMessage", {"statusMessage": message})

    async def set_status_until(self, user_id: str, status: StatusMessage, until: datetime) -> None:
        """Set a status message that Teams clears itself at `until` (`expiryDateTime`)."""
        if status.text is not None:
            self.check_status_text(status.text)
        await self._send_status(user_id, status, until)

    async def _act(self, user_id: str, action: str, body: dict[str, Any]) -> None:
        """POST a presence action; Graph answers 200 (or 204) without a body."""
        self._stash = None
        answer = await self.http.request(
            "POST",
            f"{self._base(user_id)}/presence/{action}",
            json_body=body,
            expect_status=(200, 204),
        )
        expect_type(answer, dict | None, f"the answer to {action}")

    def _base(self, user_id: str) -> str:
        """The person's path: `/me` for a signed-in account, else `/users/{id}`."""
        if self.delegated:
            return "/me"
        if not (key := user_id.strip()):
            raise InvalidRequestError("A Microsoft Entra user id is needed")
        return f"/users/{_segment(key)}"


def _segment(user_id: str) -> str:
    """A user id or UPN as one URL path segment."""
    return quote(user_id, safe="@")


def _user(body: dict[str, Any]) -> RemoteUser:
    """A user object (`id`, `displayName`, `mail`); any other shape is malformed."""
    user_id = expect_type(body.get("id"), str, "id")
    if not user_id:
        raise UnexpectedResponseError("Malformed answer: the user has no id")
    name = expect_type(body.get("displayName"), str | None, "displayName")
    mail = expect_type(body.get("mail"), str | None, "mail")
    return RemoteUser(user_id.lower(), name or mail or user_id, mail)


def _reading(presence: Any) -> PersonReading:
    """A presence object (§4.3): an availability is required; unknown values are kept."""
    presence = expect_type(presence, dict, "the presence")
    availability = expect_type(presence.get("availability"), str, "availability")
    activity = expect_type(presence.get("activity"), str | None, "activity")
    status = expect_type(presence.get("statusMessage"), dict | None, "statusMessage") or {}
    message = expect_type(status.get("message"), dict | None, "message") or {}
    content = expect_type(message.get("content"), str | None, "content") or ""
    content_type = expect_type(message.get("contentType"), str | None, "contentType")
    if (content_type or "").lower() == "html":
        content = html_to_text(content)
    return PersonReading(
        Presence(
            option_of(availability, activity),
            availability,
            activity=activity,
            availability=availability,
        ),
        StatusMessage(text=content),
    )
