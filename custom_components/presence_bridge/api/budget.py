"""One request budget per provider account: every request of the account waits for its slot.

A budget allows at most `limit` requests in any `per` seconds (the provider's published
window), one every `per / limit` seconds, but `burst` of them at once after a quiet spell:
a few changes go out at once, and a long line is paced. Writes (changes a user asked
for, token requests, keep-alives) are served before reads (polls): a change waits for at
most the one slot under way, never for a whole poll. Waiters are woken in order, one per
free slot. A change may also reserve its slot ahead (`reserve`), and be sent when it comes
(`reserved`), so that nothing waits in the line meanwhile.

An account-wide 429 lowers the limit (to what the provider says it is, else by half, or for a
provider that publishes none, to what went through in the window if that is fewer) and pauses
the account; sending then resumes at the budget's pace, not all at once. The limit grows back
by a tenth of what was set (at least one) per quiet window, up to what was set, but not back to the limit that drew the 429 for
an hour (additive increase, multiplicative decrease).

The clock is `time.monotonic`, looked up at each call, and waits are the event loop's
timers: the same clock in Home Assistant, and one tests can move. A clock of its own time (a
simulated one) may run the waits too, with a `call_later(delay, callback)` of its own.
"""

import asyncio
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
import logging
import time

from .errors import BudgetClosedError

_LOGGER = logging.getLogger(__name__)

BACKOFF_FIRST = 5.0
BACKOFF_MAX = 300.0
CEILING_MEMORY = 3600.0
"""Seconds a limit that drew a 429 is not reached again."""
SLOT_TOLERANCE = 1e-3
"""Seconds by which a slot may be early: a timer fires when its time is reached, and a sum of
floating-point seconds may miss that by a hair."""
BURST_SECONDS = 1.0
MIN_BURST = 10
"""By default, a budget lets one second's share of its window go at once, but at least 10."""


def backoff(failures: int) -> float:
    """Seconds to wait after `failures` failures in a row: 5, 10, 20, … up to 300."""
    return min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** (max(failures, 1) - 1))


_RESERVED: ContextVar[RequestBudget | None] = ContextVar("reserved_budget_slot", default=None)
"""The budget whose slot the current task reserved, for its next request."""


def monotonic() -> float:
    """`time.monotonic()`, looked up at each call."""
    return time.monotonic()


@dataclass(frozen=True, slots=True)
class BudgetState:
    """What a budget is doing now, for diagnostics."""

    limit: int
    per: float
    configured_limit: int
    paused_for: float
    waiting_writes: int
    waiting_reads: int
    rate_limited: int
    """Account-wide 429s since the budget was made."""


