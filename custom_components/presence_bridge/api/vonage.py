"""Vonage Contact Center (VCC): client-credentials OAuth and the Agents API presence endpoints."""

import asyncio
from collections import Counter
from collections.abc import Callable, Iterable
from functools import partial
import re
import time
from typing import Any, override

import aiohttp

from .client import Presence, PresenceClient, RemoteUser
from .errors import (
    AuthenticationError,
    InvalidRequestError,
    NotFoundError,
    PermissionMissingError,
    PresenceBridgeError,
    RateLimitedError,
)
from .http import AccessToken, ErrorMapper, ErrorResponse, HttpCore, TokenCache

REGIONS = ("emea", "nam", "apac")
ACCEPT = "application/vnd.newvoicemedia.v1+json"
"""The Agents API picks its version from the Accept header, and knows only v1."""
USERS_READ = "users:read"
USERS_WRITE = "users:write"
PRESENCE_BATCH = 50
"""The most user ids one `presences/users` query may name."""
_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def default_auth_url(region: str) -> str:
    """The region's token host."""
    return f"https://{region}.cc.vonage.com"


def default_api_url(region: str) -> str:
    """The region's API gateway, under which `/agents` and `/useradmin` live."""
    return f"https://{region}.api.newvoicemedia.com"


def map_vonage_error(response: ErrorResponse) -> PresenceBridgeError | None:
    """VCC's error bodies (providers.md §2.7), and the token endpoint's OAuth ones, as our errors."""
    body = response.body if isinstance(response.body, dict) else {}
    message = str(body.get("message") or body.get("error") or f"HTTP {response.status}")
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
        return InvalidRequestError(str(error.get("message")), code=str(error.get("code")))
    if isinstance(error, str):
        return InvalidRequestError(str(body.get("error_description") or error), code=error)
    if "title" in body:
        title = str(body["title"])
        details = [str(body["detail"])] if body.get("detail") else []
        details += [
            f"{item.get('message')} ({item['path']})" if item.get("path") else str(item["message"])
            for item in body.get("errors") or []
        ]
        message = f"{title.rstrip('.')}: {' '.join(details)}" if details else title
        return InvalidRequestError(message, code=title)
    if "message" in body:
        return InvalidRequestError(str(body["message"]))
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
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Set up the client; nothing is sent until the first call. None URLs are the region's."""
        if region not in REGIONS:
            raise ValueError(f"Unknown VCC region {region!r}; valid: {', '.join(REGIONS)}")
        self._client_id = client_id
        self._client_secret = client_secret
        api_url = (api_url or default_api_url(region)).rstrip("/")
        self._auth = HttpCore(
            session, auth_url or default_auth_url(region), map_error=map_vonage_error
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
            )

        self.http = gateway("/agents", map_vonage_error, self._tokens)
        self._useradmin = gateway("/useradmin", _map_useradmin_error, self._read_tokens)
        self._id_by_option: dict[str, str] = {}
        self._option_by_id: dict[str, str] = {}

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
        return AccessToken(body["access_token"], float(body["expires_in"]))

    @override
    async def check_credentials(self) -> None:
        """Read the presence definitions: proves the token, the scope and the API version."""
        await self.get_presence_definitions()

    async def get_presence_definitions(self) -> tuple[str, ...]:
        """Read the account's presence definitions; the selectable ones become the options."""
        body = await self.http.request("GET", "/presence-definitions")
        self._id_by_option = _label_selectable(body.get("presenceDefinitions") or [])
        self._option_by_id = {pid: option for option, pid in self._id_by_option.items()}
        return self.presence_options

    @override
    async def get_user(self, user_id: str) -> RemoteUser:
        guid = _guid(user_id)
        await self.http.request("GET", f"/{guid}/presence")
        listed = {user.user_id: user for user in await self.list_users() or []}
        if (user := listed.get(guid)) is not None:
            return RemoteUser(guid, user.display_name, user.email)
        return RemoteUser(guid, f"Agent {guid[:8]}")

    @override
    async def list_users(self) -> list[RemoteUser] | None:
        try:
            body = await self._useradmin.request("GET", "/users")
        except PermissionMissingError:
            return None
        users: list[RemoteUser] = []
        for item in _user_items(body):
            if not (user_id := str(item.get("userId") or item.get("id") or "").lower()):
                continue
            full_name = f"{item.get('firstName') or ''} {item.get('lastName') or ''}".strip()
            name = item.get("name") or full_name or item.get("email") or user_id
            users.append(RemoteUser(user_id, str(name), item.get("email")))
        return users

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
        for item in (item for batch in batches for item in batch or []):
            if (user_id := wanted.get(str(item.get("userId")).lower())) is not None:
                presences[user_id] = self._presence(item.get("presence") or {})
        return presences

    def _presence(self, presence: dict[str, Any]) -> Presence:
        """A reported presence; one whose definition is not selectable has no option."""
        return Presence(
            option=self._option_by_id.get(presence.get("presenceId", "")),
            raw=_description(presence),
            category=(presence.get("category") or {}).get("categoryType"),
        )

    @override
    async def _send_presence(self, user_id: str, option: str, duration: int | None) -> None:
        await self.http.request(
            "PATCH",
            f"/{_guid(user_id)}/presence",
            json_body={"presenceId": self._id_by_option[option]},
        )


def _guid(user_id: str) -> str:
    """A VCC user id as a lower-case GUID; anything else is refused before sending."""
    if not _GUID.fullmatch(guid := user_id.strip().lower()):
        raise InvalidRequestError(f"{user_id!r} is not a VCC user id (a GUID)")
    return guid


def _description(definition: dict[str, Any]) -> str:
    """A definition's display name; the schema does not require one, but a category."""
    category = definition.get("category") or {}
    return str(definition.get("description") or category.get("categoryType") or "")


def _label_selectable(definitions: list[dict[str, Any]]) -> dict[str, str]:
    """Presence id by option for the selectable definitions, in the provider's order.

    Options must be unique, so a description shared by several definitions gets the
    category added, and the id's start too if that is shared as well.
    """
    selectable = [definition for definition in definitions if definition.get("selectable")]
    shared = Counter(_description(definition) for definition in selectable)
    id_by_option: dict[str, str] = {}
    for definition in selectable:
        presence_id = str(definition["presenceId"])
        label = description = _description(definition)
        if shared[description] > 1:
            category = (definition.get("category") or {}).get("categoryType")
            label = f"{description} ({category})"
            if label in id_by_option:
                label = f"{description} ({category}, {presence_id[:8]})"
        id_by_option[label] = presence_id
    return id_by_option


def _user_items(body: Any) -> list[dict[str, Any]]:
    """The users of a User Admin answer, whose shape our sources do not document."""
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        return body.get("items") or body.get("users") or []
    return []
