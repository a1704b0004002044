"""Vonage Contact Center (VCC): client-credentials OAuth and the Agents API presence endpoints."""

import asyncio
from collections import Counter
from collections.abc import Callable, Iterable
from functools import partial
import logging
import math
import re
from typing import Any, override

import aiohttp

from .availability import Availability
from .budget import RequestBudget, monotonic
from .client import Presence, PresenceClient, RemoteUser
from .errors import (
    AuthenticationError,
    InvalidRequestError,
    NotFoundError,
    PermissionMissingError,
    PresenceBridgeError,
    RateLimitedError,
)
from .http import (
    AccessToken,
    ErrorMapper,
    ErrorResponse,
    HttpCore,
    TokenCache,
    expect_objects,
    expect_type,
    first_text,
)

REGIONS = ("emea", "nam", "apac")
ACCEPT = "application/vnd.newvoicemedia.v1+json"
"""The Agents API picks its version from the Accept header, and knows only v1."""
USERS_READ = "users:read"
USERS_WRITE = "users:write"
PRESENCE_BATCH = 50
DEFAULT_REQUESTS_PER_MINUTE = 60
"""Where the account's budget starts: VCC publishes no limit, so the budget adapts to 429s."""
"""The most user ids one `presences/users` query may name."""
_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
LISTING_REUSE = 300.0
"""Seconds for which `get_user` names agents from the last `list_users` answer instead of
listing again: the list an "Add person" form offered, when the form's answer comes."""
_LOGGER = logging.getLogger(__name__)

SHARED_BY_CATEGORY = {
    "Ready": Availability.AVAILABLE,
    "Away": Availability.AWAY,
    "ExtendedAway": Availability.AWAY,
    "LoggedOut": Availability.OFFLINE,
}
"""What each category of presence definition means (§2.6)."""
SHARED_BY_NAME = (
    (re.compile(r"\bmeetings?\b", re.IGNORECASE), Availability.IN_A_MEETING),
    (re.compile(r"\bpresent(ing|ation)\b", re.IGNORECASE), Availability.PRESENTING),
    (re.compile(r"\bcalls?\b", re.IGNORECASE), Availability.ON_A_CALL),
    (re.compile(r"\b(be right back|brb)\b", re.IGNORECASE), Availability.BE_RIGHT_BACK),
    (re.compile(r"\b(do not disturb|dnd)\b", re.IGNORECASE), Availability.DO_NOT_DISTURB),
    (re.compile(r"\bbusy\b", re.IGNORECASE), Availability.BUSY),
)
"""Names that say more than an away category does ("Team meeting"), first match wins; other
away definitions ("Break", "Lunch") are away. Ready and Logged out mean what they say."""
DEFINITIONS_FOR_SHARED = {
    Availability.AVAILABLE: (Availability.AVAILABLE,),
    Availability.BUSY: (Availability.BUSY,),
    Availability.DO_NOT_DISTURB: (Availability.DO_NOT_DISTURB,),
    Availability.BE_RIGHT_BACK: (Availability.BE_RIGHT_BACK, Availability.AWAY),
    Availability.AWAY: (Availability.AWAY,),
    Availability.IN_A_MEETING: (Availability.IN_A_MEETING,),
    Availability.PRESENTING: (Availability.PRESENTING, Availability.IN_A_MEETING),
    Availability.ON_A_CALL: (Availability.ON_A_CALL,),
    Availability.OFFLINE: (Availability.OFFLINE,),
}
"""Which definitions set each shared value: the first selectable one (in VCC's order) that
means the first of these; the account's definitions decide what it can represent."""


def shared_of_definition(category: str | None, name: str) -> Availability:
    """What a definition (or a reported presence) means, by its category and, within the
    away categories, its name."""
    shared = SHARED_BY_CATEGORY.get(category or "", Availability.UNKNOWN)
    if shared is Availability.AWAY:
        return next((named for pattern, named in SHARED_BY_NAME if pattern.search(name)), shared)
    return shared


def default_auth_url(region: str) -> str:
    """The region's token host."""
    return f"https://{region}.cc.vonage.com"


