"""Benchmark: how fast and how sparingly Presence Bridge delivers presence to Zoom.

Run from the repository root with `.venv/bin/python bench/delivery.py`. It starts a
Home Assistant (the test harness's, outside pytest) and the fake Zoom of the tests,
and prints, measured in this one run:

1. `latency_ratio`: median time from calling `select.select_option` (blocking) to
   the fake receiving the PUT, over the median time from starting a bare aiohttp
   PUT (same JSON body, valid bearer token) to the fake receiving it. Each sample
   uses its own user, as Zoom (and the fake) allow one update per user per minute.
   Each timed request follows an untimed one of its own kind (a select change of
   another person, a GET with the same session), so each path is measured warm.
2. `puts_for_100_changes`: PUTs the fake received for 100 rapid changes of one
   person's Presence select, after Home Assistant's clock (which the fake follows)
   was moved past the one-minute window so the queued change goes out.

It asserts nothing: it prints each goal and whether this run met it.
"""

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta
import logging
from pathlib import Path
import statistics
import sys
import tempfile
import time
from typing import Any
from unittest.mock import patch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import homeassistant.core  # noqa: F401  # Home Assistant before anything importing voluptuous

# isort: split

import aiohttp
from aiohttp import web
from aiohttp.resolver import AsyncResolver
from homeassistant import loader
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er, frame, translation
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
    async_test_home_assistant,
    mock_storage,
)

from custom_components.presence_bridge.const import CONF_USER_ID, DOMAIN, SUBENTRY_USER
from tests.fake_zoom import FakeZoom, ZoomUser

SAMPLES = 30
"""Measured users of each kind; one more of each kind warms connections up first."""
CHANGES = 100
LATENCY_GOAL = 1.5
PUTS_GOAL = 2
OPTION = "away"
BODY = {"status": "Away"}
"""What the integration sends for `OPTION`; the bare PUT sends the same."""
WINDOW = timedelta(seconds=61)
"""Just past Zoom's one update per user per minute."""


@dataclass(frozen=True, slots=True)
class Arrival:
    """A request as it reached the fake, before its body was read."""

    method: str
    path: str
    at: float
    """`time.perf_counter()` when the request reached the fake's first middleware."""
    status: int | None = None


@dataclass
class TimedFakeZoom(FakeZoom):
    """The tests' fake Zoom, also noting when each request arrived and how it was answered."""

    arrivals: list[Arrival] = field(default_factory=list)

    @web.middleware
    async def _record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        at = time.perf_counter()
        response = await super()._record(request, handler)
        self.arrivals.append(Arrival(request.method, request.path, at, response.status))
        return response

    def put_arrivals(self, user_id: str) -> list[Arrival]:
        """The presence PUTs of one user, in order."""
        path = f"/v2/users/{user_id}/presence_status"
        return [a for a in self.arrivals if a.method == "PUT" and a.path == path]


class ShiftedClock:
    """`dt_util.utcnow`, moved ahead on demand so no one waits out a minute."""

    def __init__(self) -> None:
        """Start at the real time."""
        self._real = dt_util.utcnow
        self.offset = timedelta()

    def __call__(self) -> datetime:
        """Now in UTC, plus the offset."""
        return self._real() + self.offset


def user_id(kind: str, number: int) -> str:
    """A fake Zoom user id."""
    return f"bench{kind}{number:03d}"


@dataclass(frozen=True, slots=True)
class Users:
    """The fake's users: each one is updated once, but the coalescing one."""

    integration: list[str]
    """Controlled through the measured entry."""
    warm: list[str]
    """Controlled through a second entry; changed untimed just before each measured change.

    In an entry of its own, so the measured entry has as many people as it would without
    warm-ups: each accepted change makes every entity of its entry write its state.
    """
    bare: list[str]
    """Updated with bare aiohttp PUTs from a plain session."""
    shared: list[str]
    """Updated with bare PUTs over Home Assistant's shared session (for information)."""
    coalesce: str


def build_fake() -> tuple[TimedFakeZoom, Users]:
    """The fake with the benchmark's users, on Home Assistant's clock like the tests' one."""
    fake = TimedFakeZoom(clock=lambda: dt_util.utcnow().timestamp())
    users = Users(
        integration=[user_id("int", n) for n in range(SAMPLES + 1)],
        warm=[user_id("warm", n) for n in range(SAMPLES + 1)],
        bare=[user_id("bare", n) for n in range(SAMPLES + 1)],
        shared=[user_id("shared", n) for n in range(SAMPLES + 1)],
        coalesce=user_id("coalesce", 0),
    )
    for uid in (*users.integration, *users.warm, *users.bare, *users.shared, users.coalesce):
        fake.add_user(ZoomUser(uid, f"{uid}@example.com", "Bench", uid))
    return fake, users


