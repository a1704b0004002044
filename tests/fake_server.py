"""What every fake provider shares: an aiohttp app on 127.0.0.1 that records requests.

A provider's fake subclasses `FakeServer`, adds its routes in `routes()`, and keeps
its own state. Tests read `requests` to assert exactly what reached the "provider",
and queue canned answers in `fail_next` (or `fail_at`, for any path) to inject
failures: `raw_response` is any status, bytes and headers; `StreamedBody` a body
longer than any client should read.

`start(port=…, control=True)` serves on a fixed port with the sandbox's JSON control API
beside the provider's routes (`scripts/sandbox`, `tests/sandbox.py`):

- `GET /_sandbox/requests[?since=N]`: the requests received (credentials masked), and `next`,
  the index to ask from next time;
- `POST /_sandbox/fail`: `{"status", "body", "headers", "path", "count"}` queues canned
  answers (for `path`, or for the next API requests); `{"clear": true}` drops them;
- `GET` or `POST /_sandbox/state`: the fake's state, and changes to it (`sandbox_state`,
  `update_sandbox_state`).

Control requests are not recorded.
"""

import asyncio
import base64
import binascii
from collections.abc import AsyncIterator, Callable, Mapping
import contextlib
from dataclasses import dataclass, field, fields
import json
import time
from typing import Any, ClassVar, Self

from aiohttp import web
from aiohttp.test_utils import TestServer

CONTROL_PREFIX = "/_sandbox/"
"""Where the sandbox's control API lives on each fake (`start(control=True)`)."""
SECRET_HEADERS = frozenset({"authorization", "cookie"})
SECRET_FIELDS = frozenset(
    {"client_secret", "api_key", "password", "code", "refresh_token", "access_token"}
)


