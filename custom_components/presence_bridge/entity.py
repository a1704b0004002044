"""The base of every Presence Bridge entity: one service device per controlled person."""

from homeassistant.config_entries import ConfigSubentry
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import CONF_PROVIDER, DOMAIN
from .coordinator import PersonRuntime, PresenceCoordinator


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