class RequestBudget:
    """At most `limit` requests in any `per` seconds, writes first, paced after a 429."""

    def __init__(
        self,
        limit: int,
        per: float,
        *,
        burst: int | None = None,
        learns_limit: bool = False,
        clock: Callable[[], float] = monotonic,
    ) -> None:
        """Allow `limit` requests per `per` seconds, `burst` of them at once.

        Without `burst`, one second's share of the window, but at least MIN_BURST.
        `learns_limit`, for a provider that publishes no limit: after a 429, the limit is
        below what went through in the window before it, for an hour.
        """
        if limit < 1 or per <= 0:
            raise ValueError("A budget needs a limit of at least 1 request per positive time")
        self.configured_limit = limit
        self.limit = limit
        self.per = per
        self._burst = burst
        self._learns_limit = learns_limit
        self._clock = clock
        self._granted: deque[float] = deque(maxlen=limit)
        """When the latest requests were let through, or are to be (reserved), oldest first."""
        self._sent: deque[float] = deque(maxlen=limit)
        """When the latest requests really went, oldest first (what a 429 teaches)."""
        self._writes: deque[asyncio.Future[None]] = deque()
        self._reads: deque[asyncio.Future[None]] = deque()
        self._timer: asyncio.Handle | None = None
        self._paused_until = 0.0
        self._paced_until = 0.0
        """The pace's theoretical time of the next request (GCRA): one `per / limit` apart."""
        self._closed = False
        self.epoch = 0
        """Grows whenever a 429 or a used-up budget voids the slots reserved ahead."""
        self._ceiling: tuple[int, float] | None = None
        """A limit that drew a 429, and when."""
        self._grown_at = 0.0
        self._throttled_in_a_row = 0
        self.rate_limited = 0

    @property
    def burst(self) -> int:
        """How many requests may go at once after a quiet spell."""
        if self._burst is not None:
            return min(self._burst, self.limit)
        return min(self.limit, max(MIN_BURST, round(self.limit * BURST_SECONDS / self.per)))

    def state(self) -> BudgetState:
        """The budget now, for diagnostics."""
        return BudgetState(
            self.limit,
            self.per,
            self.configured_limit,
            round(self.paused_for(), 3),
            len(self._writes),
            len(self._reads),
            self.rate_limited,
        )

    def paused_for(self) -> float:
        """Seconds until the account may send again after a 429; 0 when it may now."""
        return max(0.0, self._paused_until - self._clock())

    def wait_estimate(self) -> float:
        """Seconds a write asked for now would wait for its slot: 0 if it goes at once."""
        now = self._clock()
        first = self._next_slot(now) - now
        if first <= SLOT_TOLERANCE:
            first = 0.0
        spacing = self.per / self.limit
        return max(0.0, first) + len(self._writes) * spacing

    def reserve(self) -> float:
        """Take the next free slot for a write to come; returns the seconds until it.

        The write is then sent under `reserved()`, when its slot has come, unless `epoch` has
        grown since: a 429 voided the slot, and a new one must be reserved.
        """
        now = self._clock()
        slot = self._next_slot(now)
        self._reserve_slot(slot)
        self._rearm()
        return max(0.0, slot - now)

    @contextmanager
    def reserved(self) -> Iterator[None]:
        """The next request of this task takes the slot it reserved, without waiting."""
        token = _RESERVED.set(self)
        try:
            yield
        finally:
            _RESERVED.reset(token)

    async def acquire(self, *, read: bool = False) -> None:
        """Wait for a slot (reads after every waiting write), then count the request.

        A slot reserved for this task (see `reserved`) is taken at once. Raises
        `BudgetClosedError` once the budget is closed, also while waiting.
        """
        if self._closed:
            raise BudgetClosedError("The account's requests have stopped")
        if _RESERVED.get() is self:
            _RESERVED.set(None)
            self._sent.append(self._clock())
            return
        now = self._clock()
        if not self._writes and not self._reads and self._next_slot(now) <= now + SLOT_TOLERANCE:
            self._grant(now)
            return
        waiter = asyncio.get_running_loop().create_future()
        (self._reads if read else self._writes).append(waiter)
        if self._timer is None:  # else the armed timer serves the line in turn
            self._serve()
        try:
            await waiter
        except asyncio.CancelledError:
            if not waiter.done() or waiter.cancelled():
                lane = self._reads if read else self._writes
                if waiter in lane:
                    lane.remove(waiter)
            raise

    def close(self) -> None:
        """Stop: every request waiting for a slot, and any asked for later, is refused."""
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for lane in (self._writes, self._reads):
            while lane:
                if not (waiter := lane.popleft()).done():
                    waiter.set_exception(BudgetClosedError("The account's requests have stopped"))

    def throttled(self, retry_after: float | None, limit_hint: int | None = None) -> float:
        """The provider refused a request for the whole account (a 429): slow down.

        The limit drops to `limit_hint` (what the provider says it is; one above what was set
        is another limit's, such as a daily one), else by half (see `learns_limit`); and the
        account pauses for `retry_after`, but at least a backoff that grows with each 429
        in a row; afterwards requests are paced at the new limit. Returns the pause (s).
        """
        now = self._clock()
        self.rate_limited += 1
        if self._paused_until > now:
            return self._paused_until - now  # a request of the same burst: already paused
        self._throttled_in_a_row += 1
        if limit_hint is not None and 0 < limit_hint <= self.configured_limit:
            # The provider named its limit: keep to it, and do not probe above it for a while.
            self._ceiling = (limit_hint + 1, now)
            self._set_limit(min(self.limit, limit_hint), now)
        elif self._learns_limit and (passed := self._passed(now)) > MIN_BURST:
            # A limit no one publishes: below what went through in the window before the 429
            # (one less: a request in flight, or one the provider does not count, such as a
            # token, may be among them). After fewer, the 429 says little: halve.
            self._ceiling = (passed, now)
            self._set_limit(min(self.limit // 2, passed - 1), now)
        else:
            self._ceiling = (self.limit, now)
            self._set_limit(max(1, self.limit // 2), now)
        wait = max(retry_after or 0.0, backoff(self._throttled_in_a_row))
        self._pause_until(now + wait)
        _LOGGER.debug(
            "Rate limited: %d requests per %.0f s from now on, pausing %.0f s",
            self.limit,
            self.per,
            wait,
        )
        return wait

    def _passed(self, now: float) -> int:
        """Requests sent in the window up to now, but the one just refused."""
        return sum(1 for sent in self._sent if now - self.per < sent) - 1

    def exhausted(self, reset_in: float) -> None:
        """The provider says no request is left for `reset_in` seconds: hold until then."""
        now = self._clock()
        if now + reset_in > self._paused_until:
            self._pause_until(now + reset_in)

    def succeeded(self) -> None:
        """A request went through: after a quiet window, allow a tenth of what was set more
        (at least one), up to what was set and below a recent 429's limit."""
        self._throttled_in_a_row = 0
        now = self._clock()
        if self.limit >= self.configured_limit or now - self._grown_at < self.per:
            return
        grown = min(self.configured_limit, self.limit + max(1, self.configured_limit // 10))
        if self._ceiling is not None:
            ceiling, since = self._ceiling
            if now - since < CEILING_MEMORY:
                grown = min(grown, ceiling - 1)
        if grown > self.limit:
            self._set_limit(grown, now)

    def _set_limit(self, limit: int, now: float) -> None:
        self.limit = limit
        self._grown_at = now
        self._serve()

    def _pause_until(self, until: float) -> None:
        """Pause, then resume at the pace, one request per slot: no burst after a pause.

        The slots reserved ahead are void: they were counted at the old pace.
        """
        now = self._clock()
        while self._granted and self._granted[-1] > now:
            self._granted.pop()
        self.epoch += 1
        self._paused_until = until
        self._paced_until = until + (self.burst - 1) * self.per / self.limit
        self._rearm()

    def _next_slot(self, now: float) -> float:
        """The earliest time the next request may go: the pause, the window and the pace."""
        spacing = self.per / self.limit
        slot = max(now, self._paused_until, self._paced_until - (self.burst - 1) * spacing)
        if len(self._granted) >= self.limit:
            slot = max(slot, self._granted[-self.limit] + self.per)
        return slot

    def _grant(self, now: float) -> None:
        """Let a request through now."""
        self._sent.append(now)
        self._reserve_slot(now)

    def _reserve_slot(self, slot: float) -> None:
        """Count a request at `slot` (now, or ahead for a reservation) in the window and pace."""
        self._granted.append(slot)
        self._paced_until = max(self._paced_until, slot) + self.per / self.limit

    def _serve(self) -> None:
        """Hand each slot free now to the next waiter (writes first); wait for the next slot."""
        now = self._clock()
        while self._writes or self._reads:
            lane = self._writes or self._reads
            if lane[0].done():  # cancelled while waiting
                lane.popleft()
                continue
            if self._next_slot(now) > now + SLOT_TOLERANCE:
                break
            self._grant(now)
            lane.popleft().set_result(None)
        self._rearm()

    def _rearm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if (self._writes or self._reads) and not self._closed:
            now = self._clock()
            delay = self._next_slot(now) - now
            call_later = getattr(self._clock, "call_later", None) or (
                asyncio.get_running_loop().call_later
            )
            self._timer = call_later(delay, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._serve()
