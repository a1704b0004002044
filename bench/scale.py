"""Benchmarks of issue 10: Presence Bridge at scale, under the providers' rate limits.

Run from the repository root with `.venv/bin/python bench/scale.py [BENCHMARK ...]`; without a
name it runs them all (`--help` lists the names). Each starts a Home Assistant of its own (the
test harness's `async_test_home_assistant`, outside pytest, storage in memory) with the tests'
fake providers, and prints each metric with its goal and whether this run met it. It asserts
nothing: benchmarks are not timed tests.

Simulated time. Benchmarks 1, 2, 4 and 5 run on a frozen clock (freezegun drives `time.time`,
`time.monotonic`, `dt_util.utcnow` and so the event loop's `loop.time()` together). The loop's
selector is wrapped: whenever the loop would wait for a timer and nothing happens for a few real
milliseconds (no ready callback, no loopback I/O, no executor job running), the clock jumps to
the next timer, which then fires as it would have. An hour of provider rate limits thus runs in
seconds, and every time below is simulated time unless it says "real". The fakes count their
budgets on the same frozen clock.

1. fanout: one `presence_bridge.set_presence` action to 500 Zoom people (fake at 20/s, plan
   Pro), 1,000 Vonage agents (fake at 60/min and at 15/min; the entry keeps the default start
   of 60/min) and 1,000 Teams people (fake at 1,500 per 30 s). The time from the action to the
   last person's delivery accepted by the fake (PUT/PATCH/setUserPreferredPresence, 2xx), over
   the time the fake's budget allows for N requests (N / rate); the 429s the fake answered from
   the action on; the people whose Presence select was ever `unavailable` (from setup on).
2. polls: 1,000 Vonage agents at 15/min: the supervisor's action completes, every agent's
   change is accepted exactly once, and the poll interval the integration chose
   (`coordinator.update_interval`) with the polls actually seen at the fake.
3. overhead (real time): the median latency from an action to the request arriving at the fake,
   `select.select_option` against Home Assistant's own `rest_command` sending the same PUT,
   interleaved (alternating which goes first), each sample to its own Zoom user and spaced out
   so that both the person's one-update-a-minute window and the account's budget are fresh.
4. cost: the integration's own CPU per delivered update, and its memory per controlled person,
   at 1,000 people (Vonage, and Zoom for comparison; fakes without limits). CPU: a statistical
   profiler (SIGALRM every 0.5 ms real) notes where the main thread is during four actions to
   everyone (a simulated minute apart, polls left out): idle in the selector, in the
   integration's code (the innermost Python frame is in a file under
   `custom_components/presence_bridge/`; C functions it calls count as its own, Home
   Assistant's, aiohttp's, the fake's and freezegun's Python code does not), or elsewhere. The
   integration's share of the busy samples times the process CPU meanwhile (`process_time`),
   over the updates delivered. The sampler's own cost (about 5 %) inflates it slightly. For
   information, another action runs under cProfile: its own time (`tottime`) of the
   integration's functions, which cProfile's per-call overhead inflates a lot, and the
   integration's function calls per update. Memory: tracemalloc from just before the entry is
   set up (the integration's modules already imported) until its first poll completed; the
   blocks still allocated whose innermost frame is in the integration's files, over the people
   (info: those with any frame there, which adds Home Assistant's objects made on the
   integration's behalf).
5. coalescing: 1,000 changes of one Zoom person over 10 minutes (one every 0.6 s, alternating)
   → 10 PUTs in the 10 minutes, 0 × 429; then the last change is delivered.
"""

import argparse
import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
import contextlib
from contextlib import asynccontextmanager
import cProfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
import importlib
import itertools
import logging
import math
from pathlib import Path
import pstats
import re
import signal
import statistics
import sys
import tempfile
import time
import tracemalloc
from types import FrameType
from typing import Any, Self
from unittest.mock import patch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# As the pytest plugin does: dt_util's functions made freezable before anything uses them.
from pytest_homeassistant_custom_component import patch_json, patch_time  # noqa: F401  # isort: skip

import homeassistant.core  # noqa: F401  # Home Assistant before anything importing voluptuous

# isort: split

import aiohttp
from aiohttp import web
from aiohttp.resolver import AsyncResolver
import freezegun
import freezegun.api
from homeassistant import loader, runner
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import EVENT_STATE_CHANGED, STATE_UNAVAILABLE
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er, frame, translation
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_test_home_assistant,
    mock_storage,
)

from custom_components.presence_bridge.const import DOMAIN, SUBENTRY_USER
from tests.fake_msgraph import FakeGraph
from tests.fake_server import FakeServer
from tests.fake_vonage import FakeVonage
from tests.fake_zoom import FakeZoom, ZoomUser


def real_perf_counter() -> float:
    """The real clock, frozen or not: for real durations and the real-time guard.

    Looked up in freezegun at each call: freezegun replaces a module's own reference to it.
    """
    return freezegun.api.real_perf_counter()


START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
"""Where simulated time starts (a Monday morning)."""
INTEGRATION_DIR = str(ROOT / "custom_components" / "presence_bridge")
PLAN_RATES = {"free": 2, "pro": 20, "business": 60}
ZOOM_OPTIONS = {"plan": "pro"}
VONAGE_OPTIONS = {"requests_per_minute": 60}
RATIO_GOAL = 1.2
OVERHEAD_GOAL = 1.2
CPU_GOAL_US = 50.0
MEMORY_GOAL_KB = 5.0
REAL_TIME_LIMIT = 600.0
"""Real seconds after which a simulated scenario gives up (it reports how far it got)."""
VERBOSE = False


# Simulated time.


def _prepare_freezegun() -> None:
    """Freezegun as the pytest plugin sets it up for Home Assistant (pytest_runtest_setup)."""
    api = freezegun.api
    api.FakeDate = patch_time.HAFakeDate  # type: ignore[attr-defined]
    api.datetime_to_fakedatetime = patch_time.ha_datetime_to_fakedatetime  # type: ignore[attr-defined]
    api.FakeDatetime = patch_time.HAFakeDatetime  # type: ignore[attr-defined]
    api._get_module_attributes = patch_time.ha_get_module_attributes  # type: ignore[attr-defined]  # noqa: SLF001
    api._get_module_attributes_hash = patch_time.ha_get_module_attributes_hash  # type: ignore[attr-defined]  # noqa: SLF001
    api._should_use_real_time = patch_time.ha_should_use_real_time  # type: ignore[attr-defined]  # noqa: SLF001
    api.get_current_time = patch_time.ha_get_current_time


