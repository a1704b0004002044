"""The base of every Presence Bridge entity: one service device per controlled person."""

from collections.abc import Callable
from typing import Any, override

from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .api import ProviderClient
from .const import CONF_PROVIDER, DOMAIN
from .coordinator import PersonRuntime, PersonState, PresenceBridgeConfigEntry, PresenceCoordinator
from .delivery import DeliveryOutcome, DeliveryQueue


def signal_person_added(entry_id: str) -> str:
    """The dispatcher signal for a person added to a running entry, with their subentry id."""
    return f"{DOMAIN}_{entry_id}_person_added"


@callback
def async_add_people_entities(
    hass: HomeAssistant,
    entry: PresenceBridgeConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    build: Callable[[ConfigSubentry, PersonRuntime], list[Entity]],
) -> None:
    """Add a platform's entities for each person, and for each person added later."""

    @callback
    def add(subentry_id: str) -> None:
        person = entry.runtime_data.people[subentry_id]
        if entities := build(entry.subentries[subentry_id], person):
            async_add_entities(entities, config_subentry_id=subentry_id)

    for subentry_id in entry.runtime_data.people:
        add(subentry_id)
    entry.async_on_unload(async_dispatcher_connect(hass, signal_person_added(entry.entry_id), add))


def device_identifier(provider: str, account_id: str, user_id: str) -> str:
    """The device identifier of a person, from remote ids only."""
    return f"{provider}_{account_id}_{user_id}"


class PresenceBridgeEntity(CoordinatorEntity[PresenceCoordinator]):
    """An entity of one person's device."""

    _attr_has_entity_name = True

    def __init__(
        self,
        coordinator: PresenceCoordinator,
        subentry: ConfigSubentry,
        person: PersonRuntime,
        description: EntityDescription,
    ) -> None:
        """Attach the entity to the person's device."""
        super().__init__(coordinator)
        entry = coordinator.config_entry
        identifier = device_identifier(
            entry.data[CONF_PROVIDER], str(entry.unique_id), person.user_id
        )
        self.entity_description = description
        self.subentry_id = subentry.subentry_id
        self.person = person
        self._attr_unique_id = f"{identifier}_{description.key}"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, identifier)},
            entry_type=DeviceEntryType.SERVICE,
            name=subentry.title,
            manufacturer=coordinator.client.manufacturer,
        )

    @property
    def known(self) -> PersonState:
        """What the provider reports for this person, as far as we know."""
        return self.coordinator.data.people.get(self.subentry_id, PersonState())

    @property
    @override
    def available(self) -> bool:
        """Unavailable only for a person the provider says no longer exists.

        A failed read keeps the last known state (see `stale_since`): the person's wishes are
        still taken and queued until the provider is back.
        """
        return self.subentry_id not in self.coordinator.data.gone

    @property
    def stale_since(self) -> str | None:
        """While reads fail, the time of the last successful one; else None."""
        coordinator = self.coordinator
        if coordinator.last_update_success or coordinator.last_update_success_time is None:
            return None
        return coordinator.last_update_success_time.isoformat()


class DeliveringEntity[T, C: ProviderClient](PresenceBridgeEntity):
    """An entity whose changes go to the provider through one of the person's queues."""

    def __init__(
        self,
        coordinator: PresenceCoordinator,
        subentry: ConfigSubentry,
        person: PersonRuntime,
        description: EntityDescription,
        *,
        queue: DeliveryQueue[T] | None,
        client: C,
    ) -> None:
        """Attach the entity to the person's device and to the queue it delivers through."""
        super().__init__(coordinator, subentry, person, description)
        assert queue is not None
        self.queue = queue
        self.client = client

    def check_clear(self) -> object:
        """Refuse `clear`, before anything is sent, where the provider cannot take it."""
        return None

    async def async_clear(self) -> DeliveryOutcome:
        """Hand the person back to the provider's automatic state (`clear`)."""
        raise NotImplementedError

    def describe(self, wish: T) -> Any:
        """A wish as the `restores_to` attribute shows it."""
        return wish

    @property
    @override
    def extra_state_attributes(self) -> dict[str, Any]:
        """Whether a change is on its way, when it goes out, why the last one failed, and,
        for an expiring one, when it ends and what it gives way to."""
        queue = self.queue
        revert = queue.revert
        at = revert.at if revert is not None else None
        restores_to = revert.restores_to if revert is not None and at is not None else None
        return {
            "pending": queue.pending,
            "send_at": queue.send_at.isoformat() if queue.send_at else None,
            "last_delivery_error": str(queue.last_error) if queue.last_error else None,
            "stale_since": self.stale_since,
            "expires_at": at.isoformat() if at is not None else None,
            "restores_to": self.describe(restores_to) if restores_to is not None else None,
        }

    @override
    async def async_added_to_hass(self) -> None:
        await super().async_added_to_hass()
        self.async_on_remove(self.queue.async_add_listener(self.async_write_ha_state))
        if self.queue.revert is not None:
            self.async_on_remove(self.queue.revert.async_add_listener(self.async_write_ha_state))
