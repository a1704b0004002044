"""Delivery of wanted presences and statuses: one queue per person, in the account's budget.

Each person's undelivered wish, last delivery time (the provider's per-person window), pending
retry and pending revert (an expiring wish, `PendingRevert`) are kept in one `Store` per entry
(`WishStore`), so a reload, a restart or a reauth loses nothing a user asked for.
"""

from abc import ABC, abstractmethod
import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, override

from homeassistant.core import CALLBACK_TYPE, HassJob, HomeAssistant, callback
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .api import (
    AuthenticationError,
    BudgetClosedError,
    PresenceBridgeError,
    ProviderUnavailableError,
    RateLimitedError,
)
from .api.budget import BACKOFF_FIRST, RequestBudget, backoff
from .const import DOMAIN, LOGGER

STORAGE_VERSION = 1
SAVE_DELAY = 1.0
"""Seconds a change waits before the Store writes it, so that a burst is one write."""


@dataclass(frozen=True, slots=True)
class DesiredPresence:
    """What a person's presence should become."""

    option: str
    duration: int | None = None


@dataclass(frozen=True, slots=True)
class DeliveryOutcome:
    """What became of a request: sent now, or queued until `send_at`.

    Queued without a time means it waits for something other than the clock: new credentials
    (`error` says why).
    """

    queued: bool = False
    send_at: datetime | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The outcome as a service response."""
        if not self.queued:
            return {"result": "sent"}
        answer: dict[str, Any] = {
            "result": "queued",
            "send_at": self.send_at.isoformat() if self.send_at else None,
        }
        if self.error:
            answer["error"] = self.error
        return answer


class _Timed(ABC):
    """One person's delivery state with one Home Assistant timer and change listeners.

    What `DeliveryQueue` and `PresenceSession` share: the `WishStore` and the entities listen,
    and once closed (the entry unloads) nothing re-arms the timer, not even a request that was
    already on its way.
    """

    def __init__(
        self, hass: HomeAssistant, due: Callable[[datetime], Coroutine[Any, Any, None]]
    ) -> None:
        """Run `due` when the timer fires."""
        self._hass = hass
        self._job = HassJob(due, cancel_on_shutdown=True)
        self._cancel_timer: CALLBACK_TYPE | None = None
        self._listeners: list[CALLBACK_TYPE] = []
        self._closed = False

    @callback
    def async_add_listener(self, listener: CALLBACK_TYPE) -> CALLBACK_TYPE:
        """Call `listener` whenever the state changes; returns the remover."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    @abstractmethod
    def as_stored(self) -> dict[str, Any]:
        """What must survive a reload or a restart; empty when there is nothing to keep."""

    @abstractmethod
    def restore(self, stored: dict[str, Any]) -> None:
        """Take back what `as_stored` kept."""

    def _arm(self, when: datetime) -> None:
        """Fire at `when` (at once if it is past), replacing an armed timer; not once closed."""
        self._disarm()
        if not self._closed:
            self._cancel_timer = async_track_point_in_utc_time(
                self._hass, self._job, max(when, dt_util.utcnow())
            )

    @callback
    def async_stop(self) -> None:
        """The entry unloads (or the person goes): nothing re-arms; the Store keeps the state."""
        self._closed = True
        self._disarm()

    def _disarm(self) -> None:
        if self._cancel_timer is not None:
            self._cancel_timer()
            self._cancel_timer = None

    def _notify(self) -> None:
        for listener in list(self._listeners):
            listener()


