"""Delivery of wanted presences: one queue per person, one throttle per account."""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from homeassistant.core import CALLBACK_TYPE, HassJob, HomeAssistant, callback
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.util import dt as dt_util

from .api import PresenceBridgeError, ProviderUnavailableError, RateLimitedError
from .const import LOGGER

BACKOFF_FIRST = 5.0
BACKOFF_MAX = 300.0


def backoff(failures: int) -> float:
    """Seconds to wait after `failures` failures in a row: 5, 10, 20, … up to 300."""
    return min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** (failures - 1))


@dataclass(frozen=True, slots=True)
class DesiredPresence:
    """What a person's presence should become."""

    option: str
    duration: int | None = None


@dataclass(frozen=True, slots=True)
class DeliveryOutcome:
    """What became of a request: sent now, or queued until `send_at`."""

    send_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        """The outcome as a service response."""
        if self.send_at is None:
            return {"result": "sent"}
        return {"result": "queued", "send_at": self.send_at.isoformat()}


class SendThrottle:
    """How fast one account sends: bounded concurrency, slowed down by account-wide 429s.

    A 429 for the whole account halves how many updates may be in flight and pauses
    every queue of the account (for `Retry-After`, else for a backoff that grows with
    each 429 in a row); each success afterwards lets one more update run at once.
    """

    def __init__(self, limit: int) -> None:
        """Allow at most `limit` updates in flight."""
        self._max = limit
        self.limit = limit
        self._in_flight = 0
        self._slot_freed = asyncio.Condition()
        self._rate_limits = 0
        self.paused_until: datetime | None = None

    def opens(self) -> datetime:
        """When the account may send again."""
        now = dt_util.utcnow()
        return max(now, self.paused_until) if self.paused_until else now

    async def __aenter__(self) -> None:
        """Wait for a free slot."""
        async with self._slot_freed:
            await self._slot_freed.wait_for(lambda: self._in_flight < self.limit)
            self._in_flight += 1

    async def __aexit__(self, *exc_info: object) -> None:
        """Free the slot."""
        async with self._slot_freed:
            self._in_flight -= 1
            self._slot_freed.notify_all()

    def rate_limited(self, retry_after: float | None) -> datetime:
        """Slow the account down after a 429; returns when it may send again.

        The other updates of a burst that was already paused for do not slow it further.
        """
        if self.paused_until and self.paused_until > dt_util.utcnow():
            return self.paused_until
        self._rate_limits += 1
        self.limit = max(1, self.limit // 2)
        wait = retry_after if retry_after is not None else backoff(self._rate_limits)
        self.paused_until = max(self.opens(), dt_util.utcnow() + timedelta(seconds=wait))
        LOGGER.debug("Rate limited: %d in flight at most, pausing %.0f s", self.limit, wait)
        return self.paused_until

    def succeeded(self) -> None:
        """Speed up again, one slot per success."""
        self._rate_limits = 0
        self.limit = min(self._max, self.limit + 1)


class DeliveryQueue[T]:
    """Sends the newest desired state (presence, status) of one person and nothing older.

    The provider allows one update per person every `min_interval` seconds: a
    change inside that window waits for it to open and only the latest value is
    sent. Rate limits and transient failures are waited out (see `SendThrottle`
    and `backoff`). Waiting uses Home Assistant's timers, so nothing sleeps.
    """

    def __init__(
        self,
        hass: HomeAssistant,
        *,
        send: Callable[[T], Awaitable[None]],
        min_interval: float,
        on_failure: Callable[[PresenceBridgeError], None],
        throttle: SendThrottle,
    ) -> None:
        """Deliver through `send`, at most `min_interval` seconds apart."""
        self._hass = hass
        self._send = send
        self._min_interval = timedelta(seconds=min_interval)
        self._on_failure = on_failure
        self._throttle = throttle
        self._listeners: list[CALLBACK_TYPE] = []
        self._job = HassJob(self._async_send_due, cancel_on_shutdown=True)
        self._cancel_timer: CALLBACK_TYPE | None = None
        self._sending = False
        self._last_sent_at: datetime | None = None
        self._delivered: T | None = None
        self._failures = 0
        self.desired: T | None = None
        """The newest wanted state not yet accepted by the provider."""
        self.send_at: datetime | None = None
        self.last_error: PresenceBridgeError | None = None

    @property
    def pending(self) -> bool:
        """Whether a wanted state has not reached the provider yet."""
        return self.desired is not None

    @callback
    def async_add_listener(self, listener: CALLBACK_TYPE) -> CALLBACK_TYPE:
        """Call `listener` whenever the queue's state changes; returns the remover."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    async def async_submit(self, desired: T) -> DeliveryOutcome:
        """Want `desired`: send it now if nothing holds it back, else queue it.

        An error on an immediate send that waiting cannot fix is raised, and the
        wanted state is dropped.
        """
        self.desired = desired
        if self._sending or self._cancel_timer is not None:
            self._notify()
            return DeliveryOutcome(self.send_at or self._opens())
        if (opens := self._opens()) > dt_util.utcnow():
            return self._send_later(opens)
        return await self._async_deliver(immediate=True)

    @callback
    def async_shutdown(self) -> None:
        """Stop waiting; nothing more is sent."""
        if self._cancel_timer is not None:
            self._cancel_timer()
            self._cancel_timer = None

    def _opens(self) -> datetime:
        """When this person may be sent to: their window and the account's pause."""
        opens = self._throttle.opens()
        if self._last_sent_at is None:
            return opens
        return max(opens, self._last_sent_at + self._min_interval)

    async def _async_send_due(self, _now: datetime) -> None:
        self._cancel_timer = None
        if self.desired == self._delivered:
            # Changed back, within the window, to what was sent last: nothing to send.
            self.desired = None
            self._notify()
        elif self.desired is not None:
            await self._async_deliver(immediate=False)

    async def _async_deliver(self, *, immediate: bool) -> DeliveryOutcome:
        desired = self.desired
        assert desired is not None
        self._sending = True
        self.send_at = None
        try:
            async with self._throttle:
                if (paused_until := self._throttle.opens()) > dt_util.utcnow():
                    # The account was paused while this update waited for a slot.
                    return self._send_later(paused_until)
                await self._send(desired)
        except RateLimitedError as err:
            if err.account_wide:
                return self._retry(err, self._throttle.rate_limited(err.retry_after))
            wait = err.retry_after or self._min_interval.total_seconds() or backoff(1)
            return self._retry(err, dt_util.utcnow() + timedelta(seconds=wait))
        except ProviderUnavailableError as err:
            self._failures += 1
            wait = err.retry_after or backoff(self._failures)
            return self._retry(err, dt_util.utcnow() + timedelta(seconds=wait))
        except PresenceBridgeError as err:
            self.last_error = err
            if self.desired is desired:
                self.desired = None
            self._on_failure(err)
            if immediate:
                raise
            LOGGER.warning("Could not deliver %s: %s", desired, err)
            return DeliveryOutcome()
        finally:
            self._sending = False
            self._notify()
        self._throttle.succeeded()
        self._last_sent_at = dt_util.utcnow()
        self._delivered = desired
        self._failures = 0
        self.last_error = None
        if self.desired is desired:
            self.desired = None
            self._notify()
            return DeliveryOutcome()
        # A newer state arrived while this one was on its way.
        self._send_later(self._opens())
        return DeliveryOutcome()

    def _retry(self, err: PresenceBridgeError, not_before: datetime) -> DeliveryOutcome:
        self.last_error = err
        LOGGER.debug("Delivery will be retried at %s: %s", not_before, err)
        return self._send_later(max(self._opens(), not_before))

    def _send_later(self, when: datetime) -> DeliveryOutcome:
        self.send_at = when
        self._cancel_timer = async_track_point_in_utc_time(self._hass, self._job, when)
        self._notify()
        return DeliveryOutcome(when)

    def _notify(self) -> None:
        for listener in list(self._listeners):
            listener()
