"""The Presence select of each controlled person."""

from typing import Any, override

from homeassistant.components.select import SelectEntity, SelectEntityDescription
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import DOMAIN, SUBENTRY_USER
from .coordinator import PresenceBridgeConfigEntry
from .delivery import DeliveryOutcome, DesiredPresence
from .entity import PresenceBridgeEntity
from .helpers import handle_api_errors

PARALLEL_UPDATES = 1

PRESENCE = SelectEntityDescription(key="presence", translation_key="presence")


async def async_setup_entry(
    hass: HomeAssistant,
    entry: PresenceBridgeConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a Presence select per person."""
    data = entry.runtime_data
    for subentry in entry.get_subentries_of_type(SUBENTRY_USER):
        async_add_entities(
            [
                PresenceSelect(
                    data.coordinator, subentry, data.people[subentry.subentry_id], PRESENCE
                )
            ],
            config_subentry_id=subentry.subentry_id,
        )


class PresenceSelect(PresenceBridgeEntity, SelectEntity):
    """A person's presence: shows the wanted option at once, the provider's otherwise."""

    @property
    @override
    def options(self) -> list[str]:
        return list(self.coordinator.client.presence_options)

    @property
    @override
    def available(self) -> bool:
        return super().available and self.subentry_id in self.coordinator.data

    @property
    @override
    def current_option(self) -> str | None:
        queue = self.person.queue
        if queue.desired is not None:
            return queue.desired.option
        presence = self.coordinator.data.get(self.subentry_id)
        return presence.option if presence else None

    @property
    @override
    def extra_state_attributes(self) -> dict[str, Any]:
        queue = self.person.queue
        presence = self.coordinator.data.get(self.subentry_id)
        return {
            "provider_status": presence.raw if presence else None,
            "category": presence.category if presence else None,
            "pending": queue.pending,
            "send_at": queue.send_at.isoformat() if queue.send_at else None,
            "last_delivery_error": str(queue.last_error) if queue.last_error else None,
        }

    @override
    async def async_added_to_hass(self) -> None:
        await super().async_added_to_hass()
        self.async_on_remove(self.person.queue.async_add_listener(self.async_write_ha_state))

    @override
    async def async_select_option(self, option: str) -> None:
        await self.async_request_presence(option)

    def check_request(self, option: str, duration: int | None) -> None:
        """Refuse, before anything is sent, what this person's provider cannot take."""
        client = self.coordinator.client
        if option not in client.presence_options:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="invalid_presence",
                translation_placeholders={
                    "entity": self.entity_id,
                    "presence": option,
                    "options": ", ".join(client.presence_options),
                },
            )
        if duration is not None and option != client.duration_option:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="duration_not_supported",
                translation_placeholders={
                    "entity": self.entity_id,
                    "presence": option,
                    "duration_option": client.duration_option or "-",
                },
            )

    @handle_api_errors
    async def async_request_presence(
        self, option: str, duration: int | None = None
    ) -> DeliveryOutcome:
        """Send `option` now or queue it; a Do-not-disturb-like option takes a duration."""
        self.check_request(option, duration)
        if duration is None and option == self.coordinator.client.duration_option:
            duration = self.person.dnd_duration
        return await self.person.queue.async_submit(DesiredPresence(option, duration))