class DeliveryQueue[T](_Timed):
    """Sends the newest desired state (presence, status) of one person and nothing older.

    The provider allows one update per person every `min_interval` seconds: a
    change inside that window waits for it to open and only the latest value is
    sent, when the account's request budget gives it a slot. Rate limits and transient
    failures are waited out (see `RequestBudget` and `backoff`); a refused credential keeps
    the wish until the entry is set up again with new ones. A window or a retry is waited
    for with Home Assistant's timers.
    """

    def __init__(
        self,
        hass: HomeAssistant,
        *,
        send: Callable[[T], Awaitable[None]],
        wish_type: Callable[..., T],
        min_interval: float,
        on_auth_failure: Callable[[], None],
        budget: RequestBudget,
    ) -> None:
        """Deliver through `send`, at most `min_interval` seconds apart.

        `wish_type` rebuilds a stored wish; `on_auth_failure` starts reauth.
        """
        super().__init__(hass, self._async_send_due)
        self._send = send
        self._wish_type = wish_type
        self._min_interval = timedelta(seconds=min_interval)
        self._on_auth_failure = on_auth_failure
        self._budget = budget
        self._idle = asyncio.Event()
        self._idle.set()
        self._last_sent_at: datetime | None = None
        self._delivered: T | None = None
        self._failures = 0
        self._reserved = False
        """Whether the armed timer is this queue's slot, reserved in the account's budget."""
        self._reserved_epoch = 0
        self.desired: T | None = None
        """The newest wanted state not yet accepted by the provider."""
        self.send_at: datetime | None = None
        self.last_error: PresenceBridgeError | None = None
        self.revert: PendingRevert[T] | None = None
        """What this wish gives way to when it expires; set by `with_revert`."""
        self.on_failed: Callable[[T, PresenceBridgeError], None] | None = None
        """Told of a wish the provider refused for good."""

    def with_revert(self) -> PendingRevert[T]:
        """Give the queue a revert: an expiring wish is followed by what was there before."""
        self.revert = PendingRevert(self._hass, wish_type=self._wish_type, submit=self.async_submit)
        return self.revert

    @property
    def pending(self) -> bool:
        """Whether a wanted state has not reached the provider yet."""
        return self.desired is not None

    @override
    def as_stored(self) -> dict[str, Any]:
        stored = {
            "wish": asdict(self.desired) if self.desired is not None else None,
            "delivered": asdict(self._delivered) if self._delivered is not None else None,
            "last_sent_at": self._last_sent_at.isoformat() if self._last_sent_at else None,
            "send_at": self.send_at.isoformat() if self.send_at else None,
        }
        return stored if any(stored.values()) else {}

    @override
    def restore(self, stored: dict[str, Any]) -> None:
        """Take back what `as_stored` kept; `async_resume` then delivers a wish still wanted."""
        if wish := stored.get("wish"):
            self.desired = self._wish_type(**wish)
        if delivered := stored.get("delivered"):
            self._delivered = self._wish_type(**delivered)
        self._last_sent_at = dt_util.parse_datetime(stored.get("last_sent_at") or "")
        self.send_at = dt_util.parse_datetime(stored.get("send_at") or "")

    @callback
    def async_resume(self, reported: Callable[[T], bool]) -> None:
        """Deliver a restored wish when its window opens, unless the provider already reports it.

        A restored revert runs when due: at once if its time passed while Home Assistant was
        not running.
        """
        if self.revert is not None:
            self.revert.async_resume()
        if self.desired is None:
            self.send_at = None
            return
        if reported(self.desired):
            self.desired = None
            self.send_at = None
            self._notify()
            return
        self._send_later(max(self._opens(), self.send_at or dt_util.utcnow()))

    async def async_submit(
        self, desired: T, *, until: datetime | None = None, restores_to: T | None = None
    ) -> DeliveryOutcome:
        """Want `desired`: send it now if nothing holds it back, else queue it.

        When the account's budget has no slot free now, it reserves the next one, and the
        answer says when that comes: a call never waits for the budget. An error on an
        immediate send that waiting cannot fix is raised, and the wanted state is dropped.

        With `until`, `restores_to` is wanted again then (see `PendingRevert`); without, a
        pending revert gives way to this newer wish.
        """
        if self.revert is not None:
            if until is not None and restores_to is not None:
                self.revert.async_start(desired, restores_to, until)
            else:
                self.revert.async_cancel()
        try:
            return await self._async_submit(desired)
        except BaseException:
            if self.revert is not None and self.revert.wish is desired:
                self.revert.async_cancel()
            raise

    async def _async_submit(self, desired: T) -> DeliveryOutcome:
        self.desired = desired
        if not self._idle.is_set() or self._cancel_timer is not None or self._closed:
            self._notify()
            return DeliveryOutcome(queued=True, send_at=self.send_at or self._opens())
        if isinstance(self.last_error, AuthenticationError):
            return self._wait_for_credentials(self.last_error)
        if (opens := self._opens()) > dt_util.utcnow():
            return self._send_later(opens)
        if self._budget.wait_estimate() > 0:
            return self._take_turn()
        return await self._async_deliver(immediate=True)

    async def async_close(self) -> None:
        """Stop: nothing more is sent, no timer remains; a send under way may finish first."""
        self.async_stop()
        if self.revert is not None:
            self.revert.async_stop()
        await self._idle.wait()

    def _opens(self) -> datetime:
        """When this person may be sent to: their window and the account's pause."""
        opens = dt_util.utcnow() + timedelta(seconds=self._budget.paused_for())
        if self._last_sent_at is None:
            return opens
        return max(opens, self._last_sent_at + self._min_interval)

    async def _async_send_due(self, _now: datetime) -> None:
        self._cancel_timer = None
        if self._closed:
            return
        if self.desired == self._delivered:
            # Changed back, within the window, to what was sent last: nothing to send.
            self.desired = None
            self.send_at = None
            self._notify()
        elif self.desired is not None:
            if self._reserved and self._budget.epoch != self._reserved_epoch:
                self._reserved = False  # a 429 voided the slot: take a new turn
            if not self._reserved and self._budget.wait_estimate() > 0:
                self._take_turn()
                return
            await self._async_deliver(immediate=False)

    def _take_turn(self) -> DeliveryOutcome:
        """Reserve the next slot of the account's budget, and send when it comes.

        Waiting is Home Assistant's timer, not a task in the budget's line.
        """
        wait = self._budget.reserve()
        self._reserved = True
        self._reserved_epoch = self._budget.epoch
        return self._send_later(dt_util.utcnow() + timedelta(seconds=wait))

    async def _async_deliver(self, *, immediate: bool) -> DeliveryOutcome:
        desired = self.desired
        assert desired is not None
        self._idle.clear()
        self.send_at = None
        reserved, self._reserved = self._reserved, False
        try:
            with self._budget.reserved() if reserved else nullcontext():
                await self._send(desired)
        except RateLimitedError as err:
            if err.account_wide:
                # The budget has paused the account; all its queues retry paced, in its line.
                return self._retry(err, self._opens())
            # This person only: their `Retry-After`, else their window.
            wait = err.retry_after or self._min_interval.total_seconds()
            return self._retry(err, self._after(wait, BACKOFF_FIRST))
        except ProviderUnavailableError as err:
            self._failures += 1
            return self._retry(err, self._after(err.retry_after, backoff(self._failures)))
        except AuthenticationError as err:
            self._on_auth_failure()
            return self._wait_for_credentials(err)
        except PresenceBridgeError as err:
            return self._refused(desired, err, immediate=immediate)
        except Exception as err:  # noqa: BLE001 - a bug must not leave a wish pending forever
            self._failures += 1
            LOGGER.error(
                "Unexpected error delivering %s; retrying", desired, exc_info=self._failures == 1
            )
            failure = ProviderUnavailableError(f"Unexpected error: {type(err).__name__}")
            return self._retry(failure, self._after(None, backoff(self._failures)))
        finally:
            self._idle.set()
        self._last_sent_at = dt_util.utcnow()
        self._delivered = desired
        self._failures = 0
        self.last_error = None
        if self.desired is desired:
            self.desired = None
            self._notify()
        else:
            # A newer state arrived while this one was on its way.
            self._send_later(self._opens())
        return DeliveryOutcome()

    def _after(self, retry_after: float | None, floor: float) -> datetime:
        """When to retry: the provider's `Retry-After`, but never sooner than `floor` seconds.

        A `Retry-After` of 0 or in the past would otherwise retry at once, in a storm.
        """
        return dt_util.utcnow() + timedelta(seconds=max(retry_after or 0, floor))

    def _refused(self, desired: T, err: PresenceBridgeError, *, immediate: bool) -> DeliveryOutcome:
        """The provider refused this value for good: drop it, keep a newer one going.

        `on_failed` hears of it (Home Assistant fires `presence_bridge_delivery_failed`), and
        the error stays in `last_error` until a delivery succeeds.
        """
        self.last_error = err
        if self.on_failed is not None:
            self.on_failed(desired, err)
        if self.desired is desired:
            self.desired = None
            self._notify()
        elif self.desired is not None:
            self._send_later(self._opens())
        if immediate:
            raise err
        LOGGER.warning("Could not deliver %s: %s", desired, err)
        return DeliveryOutcome()

    def _wait_for_credentials(self, err: AuthenticationError) -> DeliveryOutcome:
        """Keep the wish for after reauth: the entry is set up again then, and delivers it."""
        self.last_error = err
        self.send_at = None
        self._notify()
        return DeliveryOutcome(queued=True, error=str(err))

    def _retry(self, err: PresenceBridgeError, not_before: datetime) -> DeliveryOutcome:
        self.last_error = err
        LOGGER.debug("Delivery will be retried at %s: %s", not_before, err)
        return self._send_later(max(self._opens(), not_before))

    def _send_later(self, when: datetime) -> DeliveryOutcome:
        self.send_at = when
        self._arm(when)
        self._notify()
        return DeliveryOutcome(queued=True, send_at=when)