class SimulatedTime:
    """A frozen clock that jumps to the event loop's next timer whenever the loop is idle.

    Idle: the loop is about to wait for a timer (nothing is ready to run), and a real select
    of `grace` seconds brings no I/O, while no executor job is running. Until then the clock
    stands still, so everything that happens "at once" in the loop happens at one instant.
    """

    def __init__(self, grace: float = 0.002) -> None:
        """Jump after `grace` real seconds without progress."""
        self.grace = grace
        self.jumps = 0
        self._executor_jobs = 0
        self._freezer: Any = None
        self._factory: Any = None

    @property
    def now(self) -> float:
        """Simulated Unix time."""
        return self._factory().timestamp() if self._factory else 0.0

    @asynccontextmanager
    async def running(self) -> AsyncIterator[SimulatedTime]:
        """Freeze the clock at START and drive the running loop's timers by it."""
        loop = asyncio.get_running_loop()
        selector = loop._selector  # type: ignore[attr-defined]  # noqa: SLF001
        real_select = selector.select
        real_run_in_executor = loop.run_in_executor
        self._freezer = freezegun.freeze_time(START)
        self._factory = self._freezer.start()

        def select(timeout: float | None = None) -> list[Any]:
            if timeout is not None and timeout <= 0:
                return real_select(timeout)
            events = real_select(self.grace if timeout is None else min(timeout, self.grace))
            if events or self._executor_jobs:
                return events
            if timeout is None:  # no timer at all: only I/O can bring anything
                return real_select(None)
            # Past the timer by a microsecond (the frozen clock's resolution), so it is due.
            self._factory.tick(timedelta(microseconds=math.ceil(timeout * 1e6) + 1))
            self.jumps += 1
            return []

        def run_in_executor(executor: Any, func: Any, *args: Any) -> asyncio.Future[Any]:
            future = real_run_in_executor(executor, func, *args)
            self._executor_jobs += 1

            def done(_: asyncio.Future[Any]) -> None:
                self._executor_jobs -= 1

            future.add_done_callback(done)
            return future

        # The frozen clock moves in microseconds; at Unix time a float cannot add the real
        # clock's nanosecond, so a timer due "now" would never count as due.
        resolution = loop._clock_resolution  # type: ignore[attr-defined]  # noqa: SLF001
        loop._clock_resolution = 1e-6  # type: ignore[attr-defined]  # noqa: SLF001
        selector.select = select
        loop.run_in_executor = run_in_executor  # type: ignore[method-assign]
        try:
            yield self
        finally:
            loop._clock_resolution = resolution  # type: ignore[attr-defined]  # noqa: SLF001
            selector.select = real_select
            loop.run_in_executor = real_run_in_executor  # type: ignore[method-assign]
            self._freezer.stop()
            self._factory = None


async def wait_until(condition: Callable[[], bool], within: float, step: float = 1.0) -> bool:
    """Check `condition` every `step` (loop) seconds until it holds or `within` passed."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    real_deadline = real_perf_counter() + REAL_TIME_LIMIT
    while not condition():
        if loop.time() >= deadline or real_perf_counter() > real_deadline:
            return False
        await asyncio.sleep(step)
    return True


# The fakes, noting when each request arrived and how it was answered.


@dataclass(frozen=True, slots=True)
class Arrival:
    """A request as it reached the fake, before its body was read."""

    method: str
    path: str
    at: float
    """The fake's clock (simulated time when frozen)."""
    real: float
    """`real_perf_counter()` at arrival."""
    status: int


def timed[F: FakeServer](cls: type[F]) -> type[F]:
    """`cls`, also noting every request's arrival and telling `watchers` of it."""

    @dataclass
    class Timed(cls):  # type: ignore[valid-type,misc]
        arrivals: list[Arrival] = field(default_factory=list)
        watchers: list[Callable[[Arrival], None]] = field(default_factory=list)

        @web.middleware
        async def _record(self, request: web.Request, handler: Any) -> web.StreamResponse:
            real, at = real_perf_counter(), self.clock()
            response = await super()._record(request, handler)
            arrival = Arrival(request.method, request.path, at, real, response.status)
            self.arrivals.append(arrival)
            for watcher in self.watchers:
                watcher(arrival)
            return response

    Timed.__name__ = Timed.__qualname__ = f"Timed{cls.__name__}"
    return Timed


TimedZoom = timed(FakeZoom)
TimedVonage = timed(FakeVonage)
TimedGraph = timed(FakeGraph)


def frozen_clock() -> float:
    """The fakes' clock: `time.time` as it is when called (frozen or not)."""
    return time.time()


@dataclass(frozen=True, slots=True)
class Provider:
    """How a benchmark drives one provider's fake and entry."""

    name: str
    delivery: re.Pattern[str]
    """Method and path of a delivery request; group 1 is the person's id at the fake."""
    option: str
    """The Presence option the fan-out sets."""
    other_option: str
    """Another option, for a second action to everyone."""
    unique_id: Callable[[Any], str]
    also: re.Pattern[str] | None = None
    """Another request each person needs for the presence to show (Teams: the session)."""


ZOOM = Provider(
    "zoom",
    re.compile(r"PUT /v2/users/([^/]+)/presence_status"),
    "away",
    "on_a_call",
    lambda fake: fake.account_id,
)
VONAGE = Provider(
    "vonage",
    re.compile(r"PATCH /agents/([^/]+)/presence"),
    "Break",
    "Lunch",
    lambda fake: f"emea:{fake.client_id}",
)
GRAPH = Provider(
    "msgraph",
    re.compile(r"POST /v1.0/users/([^/]+)/presence/setUserPreferredPresence"),
    "away",
    "busy",
    lambda fake: f"{fake.tenant_id}:{fake.client_id}",
    re.compile(r"POST /v1.0/users/([^/]+)/presence/setPresence"),
)


