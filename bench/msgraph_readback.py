"""Benchmark: one poll of 1,000 Microsoft Teams people (app-only) against the fake Graph.

Reports, measured in one run:
- the requests one poll (presence and status of everyone) sends; goal 2 (650 people a request);
- the poll's wall time divided by the time of one bare `getPresencesByUserId` of 650 ids that
  aiohttp sends itself to the same fake (median of several runs of each, interleaved).

Run with `.venv/bin/python bench/msgraph_readback.py`.
"""

import asyncio
from pathlib import Path
import statistics
import sys
import time

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
import homeassistant.core  # noqa: F401  # Home Assistant before anything importing voluptuous

from custom_components.presence_bridge.api import GraphClient
from tests.fake_msgraph import FakeGraph

PEOPLE = 1_000
RUNS = 15


async def main() -> None:
    """Measure and print the requests of one poll and its time against a bare request."""
    fake = FakeGraph(budget=None)
    ids = [fake.add_user(f"Person {n}", f"person{n}@contoso.com") for n in range(PEOPLE)]
    async with fake, aiohttp.ClientSession() as session:
        client = GraphClient(
            session,
            tenant_id=fake.tenant_id,
            client_id=fake.client_id,
            client_secret=fake.client_secret,
            api_url=fake.api_url,
            login_url=fake.url,
        )
        await client.check_credentials()
        token = await client.http._tokens.get()  # noqa: SLF001 - the bare request's token
        bare_url = f"{fake.api_url}/communications/getPresencesByUserId"
        polls, bares = [], []
        for _ in range(RUNS):
            fake.requests.clear()
            start = time.perf_counter()
            await client.get_presences(ids)
            await client.get_statuses(ids)
            polls.append(time.perf_counter() - start)
            requests = len(fake.api_requests("POST"))
            client._stash = None  # noqa: SLF001 - the next run reads afresh
            start = time.perf_counter()
            async with session.post(
                bare_url,
                json={"ids": ids[:650]},
                headers={"Authorization": f"Bearer {token}"},
            ) as response:
                await response.read()
            bares.append(time.perf_counter() - start)
    poll, bare = statistics.median(polls), statistics.median(bares)
    print(f"requests_per_poll {requests} (goal 2): {'met' if requests == 2 else 'NOT met'}")
    print(
        f"poll_vs_bare_request {poll / bare:.2f} (poll of {PEOPLE} people median "
        f"{poll * 1000:.1f} ms / one bare request of 650 ids median {bare * 1000:.1f} ms, "
        f"n={RUNS}); the poll is 2 such requests plus parsing, so about 2 is the floor"
    )


if __name__ == "__main__":
    asyncio.run(main())
