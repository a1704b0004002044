"""The HTTP core every provider client shares: requests, error mapping, bearer tokens.

Whatever a server answers ends as what the caller asked for or as one of our errors:
a body is read up to MAX_BODY_BYTES; a success needs the status the caller expects and
a JSON body (or none); anything else is an `UnexpectedResponseError`. A wait a provider
asks for (`Retry-After`, `X-RateLimit-Reset`) is None or positive, and at most MAX_WAIT.
"""

import asyncio
from collections.abc import Awaitable, Callable, Collection, Mapping
import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
import ipaddress
import json
import logging
import math
import re
import time
from types import UnionType
from typing import Any, Protocol
from urllib.parse import urlsplit

import aiohttp

from .budget import RequestBudget, monotonic
from .errors import (
    AuthenticationError,
    InvalidRequestError,
    InvalidUrlError,
    NotFoundError,
    PermissionMissingError,
    PresenceBridgeError,
    ProviderUnavailableError,
    RateLimitedError,
    UnexpectedResponseError,
)

_LOGGER = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 15.0
TOKEN_LIFETIME_USED = 0.9
"""Share of a token's lifetime after which it is fetched anew, ahead of expiry."""
MAX_BODY_BYTES = 1024 * 1024
"""The longest body read; a longer one is an unexpected answer, and not read further."""
MAX_WAIT = 3600.0
"""The longest wait (seconds) a `Retry-After` or `X-RateLimit-Reset` may impose."""
_CHUNK = 64 * 1024
_EMAIL = re.compile(r"[^/?#&=;\s]+(?:@|%40)[^/?#&=;\s]+", re.IGNORECASE)
_MARKUP = re.compile(r"<[!/?a-zA-Z]")


def check_url(url: str) -> str:
    """`url` without surrounding blanks or a trailing `/`, if credentials may go to it.

    It needs https (http only to this machine, see `is_this_machine`) and a host; a bad
    port, or a user name or password in it, is refused too. The error does not repeat the
    URL, which may hold a password.
    """
    try:
        parts = urlsplit(url.strip())
        host, _ = parts.hostname, parts.port
    except ValueError as err:
        raise InvalidUrlError(
            "The URL cannot be read (a bad host or port)", reason=InvalidUrlError.UNREADABLE
        ) from err
    if parts.scheme in ("http", "https") and not host:
        raise InvalidUrlError(
            "The URL needs http:// or https:// and a host", reason=InvalidUrlError.UNREADABLE
        )
    if "@" in parts.netloc:
        raise InvalidUrlError(
            "The URL must not contain a user name or password",
            reason=InvalidUrlError.CREDENTIALS,
        )
    if parts.scheme != "https" and not (parts.scheme == "http" and is_this_machine(host or "")):
        raise InvalidUrlError(
            "The URL needs https:// (http:// only to this machine)",
            reason=InvalidUrlError.INSECURE,
        )
    return url.strip().rstrip("/")


def is_this_machine(host: str) -> bool:
    """Whether `host` (lower case, no brackets) is localhost or a loopback address."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After`: seconds, an HTTP date or an ISO timestamp.

    None when there is none, it cannot be read, or it asks for no wait at all (zero,
    negative, or a time already past): the caller then applies its own floor, as
    "retry at once" is never meant. Not capped here: `HttpCore` cuts it to MAX_WAIT.
    """
    if not value or not (value := value.strip()):
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except TypeError, ValueError, OverflowError:
            try:
                when = datetime.fromisoformat(value)
            except ValueError:
                return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return seconds if seconds > 0 else None