def build_fake(provider: Provider, people: int, **limits: Any) -> tuple[Any, list[str]]:
    """A provider's timed fake with `people` people; returns it and their ids."""
    if provider is ZOOM:
        fake = TimedZoom(clock=frozen_clock, **limits)
        ids = [f"zoomuser{n:04d}" for n in range(people)]
        for uid in ids:
            fake.add_user(ZoomUser(uid, f"{uid}@example.com", "Person", uid))
        return fake, ids
    if provider is VONAGE:
        fake = TimedVonage(clock=frozen_clock, **limits)
        return fake, [fake.add_agent(f"Agent {n:04d}") for n in range(people)]
    fake = TimedGraph(clock=frozen_clock, **limits)
    return fake, [
        fake.add_user(f"Person {n:04d}", f"person{n:04d}@contoso.com") for n in range(people)
    ]


def build_entry(
    provider: Provider, fake: Any, ids: list[str], options: dict[str, Any] | None = None
) -> MockConfigEntry:
    """An entry of the fake's account controlling `ids`, as the tests' `entry_of` builds one."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=f"Bench {provider.name}",
        unique_id=provider.unique_id(fake),
        data=fake.entry_data(),
        options=dict(options or {}),
        subentries_data=[
            {
                "data": {"user_id": uid},
                "subentry_id": f"SUB{n:05d}",
                "subentry_type": SUBENTRY_USER,
                "title": f"Person {n:04d}",
                "unique_id": uid,
            }
            for n, uid in enumerate(ids)
        ],
    )


# Home Assistant.


@asynccontextmanager
async def home_assistant() -> AsyncIterator[HomeAssistant]:
    """A started test Home Assistant with custom integrations enabled, stopped afterwards."""
    # As the test harness does: a plain resolver instead of Home Assistant's zeroconf one.
    resolver = AsyncResolver()
    resolver.real_close = resolver.close  # type: ignore[attr-defined]
    with (
        patch("homeassistant.helpers.aiohttp_client._async_make_resolver", return_value=resolver),
        mock_storage(),
        tempfile.TemporaryDirectory() as config_dir,
    ):
        async with async_test_home_assistant(config_dir=config_dir) as hass:
            frame.async_setup(hass)
            await translation.async_load_integrations(hass, {"homeassistant"})
            hass.data.pop(loader.DATA_CUSTOM_COMPONENTS)  # as `enable_custom_integrations` does
            try:
                yield hass
            finally:
                for entry in hass.config_entries.async_entries(DOMAIN):
                    if entry.state is ConfigEntryState.LOADED:
                        with contextlib.suppress(Exception):
                            async with asyncio.timeout(600):
                                await hass.config_entries.async_unload(entry.entry_id)
                await hass.async_stop(force=True)


def presence_selects(hass: HomeAssistant, entry: MockConfigEntry) -> list[str]:
    """Entity ids of the entry's Presence selects."""
    return sorted(presence_select_of(hass, entry).values())


def presence_select_of(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, str]:
    """Entity id of each person's Presence select, by their id at the provider."""
    by_subentry = {
        e.config_subentry_id: e.entity_id
        for e in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
        if e.domain == "select" and e.unique_id.endswith("_presence")
    }
    return {
        subentry.data["user_id"]: by_subentry[subentry.subentry_id]
        for subentry in entry.subentries.values()
        if subentry.subentry_id in by_subentry
    }


class Unavailable:
    """Which select entities ever became `unavailable`, and when (loop time)."""

    def __init__(self, hass: HomeAssistant) -> None:
        """Listen to every state change from now on."""
        self.seen: dict[str, float] = {}
        self._hass = hass

        @callback
        def changed(event: Event[EventStateChangedData]) -> None:
            new = event.data["new_state"]
            if new is not None and new.domain == "select" and new.state == STATE_UNAVAILABLE:
                self.seen.setdefault(new.entity_id, hass.loop.time())

        self.stop = hass.bus.async_listen(EVENT_STATE_CHANGED, changed)

    def among(self, entity_ids: list[str], since: float = -math.inf) -> int:
        """How many of `entity_ids` became unavailable at or after `since`."""
        return sum(1 for e in entity_ids if e in self.seen and self.seen[e] >= since)


class Deliveries:
    """Each person's delivery requests at the fake, and when every person had one accepted."""

    def __init__(self, provider: Provider, ids: list[str]) -> None:
        """Expect one accepted delivery for each of `ids`, from now on."""
        self.provider = provider
        self.expected = {uid.lower() for uid in ids}
        self.accepted: Counter[str] = Counter()
        self.attempts: Counter[str] = Counter()
        self.first_accepted: dict[str, float] = {}
        self.also_accepted: dict[str, float] = {}
        self.done = asyncio.Event()

    def __call__(self, arrival: Arrival) -> None:
        """Note a request that reached the fake."""
        request = f"{arrival.method} {arrival.path}"
        also = self.provider.also.fullmatch(request) if self.provider.also else None
        if also is not None and 200 <= arrival.status < 300:
            self.also_accepted.setdefault(also.group(1).lower(), arrival.at)
        match = self.provider.delivery.fullmatch(request)
        if match is None or (uid := match.group(1).lower()) not in self.expected:
            return
        self.attempts[uid] += 1
        if 200 <= arrival.status < 300:
            self.accepted[uid] += 1
            self.first_accepted.setdefault(uid, arrival.at)
            if len(self.first_accepted) == len(self.expected):
                self.done.set()


class LogCounter(logging.Handler):
    """Counts the integration's warnings and errors, keeping a few distinct ones."""

    def __init__(self) -> None:
        """Count from now on."""
        super().__init__(logging.WARNING)
        self.counts: Counter[str] = Counter()
        self.samples: dict[str, str] = {}
        self.closed = False
        """Set once the measurement is over: what unloading the entry logs is not counted."""

    def emit(self, record: logging.LogRecord) -> None:
        """Count a record by level and its message's template."""
        if self.closed:
            return
        self.counts[record.levelname] += 1
        key = str(record.msg)[:80]
        if key not in self.samples and len(self.samples) < 4:
            self.samples[key] = record.getMessage()[:160]

    @contextlib.contextmanager
    def attached(self) -> Iterator[LogCounter]:
        """Attached to the integration's logger for the block (printed only with --verbose)."""
        integration = logging.getLogger("custom_components.presence_bridge")
        level, propagate = integration.level, integration.propagate
        integration.addHandler(self)
        integration.setLevel(logging.WARNING)
        integration.propagate = VERBOSE
        try:
            yield self
        finally:
            integration.removeHandler(self)
            integration.setLevel(level)
            integration.propagate = propagate

    def summary(self) -> str:
        """The counts, and the distinct messages kept."""
        if not self.counts:
            return "none"
        kinds = ", ".join(f"{n} {level.lower()}" for level, n in sorted(self.counts.items()))
        return f"{kinds}; e.g. " + " | ".join(self.samples.values())


