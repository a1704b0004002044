"""Reads every controlled person's presence and status of one account, once per interval."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import timedelta

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed

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
from .delivery import DeliveryQueue, DesiredPresence, SendThrottle
from .helpers import translate_error


@dataclass(frozen=True, slots=True)
class PersonState:
    """What the provider reports for one person, as far as we know."""

    presence: Presence | None = None
    status: StatusMessage | None = None


@dataclass
class PersonRuntime:
    """What one controlled person (a `user` subentry) needs while the entry runs."""

    user_id: str
    presence_queue: DeliveryQueue[DesiredPresence] | None = None
    status_queue: DeliveryQueue[StatusMessage] | None = None
    dnd_duration: int = DEFAULT_DND_DURATION


@dataclass
class PresenceBridgeData:
    """The entry's runtime data."""

    coordinator: PresenceCoordinator
    throttle: SendThrottle
    """Shared by the entry's queues: how fast the account sends."""
    setup_state: tuple[object, ...]
    """Subentries and options as set up; a change to them reloads the entry."""
    people: dict[str, PersonRuntime] = field(default_factory=dict)
    """By subentry id."""

    @property
    def client(self) -> ProviderClient:
        """The account's provider client, which the coordinator polls with."""
        return self.coordinator.client


type PresenceBridgeConfigEntry = ConfigEntry[PresenceBridgeData]


class PresenceCoordinator(DataUpdateCoordinator[dict[str, PersonState]]):
    """What the provider reports for every `user` subentry, keyed by subentry id."""

    config_entry: PresenceBridgeConfigEntry

    def __init__(
        self, hass: HomeAssistant, entry: PresenceBridgeConfigEntry, client: ProviderClient
    ) -> None:
        """Poll at the interval set in the options."""
        interval = entry.options.get(CONF_UPDATE_INTERVAL)
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} {entry.title}",
            update_interval=timedelta(seconds=interval) if interval else DEFAULT_UPDATE_INTERVAL,
            always_update=False,
        )
        self.client = client

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
        known = self.data.get(subentry_id, PersonState())
        if presence is not None:
            known = replace(known, presence=presence)
        if status is not None:
            sent = {key: value for key, value in asdict(status).items() if value is not None}
            known = replace(known, status=replace(known.status or StatusMessage(), **sent))
        self.data = {**self.data, subentry_id: known}

    async def _async_setup(self) -> None:
        with self._provider_errors():
            await self.client.prepare()

    async def _async_update_data(self) -> dict[str, PersonState]:
        user_ids = {
            subentry.subentry_id: subentry.data[CONF_USER_ID]
            for subentry in self.config_entry.get_subentries_of_type(SUBENTRY_USER)
        }
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
        for subentry_id, user_id in user_ids.items():
            gone = any(read is not None and user_id not in read for read in (presences, statuses))
            self._set_issue(
                f"user_gone_{subentry_id}",
                gone,
                {"name": self.config_entry.subentries[subentry_id].title},
                translation_key="user_gone",
            )
            if not gone:
                known = (self.data or {}).get(subentry_id, PersonState())
                people[subentry_id] = PersonState(
                    presences[user_id] if presences is not None else None,
                    # Without read-back, a status is what was last sent.
                    statuses[user_id] if statuses is not None else known.status,
                )
        return people

    @contextmanager
    def _provider_errors(self) -> Iterator[None]:
        """Provider errors as the coordinator's: reauth, repair issue, or a failed update."""
        try:
            yield
        except AuthenticationError as err:
            raise translate_error(err, ConfigEntryAuthFailed) from err
        except PermissionMissingError as err:
            self._set_issue("missing_permission", True, {"scope": err.scope or "-"})
            raise translate_error(err, UpdateFailed) from err
        except RateLimitedError as err:
            failure = translate_error(err, UpdateFailed)
            failure.retry_after = err.retry_after
            raise failure from err
        except PresenceBridgeError as err:
            raise translate_error(err, UpdateFailed) from err

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