def as_seconds(value: Any) -> float | None:
    """A JSON number as seconds (a huge one as infinity); anything else is None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return float(value)
    except OverflowError:
        return math.inf


def expect_type(value: Any, kind: type | UnionType, what: str) -> Any:
    """`value` if it is of `kind` (`str | None` for an optional field); else the answer
    is malformed and an `UnexpectedResponseError` is raised."""
    if not isinstance(value, kind):
        raise UnexpectedResponseError(
            f"Malformed answer: {what} is {type(value).__name__}, not {getattr(kind, '__name__', kind)}"
        )
    return value


def expect_objects(value: Any, what: str) -> list[dict[str, Any]]:
    """`value` if it is a JSON list of objects; else the answer is malformed."""
    for item in expect_type(value, list, what):
        expect_type(item, dict, f"an item of {what}")
    return value


def first_text(body: Any, *keys: str) -> str | None:
    """The first of `keys` that is a non-empty string in a JSON object `body`, if any."""
    if isinstance(body, dict):
        for key in keys:
            if isinstance(value := body.get(key), str) and value:
                return value
    return None


@dataclass(frozen=True, slots=True)
class ErrorResponse:
    """A failed HTTP response, as a provider's error mapper sees it."""

    status: int
    body: Any
    headers: Mapping[str, str]
    retry_after: float | None


type ErrorMapper = Callable[[ErrorResponse], PresenceBridgeError | None]
"""A provider's own mapping; `None` falls back to the mapping by HTTP status.

It sees whatever the server sent (`body` is JSON, text or None), so it must not assume
a shape: `first_text` reads a message safely.
"""


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

    @classmethod
    def from_body(cls, body: Any) -> AccessToken:
        """An OAuth token answer's `access_token` and `expires_in`; else it is malformed."""
        body = expect_type(body, dict, "the token answer")
        value = expect_type(body.get("access_token"), str, "access_token")
        expires_in = as_seconds(body.get("expires_in"))
        if not value or expires_in is None or not expires_in > 0:
            raise UnexpectedResponseError("Malformed answer: no usable access token")
        return cls(value, expires_in)


class TokenSource(Protocol):
    """Where an `HttpCore` gets its bearer tokens: asked before each request, told of a 401."""

    async def get(self) -> str:
        """A token to send; raises one of our errors when there is none."""
        ...

    def invalidate(self, value: str) -> None:
        """The API rejected `value` (401); the next `get` should not return it if it can help it."""
        ...


class TokenCache:
    """One OAuth token for a client-credentials-style grant, shared by all requests.

    Fetched on first use and again once 90 % of its lifetime has passed; concurrent
    callers wait for the one fetch under way instead of starting their own.
    """

    def __init__(
        self,
        fetch: Callable[[], Awaitable[AccessToken]],
        *,
        clock: Callable[[], float] = monotonic,
    ) -> None:
        """Take the coroutine that fetches a new token; `clock` is looked up at each call."""
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


class TokenGetter:
    """Tokens someone else keeps (Home Assistant's OAuth2 session, with its refresh token).

    `get_token` is awaited before each request and returns the access token to send;
    it should raise `AuthenticationError` when the grant is refused for good (to ask
    for a new sign-in) and `ProviderUnavailableError` when the refresh failed for now.
    An aiohttp error or timeout it lets through is mapped here, as Home Assistant's
    OAuth2 session (whose token errors are aiohttp's) means them: a refresh answered
    429 or 5xx, or not at all, is a `ProviderUnavailableError`; any other 4xx an
    `AuthenticationError`. `on_rejected`, if given, hears of a token the API refused
    (so that its keeper can refresh it early).
    """

    def __init__(
        self,
        get_token: Callable[[], Awaitable[str]],
        *,
        on_rejected: Callable[[str], None] | None = None,
    ) -> None:
        """Take the coroutine function that returns a valid access token."""
        self._get_token = get_token
        self._on_rejected = on_rejected

    async def get(self) -> str:
        """The token `get_token` returns now; an empty or missing one is an auth failure."""
        try:
            value = await self._get_token()
        except PresenceBridgeError:
            raise
        except aiohttp.ClientResponseError as err:
            if 400 <= err.status < 500 and err.status != 429:
                raise AuthenticationError(
                    f"The token refresh was refused (HTTP {err.status})"
                ) from err
            raise ProviderUnavailableError(f"The token refresh failed (HTTP {err.status})") from err
        except (aiohttp.ClientError, TimeoutError) as err:
            raise ProviderUnavailableError(
                f"The token refresh failed ({type(err).__name__})"
            ) from err
        if not isinstance(value, str) or not value:
            raise AuthenticationError("No access token is available")
        return value

    def invalidate(self, value: str) -> None:
        """Pass the refusal on to the token's keeper, if it listens."""
        if self._on_rejected is not None:
            self._on_rejected(value)