# Reporting.


def verdict(met: bool) -> str:
    """How a goal fared."""
    return "met" if met else "NOT met"


def seconds(value: float) -> str:
    """Seconds for printing."""
    return f"{value:,.1f} s"


def count_429(fake: Any, since: float) -> int:
    """429 answers the fake gave from `since` (its clock) on."""
    return sum(1 for a in fake.arrivals if a.status == 429 and a.at >= since)


# Scenario: an entry set up, then one action to everyone.


@dataclass
class FanOut:
    """What one fan-out run saw."""

    label: str
    provider: Provider
    people: int
    rate: float
    """Requests per second the fake's budget allows."""
    loaded: bool = False
    setup_state: str = ""
    setup_took: float = math.nan
    first_poll_took: float | None = None
    setup_429: int = 0
    took: float | None = None
    """From the action to the last person's delivery accepted; None if not all were."""
    took_also: float | None = None
    """Likewise for the other request each person needs, where there is one."""
    delivered: int = 0
    action_took: float | None = None
    action_result: str = ""
    after_429: int = 0
    unavailable: int = 0
    unavailable_during_action: int = 0
    update_interval: timedelta | None = None
    poll_plan: Any = None
    polls_seen: list[float] = field(default_factory=list)
    accepted_more_than_once: int = 0
    attempts: int = 0
    requests_during: Counter[str] = field(default_factory=Counter)
    jumps: int = 0
    real_seconds: float = 0.0
    logs: str = ""
    fake_rejected_429: int = 0

    @property
    def allowed(self) -> float:
        """Seconds the fake's budget allows for one request per person."""
        return self.people / self.rate


async def run_fanout(
    label: str,
    provider: Provider,
    *,
    people: int,
    rate: float,
    limits: dict[str, Any],
    options: dict[str, Any],
    poll_path: str | None = None,
) -> FanOut:
    """Set an entry with `people` up against a fake limited by `limits`, then one action to
    all of them; in simulated time."""
    result = FanOut(label, provider, people, rate)
    real_start = real_perf_counter()
    sim = SimulatedTime()
    with LogCounter().attached() as logs:
        async with sim.running():
            fake, ids = build_fake(provider, people, **limits)
            await fake.start()
            try:
                async with home_assistant() as hass:
                    await _fanout_in(
                        hass,
                        sim,
                        fake=fake,
                        ids=ids,
                        options=options,
                        result=result,
                        poll_path=poll_path,
                    )
                    logs.closed = True
            finally:
                await fake.close()
        result.jumps = sim.jumps
        result.logs = logs.summary()
    result.real_seconds = real_perf_counter() - real_start
    return result


async def _fanout_in(
    hass: HomeAssistant,
    sim: SimulatedTime,
    *,
    fake: Any,
    ids: list[str],
    options: dict[str, Any],
    result: FanOut,
    poll_path: str | None,
) -> None:
    provider = result.provider
    unavailable = Unavailable(hass)
    entry = build_entry(provider, fake, ids, options)
    entry.add_to_hass(hass)
    setup_start = sim.now
    await hass.config_entries.async_setup(entry.entry_id)
    result.loaded = await wait_until(lambda: entry.state is ConfigEntryState.LOADED, 1800)
    result.setup_state = entry.state.value
    result.setup_took = sim.now - setup_start
    result.setup_429 = count_429(fake, setup_start)
    if not result.loaded:
        result.fake_rejected_429 = getattr(fake, "rejected_429", 0)
        return
    coordinator = entry.runtime_data.coordinator
    first_poll = await wait_until(
        lambda: getattr(coordinator, "last_update_success_time", None) is not None,
        max(600.0, 4 * result.allowed),
    )
    result.first_poll_took = sim.now - setup_start if first_poll else None
    await wait_until(lambda: len(presence_selects(hass, entry)) == len(ids), 60)
    selects = presence_selects(hass, entry)

    deliveries = Deliveries(provider, ids)
    fake.watchers.append(deliveries)
    action_start = sim.now
    requests_before = len(fake.arrivals)
    action = hass.async_create_task(
        hass.services.async_call(
            DOMAIN,
            "set_presence",
            {"entity_id": selects, "presence": provider.option},
            blocking=True,
            return_response=True,
        )
    )
    answered: list[float] = []
    action.add_done_callback(lambda _: answered.append(sim.now))
    deadline = max(600.0, 3 * result.allowed + 600)
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(deadline):
            await deliveries.done.wait()
    if deliveries.done.is_set():
        result.took = max(deliveries.first_accepted.values()) - action_start
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(max(60.0, action_start + deadline - sim.now)):
            await asyncio.shield(action)
    if action.done():
        result.action_took = answered[0] - action_start if answered else sim.now - action_start
        if (err := action.exception()) is not None:
            result.action_result = f"raised {type(err).__name__}: {err}"
        else:
            answers = Counter(
                str(answer.get("result")) for answer in (action.result() or {}).values()
            )
            result.action_result = ", ".join(f"{k}: {n}" for k, n in answers.most_common())
    else:
        action.cancel()
        result.action_result = f"not finished after {seconds(sim.now - action_start)}"
    result.delivered = len(deliveries.first_accepted)
    if provider.also is not None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(60.0, action_start + deadline - sim.now)):
                await wait_until(lambda: len(deliveries.also_accepted) == len(ids), deadline)
        if len(deliveries.also_accepted) == len(ids):
            result.took_also = max(deliveries.also_accepted.values()) - action_start
    result.accepted_more_than_once = sum(1 for n in deliveries.accepted.values() if n > 1)
    result.attempts = sum(deliveries.attempts.values())
    result.after_429 = count_429(fake, action_start)
    result.unavailable = unavailable.among(selects)
    result.unavailable_during_action = unavailable.among(selects, action_start)
    result.update_interval = coordinator.update_interval
    result.poll_plan = getattr(coordinator, "poll_plan", None)
    result.fake_rejected_429 = getattr(fake, "rejected_429", 0)
    during = fake.arrivals[requests_before:]
    result.requests_during = Counter(f"{a.method} {a.status}" for a in during)
    if poll_path is not None:
        result.polls_seen = _poll_starts(during, poll_path)
    unavailable.stop()


