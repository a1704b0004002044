"""The account's request budget: its window, its pace after a 429, writes first, AIMD.

Time is Home Assistant's test clock: `freezer` moves `time.monotonic` (the budget's clock)
and the event loop's, and `advance` runs the timers that became due.
"""

import asyncio
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
import pytest

from custom_components.presence_bridge.api.budget import CEILING_MEMORY, RequestBudget

from .conftest import advance


class Line:
    """Requests waiting in a budget, noting the order in which they were let through."""

    def __init__(self, budget: RequestBudget) -> None:
        """Queue nothing yet."""
        self.budget = budget
        self.served: list[str] = []
        self.tasks: list[asyncio.Task[None]] = []

    def add(self, name: str, *, read: bool = False) -> None:
        """Queue a request named `name`."""

        async def request() -> None:
            await self.budget.acquire(read=read)
            self.served.append(name)

        self.tasks.append(asyncio.get_running_loop().create_task(request()))

    async def settle(self) -> list[str]:
        """Let the line move as far as it can now; return who was served so far."""
        for _ in range(5):
            await asyncio.sleep(0)
        return self.served

    async def close(self) -> list[BaseException | None]:
        """Close the budget; what each request still waiting raised."""
        self.budget.close()
        return await asyncio.gather(*self.tasks, return_exceptions=True)