def build_entry(fake: FakeZoom, user_ids: list[str], unique_id: str) -> MockConfigEntry:
    """A Zoom entry controlling `user_ids`, as the tests' `zoom_entry` fixture builds one."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=f"Zoom {unique_id}",
        unique_id=unique_id,
        data=fake.entry_data(),
        subentries_data=[
            {
                "data": {CONF_USER_ID: uid},
                "subentry_id": f"SUB{uid.upper()}",
                "subentry_type": SUBENTRY_USER,
                "title": f"Bench {uid}",
                "unique_id": uid,
            }
            for uid in user_ids
        ],
    )


def select_entities(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, str]:
    """Entity id of each user's Presence select, by user id."""
    registry = er.async_get(hass)
    by_unique_id = {
        e.unique_id: e.entity_id
        for e in er.async_entries_for_config_entry(registry, entry.entry_id)
        if e.domain == "select"
    }
    return {
        subentry.data[CONF_USER_ID]: by_unique_id[
            f"zoom_{entry.unique_id}_{subentry.data[CONF_USER_ID]}_presence"
        ]
        for subentry in entry.subentries.values()
    }


async def select(hass: HomeAssistant, entity_id: str, option: str) -> None:
    """Call `select.select_option`, blocking."""
    await hass.services.async_call(
        "select", "select_option", {"entity_id": entity_id, "option": option}, blocking=True
    )


async def bearer_token(session: aiohttp.ClientSession, fake: FakeZoom) -> str:
    """A valid token from the fake, fetched as the Zoom client does."""
    async with session.post(
        f"{fake.url}/oauth/token",
        data={"grant_type": "account_credentials", "account_id": fake.account_id},
        headers={"Authorization": aiohttp.encode_basic_auth(fake.client_id, fake.client_secret)},
    ) as response:
        response.raise_for_status()
        return (await response.json())["access_token"]


async def bare_put(session: aiohttp.ClientSession, fake: FakeZoom, token: str, uid: str) -> int:
    """One presence PUT without the integration; returns the status."""
    async with session.put(
        f"{fake.api_url}/users/{uid}/presence_status",
        json=BODY,
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
    ) as response:
        await response.read()
        return response.status


async def warm_up(session: aiohttp.ClientSession, fake: FakeZoom, token: str, uid: str) -> None:
    """An untimed request just before a timed bare PUT, so both find their code paths warm."""
    async with session.get(
        f"{fake.api_url}/users/{uid}/presence_status",
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
    ) as response:
        await response.read()


def arrival_after(fake: TimedFakeZoom, uid: str, start: float) -> float:
    """Seconds from `start` to the user's first PUT arriving after it."""
    arrived = [a.at for a in fake.put_arrivals(uid) if a.at >= start]
    if not arrived:
        raise RuntimeError(f"The fake received no PUT for {uid}")
    return arrived[0] - start


def ms(seconds: float) -> str:
    """Seconds as milliseconds, for printing."""
    return f"{seconds * 1e3:.2f} ms"


def describe(arrivals: list[Arrival]) -> str:
    """How many requests of each method and answer status."""
    counts: dict[tuple[str, int | None], int] = {}
    for arrival in arrivals:
        key = (arrival.method, arrival.status)
        counts[key] = counts.get(key, 0) + 1
    return ", ".join(f"{method} {status}: {n}" for (method, status), n in counts.items()) or "-"


async def measure_latency(
    hass: HomeAssistant, fake: TimedFakeZoom, entities: dict[str, str], users: Users
) -> None:
    """Interleave select changes and bare PUTs, one user each; print the median ratio."""
    through_ha: list[float] = []
    returned: list[float] = []
    direct: list[float] = []
    shared: list[float] = []
    statuses: set[int] = set()
    shared_session = async_get_clientsession(hass)
    async with aiohttp.ClientSession() as session:
        token = await bearer_token(session, fake)
        requests_before = len(fake.arrivals)
        for number, (int_user, warm_user, bare_user, shared_user) in enumerate(
            zip(users.integration, users.warm, users.bare, users.shared, strict=True)
        ):
            # Each timed request starts with no work of the one before left, right after
            # an untimed one of its own kind, so that each finds its code paths warm
            # (a select change does enough to evict a bare PUT's from the caches).
            await select(hass, entities[warm_user], OPTION)
            await hass.async_block_till_done()
            start = time.perf_counter()
            await select(hass, entities[int_user], OPTION)
            ended = time.perf_counter()
            to_arrival = arrival_after(fake, int_user, start)

            await hass.async_block_till_done()
            await warm_up(session, fake, token, bare_user)
            bare_start = time.perf_counter()
            statuses.add(await bare_put(session, fake, token, bare_user))
            bare_to_arrival = arrival_after(fake, bare_user, bare_start)

            await hass.async_block_till_done()
            await warm_up(shared_session, fake, token, shared_user)
            shared_start = time.perf_counter()
            statuses.add(await bare_put(shared_session, fake, token, shared_user))
            shared_to_arrival = arrival_after(fake, shared_user, shared_start)

            if number:  # the first of each warmed connections and code paths up
                through_ha.append(to_arrival)
                returned.append(ended - start)
                direct.append(bare_to_arrival)
                shared.append(shared_to_arrival)
        await hass.async_block_till_done(wait_background_tasks=True)
        during = fake.arrivals[requests_before:]

    integration_median = statistics.median(through_ha)
    bare_median = statistics.median(direct)
    ratio = integration_median / bare_median
    print(
        f"latency_ratio {ratio:.2f} (integration median {ms(integration_median)}"
        f" / bare aiohttp median {ms(bare_median)}, n={len(through_ha)})"
        f" goal <= {LATENCY_GOAL}: {'met' if ratio <= LATENCY_GOAL else 'NOT met'}"
    )
    print(
        f"  info: start-to-arrival min/max: integration {ms(min(through_ha))}/{ms(max(through_ha))},"
        f" bare {ms(min(direct))}/{ms(max(direct))};"
        f" select_option returned after median {ms(statistics.median(returned))}"
    )
    shared_median = statistics.median(shared)
    print(
        f"  info: bare PUT over Home Assistant's shared session: median {ms(shared_median)}"
        f" (integration / that = {integration_median / shared_median:.2f});"
        f" bare PUT answers {sorted(statuses)}"
    )
    changed = (*users.integration, *users.warm)
    int_paths = {f"/v2/users/{uid}/presence_status" for uid in changed}
    from_ha = [a for a in during if a.path in int_paths]
    baseline_paths = {f"/v2/users/{uid}/presence_status" for uid in (*users.bare, *users.shared)}
    others = [a for a in during if a.path not in int_paths | baseline_paths]
    print(
        f"  info: requests for the {len(changed)} select changes: {describe(from_ha)};"
        f" other requests meanwhile: {describe(others)}"
    )