def _poll_starts(arrivals: list[Arrival], path: str) -> list[float]:
    """When each poll began: the first read of `path` after a gap of 5 s or more."""
    starts: list[float] = []
    last = -math.inf
    for arrival in arrivals:
        if arrival.path == path:
            if arrival.at - last >= 5:
                starts.append(arrival.at)
            last = arrival.at
    return starts


def print_fanout(result: FanOut, goal_429: int) -> None:
    """The fan-out metrics of one run, with their goals."""
    print(f"fanout {result.label}: {result.people} people, fake allows {result.rate:g}/s")
    if not result.loaded:
        print(
            f"  setup did not complete: entry {result.setup_state} after"
            f" {seconds(result.setup_took)} ({result.setup_429} × 429 meanwhile,"
            f" fake rejected_429={result.fake_rejected_429}) -> ratio, 429s and availability"
            f" goals NOT met"
        )
        print(f"  info: integration log: {result.logs}; real {result.real_seconds:.1f} s")
        return
    if result.took is None:
        ratio_text = (
            f"not all delivered: {result.delivered}/{result.people} accepted by the deadline"
            f" (allowed {seconds(result.allowed)}) goal <= {RATIO_GOAL}: NOT met"
        )
    else:
        ratio = result.took / result.allowed
        ratio_text = (
            f"{ratio:.2f} ({seconds(result.took)} / {seconds(result.allowed)} allowed)"
            f" goal <= {RATIO_GOAL}: {verdict(ratio <= RATIO_GOAL)}"
        )
    print(f"  time_ratio {ratio_text}")
    print(
        f"  429s_from_the_action {result.after_429} goal <= {goal_429}:"
        f" {verdict(result.after_429 <= goal_429)}"
    )
    print(
        f"  people_unavailable {result.unavailable} (during the action:"
        f" {result.unavailable_during_action}) goal 0: {verdict(result.unavailable == 0)}"
    )
    first_poll = "never" if result.first_poll_took is None else seconds(result.first_poll_took)
    print(
        f"  info: loaded after {seconds(result.setup_took)}, first poll complete after"
        f" {first_poll} ({result.setup_429} × 429 before the action); action answered after"
        f" {seconds(result.action_took) if result.action_took is not None else '-'}"
        f" ({result.action_result}); delivery requests {result.attempts},"
        f" accepted more than once {result.accepted_more_than_once};"
        f" requests from the action on: {dict(result.requests_during)}"
    )
    if result.provider.also is not None:
        also = "not all" if result.took_also is None else seconds(result.took_also)
        print(
            f"  info: every person's {result.provider.also.pattern.rsplit('/', 1)[1]} accepted after {also}"
        )
    print(
        f"  info: poll interval {result.update_interval}; integration log: {result.logs};"
        f" {result.jumps} clock jumps, real {result.real_seconds:.1f} s"
    )


FANOUTS: dict[str, Callable[[], Awaitable[FanOut]]] = {
    "zoom": lambda: run_fanout(
        "zoom 500 at 20/s (pro)",
        ZOOM,
        people=500,
        rate=20,
        limits={"requests_per_second": 20},
        options=ZOOM_OPTIONS,
    ),
    "vonage60": lambda: run_fanout(
        "vonage 1,000 at 60/min",
        VONAGE,
        people=1000,
        rate=1,
        limits={"budget": 60, "budget_window": 60.0},
        options=VONAGE_OPTIONS,
        poll_path="/agents/presences/users",
    ),
    "vonage15": lambda: run_fanout(
        "vonage 1,000 at 15/min",
        VONAGE,
        people=1000,
        rate=0.25,
        limits={"budget": 15, "budget_window": 60.0},
        options=VONAGE_OPTIONS,
        poll_path="/agents/presences/users",
    ),
    "graph": lambda: run_fanout(
        "graph 1,000 at 1,500/30 s",
        GRAPH,
        people=1000,
        rate=50,
        limits={"budget": 1500, "budget_window": 30.0},
        options={},
    ),
}
GOAL_429 = {"zoom": 0, "vonage60": 3, "vonage15": 3, "graph": 0}
_results: dict[str, FanOut] = {}


async def fanout_result(name: str) -> FanOut:
    """The fan-out run `name`, run once however many benchmarks use it."""
    if name not in _results:
        _results[name] = await FANOUTS[name]()
    return _results[name]


async def bench_fanout(names: list[str]) -> None:
    """Benchmark 1."""
    for name in names:
        print_fanout(await fanout_result(name), GOAL_429[name])


async def bench_polls() -> None:
    """Benchmark 2: 1,000 Vonage agents at 15/min (the run of fanout vonage15)."""
    result = await fanout_result("vonage15")
    print("polls: 1,000 Vonage agents at 15/min, one action to all")
    if not result.loaded:
        print(f"  setup did not complete (entry {result.setup_state}): goals NOT met")
        return
    completed = result.action_took is not None and not result.action_result.startswith(
        ("raised", "not")
    )
    print(
        f"  action_completes {completed} ({result.action_result}) goal True: {verdict(completed)}"
    )
    once = result.delivered == result.people and result.accepted_more_than_once == 0
    print(
        f"  delivered_exactly_once {result.delivered - result.accepted_more_than_once}"
        f"/{result.people} (not delivered {result.people - result.delivered}, more than once"
        f" {result.accepted_more_than_once}) goal {result.people}: {verdict(once)}"
    )
    gaps = [b - a for a, b in itertools.pairwise(result.polls_seen)]
    seen = (
        f"{len(result.polls_seen)} polls seen during the run, median gap"
        f" {seconds(statistics.median(gaps))}"
        if gaps
        else f"{len(result.polls_seen)} polls seen during the run"
    )
    plan = result.poll_plan
    plan_text = (
        f"; poll plan: {plan.people} people, {plan.requests} requests a poll, wanted"
        f" {plan.wanted}, chosen {plan.interval}"
        if plan is not None
        else ""
    )
    print(f"  poll_interval {result.update_interval} (info; {seen}{plan_text})")