class PresenceSession(_Timed):
    """Keeps a person's presence session at the provider while a presence set here is in force.

    Graph shows a preferred presence only while the person has a presence session; without a
    Teams client running they would show Offline. So, from a presence sent until `automatic`,
    the session is renewed when 80 % of its lifetime has passed, in the account's budget,
    and its end time is kept in the Store so that a reload or a restart carries on. A failed
    renewal is retried with the backoff; it never fails the presence sent with it.
    """

    RENEW_AT = 0.8

    def __init__(
        self,
        hass: HomeAssistant,
        *,
        keep: Callable[[], Awaitable[None]],
        end: Callable[[], Awaitable[None]],
        lifetime: float,
    ) -> None:
        """Keep the session with `keep`, end it with `end`; it lasts `lifetime` seconds."""
        super().__init__(hass, self._async_renew)
        self._keep = keep
        self._end = end
        self._lifetime = timedelta(seconds=lifetime)
        self._failures = 0
        self.until: datetime | None = None
        """When the session ends unless renewed; None while none is kept."""

    @override
    def as_stored(self) -> dict[str, Any]:
        """The session's end, while one is kept."""
        return {"until": self.until.isoformat()} if self.until else {}

    @override
    def restore(self, stored: dict[str, Any]) -> None:
        """Take back a kept session's end; `async_resume` renews it in time."""
        self.until = dt_util.parse_datetime(stored.get("until") or "")

    @callback
    def async_resume(self) -> None:
        """Renew a restored session when it is due (at once if it already is)."""
        if self.until is not None:
            self._arm(self.until - self._lifetime * (1 - self.RENEW_AT))

    async def async_keep(self) -> None:
        """A presence was just sent: keep the session now."""
        await self._async_refresh()

    async def async_end(self) -> None:
        """`automatic` was just sent: stop renewing and end the session."""
        self._disarm()
        if self.until is None:
            return
        self.until = None
        self._notify()
        try:
            await self._end()
        except PresenceBridgeError as err:
            LOGGER.warning("Could not end the presence session: %s", err)

    async def _async_renew(self, _now: datetime) -> None:
        """A renewal is due (it waits its turn in the account's budget)."""
        self._cancel_timer = None
        await self._async_refresh()

    async def _async_refresh(self) -> None:
        try:
            await self._keep()
        except BudgetClosedError:
            return  # the entry unloads; the Store keeps `until`, and setup renews in time
        except PresenceBridgeError as err:
            self._failures += 1
            LOGGER.warning("Could not keep the presence session: %s", err)
            self._arm(dt_util.utcnow() + timedelta(seconds=backoff(self._failures)))
            return
        self._failures = 0
        self.until = dt_util.utcnow() + self._lifetime
        self._arm(dt_util.utcnow() + self._lifetime * self.RENEW_AT)
        self._notify()


