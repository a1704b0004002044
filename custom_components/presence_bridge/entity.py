"""The base of every Presence Bridge entity: one service device per controlled person."""

from typing import Any, override

from homeassistant.config_entries import ConfigSubentry
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .api import ProviderClient
from .const import CONF_PROVIDER, DOMAIN
from .coordinator import PersonRuntime, PersonState, PresenceCoordinator
from .delivery import DeliveryQueue


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
        return self.coordinator.data.get(self.subentry_id, PersonState())

    @property
    @override
    def available(self) -> bool:
        return super().available and self.subentry_id in self.coordinator.data


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

    @property
    @override
    def extra_state_attributes(self) -> dict[str, Any]:
        """Whether a change is on its way, when it goes out, and why the last one failed."""
        queue = self.queue
        return {
            "pending": queue.pending,
            "send_at": queue.send_at.isoformat() if queue.send_at else None,
            "last_delivery_error": str(queue.last_error) if queue.last_error else None,
        }

    @override
    async def async_added_to_hass(self) -> None:
        await super().async_added_to_hass()
        self.async_on_remove(self.queue.async_add_listener(self.async_write_ha_state))