# Benchmark 3: overhead against rest_command, in real time.

OVERHEAD_SAMPLES = 500
OVERHEAD_WARM_UP = 10
OVERHEAD_PLAN = "business"


async def bench_overhead() -> None:
    """Benchmark 3."""
    total = OVERHEAD_SAMPLES + OVERHEAD_WARM_UP
    fake, _ = build_fake(ZOOM, 0)
    integration = [f"int{n:04d}" for n in range(total)]
    rest = [f"rest{n:04d}" for n in range(total)]
    for uid in (*integration, *rest):
        fake.add_user(ZoomUser(uid, f"{uid}@example.com", "Bench", uid))
    await fake.start()
    try:
        async with home_assistant() as hass:
            await _overhead_in(hass, fake, integration, rest)
    finally:
        await fake.close()


async def _overhead_in(
    hass: HomeAssistant, fake: Any, integration: list[str], rest: list[str]
) -> None:
    token = await _zoom_token(hass, fake)
    assert await async_setup_component(
        hass,
        "rest_command",
        {
            "rest_command": {
                "zoom_presence": {
                    "url": f"{fake.api_url}/users/{{{{ user }}}}/presence_status",
                    "method": "put",
                    "headers": {"Authorization": f"Bearer {token}"},
                    "payload": '{"status": "Away"}',
                    "content_type": "application/json",
                }
            }
        },
    )
    # An hour between polls, so that none runs during the measurement but the first.
    entry = build_entry(ZOOM, fake, integration, {"plan": OVERHEAD_PLAN, "update_interval": 3600})
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    coordinator = entry.runtime_data.coordinator
    real_deadline = real_perf_counter() + 120
    while getattr(coordinator, "last_update_success_time", None) is None:
        if real_perf_counter() > real_deadline:
            print("  (the first poll did not complete within 120 s real)")
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(2)  # the account's budget window empties
    entities = presence_select_of(hass, entry)
    spacing = 2 / PLAN_RATES[OVERHEAD_PLAN]
    """Real seconds between the integration's samples: its budget's window stays fresh."""

    late: Counter[str] = Counter()
    """Samples whose action returned before its PUT arrived (it was queued), by path."""

    async def arrival_after(kind: str, uid: str, start: float) -> float:
        """Real seconds from `start` to the user's PUT arriving, however long it waits."""
        deadline = real_perf_counter() + 10
        counted = False
        while (took := _arrival_after(fake, uid, start)) is None:
            if real_perf_counter() > deadline:
                raise RuntimeError(f"The fake received no PUT for {uid} within 10 s")
            if not counted:
                late[kind] += 1
                counted = True
            await asyncio.sleep(0.001)
        return took

    async def through_integration(uid: str) -> float:
        start = real_perf_counter()
        await hass.services.async_call(
            "select",
            "select_option",
            {"entity_id": entities[uid], "option": "away"},
            blocking=True,
        )
        return await arrival_after("select", uid, start)

    async def through_rest_command(uid: str) -> float:
        start = real_perf_counter()
        await hass.services.async_call(
            "rest_command", "zoom_presence", {"user": uid}, blocking=True
        )
        return await arrival_after("rest_command", uid, start)

    ours: list[float] = []
    theirs: list[float] = []
    requests_before = len(fake.arrivals)
    for number, (int_user, rest_user) in enumerate(zip(integration, rest, strict=True)):
        began = real_perf_counter()
        if number % 2:
            theirs_sample = await through_rest_command(rest_user)
            await hass.async_block_till_done()
            ours_sample = await through_integration(int_user)
        else:
            ours_sample = await through_integration(int_user)
            await hass.async_block_till_done()
            theirs_sample = await through_rest_command(rest_user)
        await hass.async_block_till_done()
        if number >= OVERHEAD_WARM_UP:
            ours.append(ours_sample)
            theirs.append(theirs_sample)
        await asyncio.sleep(max(0.0, spacing - (real_perf_counter() - began)))
    during = fake.arrivals[requests_before:]
    ours_median, theirs_median = statistics.median(ours), statistics.median(theirs)
    ratio = ours_median / theirs_median
    print(f"overhead: action to request at the fake, n={len(ours)} each, interleaved, real time")
    print(
        f"  latency_ratio {ratio:.2f} (select.select_option median {ours_median * 1e3:.2f} ms"
        f" / rest_command median {theirs_median * 1e3:.2f} ms) goal <= {OVERHEAD_GOAL}:"
        f" {verdict(ratio <= OVERHEAD_GOAL)}"
    )
    print(
        f"  info: p10/p90 select {_ms_quantiles(ours)}, rest_command {_ms_quantiles(theirs)};"
        f" answers meanwhile: {dict(Counter(f'{a.method} {a.status}' for a in during))};"
        f" entry plan {OVERHEAD_PLAN}, samples {spacing * 1e3:.0f} ms apart; PUTs that arrived"
        f" after the action returned: {dict(late) or 'none'}"
    )


def _ms_quantiles(samples: list[float]) -> str:
    deciles = statistics.quantiles(samples, n=10)
    return f"{deciles[0] * 1e3:.2f}/{deciles[-1] * 1e3:.2f} ms"


async def _zoom_token(hass: HomeAssistant, fake: Any) -> str:
    """A bearer token of the fake, for rest_command's header."""
    session = async_get_clientsession(hass)
    async with session.post(
        f"{fake.url}/oauth/token",
        data={"grant_type": "account_credentials", "account_id": fake.account_id},
        headers={"Authorization": aiohttp.encode_basic_auth(fake.client_id, fake.client_secret)},
    ) as response:
        response.raise_for_status()
        return (await response.json())["access_token"]


def _arrival_after(fake: Any, uid: str, start: float) -> float | None:
    """Real seconds from `start` to the user's first PUT arriving after it, if one did."""
    path = f"/v2/users/{uid}/presence_status"
    for arrival in reversed(fake.arrivals):
        if arrival.real < start:
            break
        if arrival.method == "PUT" and arrival.path == path:
            return arrival.real - start
    return None


# Benchmark 4: the integration's own CPU and memory per person.

COST_PEOPLE = 1000