class HttpCore:
    """Sends requests for one provider account and turns failures into our errors."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        *,
        map_error: ErrorMapper,
        tokens: TokenSource | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        clock: Callable[[], float] | None = None,
        is_success: Callable[[Any], bool] | None = None,
        budget: RequestBudget | None = None,
    ) -> None:
        """Set up requests against `base_url` (checked: `check_url`), with bearer tokens
        from `tokens` (a `TokenCache`, a `TokenGetter`) if given, each request waiting
        for its slot in `budget`, the account's, if given.

        `clock` (Unix time) defaults to `time.time`, looked up at each call.
        `is_success` is the provider's test of a success's JSON body, if it has one
        (Zulip's `"result": "success"`).
        """
        self.session = session
        self.base_url = check_url(base_url)
        self._map_error = map_error
        self._tokens = tokens
        self._headers = dict(headers or {})
        self._timeout = timeout
        self._clock = clock
        self._is_success = is_success
        self.budget = budget
        self._capped: set[str] = set()
        """The headers whose waits were cut to MAX_WAIT, and logged, already."""

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
        expect_status: int | Collection[int] = 200,
        read: bool | None = None,
    ) -> Any:
        """Send one request to `path` under the base URL; return the JSON body (None
        when empty) or raise one of our errors.

        A success is `expect_status` (or one of them) with a JSON body or none, which
        `is_success` accepts; any other answer below 400 is an `UnexpectedResponseError`.
        With a token source (and `authenticate`), a 401 drops the token and the request
        is sent once more with a new one; if the source has none but the same, the 401
        stands. Redirects are not followed. In the budget, a request is a read (served after
        every waiting write) when `read` says so, by default when it is a GET.
        """
        expected = {expect_status} if isinstance(expect_status, int) else set(expect_status)
        read = method == "GET" if read is None else read
        url = f"{self.base_url}{path}"
        all_headers = self._headers | dict(headers or {})
        token: str | None = None
        for attempt in range(2):
            if self.budget is not None:
                # The slot first: a wait for it may outlive a token fetched before it.
                await self.budget.acquire(read=read)
            if self._tokens and authenticate:
                token = await self._tokens.get()
                all_headers["Authorization"] = f"Bearer {token}"
            status, raw, content_type, response_headers = await self._send(
                method=method,
                url=url,
                json_body=json_body,
                form=form,
                params=params,
                headers=all_headers,
            )
            if status == 401 and token is not None and self._tokens and attempt == 0:
                _LOGGER.debug(
                    "%s %s was refused with 401; fetching a new token", method, _redact(url)
                )
                self._tokens.invalidate(token)
                if await self._tokens.get() != token:
                    continue
            break
        self._note_budget(response_headers)
        if status >= 400:
            error = self._error(status, _error_body(raw, content_type), response_headers)
            if self.budget and isinstance(error, RateLimitedError) and error.account_wide:
                hint = response_headers.get("X-RateLimit-Limit", "").strip()
                self.budget.throttled(error.retry_after, int(hint) if hint.isdigit() else None)
            raise error
        if self.budget:
            self.budget.succeeded()
        if status not in expected:
            wanted = "/".join(map(str, sorted(expected)))
            raise UnexpectedResponseError(f"Unexpected answer: HTTP {status}, not {wanted}")
        if not raw:
            body = None
        elif "json" in content_type:
            body = _parse_json(raw)
        else:
            raise UnexpectedResponseError(f"Unexpected answer: {content_type}, not JSON")
        if self._is_success is not None and not self._is_success(body):
            raise UnexpectedResponseError("Unexpected answer: not the provider's success")
        return body

    def _now(self) -> float:
        return self._clock() if self._clock else time.time()

    def _error(self, status: int, body: Any, headers: Mapping[str, str]) -> PresenceBridgeError:
        """The error for a status of 400 or more: the provider's mapping, else by status."""
        now = datetime.fromtimestamp(self._now(), UTC)
        retry_after = self._bounded(
            "Retry-After", parse_retry_after(headers.get("Retry-After"), now)
        )
        response = ErrorResponse(status, body, headers, retry_after)
        error = self._map_error(response) or map_status(response, _status_text(status, body))
        if isinstance(error, RateLimitedError | ProviderUnavailableError):
            error.retry_after = self._bounded("Retry-After", error.retry_after)
        return error

    def _bounded(self, source: str, seconds: float | None) -> float | None:
        """A wait the provider asked for: None unless positive, and at most MAX_WAIT.

        The first wait cut from each `source` is logged as a warning.
        """
        if seconds is None or not seconds > 0:
            return None
        if seconds <= MAX_WAIT:
            return seconds
        if source not in self._capped:
            self._capped.add(source)
            _LOGGER.warning(
                "%s asked for a wait of %.0f s in %s; waiting %.0f s at most",
                _redact(self.base_url),
                seconds,
                source,
                MAX_WAIT,
            )
        return MAX_WAIT

    def _note_budget(self, headers: Mapping[str, str]) -> None:
        """Hold the budget's requests back once the provider says none are left until a reset."""
        if not self.budget or headers.get("X-RateLimit-Remaining", "").strip() != "0":
            return
        with contextlib.suppress(ValueError):
            reset = float(headers.get("X-RateLimit-Reset", ""))
            if (wait := self._bounded("X-RateLimit-Reset", reset - self._now())) is not None:
                self.budget.exhausted(wait)

    async def _send(
        self,
        *,
        method: str,
        url: str,
        json_body: Any,
        form: Mapping[str, str] | None,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str],
    ) -> tuple[int, bytes, str, Mapping[str, str]]:
        """Status, body (at most MAX_BODY_BYTES), content type and headers of the answer.

        Error texts name neither the URL nor what the server sent.
        """
        try:
            async with asyncio.timeout(self._timeout):
                async with self.session.request(
                    method,
                    url,
                    json=json_body,
                    data=form,
                    params=params,
                    headers=headers,
                    allow_redirects=False,
                ) as response:
                    _LOGGER.debug("%s %s -> %s", method, _redact(url), response.status)
                    raw = await _read_bounded(response)
                    return response.status, raw, response.content_type, response.headers
        except TimeoutError as err:
            raise ProviderUnavailableError("The request timed out") from err
        except aiohttp.ClientError as err:
            _LOGGER.debug("%s %s failed: %s", method, _redact(url), _redact(str(err)))
            raise ProviderUnavailableError(
                f"Could not reach the provider ({type(err).__name__})"
            ) from err