class PendingRevert[T](_Timed):
    """An expiring wish of one person's queue, and what is wanted again when it ends.

    `restores_to` is what the person had before (what the provider last reported); when
    `at` comes it is submitted to the queue like any wish, so it waits for the person's window
    and the account's budget. A newer wish submitted meanwhile cancels it: the newer wins.
    Kept in the Store, so that a revert due while Home Assistant was not running runs at once
    after the restart. Where the provider has an expiry of its own, the send path passes `at`
    along too (`native_until`); this revert still runs then, and sends the same value again.
    """

    def __init__(
        self,
        hass: HomeAssistant,
        *,
        wish_type: Callable[..., T],
        submit: Callable[[T], Awaitable[DeliveryOutcome]],
    ) -> None:
        """Submit the restored wish through `submit`; `wish_type` rebuilds stored ones."""
        super().__init__(hass, self._async_due)
        self._wish_type = wish_type
        self._submit = submit
        self.wish: T | None = None
        """The expiring wish."""
        self.restores_to: T | None = None
        self.at: datetime | None = None
        """When the wish expires; None while nothing is pending."""

    @override
    def as_stored(self) -> dict[str, Any]:
        if self.at is None or self.restores_to is None:
            return {}
        return {
            "at": self.at.isoformat(),
            "wish": asdict(self.wish) if self.wish is not None else None,
            "restores_to": asdict(self.restores_to),
        }

    @override
    def restore(self, stored: dict[str, Any]) -> None:
        if not (at := dt_util.parse_datetime(stored.get("at") or "")) or not (
            restores_to := stored.get("restores_to")
        ):
            return
        self.at = at
        self.restores_to = self._wish_type(**restores_to)
        wish = stored.get("wish")
        self.wish = self._wish_type(**wish) if wish else None

    @callback
    def async_resume(self) -> None:
        """Arm a restored revert: at once if its time has passed."""
        if self.at is not None:
            self._arm(self.at)

    @callback
    def async_start(self, wish: T, restores_to: T, at: datetime) -> None:
        """`wish` was just wanted until `at`: then `restores_to`."""
        self.wish, self.restores_to, self.at = wish, restores_to, at
        self._arm(at)
        self._notify()

    @callback
    def async_cancel(self) -> None:
        """A newer wish (or `clear`) wins: nothing is restored."""
        self._disarm()
        if self.at is None:
            return
        self.wish = self.restores_to = self.at = None
        self._notify()

    def native_until(self, wish: T) -> datetime | None:
        """When `wish`, about to be sent, expires: for the provider's own expiry, if it has one."""
        return self.at if self.at is not None and wish == self.wish else None

    async def _async_due(self, _now: datetime) -> None:
        self._cancel_timer = None
        restores_to = self.restores_to
        if self._closed or restores_to is None:
            return
        self.wish = self.restores_to = self.at = None
        self._notify()
        try:
            await self._submit(restores_to)
        except PresenceBridgeError as err:  # refused for good: the queue told `on_failed`
            LOGGER.warning("Could not restore %s: %s", restores_to, err)