def _masked(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers with credentials masked: the scheme is kept, the value is not."""
    return {
        name: f"{value.partition(' ')[0]} ***" if name.lower() in SECRET_HEADERS else value
        for name, value in headers.items()
    }


def _masked_body(body: Any) -> Any:
    """A form or JSON body with the values of credential fields masked."""
    if isinstance(body, dict):
        return {key: "***" if key in SECRET_FIELDS else value for key, value in body.items()}
    return body


def basic_credentials(header: str) -> tuple[str, str] | None:
    """`(user, password)` of a Basic Authorization header, or None if it is not one."""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except binascii.Error, UnicodeDecodeError:
        return None
    user, colon, password = decoded.partition(":")
    return (user, password) if colon else None


def raw_response(
    status: int = 200,
    body: bytes | StreamedBody = b"",
    *,
    content_type: str | None = "application/json",
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    """A canned answer of exactly these bytes and headers, as a proxy or a broken server sends."""
    response = web.Response(
        status=status,
        body=body if isinstance(body, bytes) else body.chunks(),
        headers=dict(headers or {}),
    )
    if content_type is not None:
        response.content_type = content_type
    return response


@dataclass
class StreamedBody:
    """A body of `size` bytes sent in chunks as the client reads them (no Content-Length).

    `produced` counts the bytes handed to the connection, so a test sees whether a
    client stopped reading.
    """

    size: int
    chunk: bytes = b" " * 65536
    produced: int = 0

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body, chunk by chunk."""
        while self.produced < self.size:
            self.produced += len(self.chunk)
            yield self.chunk


@dataclass
class RecordedRequest:
    """One request as the fake received it."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    query: dict[str, str] = field(default_factory=dict)


@dataclass
class FakeServer:
    """Base of the fake providers; start it with `start()`."""

    clock: Callable[[], float] = time.monotonic
    requests: list[RecordedRequest] = field(default_factory=list)
    fail_next: list[web.StreamResponse] = field(default_factory=list)
    """Canned responses returned, in order, instead of handling the next API requests."""
    fail_at: dict[str, list[web.StreamResponse]] = field(default_factory=dict)
    """Canned responses by exact path, for any request (a token endpoint's too), in order."""
    server: TestServer | None = None
    answer_delay: float = 0.0
    """Real seconds each API answer takes, so that concurrent requests overlap (not with freezer)."""
    in_flight: int = 0
    peak_in_flight: int = 0
    """The most API requests the fake was answering at once."""

    api_prefix: ClassVar[str | tuple[str, ...]] = "/"
    """Requests under this path (or these paths) are API requests, not token requests."""

    def routes(self, router: web.UrlDispatcher) -> None:
        """Add the provider's routes."""
        raise NotImplementedError

    def entry_data(self) -> dict[str, str]:
        """A Presence Bridge entry's data for this account, pointing at the fake."""
        raise NotImplementedError

    @property
    def url(self) -> str:
        """Base URL of the running fake, without a trailing slash."""
        assert self.server is not None
        return str(self.server.make_url("")).rstrip("/")

    def api_requests(self, method: str | None = None) -> list[RecordedRequest]:
        """Recorded API requests, optionally of one method."""
        return [
            request
            for request in self.requests
            if request.path.startswith(self.api_prefix) and method in (None, request.method)
        ]

    async def start(self, port: int | None = None, *, control: bool = False) -> None:
        """Serve on 127.0.0.1, on `port` or a free one; with the control API if `control`."""
        app = web.Application(middlewares=[self._record])
        if control:
            self.control_routes(app.router)
        self.routes(app.router)
        self.server = TestServer(app, host="127.0.0.1", port=port)
        await self.server.start_server()

    # The sandbox's control API.

    def control_routes(self, router: web.UrlDispatcher) -> None:
        """The JSON control API under `CONTROL_PREFIX`."""
        router.add_get(f"{CONTROL_PREFIX}requests", self._control_requests)
        router.add_post(f"{CONTROL_PREFIX}fail", self._control_fail)
        router.add_get(f"{CONTROL_PREFIX}state", self._control_state)
        router.add_post(f"{CONTROL_PREFIX}state", self._control_state)

    def sandbox_state(self) -> dict[str, Any]:
        """The fake's settings a person may read and change: its plain (scalar) fields."""
        return {
            item.name: getattr(self, item.name)
            for item in fields(self)
            if not item.name.startswith("_")
            and isinstance(getattr(self, item.name), (str, int, float, bool, type(None)))
            and item.name not in ("server", "in_flight", "peak_in_flight")
        }

    def update_sandbox_state(self, changes: Mapping[str, Any]) -> None:
        """Apply `changes` to the plain fields; `revoke_tokens: true` forgets issued tokens.

        Raises ValueError for anything else, so that a typo is not silently ignored.
        """
        settable = self.sandbox_state()
        for key, value in changes.items():
            if key == "revoke_tokens":
                if value and isinstance(tokens := getattr(self, "tokens", None), dict):
                    tokens.clear()
            elif key in settable and isinstance(value, (str, int, float, bool, type(None))):
                setattr(self, key, value)
            else:
                raise ValueError(f"cannot set {key!r}")

    async def _control_requests(self, request: web.Request) -> web.Response:
        since = int(request.query.get("since", "0"))
        return web.json_response(
            {
                "requests": [
                    {
                        "method": recorded.method,
                        "path": recorded.path,
                        "query": recorded.query,
                        "headers": _masked(recorded.headers),
                        "body": _masked_body(recorded.body),
                    }
                    for recorded in self.requests[since:]
                ],
                "next": len(self.requests),
            },
            dumps=lambda data: json.dumps(data, default=str),
        )

    async def _control_fail(self, request: web.Request) -> web.Response:
        order = await request.json()
        if order.get("clear"):
            self.fail_next.clear()
            self.fail_at.clear()
            return web.json_response({"queued": 0})
        body = order.get("body", b"")
        if not isinstance(body, (str, bytes)):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode()
        count = int(order.get("count", 1))
        answers = [
            raw_response(
                int(order.get("status", 500)),
                body,
                content_type=order.get("content_type", "application/json"),
                headers=order.get("headers"),
            )
            for _ in range(count)
        ]
        if path := order.get("path"):
            self.fail_at.setdefault(path, []).extend(answers)
        else:
            self.fail_next.extend(answers)
        return web.json_response({"queued": count})

    async def _control_state(self, request: web.Request) -> web.Response:
        if request.method == "POST":
            try:
                self.update_sandbox_state(await request.json())
            except ValueError as err:
                return web.json_response({"error": str(err)}, status=400)
        return web.json_response(self.sandbox_state(), dumps=lambda d: json.dumps(d, default=str))

    async def close(self) -> None:
        """Stop serving."""
        if self.server is not None:
            await self.server.close()

    async def __aenter__(self) -> Self:
        """Serve for the length of an `async with` block."""
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Stop serving."""
        await self.close()

    @web.middleware
    async def _record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path.startswith(CONTROL_PREFIX):
            return await handler(request)
        raw = await request.read()
        body: Any = raw.decode() if raw else None
        if request.content_type.endswith("json") and raw:
            with contextlib.suppress(ValueError):
                body = await request.json()
        elif request.content_type == "application/x-www-form-urlencoded":
            body = dict(await request.post())
        self.requests.append(
            RecordedRequest(
                request.method, request.path, dict(request.headers), body, dict(request.query)
            )
        )
        if canned := self.fail_at.get(request.path):
            return canned.pop(0)
        if request.path.startswith(self.api_prefix) and self.fail_next:
            return self.fail_next.pop(0)
        if not request.path.startswith(self.api_prefix):
            return await self.handle(request, handler)
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.answer_delay)
            return await self.handle(request, handler)
        finally:
            self.in_flight -= 1

    async def handle(self, request: web.Request, handler: Any) -> web.StreamResponse:
        """Answer a request; a fake may wrap this to add headers to every response."""
        return await handler(request)