def default_api_url(region: str) -> str:
    """The region's API gateway, under which `/agents` and `/useradmin` live."""
    return f"https://{region}.api.newvoicemedia.com"


def map_vonage_error(response: ErrorResponse) -> PresenceBridgeError | None:
    """VCC's error bodies (providers.md §2.7), and the token endpoint's OAuth ones, as our errors."""
    body = response.body if isinstance(response.body, dict) else {}
    message = first_text(body, "message", "error") or f"HTTP {response.status}"
    match response.status:
        case 400:
            return _map_bad_request(body)
        case 401:
            return AuthenticationError(message)
        case 403:
            return PermissionMissingError(message, scope=USERS_WRITE)
        case 404:
            return NotFoundError(message)
        case 429:
            return RateLimitedError(message, retry_after=response.retry_after)
    return None


def _map_bad_request(body: dict[str, Any]) -> InvalidRequestError | None:
    """A 400 in any of VCC's three body shapes, or an OAuth error of the token endpoint."""
    error = body.get("error")
    if isinstance(error, dict):
        return InvalidRequestError(
            first_text(error, "message") or "HTTP 400", code=first_text(error, "code")
        )
    if isinstance(error, str):
        return InvalidRequestError(first_text(body, "error_description") or error, code=error)
    if title := first_text(body, "title"):
        details = [detail] if (detail := first_text(body, "detail")) else []
        errors = body.get("errors")
        for item in errors if isinstance(errors, list) else []:
            if item_message := first_text(item, "message"):
                path = first_text(item, "path")
                details.append(f"{item_message} ({path})" if path else item_message)
        message = f"{title.rstrip('.')}: {' '.join(details)}" if details else title
        return InvalidRequestError(message, code=title)
    if message := first_text(body, "message"):
        return InvalidRequestError(message)
    return None


def _map_useradmin_error(response: ErrorResponse) -> PresenceBridgeError | None:
    """A 401 or 403 of the User Admin API: these credentials may not list users."""
    if response.status in (401, 403):
        return PermissionMissingError(
            f"Listing users is not allowed (HTTP {response.status})", scope=USERS_READ
        )
    return map_vonage_error(response)