async def measure_coalescing(
    hass: HomeAssistant, fake: TimedFakeZoom, entity_id: str, uid: str
) -> None:
    """Change one select `CHANGES` times inside a minute, move time on, count the PUTs."""
    clock = ShiftedClock()
    options = ["away", "available"]  # starts "available", so every change is a real one
    with patch.object(dt_util, "utcnow", clock):
        requests_before = len(fake.arrivals)
        for change in range(CHANGES):
            await select(hass, entity_id, options[change % 2])
        await hass.async_block_till_done()
        inside = len(fake.put_arrivals(uid))
        state = hass.states.get(entity_id)
        attributes = dict(state.attributes) if state else {}

        for _ in range(2):  # past the window, then once more to catch anything late
            clock.offset += WINDOW
            async_fire_time_changed(hass, dt_util.utcnow())
            await hass.async_block_till_done(wait_background_tasks=True)
        puts = fake.put_arrivals(uid)
        during = fake.arrivals[requests_before:]

    last = options[(CHANGES - 1) % 2]
    status = fake.users[uid].status
    print(
        f"puts_for_{CHANGES}_changes {len(puts)} (goal {PUTS_GOAL}):"
        f" {'met' if len(puts) == PUTS_GOAL else 'NOT met'}"
    )
    print(
        f"  info: {inside} PUT(s) inside the minute (pending={attributes.get('pending')},"
        f" send_at set={attributes.get('send_at') is not None}); PUT statuses"
        f" {[a.status for a in puts]}; fake now has {status!r} (last change {last!r});"
        f" all requests in this phase: {describe(during)}"
    )


async def main() -> None:
    """Set everything up, measure, and tear it all down."""
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    fake, users = build_fake()
    # As the test harness does: a plain resolver instead of Home Assistant's zeroconf one.
    resolver = AsyncResolver()
    resolver.real_close = resolver.close  # type: ignore[attr-defined]
    await fake.start()
    try:
        with patch(
            "homeassistant.helpers.aiohttp_client._async_make_resolver", return_value=resolver
        ):
            await run(fake, users)
    finally:
        await fake.close()


async def run(fake: TimedFakeZoom, users: Users) -> None:
    """Start Home Assistant with the entry, measure, and stop it."""
    # Storage in memory, as the `hass_storage` fixture keeps it, in a throwaway config dir.
    with mock_storage(), tempfile.TemporaryDirectory() as config_dir:
        async with async_test_home_assistant(config_dir=config_dir) as hass:
            await measure_in(hass, fake, users)


async def measure_in(hass: HomeAssistant, fake: TimedFakeZoom, users: Users) -> None:
    """Set the entry up in `hass` as the `hass` fixture would, measure, and stop `hass`."""
    entries = [
        build_entry(fake, [*users.integration, users.coalesce], fake.account_id),
        build_entry(fake, users.warm, f"{fake.account_id}-warm-up"),
    ]
    try:
        frame.async_setup(hass)
        await translation.async_load_integrations(hass, {"homeassistant"})
        hass.data.pop(loader.DATA_CUSTOM_COMPONENTS)  # as `enable_custom_integrations` does
        entities: dict[str, str] = {}
        for entry in entries:
            entry.add_to_hass(hass)
            if not await hass.config_entries.async_setup(entry.entry_id):
                raise RuntimeError(f"Setting the entry up failed: {entry.state}")
            await hass.async_block_till_done()
            entities |= select_entities(hass, entry)
        await measure_latency(hass, fake, entities, users)
        await measure_coalescing(hass, fake, entities[users.coalesce], users.coalesce)
    finally:
        for entry in entries:
            if entry.state is ConfigEntryState.LOADED:
                await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_stop(force=True)


if __name__ == "__main__":
    asyncio.run(main())