async def test_a_burst_within_the_window_goes_at_once_the_rest_one_per_slot(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """2 per second: the first two at once, then each second two more, in order."""
    line = Line(RequestBudget(2, 1.0, burst=2))
    for n in range(7):
        line.add(str(n))
    assert await line.settle() == ["0", "1"]
    await advance(hass, freezer, 0.5)
    assert await line.settle() == ["0", "1"]
    await advance(hass, freezer, 0.5)
    assert await line.settle() == ["0", "1", "2", "3"]
    for _ in range(2):
        await advance(hass, freezer, 1)
    assert await line.settle() == [str(n) for n in range(7)]


async def test_past_the_burst_requests_are_paced_over_the_window(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """10 per second with bursts of 5: five at once, then one every 0.1 s."""
    line = Line(RequestBudget(10, 1.0, burst=5))
    for n in range(8):
        line.add(str(n))
    assert len(await line.settle()) == 5
    for expected in (6, 7, 8):
        await advance(hass, freezer, 0.1)
        assert len(await line.settle()) == expected
    await advance(hass, freezer, 0.1)
    assert len(await line.settle()) == 8  # a new burst only after a quiet spell


async def test_writes_go_before_reads(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
    """A change waiting behind a poll's reads takes the next slot."""
    line = Line(RequestBudget(1, 1.0))
    line.add("first read", read=True)
    for n in range(3):
        line.add(f"read {n}", read=True)
    await line.settle()
    line.add("write")
    await line.settle()
    await advance(hass, freezer, 1)
    assert await line.settle() == ["first read", "write"]
    for _ in range(3):
        await advance(hass, freezer, 1)
    assert await line.settle() == ["first read", "write", "read 0", "read 1", "read 2"]


async def test_after_a_429_the_budget_pauses_then_resumes_at_its_pace(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """A 429 halves the limit and pauses (at least the 5 s backoff); then one per slot."""
    budget = RequestBudget(10, 1.0)
    line = Line(budget)
    line.add("sent")
    await line.settle()
    assert budget.throttled(retry_after=2) == 5
    assert budget.limit == 5
    assert budget.throttled(retry_after=2) == 5  # the same burst: no further slowdown
    assert budget.limit == 5
    for n in range(4):
        line.add(str(n))
    await advance(hass, freezer, 4.9)
    assert await line.settle() == ["sent"]
    await advance(hass, freezer, 0.1)
    assert await line.settle() == ["sent", "0"]
    for served in range(2, 5):
        await advance(hass, freezer, 0.2)  # 1 s / 5 requests: one at a time, not a burst
        assert len(await line.settle()) == 1 + served
    assert budget.rate_limited == 2


async def test_a_429_that_names_the_limit_sets_it(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """Zoom's `X-RateLimit-Limit` on a QPS 429 is the limit to keep; a higher one is ignored."""
    budget = RequestBudget(20, 1.0)
    budget.throttled(None, limit_hint=8)
    assert budget.limit == 8
    await advance(hass, freezer, 10)
    budget.throttled(None, limit_hint=2000)  # a daily limit's count: halve instead
    assert budget.limit == 4


async def test_the_limit_grows_back_by_one_per_quiet_window_but_not_to_the_429s(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """Additive increase after the multiplicative decrease, below the limit that drew the
    429 for an hour, then up to what was configured."""
    budget = RequestBudget(16, 60.0)
    budget.throttled(None)
    assert budget.limit == 8
    budget.succeeded()
    assert budget.limit == 8  # not within a window of the decrease
    for expected in range(9, 16):
        await advance(hass, freezer, 60)
        budget.succeeded()
        assert budget.limit == expected
    await advance(hass, freezer, 60)
    budget.succeeded()
    assert budget.limit == 15  # one below the limit that drew the 429
    await advance(hass, freezer, CEILING_MEMORY)
    budget.succeeded()
    assert budget.limit == 16
    await advance(hass, freezer, 60)
    budget.succeeded()
    assert budget.limit == 16  # never above what was configured


async def test_a_provider_saying_none_are_left_holds_requests_until_its_reset(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """Zulip's `X-RateLimit-Remaining: 0`: requests wait for the reset instead of failing."""
    budget = RequestBudget(200, 60.0)
    line = Line(budget)
    budget.exhausted(30)
    assert budget.paused_for() == 30
    line.add("held")
    await advance(hass, freezer, 29)
    assert await line.settle() == []
    await advance(hass, freezer, 2)
    assert await line.settle() == ["held"]


async def test_the_wait_estimate_counts_the_pause_and_the_writes_in_line(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """What `set_presence` answers as the time a queued change is sent."""
    budget = RequestBudget(2, 1.0, burst=2)
    assert budget.wait_estimate() == 0
    line = Line(budget)
    for n in range(4):
        line.add(str(n))
    await line.settle()
    assert budget.wait_estimate() == 1.0 + 2 * 0.5
    budget.exhausted(10)
    assert budget.wait_estimate() >= 10
    outcomes = await line.close()
    assert [type(outcome).__name__ for outcome in outcomes] == [
        "NoneType",
        "NoneType",
        "BudgetClosedError",
        "BudgetClosedError",
    ]


async def test_a_cancelled_waiter_gives_its_turn_to_the_next(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """A request given up (its task cancelled) takes no slot."""
    line = Line(RequestBudget(1, 1.0))
    line.add("first")
    line.add("given up")
    line.add("next")
    await line.settle()
    line.tasks[1].cancel()
    await advance(hass, freezer, 1)
    assert await line.settle() == ["first", "next"]
    assert line.budget.state().waiting_writes == 0


async def test_a_thousand_waiters_cost_a_few_timers_each_not_one_per_slot_each(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The line is linear: each slot wakes only the next waiter, so the timers the budget
    arms grow with the requests, not with requests times slots."""
    loop = asyncio.get_running_loop()
    timers = 0
    real_call_later = loop.call_later

    def counting_call_later(*args: Any, **kwargs: Any) -> asyncio.TimerHandle:
        nonlocal timers
        timers += 1
        return real_call_later(*args, **kwargs)

    monkeypatch.setattr(loop, "call_later", counting_call_later)
    line = Line(RequestBudget(100, 1.0, burst=100))
    for n in range(1000):
        line.add(str(n))
    await line.settle()
    for _ in range(10):
        await advance(hass, freezer, 1)
    assert await line.settle() == [str(n) for n in range(1000)]
    assert timers <= 2 * 1000


async def test_a_budget_that_learns_its_limit_keeps_to_what_went_through(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """VCC publishes no limit: 60 a minute were set, 15 went through before the 429, so the
    budget keeps to 14 (not 30, which would draw another 429; one less, in case one of the
    15 did not count) and does not probe above it for an hour."""
    budget = RequestBudget(60, 60.0, learns_limit=True)
    line = Line(budget)
    for n in range(16):
        line.add(str(n))
    for _ in range(16):
        await line.settle()
        await advance(hass, freezer, 1)
    assert len(await line.settle()) == 16
    budget.throttled(None)
    assert budget.limit == 14
    for _ in range(5):
        await advance(hass, freezer, 60)
        budget.succeeded()
    assert budget.limit == 14