class VonageClient(PresenceClient):
    """A VCC account, through API credentials of the Admin Portal.

    The options are the account's own selectable presence definitions, re-read with
    every poll; a `users:write` token serves the Agents API, and a `users:read` one,
    fetched only if needed, the User Admin API's user list.
    """

    manufacturer = "Vonage"
    update_interval_per_user = 0.0

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        region: str,
        client_id: str,
        client_secret: str,
        auth_url: str | None = None,
        api_url: str | None = None,
        requests_per_minute: int = DEFAULT_REQUESTS_PER_MINUTE,
        clock: Callable[[], float] = monotonic,
    ) -> None:
        """Set up the client; nothing is sent until the first call. None URLs are the region's.

        The account's request budget starts at `requests_per_minute` and learns VCC's limit
        from each 429 (its fair usage limit covers every API of the account, tokens too).
        """
        if region not in REGIONS:
            raise ValueError(f"Unknown VCC region {region!r}; valid: {', '.join(REGIONS)}")
        self._client_id = client_id
        self._client_secret = client_secret
        api_url = (api_url or default_api_url(region)).rstrip("/")
        self.budget = RequestBudget(requests_per_minute, 60.0, learns_limit=True, clock=clock)
        self._auth = HttpCore(
            session,
            auth_url or default_auth_url(region),
            map_error=map_vonage_error,
            budget=self.budget,
        )
        self._tokens = TokenCache(partial(self._fetch_token, USERS_WRITE), clock=clock)
        self._read_tokens = TokenCache(partial(self._fetch_token, USERS_READ), clock=clock)

        def gateway(path: str, map_error: ErrorMapper, tokens: TokenCache) -> HttpCore:
            return HttpCore(
                session,
                f"{api_url}{path}",
                map_error=map_error,
                tokens=tokens,
                headers={"Accept": ACCEPT},
                budget=self.budget,
            )

        self.http = gateway("/agents", map_vonage_error, self._tokens)
        self._useradmin = gateway("/useradmin", _map_useradmin_error, self._read_tokens)
        self._id_by_option: dict[str, str] = {}
        self._option_by_id: dict[str, str] = {}
        self._shared_by_option: dict[str, Availability] = {}
        self._clock = clock
        self._listing: tuple[float, list[RemoteUser] | None] | None = None
        """When `list_users` last answered, and its answer."""

    @property
    @override
    def presence_options(self) -> tuple[str, ...]:
        return tuple(self._id_by_option)

    async def _fetch_token(self, scope: str) -> AccessToken:
        """Ask for a token of one scope (VCC grants one per request).

        A scope the credentials lack is a missing permission; any other refusal means
        the credentials themselves are wrong.
        """
        try:
            body = await self._auth.request(
                "POST",
                "/Auth/connect/token",
                form={
                    "grant_type": "client_credentials",
                    "client_id": self._client_id,
                    "client_secret": self._client_secret,
                    "scope": scope,
                },
            )
        except InvalidRequestError as err:
            if err.code == "invalid_scope":
                raise PermissionMissingError(
                    f"The credentials may not use scope {scope}", scope=scope
                ) from err
            raise AuthenticationError(f"Vonage refused the token request: {err}") from err
        return AccessToken.from_body(body)

    @override
    async def check_credentials(self) -> None:
        """Read the presence definitions: proves the token, the scope and the API version."""
        await self.get_presence_definitions()

    async def get_presence_definitions(self) -> tuple[str, ...]:
        """Read the account's presence definitions; the selectable ones become the options."""
        body = expect_type(
            await self.http.request("GET", "/presence-definitions"), dict, "the answer"
        )
        definitions = expect_objects(body.get("presenceDefinitions"), "presenceDefinitions")
        self._id_by_option = _label_selectable(definitions)
        self._option_by_id = {pid: option for option, pid in self._id_by_option.items()}
        by_id = {definition.get("presenceId"): definition for definition in definitions}
        self._shared_by_option = {
            option: shared_of_definition(_category(by_id[pid]), _description(by_id[pid]))
            for option, pid in self._id_by_option.items()
        }
        return self.presence_options

    @override
    def shared_of(self, presence: Presence) -> Availability:
        """By category and name; a presence just accepted (no category) by its definition's."""
        if presence.category is None and presence.option in self._shared_by_option:
            return self._shared_by_option[presence.option]
        return shared_of_definition(presence.category, presence.raw)

    @override
    def option_for(self, shared: Availability) -> str | None:
        for wanted in DEFINITIONS_FOR_SHARED.get(shared, ()):
            for option, meaning in self._shared_by_option.items():
                if meaning is wanted:
                    return option
        return None

    @override
    async def get_user(self, user_id: str) -> RemoteUser:
        """An agent, proven by reading their presence; named after the user list if it can be read.

        The list only names: where it cannot be read (no users:read, a 404, a 5xx, a
        timeout) the agent is `Agent <first 8 characters of the GUID>`. A list read by
        `list_users` moments ago is used rather than read again.
        """
        guid = _guid(user_id)
        expect_type(await self.http.request("GET", f"/{guid}/presence"), dict, "the presence")
        for user in await self._listing_to_name() or []:
            if user.user_id == guid:
                return RemoteUser(guid, user.display_name, user.email)
        return RemoteUser(guid, f"Agent {guid[:8]}")

    async def _listing_to_name(self) -> list[RemoteUser] | None:
        """The users listed within `LISTING_REUSE` seconds, else read now; None if unreadable."""
        if self._listing is not None and self._clock() - self._listing[0] < LISTING_REUSE:
            return self._listing[1]
        try:
            return await self._read_users()
        except PresenceBridgeError as err:
            _LOGGER.debug("Cannot read the user list to name an agent: %s", type(err).__name__)
            return None

    @override
    async def list_users(self) -> list[RemoteUser] | None:
        users = await self._read_users()
        self._listing = (self._clock(), users)
        return users

    async def _read_users(self) -> list[RemoteUser] | None:
        """The User Admin API's users; None where the credentials may not list them."""
        try:
            body = await self._useradmin.request("GET", "/users")
        except PermissionMissingError:
            return None
        users: list[RemoteUser] = []
        for item in _user_items(body):
            if not (user_id := (first_text(item, "userId", "id") or "").lower()):
                continue
            names = (first_text(item, "firstName") or "", first_text(item, "lastName") or "")
            email = first_text(item, "email")
            name = first_text(item, "name") or " ".join(names).strip() or email or user_id
            users.append(RemoteUser(user_id, name, email))
        return users

    @override
    def poll_requests(self, people: int) -> int:
        """The presence definitions, and the people in batches of PRESENCE_BATCH."""
        return 1 + math.ceil(people / PRESENCE_BATCH)

    @override
    async def get_presences(self, user_ids: Iterable[str]) -> dict[str, Presence]:
        await self.get_presence_definitions()
        wanted = {user_id.lower(): user_id for user_id in user_ids}
        ids = list(wanted)
        batches = await asyncio.gather(
            *(
                self.http.request(
                    "GET",
                    "/presences/users",
                    params={"userId": ",".join(ids[start : start + PRESENCE_BATCH])},
                )
                for start in range(0, len(ids), PRESENCE_BATCH)
            )
        )
        presences: dict[str, Presence] = {}
        for item in (item for batch in batches for item in expect_objects(batch, "presences")):
            if (user_id := wanted.get((first_text(item, "userId") or "").lower())) is not None:
                presence = expect_type(item.get("presence"), dict | None, "presence")
                presences[user_id] = self._presence(presence or {})
        return presences

    def _presence(self, presence: dict[str, Any]) -> Presence:
        """A reported presence; one whose definition is not selectable has no option."""
        presence_id = expect_type(presence.get("presenceId"), str | None, "presenceId")
        return Presence(
            option=self._option_by_id.get(presence_id or ""),
            raw=_description(presence),
            category=_category(presence),
        )

    @override
    async def _send_presence(self, user_id: str, option: str, duration: int | None) -> None:
        answer = await self.http.request(
            "PATCH",
            f"/{_guid(user_id)}/presence",
            json_body={"presenceId": self._id_by_option[option]},
        )
        expect_type(answer, dict, "the presence set")


