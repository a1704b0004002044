"""One delivery queue per person: the newest wanted presence, paced by the provider's limits."""

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


class DeliveryQueue:
    """Sends the newest desired presence of one person and nothing older.

    The provider allows one update per person every `min_interval` seconds: a
    change inside that window waits for it to open and only the latest value is
    sent. A 429 waits out its `Retry-After`; 5xx, timeouts and connection errors
    are retried with capped exponential backoff. Waiting uses Home Assistant's
    timers, so nothing sleeps.
    """

    def __init__(
        self,
        hass: HomeAssistant,
        *,
        send: Callable[[DesiredPresence], Awaitable[None]],
        min_interval: float,
        on_failure: Callable[[PresenceBridgeError], None],
        send_slots: asyncio.Semaphore,
    ) -> None:
        """Deliver through `send`, at most `min_interval` seconds apart."""
        self._hass = hass
        self._send = send
        self._min_interval = timedelta(seconds=min_interval)
        self._on_failure = on_failure
        self._send_slots = send_slots
        self._listeners: list[CALLBACK_TYPE] = []
        self._job = HassJob(self._async_send_due, cancel_on_shutdown=True)
        self._cancel_timer: CALLBACK_TYPE | None = None
        self._sending = False
        self._last_sent_at: datetime | None = None
        self._failures = 0
        self.desired: DesiredPresence | None = None
        """The newest wanted presence not yet confirmed by the provider."""
        self.send_at: datetime | None = None
        self.last_error: PresenceBridgeError | None = None

    @property
    def pending(self) -> bool:
        """Whether a wanted presence has not reached the provider yet."""
        return self.desired is not None

    @callback
    def async_add_listener(self, listener: CALLBACK_TYPE) -> CALLBACK_TYPE:
        """Call `listener` whenever the queue's state changes; returns the remover."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    async def async_submit(self, desired: DesiredPresence) -> DeliveryOutcome:
        """Want `desired`: send it now if the window is open, else queue it.

        An error on an immediate send that retrying cannot fix is raised, and the
        wanted presence is dropped.
        """
        self.desired = desired
        if self._sending or self._cancel_timer is not None:
            self._notify()
            return DeliveryOutcome(self.send_at or dt_util.utcnow() + self._min_interval)
        if (opens := self._window_opens()) > dt_util.utcnow():
            return self._send_later(opens)
        return await self._async_deliver(immediate=True)

    @callback
    def async_shutdown(self) -> None:
        """Stop waiting; nothing more is sent."""
        if self._cancel_timer is not None:
            self._cancel_timer()
            self._cancel_timer = None

    def _window_opens(self) -> datetime:
        if self._last_sent_at is None:
            return dt_util.utcnow()
        return self._last_sent_at + self._min_interval

    async def _async_send_due(self, _now: datetime) -> None:
        self._cancel_timer = None
        if self.desired is not None:
            await self._async_deliver(immediate=False)

    async def _async_deliver(self, *, immediate: bool) -> DeliveryOutcome:
        desired = self.desired
        assert desired is not None
        self._sending = True
        self.send_at = None
        try:
            async with self._send_slots:
                await self._send(desired)
        except RateLimitedError as err:
            return self._retry(err, err.retry_after or self._min_interval.total_seconds())
        except ProviderUnavailableError as err:
            self._failures += 1
            backoff = min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** (self._failures - 1))
            return self._retry(err, err.retry_after or backoff)
        except PresenceBridgeError as err:
            self.last_error = err
            if self.desired is desired:
                self.desired = None
            self._on_failure(err)
            if immediate:
                raise
            LOGGER.warning("Could not deliver presence %s: %s", desired.option, err)
            return DeliveryOutcome()
        finally:
            self._sending = False
            self._notify()
        self._last_sent_at = dt_util.utcnow()
        self._failures = 0
        self.last_error = None
        if self.desired is desired:
            self.desired = None
            self._notify()
            return DeliveryOutcome()
        # A newer presence arrived while this one was on its way.
        self._send_later(self._window_opens())
        return DeliveryOutcome()

    def _retry(self, err: PresenceBridgeError, wait: float) -> DeliveryOutcome:
        self.last_error = err
        LOGGER.debug("Delivery will be retried in %.0f s: %s", wait, err)
        return self._send_later(
            max(self._window_opens(), dt_util.utcnow() + timedelta(seconds=wait))
        )

    def _send_later(self, when: datetime) -> DeliveryOutcome:
        self.send_at = when
        self._cancel_timer = async_track_point_in_utc_time(self._hass, self._job, when)
        self._notify()
        return DeliveryOutcome(when)

    def _notify(self) -> None:
        for listener in list(self._listeners):
            listener()
