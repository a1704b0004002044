"""Zoom: Server-to-Server OAuth and the presence_status endpoints."""

from collections.abc import Callable, Iterable
from enum import StrEnum
import re
import time
from typing import Any, override
from urllib.parse import quote

import aiohttp

from .client import Presence, PresenceClient, RemoteUser, gather_known
from .errors import (
    AuthenticationError,
    InvalidRequestError,
    NotFoundError,
    PermissionMissingError,
    PresenceBridgeError,
    RateLimitedError,
    UserNotSignedInError,
)
from .http import AccessToken, ErrorResponse, HttpCore, TokenCache

DEFAULT_API_URL = "https://api.zoom.us/v2"
DEFAULT_OAUTH_URL = "https://zoom.us"


class ZoomStatus(StrEnum):
    """The presence statuses Zoom lets an API client set."""

    AVAILABLE = "Available"
    AWAY = "Away"
    DO_NOT_DISTURB = "Do_Not_Disturb"
    IN_CALENDAR_EVENT = "In_Calendar_Event"
    PRESENTING = "Presenting"
    IN_A_ZOOM_MEETING = "In_A_Zoom_Meeting"
    ON_A_CALL = "On_A_Call"


STATUS_BY_OPTION = {status.name.lower(): status for status in ZoomStatus}
OPTION_BY_STATUS = {status.value: option for option, status in STATUS_BY_OPTION.items()}
_SCOPES = re.compile(r"scopes:\s*\[([^\]]*)\]")


def map_zoom_error(response: ErrorResponse) -> PresenceBridgeError | None:
    """Zoom's `{code, message}` errors (providers.md §1.6) as our errors."""
    body = response.body if isinstance(response.body, dict) else {}
    code, message = body.get("code"), str(body.get("message") or f"HTTP {response.status}")
    match code:
        case 124:
            return AuthenticationError(message)
        case 1001:
            return NotFoundError(message)
        case 5301:
            return UserNotSignedInError(message, code="5301")
        case 5411:
            return PermissionMissingError(message)
        case 4711:
            scopes = _SCOPES.search(message)
            return PermissionMissingError(message, scope=scopes.group(1) if scopes else None)
    if response.status == 429:
        # Zoom's account-level QPS and daily limits say their type; the limit of one
        # presence update per person per minute does not.
        return RateLimitedError(
            message,
            retry_after=response.retry_after,
            account_wide="X-RateLimit-Type" in response.headers,
        )
    if response.status == 400 and code is not None:
        return InvalidRequestError(message, code=str(code))
    return None


class ZoomClient(PresenceClient):
    """A Zoom account, through a Server-to-Server OAuth app."""

    manufacturer = "Zoom"
    update_interval_per_user = 60.0
    duration_option = "do_not_disturb"

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        account_id: str,
        client_id: str,
        client_secret: str,
        api_url: str = DEFAULT_API_URL,
        oauth_url: str = DEFAULT_OAUTH_URL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Set up the client; nothing is sent until the first call."""
        self._account_id = account_id
        self._client_auth = aiohttp.encode_basic_auth(client_id, client_secret)
        self._oauth_url = oauth_url.rstrip("/")
        self._tokens = TokenCache(self._fetch_token, clock=clock)
        self.http = HttpCore(
            session,
            api_url,
            map_error=map_zoom_error,
            tokens=self._tokens,
            headers={"Accept": "application/json"},
        )

    @property
    @override
    def presence_options(self) -> tuple[str, ...]:
        return tuple(STATUS_BY_OPTION)

    @override
    def accepted_presence(self, option: str) -> Presence:
        return Presence(option, STATUS_BY_OPTION[option].value)

    async def _fetch_token(self) -> AccessToken:
        """Ask for an `account_credentials` token; a refused grant is an auth failure."""
        try:
            body = await self.http.request(
                "POST",
                f"{self._oauth_url}/oauth/token",
                form={"grant_type": "account_credentials", "account_id": self._account_id},
                headers={"Authorization": self._client_auth},
                authenticate=False,
            )
        except InvalidRequestError as err:
            raise AuthenticationError(f"Zoom refused the token request: {err}") from err
        return AccessToken(body["access_token"], float(body["expires_in"]))

    @override
    async def check_credentials(self) -> None:
        await self._tokens.get()

    @override
    async def get_user(self, user_id: str) -> RemoteUser:
        body: dict[str, Any] = await self.http.request("GET", f"/users/{_path(user_id)}")
        full_name = f"{body.get('first_name', '')} {body.get('last_name', '')}".strip()
        return RemoteUser(
            user_id=body["id"],
            display_name=body.get("display_name") or full_name or body.get("email") or body["id"],
            email=body.get("email"),
        )

    async def get_presence(self, user_id: str) -> Presence:
        """One person's presence; a status we cannot set has no option."""
        body = await self.http.request("GET", f"/users/{_path(user_id)}/presence_status")
        status = str(body.get("status", ""))
        return Presence(OPTION_BY_STATUS.get(status), status, body.get("end_time"))

    @override
    async def get_presences(self, user_ids: Iterable[str]) -> dict[str, Presence]:
        return await gather_known(user_ids, self.get_presence)

    @override
    async def _send_presence(self, user_id: str, option: str, duration: int | None) -> None:
        body: dict[str, Any] = {"status": STATUS_BY_OPTION[option].value}
        if duration is not None:
            body["duration"] = duration
        await self.http.request("PUT", f"/users/{_path(user_id)}/presence_status", json_body=body)


def _path(user_id: str) -> str:
    """A user id or email address as one URL path segment."""
    return quote(user_id, safe="@")