def _guid(user_id: str) -> str:
    """A VCC user id as a lower-case GUID; anything else is refused before sending."""
    if not _GUID.fullmatch(guid := user_id.strip().lower()):
        raise InvalidRequestError(f"{user_id!r} is not a VCC user id (a GUID)")
    return guid


def _category(definition: dict[str, Any]) -> str | None:
    """A definition's (or presence's) `category.categoryType`."""
    category = expect_type(definition.get("category"), dict | None, "category") or {}
    return expect_type(category.get("categoryType"), str | None, "categoryType")


def _description(definition: dict[str, Any]) -> str:
    """A definition's display name; the schema does not require one, but a category."""
    description = expect_type(definition.get("description"), str | None, "description")
    return description or _category(definition) or ""


def _label_selectable(definitions: list[dict[str, Any]]) -> dict[str, str]:
    """Presence id by option for the selectable definitions, in the provider's order.

    Options must be unique, so a description shared by several definitions gets the
    category added, and the id's start too if that is shared as well.
    """
    selectable = [definition for definition in definitions if definition.get("selectable") is True]
    shared = Counter(_description(definition) for definition in selectable)
    id_by_option: dict[str, str] = {}
    for definition in selectable:
        presence_id = expect_type(definition.get("presenceId"), str, "presenceId")
        label = description = _description(definition)
        if shared[description] > 1:
            category = _category(definition)
            label = f"{description} ({category})"
            if label in id_by_option:
                label = f"{description} ({category}, {presence_id[:8]})"
        id_by_option[label] = presence_id
    return id_by_option


def _user_items(body: Any) -> list[dict[str, Any]]:
    """The users (objects) of a User Admin answer, whose shape our sources do not document."""
    if isinstance(body, dict):
        body = body.get("items") or body.get("users")
    return [item for item in body if isinstance(item, dict)] if isinstance(body, list) else []