class WishStore:
    """The delivery state of an entry's people, in one `Store`, by subentry id and kind.

    Saved (debounced) on every change of a queue, at Home Assistant's shutdown, and when the
    entry unloads; read back when the entry is set up again.
    """

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """The entry's store."""
        self._store = Store[dict[str, dict[str, dict[str, Any]]]](
            hass, STORAGE_VERSION, f"{DOMAIN}.{entry_id}"
        )
        self._stored: dict[str, dict[str, dict[str, Any]]] = {}
        self._queues: dict[str, dict[str, _Timed]] = {}

    async def async_load(self) -> None:
        """Read what was kept the last time the entry ran."""
        self._stored = await self._store.async_load() or {}

    @callback
    def async_register(self, subentry_id: str, kind: str, queue: _Timed) -> None:
        """Restore a person's queue (or session) and save it whenever it changes."""
        queue.restore(self._stored.get(subentry_id, {}).get(kind, {}))
        self._queues.setdefault(subentry_id, {})[kind] = queue
        queue.async_add_listener(self.async_schedule_save)

    @callback
    def async_forget(self, subentry_id: str) -> None:
        """A person was removed: keep nothing of theirs."""
        self._queues.pop(subentry_id, None)
        self._stored.pop(subentry_id, None)
        self.async_schedule_save()

    @callback
    def async_schedule_save(self) -> None:
        """Save soon; many changes in a row are one write."""
        self._store.async_delay_save(self._data, SAVE_DELAY)

    async def async_save(self) -> None:
        """Save now (the entry unloads)."""
        await self._store.async_save(self._data())

    async def async_remove(self) -> None:
        """The entry was deleted."""
        await self._store.async_remove()

    def _data(self) -> dict[str, dict[str, dict[str, Any]]]:
        data: dict[str, dict[str, dict[str, Any]]] = {}
        for subentry_id, queues in self._queues.items():
            kept = {kind: stored for kind, queue in queues.items() if (stored := queue.as_stored())}
            if kept:
                data[subentry_id] = kept
        return data
