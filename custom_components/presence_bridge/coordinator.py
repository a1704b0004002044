"""Reads every controlled person's presence and status of one account, once per interval.

A failed read keeps what was last read: the people stay available and controllable (their
wishes are queued), and their entities say since when what they show is stale. Only a person
the provider says no longer exists becomes unavailable.

Reads wait in the account's request budget behind every change: a poll may use half of the
budget, and when one of all the people needs more, the interval is stretched to fit, and a
repair issue says so with the numbers.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import timedelta
import math
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed, ConfigEntryNotReady
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.update_coordinator import TimestampDataUpdateCoordinator, UpdateFailed

from .api import (
    AuthenticationError,
    PermissionMissingError,
    Presence,
    PresenceBridgeError,
    PresenceClient,
    ProviderClient,
    RateLimitedError,
    StatusClient,
    StatusMessage,
)
from .const import (
    CONF_UPDATE_INTERVAL,
    CONF_USER_ID,
    DEFAULT_DND_DURATION,
    DEFAULT_UPDATE_INTERVAL,
    DOMAIN,
    LOGGER,
    SUBENTRY_USER,
)
from .delivery import DeliveryQueue, DesiredPresence, PresenceSession, WishStore
from .helpers import translate_error

READ_SHARE = 0.5
"""Share of the account's request budget a poll may use; the rest is kept for changes."""


@dataclass(frozen=True, slots=True)
class PersonState:
    """What the provider reports for one person, as far as we know."""

    presence: Presence | None = None
    status: StatusMessage | None = None


@dataclass(frozen=True, slots=True)
class AccountSnapshot:
    """What one poll read: every person's state, and the options the account offers now.

    The options are part of it, so that a presence definition added at the provider shows even
    when nobody's presence changed.
    """

    people: dict[str, PersonState] = field(default_factory=dict)
    """By subentry id; a person not read yet is missing."""
    gone: frozenset[str] = frozenset()
    """Subentry ids of the people the provider says no longer exist."""
    presence_options: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PollPlan:
    """How often the account is read, and why."""

    people: int
    requests: int
    """Requests one poll costs."""
    wanted: timedelta
    """The interval set in the options."""
    interval: timedelta
    """The interval chosen: the wanted one, or longer when a poll would not fit the budget."""

    @property
    def stretched(self) -> bool:
        """Whether the budget made the interval longer than wanted."""
        return self.interval > self.wanted


@dataclass
class PersonRuntime:
    """What one controlled person (a `user` subentry) needs while the entry runs."""

    user_id: str
    presence_queue: DeliveryQueue[DesiredPresence] | None = None
    status_queue: DeliveryQueue[StatusMessage] | None = None
    dnd_duration: int = DEFAULT_DND_DURATION
    session: PresenceSession | None = None
    """The presence session kept for the person, where the provider needs one."""

    @property
    def queues(self) -> list[DeliveryQueue[Any]]:
        """The person's queues, of whatever the provider takes."""
        return [queue for queue in (self.presence_queue, self.status_queue) if queue is not None]

    async def async_stop(self) -> None:
        """Stop the person's queues and session; a send under way may finish first."""
        for queue in self.queues:
            await queue.async_close()
        if self.session is not None:
            self.session.async_stop()


@dataclass
class PresenceBridgeData:
    """The entry's runtime data."""

    coordinator: PresenceCoordinator
    wishes: WishStore
    """The people's delivery state, kept across reloads and restarts."""
    setup_options: dict[str, object]
    """The options as set up; a change to them reloads the entry."""
    people: dict[str, PersonRuntime] = field(default_factory=dict)
    """By subentry id."""

    @property
    def client(self) -> ProviderClient:
        """The account's provider client, which the coordinator polls with."""
        return self.coordinator.client


type PresenceBridgeConfigEntry = ConfigEntry[PresenceBridgeData]


