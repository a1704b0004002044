"""What every fake provider shares: an aiohttp app on 127.0.0.1 that records requests.

A provider's fake subclasses `FakeServer`, adds its routes in `routes()`, and keeps
its own state. Tests read `requests` to assert exactly what reached the "provider",
and queue canned answers in `fail_next` to inject failures.
"""

import base64
import binascii
from collections.abc import Callable
import contextlib
from dataclasses import dataclass, field
import time
from typing import Any, ClassVar, Self

from aiohttp import web
from aiohttp.test_utils import TestServer


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
    fail_next: list[web.Response] = field(default_factory=list)
    """Canned responses returned, in order, instead of handling the next API requests."""
    server: TestServer | None = None

    api_prefix: ClassVar[str | tuple[str, ...]] = "/"
    """Requests under this path (or these paths) are API requests, not token requests."""

    def routes(self, router: web.UrlDispatcher) -> None:
        """Add the provider's routes."""
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

    async def start(self) -> None:
        """Serve on 127.0.0.1 on a free port."""
        app = web.Application(middlewares=[self._record])
        self.routes(app.router)
        self.server = TestServer(app, host="127.0.0.1")
        await self.server.start_server()

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
        if request.path.startswith(self.api_prefix) and self.fail_next:
            return self.fail_next.pop(0)
        return await self.handle(request, handler)

    async def handle(self, request: web.Request, handler: Any) -> web.StreamResponse:
        """Answer a request; a fake may wrap this to add headers to every response."""
        return await handler(request)
