"""The HTTP core every provider client shares: requests, error mapping, bearer tokens."""

import asyncio
from collections.abc import Awaitable, Callable, Mapping
import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
import json
import logging
import time
from typing import Any

import aiohttp

from .errors import (
    AuthenticationError,
    InvalidRequestError,
    NotFoundError,
    PermissionMissingError,
    PresenceBridgeError,
    ProviderUnavailableError,
    RateLimitedError,
)

_LOGGER = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 15.0
TOKEN_LIFETIME_USED = 0.9
"""Share of a token's lifetime after which it is fetched anew, ahead of expiry."""


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After`: seconds, an HTTP date or an ISO timestamp."""
    if not value or not (value := value.strip()):
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except TypeError, ValueError:
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


@dataclass(frozen=True, slots=True)
class ErrorResponse:
    """A failed HTTP response, as a provider's error mapper sees it."""

    status: int
    body: Any
    headers: Mapping[str, str]
    retry_after: float | None


type ErrorMapper = Callable[[ErrorResponse], PresenceBridgeError | None]
"""A provider's own mapping; `None` falls back to the mapping by HTTP status."""


def map_status(response: ErrorResponse, message: str) -> PresenceBridgeError:
    """The mapping by HTTP status alone, for what a provider's mapper leaves."""
    if response.status == 401:
        return AuthenticationError(message)
    if response.status == 403:
        return PermissionMissingError(message)
    if response.status == 404:
        return NotFoundError(message)
    if response.status == 429:
        return RateLimitedError(message, retry_after=response.retry_after)
    if response.status >= 500:
        return ProviderUnavailableError(message, retry_after=response.retry_after)
    return InvalidRequestError(message, code=str(response.status))


@dataclass(frozen=True, slots=True)
class AccessToken:
    """A bearer token and how many seconds it lives."""

    value: str
    expires_in: float


class TokenCache:
    """One OAuth token for a client-credentials-style grant, shared by all requests.

    Fetched on first use and again once 90 % of its lifetime has passed; concurrent
    callers wait for the one fetch under way instead of starting their own.
    """

    def __init__(
        self,
        fetch: Callable[[], Awaitable[AccessToken]],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Take the coroutine that fetches a new token."""
        self._fetch = fetch
        self._clock = clock
        self._lock = asyncio.Lock()
        self._value: str | None = None
        self._refresh_at = 0.0

    async def get(self) -> str:
        """A valid token, fetching one only when needed."""
        if (value := self._current()) is not None:
            return value
        async with self._lock:
            if (value := self._current()) is not None:
                return value
            token = await self._fetch()
            self._value = token.value
            self._refresh_at = self._clock() + token.expires_in * TOKEN_LIFETIME_USED
            return token.value

    def invalidate(self, value: str) -> None:
        """Drop `value` after the API rejected it, unless a newer one replaced it."""
        if self._value == value:
            self._value = None

    def _current(self) -> str | None:
        if self._value is not None and self._clock() < self._refresh_at:
            return self._value
        return None


class HttpCore:
    """Sends requests for one provider account and turns failures into our errors."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        *,
        map_error: ErrorMapper,
        tokens: TokenCache | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        clock: Callable[[], float] | None = None,
    ) -> None:
        """Set up requests against `base_url`, with bearer tokens from `tokens` if given.

        `clock` (Unix time) defaults to `time.time`, looked up at each call.
        """
        self.session = session
        self.base_url = base_url.rstrip("/")
        self._map_error = map_error
        self._tokens = tokens
        self._headers = dict(headers or {})
        self._timeout = timeout
        self._clock = clock
        self._exhausted_until = 0.0
        """When (Unix time) a provider that said `X-RateLimit-Remaining: 0` resets."""

    async def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        form: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        authenticate: bool = True,
    ) -> Any:
        """Send one request; return the JSON body (None when empty) or raise.

        `path` is relative to the base URL unless it is a whole URL. With a token
        cache (and `authenticate`), a 401 drops the token and the request is sent
        once more with a new one.
        """
        now = self._clock() if self._clock else time.time()
        if (wait := self._exhausted_until - now) > 0:
            raise RateLimitedError("The provider's request budget is used up", retry_after=wait)
        url = path if "://" in path else f"{self.base_url}{path}"
        all_headers = self._headers | dict(headers or {})
        token = await self._tokens.get() if self._tokens and authenticate else None
        for attempt in range(2):
            if token is not None:
                all_headers["Authorization"] = f"Bearer {token}"
            status, body, response_headers = await self._send(
                method=method,
                url=url,
                json_body=json_body,
                form=form,
                params=params,
                headers=all_headers,
            )
            if status == 401 and token is not None and self._tokens and attempt == 0:
                _LOGGER.debug("%s %s was refused with 401; fetching a new token", method, url)
                self._tokens.invalidate(token)
                token = await self._tokens.get()
                continue
            break
        self._note_budget(response_headers)
        if status < 400:
            return body
        response = ErrorResponse(
            status, body, response_headers, parse_retry_after(response_headers.get("Retry-After"))
        )
        raise self._map_error(response) or map_status(response, f"HTTP {status}: {body}")

    def _note_budget(self, headers: Mapping[str, str]) -> None:
        """Hold further requests back once the provider says none are left until a reset."""
        if headers.get("X-RateLimit-Remaining") == "0":
            with contextlib.suppress(ValueError):
                self._exhausted_until = float(headers.get("X-RateLimit-Reset", ""))

    async def _send(
        self,
        *,
        method: str,
        url: str,
        json_body: Any,
        form: Mapping[str, str] | None,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str],
    ) -> tuple[int, Any, Mapping[str, str]]:
        try:
            async with asyncio.timeout(self._timeout):
                async with self.session.request(
                    method, url, json=json_body, data=form, params=params, headers=headers
                ) as response:
                    text = await response.text()
                    _LOGGER.debug("%s %s -> %s", method, url, response.status)
                    return response.status, _decode(text, response.content_type), response.headers
        except TimeoutError as err:
            raise ProviderUnavailableError(f"{method} {url} timed out") from err
        except aiohttp.ClientError as err:
            raise ProviderUnavailableError(f"{method} {url} failed: {err}") from err


def _decode(text: str, content_type: str) -> Any:
    """JSON when the body is JSON, the text otherwise, None when empty."""
    if not text:
        return None
    if "json" in content_type:
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text