class PresenceCoordinator(TimestampDataUpdateCoordinator[AccountSnapshot]):
    """What the provider reports for every `user` subentry, keyed by subentry id."""

    config_entry: PresenceBridgeConfigEntry

    def __init__(
        self, hass: HomeAssistant, entry: PresenceBridgeConfigEntry, client: ProviderClient
    ) -> None:
        """Poll at the interval set in the options."""
        interval = entry.options.get(CONF_UPDATE_INTERVAL)
        self.wanted_interval = timedelta(seconds=interval) if interval else DEFAULT_UPDATE_INTERVAL
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            # Not the title: for Zulip it holds an email address, and the name is logged.
            name=f"{DOMAIN} {entry.entry_id}",
            update_interval=self.wanted_interval,
            always_update=False,
        )
        self.client = client
        self.poll_plan: PollPlan | None = None
        self._polls_started = 0
        self._accepted_in_poll: dict[str, int] = {}
        """Subentry id → the poll under way when the provider last accepted a change of theirs."""

    async def async_first_read(self) -> None:
        """The first refresh, before the platforms. A rate-limited one does not hold the entry
        back: the people show what is known until the next poll reads them."""
        try:
            await self.async_config_entry_first_refresh()
        except ConfigEntryNotReady:
            if not isinstance(getattr(self.last_exception, "__cause__", None), RateLimitedError):
                raise
            self.data = AccountSnapshot()

    async def async_prepare(self) -> None:
        """Check the account without reading anyone: the first poll then runs in the background.

        Raises what a failed first refresh would (reauth, or not ready).
        """
        with self._provider_errors(ConfigEntryNotReady):
            await self.client.prepare()
        self.data = AccountSnapshot()

    def _plan_polls(self, people: int) -> None:
        """Stretch the interval when a poll of `people` would take more than READ_SHARE of
        the budget over it, and say so in a repair issue; shrink it back when it fits."""
        budget = self.client.budget
        requests = self.client.poll_requests(people)
        needed = timedelta(seconds=math.ceil(requests * budget.per / (budget.limit * READ_SHARE)))
        plan = PollPlan(people, requests, self.wanted_interval, max(self.wanted_interval, needed))
        self.poll_plan = plan
        self.update_interval = plan.interval
        self._set_issue(
            "poll_stretched",
            plan.stretched,
            {
                "people": str(people),
                "requests": str(requests),
                "budget": f"{budget.limit} requests per {budget.per:g} s",
                "interval": str(round(plan.interval.total_seconds())),
                "wanted": str(round(plan.wanted.total_seconds())),
            },
        )

    @callback
    def async_set_accepted(
        self,
        subentry_id: str,
        *,
        presence: Presence | None = None,
        status: StatusMessage | None = None,
    ) -> None:
        """Record what the provider accepted for a person, until a poll says otherwise.

        Only the person's own entities need to know, and they learn it from their
        queue; so the other entities are not rewritten and the poll is not moved.
        A status's None fields were not sent, so they keep their known value.
        """
        self._accepted_in_poll[subentry_id] = self._polls_started
        known = self.data.people.get(subentry_id, PersonState())
        if presence is not None:
            known = replace(known, presence=presence)
        if status is not None:
            sent = {key: value for key, value in asdict(status).items() if value is not None}
            known = replace(known, status=replace(known.status or StatusMessage(), **sent))
        self.data = replace(self.data, people={**self.data.people, subentry_id: known})

    async def _async_setup(self) -> None:
        with self._provider_errors():
            await self.client.prepare()

    async def _async_update_data(self) -> AccountSnapshot:
        user_ids = {
            subentry.subentry_id: subentry.data[CONF_USER_ID]
            for subentry in self.config_entry.get_subentries_of_type(SUBENTRY_USER)
        }
        self._plan_polls(len(user_ids))
        self._polls_started += 1
        poll = self._polls_started
        client = self.client
        with self._provider_errors():
            presences = (
                await client.get_presences(user_ids.values())
                if isinstance(client, PresenceClient)
                else None
            )
            statuses = (
                await client.get_statuses(user_ids.values())
                if isinstance(client, StatusClient) and client.can_read_status
                else None
            )
        self._set_issue("missing_permission", False)
        people: dict[str, PersonState] = {}
        gone_people: set[str] = set()
        for subentry_id, user_id in user_ids.items():
            gone = any(read is not None and user_id not in read for read in (presences, statuses))
            self._set_issue(
                f"user_gone_{subentry_id}",
                gone,
                {"name": self.config_entry.subentries[subentry_id].title},
                translation_key="user_gone",
            )
            if gone:
                gone_people.add(subentry_id)
                continue
            known = self.data.people.get(subentry_id, PersonState()) if self.data else PersonState()
            if self._accepted_in_poll.get(subentry_id, 0) >= poll:
                # A change was accepted while this poll waited its turn: it may have read
                # the person before it, so what was accepted stands until the next poll.
                people[subentry_id] = known
                continue
            people[subentry_id] = PersonState(
                presences[user_id] if presences is not None else None,
                # Without read-back, a status is what was last sent.
                statuses[user_id] if statuses is not None else known.status,
            )
        options = client.presence_options if isinstance(client, PresenceClient) else ()
        return AccountSnapshot(people, frozenset(gone_people), options)

    @contextmanager
    def _provider_errors(
        self, failure: type[UpdateFailed | ConfigEntryNotReady] = UpdateFailed
    ) -> Iterator[None]:
        """Provider errors as the coordinator's: reauth, repair issue, or a `failure`."""
        try:
            yield
        except AuthenticationError as err:
            raise translate_error(err, ConfigEntryAuthFailed) from err
        except PermissionMissingError as err:
            self._set_issue("missing_permission", True, {"scope": err.scope or "-"})
            raise translate_error(err, failure) from err
        except RateLimitedError as err:
            # Say when the next read really comes: without `Retry-After`, at the next interval.
            retry_in = err.retry_after or self.update_interval.total_seconds()  # type: ignore[union-attr]
            failed = translate_error(err, failure, retry_in=retry_in)
            failed.retry_after = err.retry_after
            raise failed from err
        except PresenceBridgeError as err:
            raise translate_error(err, failure) from err

    def _set_issue(
        self,
        issue_id: str,
        present: bool,
        placeholders: dict[str, str] | None = None,
        *,
        translation_key: str | None = None,
    ) -> None:
        """Raise or clear a repair issue of this entry."""
        full_id = f"{self.config_entry.entry_id}_{issue_id}"
        if not present:
            ir.async_delete_issue(self.hass, DOMAIN, full_id)
            return
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            full_id,
            is_fixable=False,
            severity=ir.IssueSeverity.ERROR,
            translation_key=translation_key or issue_id,
            translation_placeholders={"account": self.config_entry.title} | (placeholders or {}),
        )