@dataclass
class Cost:
    """What one cost run measured."""

    label: str
    delivered: int = 0
    samples: int = 0
    own_samples: int = 0
    own_cpu: float = 0.0
    process_cpu: float = 0.0
    profiled_delivered: int = 0
    own_seconds: float = 0.0
    own_calls: int = 0
    memory_own: int = 0
    memory_any: int = 0
    note: str = ""


def _import_integration() -> None:
    """Import every module of the integration, so that the memory baseline holds their code."""

    for path in sorted(Path(INTEGRATION_DIR).rglob("*.py")):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        importlib.import_module(module.removesuffix(".__init__"))


async def run_cost(label: str, provider: Provider, options: dict[str, Any]) -> Cost:
    """Memory at setup and CPU of one action to everyone, limits out of the way."""
    cost = Cost(label)
    _import_integration()
    sim = SimulatedTime()
    async with sim.running():
        fake, ids = build_fake(provider, COST_PEOPLE)
        if provider is GRAPH:
            fake.budget = None
        await fake.start()
        try:
            async with home_assistant() as hass:
                await _cost_in(hass, provider, fake=fake, ids=ids, options=options, cost=cost)
        finally:
            await fake.close()
    return cost


async def _cost_in(
    hass: HomeAssistant,
    provider: Provider,
    *,
    fake: Any,
    ids: list[str],
    options: dict[str, Any],
    cost: Cost,
) -> None:
    entry = build_entry(provider, fake, ids, options)
    entry.add_to_hass(hass)
    tracemalloc.start(30)
    before = tracemalloc.take_snapshot()
    await hass.config_entries.async_setup(entry.entry_id)
    loaded = await wait_until(lambda: entry.state is ConfigEntryState.LOADED, 1800)
    if loaded:
        coordinator = entry.runtime_data.coordinator
        await wait_until(
            lambda: getattr(coordinator, "last_update_success_time", None) is not None, 1800
        )
        await wait_until(lambda: len(presence_selects(hass, entry)) == len(ids), 60)
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    own = [tracemalloc.Filter(True, f"{INTEGRATION_DIR}/*")]
    anywhere = [tracemalloc.Filter(True, f"{INTEGRATION_DIR}/*", all_frames=True)]
    cost.memory_own = sum(
        s.size_diff
        for s in after.filter_traces(own).compare_to(before.filter_traces(own), "filename")
    )
    cost.memory_any = sum(
        s.size_diff
        for s in after.filter_traces(anywhere).compare_to(
            before.filter_traces(anywhere), "filename"
        )
    )
    del before, after
    if not loaded:
        cost.note = f"setup did not complete (entry {entry.state.value})"
        return
    selects = presence_selects(hass, entry)

    async def action_to_all(option: str) -> int:
        """One action to everyone; returns once every update was accepted: how many were."""
        deliveries = Deliveries(provider, ids)
        fake.watchers.append(deliveries)
        await hass.services.async_call(
            DOMAIN, "set_presence", {"entity_id": selects, "presence": option}, blocking=True
        )
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(3600):
                await deliveries.done.wait()
        await asyncio.sleep(0)  # the last delivery's own bookkeeping after the answer
        fake.watchers.remove(deliveries)
        return len(deliveries.first_accepted)

    sampler = CpuSampler()
    for round_ in range(COST_ROUNDS):
        with sampler:
            cost.delivered += await action_to_all(
                provider.other_option if round_ % 2 else provider.option
            )
        await asyncio.sleep(61)  # everyone's one-update-a-minute window passes
    cost.samples, cost.own_samples = sampler.samples - sampler.idle, sampler.own
    cost.own_cpu, cost.process_cpu = sampler.own_cpu, sampler.cpu
    profile = cProfile.Profile()
    profile.enable()
    try:
        cost.profiled_delivered = await action_to_all(
            provider.other_option if COST_ROUNDS % 2 else provider.option
        )
    finally:
        profile.disable()
    stats = pstats.Stats(profile)
    for (filename, _, _), (_, calls, tottime, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        if filename.startswith(INTEGRATION_DIR):
            cost.own_seconds += tottime
            cost.own_calls += calls


SAMPLE_INTERVAL = 0.5e-3
"""Real seconds between two samples of the CPU sampler (its own cost is about 5 % of that)."""
COST_ROUNDS = 4
"""Actions to everyone sampled, one simulated minute apart."""


class CpuSampler:
    """A statistical profiler of the main thread: every SAMPLE_INTERVAL (SIGALRM), where is it?

    Idle (waiting in the selector), in the integration's code (the innermost Python frame is in
    one of its files; C functions it calls count as its own), or elsewhere. The integration's
    share of the busy samples, times the process CPU spent meanwhile, is its own CPU.
    """

    def __init__(self) -> None:
        """Sample nothing yet."""
        self.samples = 0
        self.idle = 0
        self.own = 0
        self.cpu = 0.0
        """Process CPU seconds while sampling."""
        self._previous: Any = None

    @property
    def own_cpu(self) -> float:
        """CPU seconds spent in the integration's code."""
        busy = self.samples - self.idle
        return self.cpu * self.own / busy if busy else 0.0

    def _sample(self, _signum: int, frame: FrameType | None) -> None:
        self.samples += 1
        if frame is None:
            return
        filename = frame.f_code.co_filename
        if filename.startswith(INTEGRATION_DIR):
            self.own += 1
        elif filename.endswith("selectors.py"):
            self.idle += 1

    def __enter__(self) -> Self:
        """Start sampling."""
        self._previous = signal.signal(signal.SIGALRM, self._sample)
        self.cpu -= time.process_time()
        signal.setitimer(signal.ITIMER_REAL, SAMPLE_INTERVAL, SAMPLE_INTERVAL)
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Stop sampling."""
        signal.setitimer(signal.ITIMER_REAL, 0, 0)
        self.cpu += time.process_time()
        signal.signal(signal.SIGALRM, self._previous)


async def bench_cost() -> None:
    """Benchmark 4."""
    runs = [
        await run_cost("vonage", VONAGE, {"requests_per_minute": 6000}),
        await run_cost("zoom", ZOOM, {"plan": "business"}),
    ]
    print(
        f"cost: {COST_PEOPLE:,} people, {COST_ROUNDS} actions to all a minute apart"
        " (fakes without limits)"
    )
    for cost in runs:
        if cost.note or not cost.delivered:
            print(f"  {cost.label}: {cost.note or 'nothing delivered'}")
            continue
        cpu = cost.own_cpu / cost.delivered * 1e6
        memory = cost.memory_own / COST_PEOPLE / 1024
        print(
            f"  {cost.label} cpu_per_update {cpu:.1f} µs ({cost.own_samples} of {cost.samples}"
            f" busy samples in the integration's code, {cost.delivered} updates)"
            f" goal < {CPU_GOAL_US:g} µs: {verdict(cpu < CPU_GOAL_US)}"
        )
        print(
            f"  {cost.label} memory_per_person {memory:.2f} KB (blocks allocated in the"
            f" integration's code) goal < {MEMORY_GOAL_KB:g} KB: {verdict(memory < MEMORY_GOAL_KB)}"
        )
        profiled = max(cost.profiled_delivered, 1)
        print(
            f"  info: the process's CPU per update {cost.process_cpu / cost.delivered * 1e6:.0f} µs"
            f" (Home Assistant, aiohttp, the fake and the simulated clock included);"
            f" a second action under cProfile: own time {cost.own_seconds / profiled * 1e6:.0f} µs"
            f" and {cost.own_calls / profiled:.0f} integration function calls per update;"
            f" memory with Home Assistant's objects made on the integration's behalf"
            f" {cost.memory_any / COST_PEOPLE / 1024:.2f} KB per person"
        )


# Benchmark 5: coalescing.

COALESCE_CHANGES = 1000
COALESCE_SPAN = 600.0
COALESCE_GOAL = 10


async def bench_coalescing() -> None:
    """Benchmark 5."""
    real_start = real_perf_counter()
    sim = SimulatedTime()
    with LogCounter().attached() as logs:
        async with sim.running():
            fake, ids = build_fake(ZOOM, 1, requests_per_second=20)
            await fake.start()
            try:
                async with home_assistant() as hass:
                    await _coalescing_in(hass, sim, fake, ids[0])
            finally:
                await fake.close()
    print(
        f"  info: integration log: {logs.summary()}; {sim.jumps} clock jumps,"
        f" real {real_perf_counter() - real_start:.1f} s"
    )


async def _coalescing_in(hass: HomeAssistant, sim: SimulatedTime, fake: Any, uid: str) -> None:
    entry = build_entry(ZOOM, fake, [uid], ZOOM_OPTIONS)
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    print(f"coalescing: {COALESCE_CHANGES} changes of one Zoom person over {COALESCE_SPAN:g} s")
    if not await wait_until(lambda: entry.state is ConfigEntryState.LOADED, 600):
        print(f"  setup did not complete (entry {entry.state.value}): goals NOT met")
        return
    await wait_until(lambda: len(presence_selects(hass, entry)) == 1, 60)
    await asyncio.sleep(5)  # the first poll
    (entity_id,) = presence_selects(hass, entry)
    path = f"/v2/users/{uid}/presence_status"
    options = ["away", "available"]  # the person starts "Available": every change is real
    loop = asyncio.get_running_loop()
    start = loop.time()
    calls = []
    for change in range(COALESCE_CHANGES):
        await asyncio.sleep(
            max(0.0, start + change * COALESCE_SPAN / COALESCE_CHANGES - loop.time())
        )
        calls.append(
            hass.async_create_task(
                hass.services.async_call(
                    "select",
                    "select_option",
                    {"entity_id": entity_id, "option": options[change % 2]},
                    blocking=True,
                )
            )
        )
    await asyncio.sleep(max(0.0, start + COALESCE_SPAN - loop.time()))
    inside = [a for a in fake.arrivals if a.method == "PUT" and a.path == path and a.at >= start]
    failed = sum(1 for c in await asyncio.gather(*calls, return_exceptions=True) if c is not None)
    await asyncio.sleep(120)  # the last change goes out
    puts = [a for a in fake.arrivals if a.method == "PUT" and a.path == path and a.at >= start]
    rejected = sum(1 for a in fake.arrivals if a.status == 429 and a.at >= start)
    last = options[(COALESCE_CHANGES - 1) % 2]
    held = {"Away": "away", "Available": "available"}.get(fake.users[uid].status)
    print(
        f"  puts_in_the_10_minutes {len(inside)} goal {COALESCE_GOAL}:"
        f" {verdict(len(inside) == COALESCE_GOAL)}"
    )
    print(f"  429s {rejected} goal 0: {verdict(rejected == 0)}")
    print(
        f"  info: {len(puts)} PUTs in all, at +"
        f"{', +'.join(f'{a.at - start:.0f}' for a in puts)} s, answered"
        f" {sorted(Counter(a.status for a in puts).items())}; the fake ends with {held!r}"
        f" (last change {last!r}); {failed} select_option calls failed"
    )


# Running.

BENCHMARKS = {
    "fanout": lambda: bench_fanout(list(FANOUTS)),
    **{f"fanout-{name}": (lambda name=name: bench_fanout([name])) for name in FANOUTS},
    "polls": bench_polls,
    "overhead": bench_overhead,
    "cost": bench_cost,
    "coalescing": bench_coalescing,
}


def main() -> None:
    """Run the benchmarks named on the command line, or all."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "benchmarks", nargs="*", metavar="BENCHMARK", help=f"any of: {', '.join(BENCHMARKS)}"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="print warnings logged")
    args = parser.parse_args()
    if unknown := [name for name in args.benchmarks if name not in BENCHMARKS]:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; any of: {', '.join(BENCHMARKS)}")
    global VERBOSE  # noqa: PLW0603
    VERBOSE = args.verbose
    logging.basicConfig(
        level=logging.WARNING if args.verbose else logging.CRITICAL,
        format="%(levelname)s %(name)s: %(message)s",
    )
    _prepare_freezegun()
    for name in args.benchmarks or ["fanout", "polls", "overhead", "cost", "coalescing"]:
        asyncio.run(run(BENCHMARKS[name]))


async def run(benchmark: Callable[[], Awaitable[None]]) -> None:
    """Run a benchmark on a loop configured as Home Assistant configures its own."""
    runner.configure_event_loop(asyncio.get_running_loop())
    await benchmark()


if __name__ == "__main__":
    main()
