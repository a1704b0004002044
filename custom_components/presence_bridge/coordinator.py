"""Reads every controlled person's presence of one account, once per interval."""

from dataclasses import dataclass, field
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
    RateLimitedError,
)
from .const import (
    CONF_UPDATE_INTERVAL,
    CONF_USER_ID,
    DEFAULT_UPDATE_INTERVAL,
    DOMAIN,
    LOGGER,
    SUBENTRY_USER,
)
from .delivery import DeliveryQueue, SendThrottle
from .helpers import translate_error


@dataclass
class PersonRuntime:
    """What one controlled person (a `user` subentry) needs while the entry runs."""

    user_id: str
    queue: DeliveryQueue
    dnd_duration: int


@dataclass
class PresenceBridgeData:
    """The entry's runtime data."""

    client: PresenceClient
    coordinator: PresenceCoordinator
    throttle: SendThrottle
    """Shared by the entry's queues: how fast the account sends."""
    setup_state: tuple[object, ...]
    """Subentries and options as set up; a change to them reloads the entry."""
    people: dict[str, PersonRuntime] = field(default_factory=dict)
    """By subentry id."""


type PresenceBridgeConfigEntry = ConfigEntry[PresenceBridgeData]


class PresenceCoordinator(DataUpdateCoordinator[dict[str, Presence]]):
    """Presence of every `user` subentry, keyed by subentry id."""

    config_entry: PresenceBridgeConfigEntry

    def __init__(
        self, hass: HomeAssistant, entry: PresenceBridgeConfigEntry, client: PresenceClient
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
    def async_set_accepted(self, subentry_id: str, option: str) -> None:
        """Record that the provider accepted `option`, until a poll says otherwise.

        Only the person's own entities need to know, and they learn it from their
        queue; so the other entities are not rewritten and the poll is not moved.
        """
        self.data = {**self.data, subentry_id: self.client.accepted_presence(option)}

    async def _async_update_data(self) -> dict[str, Presence]:
        user_ids = {
            subentry.subentry_id: subentry.data[CONF_USER_ID]
            for subentry in self.config_entry.get_subentries_of_type(SUBENTRY_USER)
        }
        try:
            presences = await self.client.get_presences(user_ids.values())
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
        self._set_issue("missing_permission", False)
        for subentry_id, user_id in user_ids.items():
            subentry = self.config_entry.subentries[subentry_id]
            self._set_issue(
                f"user_gone_{subentry_id}",
                user_id not in presences,
                {"name": subentry.title},
                translation_key="user_gone",
            )
        return {
            subentry_id: presences[user_id]
            for subentry_id, user_id in user_ids.items()
            if user_id in presences
        }

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