async def _read_bounded(response: aiohttp.ClientResponse) -> bytes:
    """The body as it arrives; past MAX_BODY_BYTES the connection is closed, unread."""
    body = bytearray()
    if (response.content_length or 0) <= MAX_BODY_BYTES:
        async for chunk in response.content.iter_chunked(_CHUNK):
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                break
        else:
            return bytes(body)
    response.close()
    raise UnexpectedResponseError(f"Unexpected answer: larger than {MAX_BODY_BYTES // 1024} KiB")


def _parse_json(raw: bytes) -> Any:
    """The JSON value of a body; not UTF-8, malformed or nested too deep is unexpected.

    `NaN` and `Infinity`, which JSON does not have, are refused too.
    """
    try:
        return json.loads(raw, parse_constant=_refuse_constant)
    except ValueError, RecursionError:
        # The cause is not chained: a RecursionError's traceback is thousands of lines.
        raise UnexpectedResponseError("Malformed answer: not valid JSON") from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(name)


def _error_body(raw: bytes, content_type: str) -> Any:
    """An error's body, for the provider's mapping: its JSON, or its text if it is not
    JSON; None if empty, or if it claims to be JSON but is not (it is not shown)."""
    if not raw:
        return None
    if "json" in content_type:
        try:
            return _parse_json(raw)
        except UnexpectedResponseError:
            return None
    return raw.decode("utf-8", "replace")


def _status_text(status: int, body: Any) -> str:
    """`HTTP <status>`, with a plain-text body's text; never a page or a JSON body."""
    if isinstance(body, str) and not _MARKUP.search(body) and (text := " ".join(body.split())):
        return f"HTTP {status}: {text}"
    return f"HTTP {status}"


def _redact(text: str) -> str:
    """`text` (a URL, for the log) with every email address in it replaced."""
    return _EMAIL.sub("<email>", text)
