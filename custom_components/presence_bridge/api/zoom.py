"""Zoom: Server-to-Server OAuth and the presence_status endpoints."""

from collections.abc import Callable, Iterable
from enum import StrEnum
import re
from typing import override
from urllib.parse import quote

import aiohttp

from .availability import Availability
from .budget import RequestBudget, monotonic
from .client import Presence, PresenceClient, RemoteUser, gather_known
from .errors import (
    AuthenticationError,
    InvalidRequestError,
    NotFoundError,
    PermissionMissingError,
    PresenceBridgeError,
    RateLimitedError,
    UnexpectedResponseError,
    UserNotSignedInError,
)
from .http import AccessToken, ErrorResponse, HttpCore, TokenCache, expect_type, first_text

DEFAULT_API_URL = "https://api.zoom.us/v2"
DEFAULT_OAUTH_URL = "https://zoom.us"
REQUESTS_PER_SECOND = {"free": 2, "pro": 20, "business": 60}
"""The account's budget by plan: Zoom's "Medium" label, where the presence endpoints are."""
DEFAULT_PLAN = "pro"


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
OPTION_FOR_SHARED = {
    Availability.AVAILABLE: "available",
    Availability.DO_NOT_DISTURB: "do_not_disturb",
    Availability.BE_RIGHT_BACK: "away",
    Availability.AWAY: "away",
    Availability.IN_A_MEETING: "in_calendar_event",
    Availability.PRESENTING: "presenting",
    Availability.ON_A_CALL: "on_a_call",
}
"""The option each shared value sets. Zoom has no settable Busy and cannot appear offline;
a meeting is a calendar event, not a claim that a Zoom meeting runs."""
SHARED_BY_STATUS = {
    "Available": Availability.AVAILABLE,
    "Away": Availability.AWAY,
    "Do_Not_Disturb": Availability.DO_NOT_DISTURB,
    "In_Calendar_Event": Availability.IN_A_MEETING,
    "Presenting": Availability.PRESENTING,
    "In_A_Zoom_Meeting": Availability.IN_A_MEETING,
    "On_A_Call": Availability.ON_A_CALL,
    "Busy": Availability.BUSY,
    "Out_of_Office": Availability.AWAY,
    "Offline": Availability.OFFLINE,
}
"""What each status Zoom reports means, the ones no API client may set included (§1.3, §1.4)."""
_SCOPES = re.compile(r"scopes:\s*\[([^\]]*)\]")


def map_zoom_error(response: ErrorResponse) -> PresenceBridgeError | None:
    """Zoom's `{code, message}` errors (providers.md §1.6) as our errors.

    Zoom answers a 404 with its body (`1001`, no such user); a 404 without one comes
    from another server, as at an API URL without `/v2`: a wrong URL, not a person.
    """
    body = response.body if isinstance(response.body, dict) else {}
    code = body.get("code")
    message = first_text(body, "message") or f"HTTP {response.status}"
    if response.status == 404 and (not isinstance(code, int) or isinstance(code, bool)):
        return UnexpectedResponseError(
            "HTTP 404 without Zoom's error body: the API URL does not lead to Zoom's API"
        )
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
    option_for_shared = OPTION_FOR_SHARED

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        account_id: str,
        client_id: str,
        client_secret: str,
        api_url: str = DEFAULT_API_URL,
        oauth_url: str = DEFAULT_OAUTH_URL,
        plan: str = DEFAULT_PLAN,
        clock: Callable[[], float] = monotonic,
    ) -> None:
        """Set up the client; nothing is sent until the first call. Bad URLs are refused.

        `plan` (a key of REQUESTS_PER_SECOND) sets the account's request budget.
        """
        self._account_id = account_id
        self._client_auth = aiohttp.encode_basic_auth(client_id, client_secret)
        self._tokens = TokenCache(self._fetch_token, clock=clock)
        self.budget = RequestBudget(REQUESTS_PER_SECOND[plan], 1.0, clock=clock)
        headers = {"Accept": "application/json"}
        self._auth = HttpCore(
            session, oauth_url, map_error=map_zoom_error, headers=headers, budget=self.budget
        )
        self.http = HttpCore(
            session,
            api_url,
            map_error=map_zoom_error,
            tokens=self._tokens,
            headers=headers,
            budget=self.budget,
        )

    @property
    @override
    def presence_options(self) -> tuple[str, ...]:
        return tuple(STATUS_BY_OPTION)

    @override
    def accepted_presence(self, option: str) -> Presence:
        return Presence(option, STATUS_BY_OPTION[option].value)

    @override
    def shared_of(self, presence: Presence) -> Availability:
        return SHARED_BY_STATUS.get(presence.raw, Availability.UNKNOWN)

    async def _fetch_token(self) -> AccessToken:
        """Ask for an `account_credentials` token; a refused grant is an auth failure."""
        try:
            body = await self._auth.request(
                "POST",
                "/oauth/token",
                form={"grant_type": "account_credentials", "account_id": self._account_id},
                headers={"Authorization": self._client_auth},
            )
        except InvalidRequestError as err:
            raise AuthenticationError(f"Zoom refused the token request: {err}") from err
        return AccessToken.from_body(body)

    @override
    async def check_credentials(self) -> None:
        await self._tokens.get()

    @override
    async def get_user(self, user_id: str) -> RemoteUser:
        body = expect_type(
            await self.http.request("GET", f"/users/{_path(user_id)}"), dict, "the user"
        )
        found = expect_type(body.get("id"), str, "id")
        email, first, last, display = (
            expect_type(body.get(key), str | None, key)
            for key in ("email", "first_name", "last_name", "display_name")
        )
        full_name = f"{first or ''} {last or ''}".strip()
        return RemoteUser(found, display or full_name or email or found, email)

    async def get_presence(self, user_id: str) -> Presence:
        """One person's presence; a status we cannot set has no option."""
        path = f"/users/{_path(user_id)}/presence_status"
        body = expect_type(await self.http.request("GET", path), dict, "the presence")
        status = expect_type(body.get("status"), str, "status")
        end_time = expect_type(body.get("end_time"), str | None, "end_time")
        return Presence(OPTION_BY_STATUS.get(status), status, end_time)

    @override
    async def get_presences(self, user_ids: Iterable[str]) -> dict[str, Presence]:
        return await gather_known(user_ids, self.get_presence)

    @override
    async def _send_presence(self, user_id: str, option: str, duration: int | None) -> None:
        body: dict[str, str | int] = {"status": STATUS_BY_OPTION[option].value}
        if duration is not None:
            body["duration"] = duration
        await self.http.request(
            "PUT", f"/users/{_path(user_id)}/presence_status", json_body=body, expect_status=204
        )


def _path(user_id: str) -> str:
    """A user id or email address as one URL path segment."""
    return quote(user_id, safe="@")
